"""Structured logging for every function: one JSON object per line on stdout, as CloudWatch Logs
Insights reads it, from the standard library alone.

A cold start pays for every import, and a logging library's is tens of milliseconds (issue 10);
this module is the few things S2S needs: a level from `LOG_LEVEL`, the service name, the request's
ids bound per invocation (`bind`), `extra=` fields and exceptions with their stack. The logger is
the standard `logging.getLogger("s2s")`, so tests read it with `caplog`.

Rules that hold for every line (STYLE.md, docs/SECURITY.md): never a token, password, presigned
URL, email address or learner detail; callers pass identifiers and codes only."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from contextvars import ContextVar
from typing import Any

SERVICE = "s2s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}

# Per invocation, and per thread where the local stack serves several requests at once.
_bound: ContextVar[dict[str, Any] | None] = ContextVar("s2s_log_bound", default=None)
_state = {"cold": True}


class JsonFormatter(logging.Formatter):
    """`{"level", "message", "timestamp", "service", "location", <bound ids>, <extra fields>}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "message": record.getMessage(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "service": SERVICE,
            "location": f"{record.module}.{record.funcName}:{record.lineno}",
            **(_bound.get() or {}),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception_name"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _configure() -> logging.Logger:
    log = logging.getLogger(SERVICE)
    level = os.environ.get("LOG_LEVEL") or "INFO"
    log.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    if not any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
    # The Lambda runtime puts its own handler on the root logger; one line per record is enough.
    log.propagate = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
    return log


logger = _configure()


def bind(context: Any, correlation_id: str | None = None) -> None:
    """Start an invocation: the ids every line of it carries (and nothing of the previous one)."""
    ids: dict[str, Any] = {"function_request_id": getattr(context, "aws_request_id", None)}
    if correlation_id:
        ids["correlation_id"] = correlation_id
    name = getattr(context, "function_name", None)
    if name:
        ids["function_name"] = name
    ids["cold_start"] = _state["cold"]
    _state["cold"] = False
    _bound.set(ids)


__all__ = ["JsonFormatter", "bind", "logger"]
