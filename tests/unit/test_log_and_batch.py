"""s2s.log (JSON lines for CloudWatch) and s2s.batch (SQS partial batch responses)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

import pytest
from helpers import FakeContext
from s2s import log
from s2s.batch import SqsRecord, process_batch

pytestmark = pytest.mark.unit


def _line(record: logging.LogRecord) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(log.JsonFormatter().format(record))
    return parsed


def test_a_line_is_one_json_object_with_level_time_service_and_extra_fields(caplog: pytest.LogCaptureFixture) -> None:
    log.bind(FakeContext(), "req-42")
    with caplog.at_level(logging.INFO, logger="s2s"):
        log.logger.info("landing check", extra={"transfer_id": "t1", "bytes_read": 205})
    line = _line(caplog.records[-1])
    assert line["level"] == "INFO" and line["message"] == "landing check" and line["service"] == "s2s"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]  # RFC 3339, as Lambda reads it
    assert (line["transfer_id"], line["bytes_read"]) == ("t1", 205)
    assert (line["correlation_id"], line["function_request_id"]) == ("req-42", FakeContext.aws_request_id)


def test_binding_a_new_invocation_drops_the_previous_ids_and_marks_only_the_first_cold() -> None:
    log.bind(FakeContext(), "first")
    log.bind(FakeContext())
    record = logging.LogRecord("s2s", logging.INFO, __file__, 1, "x", (), None)
    line = _line(record)
    assert "correlation_id" not in line
    assert line["cold_start"] is False


def test_exceptions_carry_their_name_and_stack() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord("s2s", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = _line(record)
    assert line["exception_name"] == "ValueError"
    assert "Traceback" in line["exception"] and "broken" in line["exception"]


def _event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": body, "attributes": {"ApproximateReceiveCount": str(i + 1)}}
            for i, body in enumerate(bodies)
        ]
    }


def test_only_the_records_that_failed_are_reported_and_each_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    handled: list[SqsRecord] = []

    def handle(record: SqsRecord) -> None:
        handled.append(record)
        if record.body == "bad":
            raise RuntimeError("cannot")

    with caplog.at_level(logging.ERROR, logger="s2s"):
        result = process_batch(_event("ok", "bad", "ok", "bad"), handle)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert [r.receive_count for r in handled] == [1, 2, 3, 4]
    failures = [r for r in caplog.records if r.getMessage() == "record failed"]
    assert [getattr(r, "message_id", None) for r in failures] == ["m1", "m3"]


def test_a_batch_where_everything_failed_is_answered_not_raised() -> None:
    def handle(record: SqsRecord) -> None:
        raise RuntimeError("down")

    assert process_batch(_event("a", "b"), handle) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]
    }
    assert process_batch({"Records": []}, handle) == {"batchItemFailures": []}


def test_each_thread_logs_its_own_invocation_ids() -> None:
    lines: dict[str, dict[str, Any]] = {}
    ready = threading.Barrier(2)

    def serve(request_id: str) -> None:
        log.bind(FakeContext(), request_id)
        ready.wait()  # both have bound before either logs
        record = logging.LogRecord("s2s", logging.INFO, __file__, 1, "x", (), None)
        lines[request_id] = _line(record)

    threads = [threading.Thread(target=serve, args=(name,)) for name in ("req-a", "req-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: line["correlation_id"] for name, line in lines.items()} == {"req-a": "req-a", "req-b": "req-b"}
