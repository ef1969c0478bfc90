"""The runtime every function shares: Powertools' Logger (JSON lines with the invocation's ids),
BatchProcessor (partial failures), settings validated on first use, and tracing that costs
nothing when it is off."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.logging import logger as powertools_logger
from s2s.runtime import log
from s2s.runtime.batch import SQSRecord, process_batch, receive_count
from s2s.runtime.settings import SettingsError, read_settings
from support.events import sqs_event, sqs_record
from support.helpers import FakeContext, http_event, school_claims

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@log.logger.inject_lambda_context(correlation_id_path=log.correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def _handler(event: dict[str, Any], context: Any) -> None:
    log.logger.info("landing check", extra={"transfer_id": "t1", "bytes_read": 205})


def _invoke(event: dict[str, Any], caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """One invocation's line as the Logger writes it to stdout."""
    _handler(event, FakeContext())
    line: dict[str, Any] = json.loads(log.logger.registered_formatter.format(caplog.records[-1]))
    return line


def test_a_line_is_one_json_object_with_level_time_service_ids_and_extra_fields(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    event = http_event("GET", "/transfers", claims=school_claims("8231234"))
    event["requestContext"]["requestId"] = "req-42"
    with caplog.at_level(logging.INFO, logger="s2s"):
        first = _invoke(event, caplog)
        event["requestContext"]["requestId"] = "req-43"
        second = _invoke(event, caplog)
    assert first["level"] == "INFO" and first["message"] == "landing check" and first["service"] == "s2s"
    assert "T" in first["timestamp"] and first["timestamp"].endswith("+00:00")  # RFC 3339
    assert (first["transfer_id"], first["bytes_read"]) == ("t1", 205)
    assert (first["correlation_id"], first["function_request_id"]) == ("req-42", FakeContext.aws_request_id)
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert second["correlation_id"] == "req-43"  # each invocation its own id


def test_the_log_level_follows_lambdas_own_setting_first() -> None:
    code = "from s2s.runtime.log import logger; print(logger.log_level)"
    env = {**os.environ, "AWS_LAMBDA_LOG_LEVEL": "ERROR", "LOG_LEVEL": "DEBUG"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(logging.ERROR)


def _event(*bodies: str) -> dict[str, Any]:
    return sqs_event(*(sqs_record(b, message_id=f"m{i}", receive_count=i + 1) for i, b in enumerate(bodies)))


def test_only_the_records_that_failed_are_reported_and_each_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    handled: list[SQSRecord] = []

    def handle(record: SQSRecord) -> None:
        handled.append(record)
        if record.body == "bad":
            raise RuntimeError("cannot")

    with caplog.at_level(logging.ERROR, logger="s2s"):
        result = process_batch(_event("ok", "bad", "ok", "bad"), FakeContext(), handle)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert [receive_count(r) for r in handled] == [1, 2, 3, 4]
    failures = [r for r in caplog.records if r.getMessage() == "record failed"]
    assert [getattr(r, "message_id", None) for r in failures] == ["m1", "m3"]
    assert all("bad" not in json.dumps(vars(r), default=str) for r in failures)  # never the body


def test_a_batch_where_everything_failed_is_answered_not_raised() -> None:
    def handle(record: SQSRecord) -> None:
        raise RuntimeError("down")

    assert process_batch(_event("a", "b"), FakeContext(), handle) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]
    }
    assert process_batch({"Records": []}, FakeContext(), handle) == {"batchItemFailures": []}


REQUIRED = {"TABLE_NAME", "BUCKET_NAME", "TOPIC_ARN", "PORTAL_URL", "SENDER_EMAIL"}
COMPLETE = {
    "TABLE_NAME": "t",
    "BUCKET_NAME": "b",
    "TOPIC_ARN": "arn:aws:sns:eu-west-2:1:t",
    "PORTAL_URL": "https://portal.example/",
    "SENDER_EMAIL": "no-reply@s2s.example",
}


def test_settings_have_no_default_for_where_data_lives_and_name_every_missing_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        read_settings({"TABLE_NAME": "", "RETENTION_DAYS": "0"})
    for name in (*REQUIRED, "RETENTION_DAYS"):
        assert name in str(caught.value)


def test_settings_read_and_validate_the_environment() -> None:
    settings = read_settings({**COMPLETE, "UPLOAD_URL_SECONDS": "600", "DAILY_UPLOAD_COUNT": "3"})
    assert (settings.table_name, settings.portal_url) == ("t", "https://portal.example")
    assert (settings.upload_url_seconds, settings.download_url_seconds, settings.daily_upload_count) == (600, 300, 3)
    with pytest.raises(SettingsError, match="UPLOAD_URL_SECONDS"):
        read_settings({**COMPLETE, "UPLOAD_URL_SECONDS": "3600"})  # over the 15 minutes of docs/SERVICE.md §3


_IMPORTS = """
import json, sys
sys.path[:0] = {paths!r}
import upload_api, landing_check, expiry_sweep, notify_events, subscriptions_api, report_api, lost_pupils_api, uln_api
from support.helpers import FakeContext, http_event
assert upload_api.lambda_handler(http_event("GET", "/openapi.json"), FakeContext())["statusCode"] == 200
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules if "xray" in m}})))
"""


@pytest.mark.parametrize(("tracing", "loaded"), [("", []), ("true", ["aws_xray_sdk"])])
def test_the_xray_sdk_is_imported_only_when_the_stack_turns_tracing_on(tracing: str, loaded: list[str]) -> None:
    paths = [
        str(ROOT / p) for p in ("layers", "tests", *(f"functions/{f}" for f in ("upload", "notify", "report", "uln")))
    ]
    env = {**os.environ, "S2S_TRACING": tracing, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS.format(paths=paths)], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == loaded


_SNAPSTART = """
import json, sys
sys.path[:0] = {paths!r}
import snapshot_restore_py as hooks
import upload_api
from s2s.adapters import aws
before = list(hooks._before_snapshot_registry)
for function, args, kwargs in before:
    function(*args, **kwargs)
warmed = aws._client.cache_info().currsize
for function, args, kwargs in hooks._after_restore_registry:
    function(*args, **kwargs)
print(json.dumps([len(before), warmed, aws._client.cache_info().currsize]))
"""


@pytest.mark.parametrize(("init_type", "expected"), [("on-demand", [0, 0, 0]), ("snap-start", [1, 3, 0])])
def test_snapstart_hooks_warm_the_clients_before_the_snapshot_and_drop_them_after_restore(
    init_type: str, expected: list[int]
) -> None:
    paths = [str(ROOT / "layers"), str(ROOT / "functions" / "upload")]
    env = {**os.environ, "AWS_LAMBDA_INITIALIZATION_TYPE": init_type, **COMPLETE}
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSTART.format(paths=paths)], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == expected


_RESOLVER_ONLY = """
import json, sys
sys.path[:0] = {paths!r}
import upload_api, subscriptions_api, report_api, lost_pupils_api, uln_api
from support.helpers import FakeContext, http_event
upload_api.lambda_handler(http_event("POST", "/transfers", body={{"filename": 1}}, claims={{"sub": "x"}}), FakeContext())
print(json.dumps(sorted(m for m in ("asyncio", "aws_lambda_powertools.event_handler.appsync",
      "aws_lambda_powertools.event_handler.bedrock_agent", "aws_lambda_powertools.event_handler.vpc_lattice")
      if m in sys.modules)))
"""


def test_an_api_function_imports_the_http_resolver_without_every_other_resolver_and_asyncio() -> None:
    paths = [
        str(ROOT / p) for p in ("layers", "tests", *(f"functions/{f}" for f in ("upload", "notify", "report", "uln")))
    ]
    env = {**os.environ, **COMPLETE}
    out = subprocess.run(
        [sys.executable, "-c", _RESOLVER_ONLY.format(paths=paths)], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_at_debug_the_sdk_logs_no_request_body() -> None:
    """Lambda sets the root logger to the stack's level; at DEBUG botocore would log every request's
    parameters (here a secret message body on its way to KMS). Our lines go to DEBUG, the SDK's not."""
    import base64

    secret = "pupil-record-zip-password-Kx81"
    code = (
        "import logging, boto3\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "from moto import mock_aws\n"
        "from s2s.runtime.log import logger\n"
        "assert logger.log_level == logging.DEBUG\n"
        "with mock_aws():\n"
        "    kms = boto3.client('kms', region_name='eu-west-2')\n"
        "    key = kms.create_key()['KeyMetadata']['KeyId']\n"
        f"    kms.encrypt(KeyId=key, Plaintext={secret!r}.encode())\n"
        "logger.debug('our own debug line')\n"
    )
    env = {**os.environ, "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "our own debug line" in output
    assert secret not in output and base64.b64encode(secret.encode()).decode() not in output
