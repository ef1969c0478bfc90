"""One cold start, run in a fresh interpreter by bench/bench_coldstart.py (and bench_package.py).

`python bench/coldstart_probe.py SPEC.json` where SPEC is {"module": "upload_api" | null,
"event": {...}}. It times, from the first line after its own stdlib imports, either importing the
handler module and serving `event` once (a Lambda cold start: init plus first invoke), or, with
"module": null, the baseline `import boto3; boto3.client("s3")`. AWS is whatever
AWS_ENDPOINT_URL points at (the bench's moto server), so nothing of moto is in this process.

The last stdout line is `COLDSTART_RESULT {json}`; handlers log to stdout too, so the bench reads
only that line. Only the standard library is imported before the clock starts."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

MARKER = "COLDSTART_RESULT "


class _Context:
    """The parts of the Lambda context that Powertools reads."""

    function_name = "bench-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:bench-function"
    aws_request_id = "00000000-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/bench-function"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def _outcome(response: Any) -> str:
    """A short description of the answer, so the bench can refuse a run whose first request failed
    (a failing request may be cheaper than a real one)."""
    if isinstance(response, dict) and "statusCode" in response:
        return f"status {response['statusCode']}"
    if isinstance(response, dict) and "batchItemFailures" in response:
        return f"{len(response['batchItemFailures'])} failed records"
    return "returned"


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    module_name: str | None = spec["module"]
    event = spec.get("event") or {}
    start = time.perf_counter()
    if module_name is None:
        import boto3  # importing it is what the baseline times

        boto3.client("s3")
        imported = served = time.perf_counter()
        outcome = "baseline"
    else:
        module = importlib.import_module(module_name)
        imported = time.perf_counter()
        response = module.lambda_handler(event, _Context())
        served = time.perf_counter()
        outcome = _outcome(response)
    sys.stdout.flush()
    print(MARKER + json.dumps({"import": imported - start, "total": served - start, "outcome": outcome}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
