"""Landing check cost does not grow with the upload: a 1 MiB and a 500 MiB AES-256 archive (one
stored entry each, named as the CTF naming rule requires).

- Time: `inspect_archive` over a file-backed ranged reader, 500 MiB vs 1 MiB (target at most
  1.5x). moto builds the whole object in memory for every ranged GET, so timing against moto
  would measure moto, not us.
- Bytes: the whole landing check, `uploads.handle_landed_object`, against moto, after a real
  POST /transfers ticket and upload: bytes and ranged GETs it read (target: the same for both).
  Its wall time is shown for information (moto's ranged GETs and copy grow with the object)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from s2s import aws as s2s_aws
from s2s import ranged
from s2s.ranged import FileRangedReader
from s2s.settings import get_settings
from s2s.uploads import handle_landed_object
from s2s.zipcheck import inspect_archive
from s2s_cli.local.template import create_resources

from bench.bench_warm import ENV, REGION, SENDER, _call, _environment, _handler, _quiet_logs, _test_module
from bench.common import Row, format_seconds, school_claims, timeit

MiB = 1024 * 1024
SIZES = {"1 MiB": 1 * MiB, "500 MiB": 500 * MiB}
RATIO_TARGET = 1.5
FILENAME = f"{SENDER}_CTF_8234002_001.zip"
ENTRY = FILENAME.replace(".zip", ".XML")


def _chunks(total: int) -> Iterator[bytes]:
    """`total` bytes as one random 4 MiB block repeated: encryption makes the stored bytes random
    anyway, and urandom for 500 MiB would dominate the benchmark."""
    block = os.urandom(4 * MiB)
    left = total
    while left > 0:
        yield block[: min(left, len(block))]
        left -= len(block)


def _write(folder: Path) -> dict[str, Path]:
    zipfactory = _test_module("zipfactory")
    paths = {}
    for label, size in SIZES.items():
        path = folder / f"{size}.zip"
        zipfactory.write_aes_zip(path, {ENTRY: _chunks(size)})
        paths[label] = path
    return paths


def _time_rows(paths: dict[str, Path]) -> list[Row]:
    limit = max(path.stat().st_size for path in paths.values()) + MiB

    def inspect(path: Path) -> Any:
        verdict = inspect_archive(FileRangedReader(path), max_upload_bytes=limit, single_entry_name=ENTRY)
        if not verdict.ok:
            raise RuntimeError(f"inspection refused the benchmark archive: {verdict.reason}")
        return verdict

    small, large = paths["1 MiB"], paths["500 MiB"]
    small_time = timeit(lambda: inspect(small), repeat=7, number=50)
    large_time = timeit(lambda: inspect(large), repeat=7, number=50)
    ratio = large_time / small_time
    return [
        Row(
            "landing inspect time (file), 500 MiB vs 1 MiB",
            format_seconds(large_time),
            format_seconds(small_time),
            ratio,
            f"<= {RATIO_TARGET}",
            ratio <= RATIO_TARGET,
        )
    ]


class _Recorder:
    """Stands in for s2s.ranged.S3RangedReader and keeps every reader the landing check made."""

    def __init__(self) -> None:
        self.readers: list[Any] = []
        self.real = ranged.S3RangedReader

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reader = self.real(*args, **kwargs)
        self.readers.append(reader)
        return reader


def _moto_rows(paths: dict[str, Path]) -> list[Row]:
    largest = max(path.stat().st_size for path in paths.values())
    with _environment({**ENV, "MAX_UPLOAD_BYTES": str(largest + MiB)}), mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        names = create_resources(
            dynamodb=boto3.client("dynamodb", region_name=REGION),
            s3=s3,
            sns=boto3.client("sns", region_name=REGION),
            sqs=boto3.client("sqs", region_name=REGION),
            secrets=boto3.client("secretsmanager", region_name=REGION),
        )
        with _environment(names.environment()):
            s2s_aws.reset_clients()
            get_settings.cache_clear()
            upload = _handler("upload", "upload_api")
            _quiet_logs()
            recorder = _Recorder()
            ranged.S3RangedReader = recorder  # type: ignore[assignment, misc]
            try:
                found: dict[str, tuple[int, int, float]] = {}
                for label, path in paths.items():
                    body = {"filename": FILENAME, "size_bytes": path.stat().st_size}
                    reply = _call(upload, "POST", "/transfers", 201, claims=school_claims(SENDER), body=body)
                    key = json.loads(reply["body"])["upload"]["fields"]["key"]
                    s3.upload_file(str(path), names.bucket, key)  # multipart: moto is slow at one big PUT
                    start = time.perf_counter()
                    outcome = handle_landed_object(names.bucket, key)
                    elapsed = time.perf_counter() - start
                    if outcome != "available":
                        raise RuntimeError(f"the {label} benchmark archive was {outcome}")
                    reader = recorder.readers[-1]
                    found[label] = (reader.bytes_read, reader.requests, elapsed)
            finally:
                ranged.S3RangedReader = recorder.real  # type: ignore[misc]
                s2s_aws.reset_clients()
                get_settings.cache_clear()
    (small_bytes, small_requests, small_time), (large_bytes, large_requests, large_time) = (
        found["1 MiB"],
        found["500 MiB"],
    )
    return [
        Row(
            "landing check bytes read (moto S3), 500 MiB vs 1 MiB",
            f"{large_bytes} B in {large_requests} req",
            f"{small_bytes} B in {small_requests} req",
            large_bytes / small_bytes,
            "equal (1.00)",
            (large_bytes, large_requests) == (small_bytes, small_requests),
        ),
        Row(
            "landing check wall time (moto S3), 500 MiB vs 1 MiB",
            format_seconds(large_time),
            format_seconds(small_time),
            large_time / small_time,
            "info: moto reads and copies the whole object",
            None,
        ),
    ]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="s2s-bench-landing-") as folder:
        paths = _write(Path(folder))
        return _time_rows(paths) + _moto_rows(paths)
