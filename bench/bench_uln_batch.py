"""ULN batches (issue 18): a 5,000-pupil CTF read, checked, stored and submitted to the fake LRS,
polled until it completes and its return files written, against a 50-pupil one.

moto (`python -m moto.server`) and the fake LRS (`python -m s2s_cli.fake_lrs`) run as processes of
their own, so that `tracemalloc` measures the worker's memory only, not moto's copy of 5,000 rows
or the fake's copy of the job. The worker's steps run in this process as the queue would deliver
them (its `enqueue` is replaced by a list, with no delays: the polls are counted, not waited for).

- Time: the whole batch from the landed file to `complete`, and the part from landing to submit.
- Peak memory: `tracemalloc`'s peak over the whole batch, 5,000 pupils against 50 (target at most
  1.5x: the file is streamed, rows are written 25 at a time and read 100 at a time, the LRS
  payloads are spooled to disk past 64 KiB).
- LRS calls: one submit plus the polls (the fake answers "incomplete" once, then the output)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.bench_warm import ENV, _environment, _quiet_logs, _test_module
from bench.common import ROOT, Row, format_seconds, school_claims

SCHOOL = "8231234"
SIZES = (50, 5000)
MEMORY_TARGET = 1.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
        except Exception:
            return  # an HTTP error answer: it is up
    raise RuntimeError(f"{url} did not start")


@contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    moto_port, lrs_port = _free_port(), _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lrs = subprocess.Popen(
        [sys.executable, "-m", "s2s_cli.fake_lrs", "--port", str(lrs_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        moto_url, lrs_base = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{lrs_port}"
        _wait_for(moto_url)
        _wait_for(f"{lrs_base}/_state")
        yield moto_url, lrs_base
    finally:
        for process in (moto, lrs):
            process.terminate()
            process.wait(timeout=10)


def _lrs_state(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/_state", timeout=10) as answer:
        return json.loads(answer.read())


def _lrs_reset(base: str) -> None:
    request = urllib.request.Request(f"{base}/_reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def _one_batch(count: int, lrs_base: str) -> dict[str, Any]:
    import boto3
    from s2s.domain.principal import principal_from_claims
    from s2s.runtime.settings import get_settings
    from s2s.services import uln_batch_jobs, uln_batches

    ctf = _test_module("ctf_batches")
    data = ctf.ctf_bytes(ctf.pupils(count))
    principal = principal_from_claims(school_claims(SCHOOL))
    batch, _, _ = uln_batches.issue_batch_ticket(
        principal, {"source_ip": "127.0.0.1"}, filename="ULN_request.xml", size_bytes=len(data), sha256=None
    )
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=batch.key, Body=data)
    del data
    _lrs_reset(lrs_base)
    steps: list[dict[str, Any]] = []

    def enqueue(step: str, batch_id: str, *, attempt: int = 0, delay: int = 0) -> None:
        steps.append({"step": step, "batch_id": batch_id, "attempt": attempt})

    real_enqueue = uln_batch_jobs.enqueue
    uln_batch_jobs.enqueue = enqueue
    try:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        outcome = uln_batch_jobs.handle_landed(get_settings().bucket_name, batch.key)
        submitted = time.perf_counter() - started
        while steps:
            uln_batch_jobs.handle_step(steps.pop(0))
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    finally:
        uln_batch_jobs.enqueue = real_enqueue
    done = uln_batches.visible_batch(principal, batch.batch_id)
    requests = _lrs_state(lrs_base)["requests"]
    return {
        "outcome": outcome,
        "status": done.status,
        "pupils": done.counts.get("pupils", 0),
        "submitted_seconds": submitted,
        "seconds": elapsed,
        "peak": peak,
        "submits": sum(1 for r in requests if r.startswith("submit")),
        "polls": sum(1 for r in requests if r.startswith("get")),
    }


def run() -> list[Row]:
    with _servers() as (moto_url, lrs_base):
        env = {
            **ENV,
            "AWS_ENDPOINT_URL": moto_url,
            "LRS_ENDPOINT": f"{lrs_base}/LearnerService.svc",
            "ULN_BATCH_POLL_SECONDS": "0",
            "ULN_BATCH_QUEUE_URL": "unused-the-steps-run-in-process",
            "LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        with _environment(env):
            import boto3
            from s2s.adapters.aws import reset_clients
            from s2s.adapters.lrs import forget_credentials
            from s2s.runtime.settings import get_settings
            from s2s_cli.local.template import create_resources

            def client(service: str) -> Any:
                return boto3.client(service, region_name=ENV["AWS_REGION"], endpoint_url=moto_url)  # type: ignore[call-overload]

            names = create_resources(
                dynamodb=client("dynamodb"),
                s3=client("s3"),
                sns=client("sns"),
                sqs=client("sqs"),
                secrets=client("secretsmanager"),
            )
            with _environment(names.environment()):
                reset_clients()
                get_settings.cache_clear()
                forget_credentials()
                _quiet_logs()
                _one_batch(SIZES[0], lrs_base)  # warm: imports, clients, the credential cache
                small, large = (_one_batch(n, lrs_base) for n in SIZES)
                reset_clients()
                get_settings.cache_clear()
    ratio = large["peak"] / small["peak"]
    rows = []
    for measured in (small, large):
        n = measured["pupils"]
        rows.append(
            Row(
                f"ULN batch {n} pupils: landed to complete ({measured['status']})",
                format_seconds(measured["seconds"]),
                f"to submit {format_seconds(measured['submitted_seconds'])}",
                None,
                "information",
                None,
            )
        )
        calls_ok = measured["submits"] == 1 and measured["polls"] >= 1 and measured["status"] == "complete"
        rows.append(
            Row(
                f"ULN batch {n} pupils: LRS calls",
                f"{measured['submits']} submit + {measured['polls']} polls",
                "",
                None,
                "1 submit + polls",
                calls_ok,
            )
        )
    rows.append(
        Row(
            "ULN batch peak memory, 5,000 vs 50 pupils",
            f"{large['peak'] / 1024:.0f} KiB",
            f"{small['peak'] / 1024:.0f} KiB",
            ratio,
            f"<= {MEMORY_TARGET}x",
            ratio <= MEMORY_TARGET,
        )
    )
    return rows


if __name__ == "__main__":
    from bench.common import format_table

    print(format_table(run()))
    os._exit(0)
