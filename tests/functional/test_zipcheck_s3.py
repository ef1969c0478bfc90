"""Zip inspection of objects in (moto) S3 through ranged GetObject requests: a large archive costs
the same few small reads as a small one, and S3 problems that are not archive faults surface."""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from s2s.adapters.ranged import S3RangedReader
from s2s.domain.zipcheck import TAIL_BYTES, inspect_archive
from support.zipfactory import make_aes_zip, make_plain_zip, random_chunks, write_aes_zip

pytestmark = pytest.mark.functional

REGION = "eu-west-2"
MiB = 1024 * 1024
CTF_XML = "8231234_CTF_8232345_001.XML"


@pytest.fixture
def s3(aws: Any) -> Any:
    return boto3.client("s3", region_name=REGION)


class CountingS3:
    """Wraps the client to count the calls that went to S3, whatever the reader reports."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, str | None]] = []

    def head_object(self, **kwargs: Any) -> Any:
        self.calls.append(("head_object", None))
        return self.client.head_object(**kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        self.calls.append(("get_object", kwargs.get("Range")))
        return self.client.get_object(**kwargs)


def central_directory_size(path: Path) -> int:
    with path.open("rb") as handle:
        handle.seek(-22, os.SEEK_END)
        return int(struct.unpack("<4s4H2LH", handle.read(22))[5])


def local_header_ranges(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of each local header, from the central directory and the headers."""
    with zipfile.ZipFile(path) as archive:
        offsets = sorted(info.header_offset for info in archive.infolist())
    ranges = []
    with path.open("rb") as handle:
        for offset in offsets:
            handle.seek(offset)
            name_length, extra_length = struct.unpack("<2H", handle.read(30)[26:30])
            ranges.append((offset, 30 + name_length + extra_length))
    return ranges


@pytest.fixture(scope="module")
def large_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # 3 stored entries of random bytes, 110 MiB in all: AES-256 by pyzipper, streamed to disk
    path = tmp_path_factory.mktemp("large") / "8231234_8232345_Records.zip"
    write_aes_zip(
        path,
        {
            "records/part1.bin": random_chunks(60 * MiB),
            "records/part2.bin": random_chunks(40 * MiB),
            "records/index.csv": b"part,bytes\n1,62914560\n2,41943040\n",
        },
        compression=zipfile.ZIP_STORED,
    )
    yield path
    path.unlink()


@pytest.mark.slow
def test_large_archive_in_s3_is_inspected_from_its_tail(aws: Any, s3: Any, large_archive: Path) -> None:
    # Given a 110 MiB AES-256 archive in the bucket
    size = large_archive.stat().st_size
    assert size >= 100 * MiB
    s3.upload_file(str(large_archive), aws.bucket, "incoming/large.zip")
    cd_size = central_directory_size(large_archive)
    counting = CountingS3(s3)

    # When it is inspected through ranged GetObject calls, size from HeadObject
    reader = S3RangedReader(counting, aws.bucket, "incoming/large.zip")  # type: ignore[arg-type]
    result = inspect_archive(reader, max_upload_bytes=200 * MiB)

    # Then it passes after one HeadObject, one ranged read of the last 64 KiB and one read of
    # each entry's local header (issue 14): no file data
    headers = local_header_ranges(large_archive)
    assert result.ok, result.detail
    assert result.entries == 3
    assert result.requests == 1 + len(headers)
    assert result.bytes_read == TAIL_BYTES + sum(length for _start, length in headers)
    assert result.bytes_read < 64 * 1024 + cd_size + 3 * 1024
    assert counting.calls == [
        ("head_object", None),
        ("get_object", f"bytes={size - TAIL_BYTES}-{size - 1}"),
        *[("get_object", f"bytes={start}-{start + length - 1}") for start, length in headers],
    ]


def test_small_ctf_in_s3_with_known_size_needs_no_head(aws: Any, s3: Any) -> None:
    data = make_aes_zip({CTF_XML: b"<CTfile>" + os.urandom(3000) + b"</CTfile>"})
    s3.put_object(Bucket=aws.bucket, Key="incoming/ctf.zip", Body=data)
    counting = CountingS3(s3)

    reader = S3RangedReader(counting, aws.bucket, "incoming/ctf.zip", size=len(data))  # type: ignore[arg-type]
    result = inspect_archive(reader, expected_size=len(data), max_upload_bytes=50 * MiB, single_entry_name=CTF_XML)

    assert result.ok, result.detail
    assert counting.calls == [("get_object", f"bytes=0-{len(data) - 1}")]


def test_unencrypted_archive_in_s3_is_refused(aws: Any, s3: Any) -> None:
    data = make_plain_zip({CTF_XML: b"<CTfile/>"})
    s3.put_object(Bucket=aws.bucket, Key="incoming/plain.zip", Body=data)

    result = inspect_archive(S3RangedReader(s3, aws.bucket, "incoming/plain.zip"), max_upload_bytes=50 * MiB)

    assert (result.ok, result.reason) == (False, "not_encrypted")


def test_too_large_object_is_refused_after_head_only(aws: Any, s3: Any) -> None:
    data = make_aes_zip({"a.bin": os.urandom(200_000)}, compression=zipfile.ZIP_STORED)
    s3.put_object(Bucket=aws.bucket, Key="incoming/big.zip", Body=data)
    counting = CountingS3(s3)

    reader = S3RangedReader(counting, aws.bucket, "incoming/big.zip")  # type: ignore[arg-type]
    result = inspect_archive(reader, max_upload_bytes=100_000)

    assert (result.ok, result.reason) == (False, "too_large")
    assert counting.calls == [("head_object", None)]
    assert (result.bytes_read, result.requests) == (0, 0)


def test_object_shorter_than_its_stated_size_is_not_a_zip(aws: Any, s3: Any) -> None:
    # Given a reader told the object is longer than it is (so the ranges cannot be satisfied)
    data = make_aes_zip({"a.txt": b"a" * 100})
    s3.put_object(Bucket=aws.bucket, Key="incoming/short.zip", Body=data)

    reader = S3RangedReader(s3, aws.bucket, "incoming/short.zip", size=len(data) + 100_000)
    result = inspect_archive(reader, max_upload_bytes=50 * MiB)

    assert (result.ok, result.reason) == (False, "not_zip")


def test_object_replaced_during_inspection_fails_the_read(aws: Any, s3: Any) -> None:
    # Given a reader that has taken the size and ETag of one object
    s3.put_object(Bucket=aws.bucket, Key="incoming/swap.zip", Body=make_aes_zip({"a.txt": b"a" * 100}))
    reader = S3RangedReader(s3, aws.bucket, "incoming/swap.zip")
    assert reader.size > 0

    # When another object replaces it before the ranged reads
    s3.put_object(Bucket=aws.bucket, Key="incoming/swap.zip", Body=make_aes_zip({"b.txt": b"b" * 100}))

    # Then the reads fail (IfMatch) instead of mixing the two objects' bytes
    with pytest.raises(ClientError) as caught:
        inspect_archive(reader, max_upload_bytes=50 * MiB)
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"


def test_missing_object_is_a_storage_error_not_a_verdict(aws: Any, s3: Any) -> None:
    with pytest.raises(ClientError):
        inspect_archive(S3RangedReader(s3, aws.bucket, "incoming/none.zip"), max_upload_bytes=50 * MiB)
