"""Landing check cost does not grow with the upload (issue 14): the check reads the end records,
the central directory and every entry's local header, never file data. Two families of upload,
each at 1 MiB and at 50 MiB (the default upload limit), AES-256 by pyzipper, entries stored:

- a CTF: one entry named as the CTF rule requires;
- a generic file: 100 entries (the most allowed).

- Bytes and requests: the whole landing check, `landing.handle_landed_object`, against moto,
  after a real POST /transfers ticket and upload: the bytes and ranged GETs it read. Target: the
  same bytes at both sizes; at most 2 requests for one entry, at most 2 + entries otherwise.
- Time: `inspect_archive` over a file-backed ranged reader, 50 MiB vs 1 MiB (target at most
  1.5x). moto builds the whole object in memory for every ranged GET, so timing against moto
  would measure moto, not us; its wall time is shown for information."""

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
from s2s.adapters import aws as s2s_aws
from s2s.adapters import ranged
from s2s.domain.ranged import FileRangedReader
from s2s.domain.zipcheck import inspect_archive
from s2s.runtime.settings import get_settings
from s2s.services.landing import handle_landed_object
from s2s_cli.local.template import create_resources

from bench.bench_warm import ENV, REGION, SENDER, _call, _environment, _handler, _quiet_logs, _test_module
from bench.common import Row, format_seconds, school_claims, timeit

MiB = 1024 * 1024
SIZES = {"1 MiB": 1 * MiB, "50 MiB": 50 * MiB}
LIMIT = 50 * MiB  # the default MAX_UPLOAD_BYTES: both archives are at most this
RATIO_TARGET = 1.5
RECIPIENT = "8234002"
CTF_FILENAME = f"{SENDER}_CTF_{RECIPIENT}_001.zip"
CTF_ENTRY = CTF_FILENAME.replace(".zip", ".XML")
GENERIC_FILENAME = f"{SENDER}_{RECIPIENT}_records.zip"
GENERIC_ENTRIES = 100
# What pyzipper adds around the data (headers, AES framing, directory), kept off the data so that
# the archive is at most its nominal size.
OVERHEAD = 64 * 1024


def _chunks(total: int, block: bytes) -> Iterator[bytes]:
    """`total` bytes as one random block repeated: encryption makes the stored bytes random anyway,
    and urandom for 50 MiB would dominate the benchmark."""
    left = total
    while left > 0:
        yield block[: min(left, len(block))]
        left -= len(block)


def _write(folder: Path) -> dict[tuple[str, str], Path]:
    """{(family, size label): archive}"""
    zipfactory = _test_module("zipfactory")
    block = os.urandom(4 * MiB)
    paths = {}
    for label, size in SIZES.items():
        data = size - OVERHEAD
        ctf = folder / f"ctf-{size}.zip"
        zipfactory.write_aes_zip(ctf, {CTF_ENTRY: _chunks(data, block)})
        generic = folder / f"generic-{size}.zip"
        each = data // GENERIC_ENTRIES
        zipfactory.write_aes_zip(
            generic, {f"records/pupil{i:03}.xml": _chunks(each, block) for i in range(GENERIC_ENTRIES)}
        )
        for path in (ctf, generic):
            if path.stat().st_size > LIMIT:
                raise RuntimeError(f"benchmark archive {path.name} is over the upload limit")
        paths["ctf", label], paths["generic", label] = ctf, generic
    return paths


FAMILIES = {
    "ctf": (CTF_FILENAME, CTF_ENTRY, 1),
    "generic": (GENERIC_FILENAME, None, GENERIC_ENTRIES),
}


def _time_rows(paths: dict[tuple[str, str], Path]) -> list[Row]:
    rows = []
    for family, (_filename, entry, _count) in FAMILIES.items():

        def inspect(path: Path, entry: str | None = entry) -> Any:
            verdict = inspect_archive(FileRangedReader(path), max_upload_bytes=LIMIT, single_entry_name=entry)
            if not verdict.ok:
                raise RuntimeError(f"inspection refused the benchmark archive: {verdict.reason} {verdict.detail}")
            return verdict

        small, large = paths[family, "1 MiB"], paths[family, "50 MiB"]
        number = 50 if family == "ctf" else 5
        small_time = timeit(lambda small=small: inspect(small), repeat=7, number=number)
        large_time = timeit(lambda large=large: inspect(large), repeat=7, number=number)
        ratio = large_time / small_time
        rows.append(
            Row(
                f"landing inspect time (file), {family}, 50 MiB vs 1 MiB",
                format_seconds(large_time),
                format_seconds(small_time),
                ratio,
                f"<= {RATIO_TARGET}",
                ratio <= RATIO_TARGET,
            )
        )
    return rows


class _Recorder:
    """Stands in for s2s.adapters.ranged.S3RangedReader and keeps every reader the landing check made."""

    def __init__(self) -> None:
        self.readers: list[Any] = []
        self.real = ranged.S3RangedReader

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reader = self.real(*args, **kwargs)
        self.readers.append(reader)
        return reader


def _moto_rows(paths: dict[tuple[str, str], Path]) -> list[Row]:
    found: dict[tuple[str, str], tuple[int, int, float]] = {}
    with _environment({**ENV, "MAX_UPLOAD_BYTES": str(LIMIT)}), mock_aws():
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
                for (family, label), path in paths.items():
                    filename = FAMILIES[family][0]
                    body = {"filename": filename, "size_bytes": path.stat().st_size}
                    reply = _call(upload, "POST", "/transfers", 201, claims=school_claims(SENDER), body=body)
                    key = json.loads(reply["body"])["upload"]["fields"]["key"]
                    s3.upload_file(str(path), names.bucket, key)  # multipart: moto is slow at one big PUT
                    start = time.perf_counter()
                    outcome = handle_landed_object(names.bucket, key)
                    elapsed = time.perf_counter() - start
                    if outcome != "available":
                        raise RuntimeError(f"the {family} {label} benchmark archive was {outcome}")
                    reader = recorder.readers[-1]
                    found[family, label] = (reader.bytes_read, reader.requests, elapsed)
            finally:
                ranged.S3RangedReader = recorder.real  # type: ignore[misc]
                s2s_aws.reset_clients()
                get_settings.cache_clear()
    rows = []
    for family, (_filename, _entry, count) in FAMILIES.items():
        small_bytes, small_requests, small_time = found[family, "1 MiB"]
        large_bytes, large_requests, large_time = found[family, "50 MiB"]
        most = 2 if count == 1 else 2 + count
        rows += [
            Row(
                f"landing check bytes read (moto S3), {family} ({count} entr{'y' if count == 1 else 'ies'}), "
                "50 MiB vs 1 MiB",
                f"{large_bytes} B in {large_requests} req",
                f"{small_bytes} B in {small_requests} req",
                large_bytes / small_bytes,
                f"equal (1.00), <= {most} req",
                large_bytes == small_bytes and max(small_requests, large_requests) <= most,
            ),
            Row(
                f"landing check wall time (moto S3), {family}, 50 MiB vs 1 MiB",
                format_seconds(large_time),
                format_seconds(small_time),
                large_time / small_time,
                "info: moto reads the whole object per ranged GET",
                None,
            ),
        ]
    return rows


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="s2s-bench-landing-") as folder:
        paths = _write(Path(folder))
        return _time_rows(paths) + _moto_rows(paths)
