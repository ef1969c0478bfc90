"""Zip inspection cost does not grow with the archive: a 1 MiB and a 200 MiB AES-256 archive with
the same entries are inspected with the same bytes read and about the same time, from local files
and from (moto) S3. The check reads the end records, the directory and each entry's local header
(issue 14): one ranged read of the tail and one per entry. For context, the same inspection
against reading the whole 200 MiB, and against stdlib `zipfile` over a ranged file object (what
the usual library approach, which reads no local header at all)."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pyzipper
from moto import mock_aws
from s2s.adapters.ranged import S3RangedReader
from s2s.domain.ranged import FileRangedReader
from s2s.domain.zipcheck import inspect_archive

from bench.common import Row, format_seconds, timeit

MiB = 1024 * 1024
SMALL_BYTES = 1 * MiB
LARGE_BYTES = 200 * MiB
RATIO_TARGET = 1.5
LIMIT = 250 * MiB  # above both archives: the benchmark measures inspection, not the size check

# Same names and count in both archives; only the two data entries' sizes differ.
ENTRY_NAMES = ("records/part1.bin", "records/part2.bin", "records/index.csv")


def _write_archive(path: Path, total: int) -> None:
    """An AES-256 archive of about `total` bytes, written by pyzipper as the client would. Entries
    are stored (no compression) so the size is what is asked; the plaintext is one random block
    repeated, since encryption makes the stored bytes random anyway and urandom would dominate."""
    block = os.urandom(4 * MiB)
    sizes = {ENTRY_NAMES[0]: total * 3 // 5, ENTRY_NAMES[1]: total * 2 // 5}
    with pyzipper.AESZipFile(path, "w", compression=zipfile.ZIP_STORED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"benchmark password")
        for name, size in sizes.items():
            with archive.open(name, "w") as member:
                left = size
                while left > 0:
                    chunk = block[: min(left, len(block))]
                    member.write(chunk)
                    left -= len(chunk)
        archive.writestr(ENTRY_NAMES[2], b"part,bytes\n1,3\n2,2\n")


class _RangedFile(io.RawIOBase):
    """A seekable file object whose reads are ranged reads: how stdlib zipfile would be fed."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.position = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.reader.size}[whence]
        self.position = base + offset
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.reader.size - self.position
        size = max(0, min(size, self.reader.size - self.position))
        data: bytes = self.reader.read_range(self.position, size)
        self.position += len(data)
        return data


def _pair_rows(
    label: str, inspect_small: Any, inspect_large: Any, *, number: int, time_is_ours: bool = True
) -> list[Row]:
    small_result, large_result = inspect_small(), inspect_large()
    if not (small_result.ok and large_result.ok):
        raise RuntimeError(f"inspection refused a benchmark archive: {small_result.reason} {large_result.reason}")
    repeat = 7 if time_is_ours else 3
    small_time = timeit(inspect_small, repeat=repeat, number=number)
    large_time = timeit(inspect_large, repeat=repeat, number=number)
    time_ratio = large_time / small_time
    return [
        Row(
            f"zip {label}: bytes read, 200 MiB vs 1 MiB",
            f"{large_result.bytes_read} B in {large_result.requests} req",
            f"{small_result.bytes_read} B in {small_result.requests} req",
            large_result.bytes_read / small_result.bytes_read,
            "equal (1.00)",
            (large_result.bytes_read, large_result.requests) == (small_result.bytes_read, small_result.requests),
        ),
        Row(
            f"zip {label}: inspect time, 200 MiB vs 1 MiB",
            format_seconds(large_time),
            format_seconds(small_time),
            time_ratio,
            f"<= {RATIO_TARGET}" if time_is_ours else "info: moto reads the whole object per ranged GET",
            time_ratio <= RATIO_TARGET if time_is_ours else None,
        ),
    ]


def _file_rows(small: Path, large: Path) -> list[Row]:
    def inspect(path: Path) -> Any:
        return inspect_archive(FileRangedReader(path), max_upload_bytes=LIMIT)

    rows = _pair_rows("file", lambda: inspect(small), lambda: inspect(large), number=50)

    # Context: what inspecting saves over reading the object once (as a naive check would).
    def read_whole() -> None:
        with large.open("rb") as handle:
            while handle.read(8 * MiB):
                pass

    whole = timeit(read_whole, repeat=3)
    inspect_time = timeit(lambda: inspect(large), repeat=7, number=50)
    rows.append(
        Row(
            "zip file: inspect vs read all 200 MiB",
            format_seconds(inspect_time),
            format_seconds(whole),
            inspect_time / whole,
            "info",
            None,
        )
    )

    # Context: stdlib zipfile over a ranged file object reads fewer bytes in more requests; on S3
    # each request is a round trip, so one 64 KiB read is the cheaper of the two.
    reader = FileRangedReader(large)
    with zipfile.ZipFile(_RangedFile(reader)) as archive:
        names = archive.namelist()
    ours = inspect(large)
    rows.append(
        Row(
            "zip file: ours vs stdlib zipfile, 200 MiB",
            f"{ours.requests} req, {ours.bytes_read} B",
            f"{reader.requests} req, {reader.bytes_read} B",
            ours.requests / reader.requests,
            "info (requests)",
            None if sorted(names) == sorted(ENTRY_NAMES) else False,
        )
    )
    return rows


def _s3_rows(small: Path, large: Path) -> list[Row]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        os.environ.setdefault(key, value)

    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-2")
        s3.create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        sizes = {}
        for path in (small, large):
            # upload_file (multipart): moto takes ~25 s over a single 200 MiB PutObject
            s3.upload_file(str(path), "bench", path.name)
            sizes[path.name] = path.stat().st_size

        def inspect(path: Path) -> Any:
            # Size as the S3 event gives it, so only ranged GETs are timed.
            reader = S3RangedReader(s3, "bench", path.name, size=sizes[path.name])
            return inspect_archive(reader, max_upload_bytes=LIMIT)

        # moto builds the whole object in memory before slicing out a range, so its time grows with
        # the object while real S3's does not; bytes and requests are what S3 bills and waits on.
        return _pair_rows("moto S3", lambda: inspect(small), lambda: inspect(large), number=2, time_is_ours=False)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="s2s-bench-zip-") as folder:
        small, large = Path(folder, "small.zip"), Path(folder, "large.zip")
        _write_archive(small, SMALL_BYTES)
        _write_archive(large, LARGE_BYTES)
        return _file_rows(small, large) + _s3_rows(small, large)
