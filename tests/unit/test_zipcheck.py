"""Zip inspection (docs/SERVICE.md §3) over in-memory and file ranged readers."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s2s.domain.ranged import BytesRangedReader, FileRangedReader, RangeReadError, ReadLimitExceeded
from s2s.domain.zipcheck import REASONS, TAIL_BYTES, Inspection, inspect_archive
from support.zipfactory import (
    AES128,
    AES192,
    DESCRIPTOR_SIG,
    NONE,
    PASSWORD,
    CentralRecord,
    Entry,
    Member,
    aes_field,
    build_zip,
    edit_central_directory,
    extra_field,
    make_aes_zip,
    make_plain_zip,
    make_zipcrypto_zip,
    parse_archive,
    random_chunks,
    read_central_directory,
    rebuild,
    to_zip64,
    unicode_path_field,
    winzip_style,
    with_descriptor,
    write_aes_zip,
)

pytestmark = pytest.mark.unit

LIMIT = 50 * 1024 * 1024
CTF = "8231234_CTF_8232345_001"
CTF_XML = f"{CTF}.XML"
SMALL = {"report.pdf": b"%PDF-1.7 " + os.urandom(2000), "notes/summary.txt": b"all well\n" * 50}


def inspect(data: bytes, **kwargs: Any) -> Inspection:
    kwargs.setdefault("max_upload_bytes", LIMIT)
    return inspect_archive(BytesRangedReader(data), **kwargs)


def assert_refused(result: Inspection, reason: str) -> None:
    assert (result.ok, result.reason) == (False, reason), result.detail
    assert result.message and "Traceback" not in result.message


def edit_both(data: bytes, index: int, **changes: Any) -> bytes:
    """The archive with entry `index` changed alike in its local header and its central record."""
    layout = parse_archive(data)
    members = list(layout.members)
    member = members[index]
    members[index] = replace(member, local=replace(member.local, **changes), central=replace(member.central, **changes))
    return replace(layout, members=tuple(members)).pack()


def edit(data: bytes, index: int, **changes: Any) -> bytes:
    """The archive with central directory record `index` changed."""

    def change(records: list[CentralRecord]) -> list[CentralRecord]:
        records[index] = replace(records[index], **changes)
        return records

    return edit_central_directory(data, change)


# --- Accepted ---------------------------------------------------------------------------------


def test_single_aes256_ctf_is_accepted_in_one_small_read() -> None:
    # Given a CTF zipped as AES-256 with the protocol's entry name
    data = make_aes_zip({CTF_XML: b"<CTfile>" + os.urandom(5000) + b"</CTfile>"})

    # When it is inspected as a CTF
    result = inspect(data, single_entry_name=CTF_XML, expected_size=len(data))

    # Then it passes, after one ranged read of the tail
    assert result.ok and result.reason is None
    assert result.entries == 1
    assert result.requests == 1
    assert result.bytes_read == len(data)  # the whole (small) archive fits in the tail window


def test_multi_entry_aes256_is_accepted() -> None:
    data = make_aes_zip(SMALL)

    result = inspect(data)

    assert result.ok, result.detail
    assert result.entries == 2
    assert "2 files" in result.message


@pytest.mark.parametrize("entry_name", [f"{CTF}.xml", f"{CTF}.Xml", CTF_XML])
def test_ctf_entry_extension_in_any_case_is_accepted(entry_name: str) -> None:
    result = inspect(make_aes_zip({entry_name: b"<CTfile/>"}), single_entry_name=CTF_XML)

    assert result.ok, result.detail


def test_zip64_end_records_and_extras_are_understood() -> None:
    # Given the same AES-256 archive with ZIP64 end record, locator and per-entry 0x0001 extras
    plain = make_aes_zip(SMALL)
    data = to_zip64(plain)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == list(SMALL)  # zipfile reads it too

    # When it is inspected
    result = inspect(data)

    # Then it passes like the classic form
    assert result.ok, result.detail
    assert result.entries == 2


def test_hundred_entries_are_accepted() -> None:
    data = make_aes_zip({f"file{i:03}.txt": b"x" for i in range(100)}, compression=zipfile.ZIP_STORED)

    result = inspect(data)

    assert result.ok, result.detail
    assert result.entries == 100


def local_headers(data: bytes) -> list[int]:
    """The length of each entry's local header, in file order."""
    return [len(member.local.pack()) for member in parse_archive(data).members]


def test_longest_comment_still_finds_the_end_record_with_a_second_read() -> None:
    # Given an archive whose comment fills the whole search window
    data = make_aes_zip(SMALL, comment=b"c" * 0xFFFF)
    body, _records, _comment = read_central_directory(data)

    result = inspect(data)

    # Then the end record is found and the directory, now before the tail, costs one more read
    # of just the part that the tail did not cover (and the 24 bytes before it, where a data
    # descriptor would be), and each local header one read of its own: no file data
    assert result.ok, result.detail
    assert result.requests == 2 + len(SMALL)
    assert result.bytes_read == len(data) - len(body) + 24 + sum(local_headers(data))


def test_large_central_directory_is_fetched_in_one_extra_read_of_only_the_missing_part() -> None:
    # Given 100 entries with long names: a ~110 KB central directory behind ~1 MB of data
    entries = {f"{'n' * 1000}{i:03}.bin": os.urandom(10_000) for i in range(100)}
    data = make_aes_zip(entries, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)
    cd_size = sum(len(record.pack()) for record in records)
    assert cd_size > TAIL_BYTES

    result = inspect(data)

    # Then: the tail, the rest of the directory, and one read per local header
    assert result.ok, result.detail
    assert result.requests == 2 + 100
    # the tail holds all but the end record's 22 bytes of itself; the rest of the directory comes
    # with the 24 bytes before it
    assert result.bytes_read == TAIL_BYTES + (cd_size + 24 - (TAIL_BYTES - 22)) + sum(local_headers(data))


def test_unencrypted_folder_entries_do_not_make_an_aes_archive_mixed() -> None:
    # 7-Zip stores folder entries unencrypted even when every file is AES-256
    data = build_zip(
        [Entry("docs/", b"", NONE, zipfile.ZIP_STORED), Entry("docs/report.pdf", b"%PDF" + os.urandom(100))]
    )

    assert inspect(data).ok


def test_file_ranged_reader(tmp_path: Path) -> None:
    path = tmp_path / "upload.zip"
    path.write_bytes(make_aes_zip(SMALL))

    result = inspect_archive(FileRangedReader(path), max_upload_bytes=LIMIT)

    assert result.ok
    assert result.bytes_read == path.stat().st_size


# --- Encryption -------------------------------------------------------------------------------


@pytest.mark.parametrize("strength", [128, 192])
def test_aes_128_and_192_are_weak(strength: int) -> None:
    assert_refused(inspect(make_aes_zip(SMALL, strength=strength)), "weak_encryption")


def test_zipcrypto_is_weak() -> None:
    data = make_zipcrypto_zip({"a.txt": b"secret"})
    assert zipfile.ZipFile(io.BytesIO(data)).read("a.txt", pwd=PASSWORD) == b"secret"  # real ZipCrypto

    assert_refused(inspect(data), "weak_encryption")


@pytest.mark.parametrize("weak", [AES128, AES192])
def test_weak_entry_beside_aes256_is_weak(weak: str) -> None:
    data = build_zip([Entry("good.txt", b"a" * 100), Entry("weak.txt", b"b" * 100, weak)])

    assert_refused(inspect(data), "weak_encryption")


def test_zipcrypto_beside_unencrypted_is_weak() -> None:
    data = build_zip([Entry("a.txt", b"a", "zipcrypto"), Entry("b.txt", b"b", NONE)])

    assert_refused(inspect(data), "weak_encryption")


def test_unencrypted_is_refused() -> None:
    result = inspect(make_plain_zip(SMALL))

    assert_refused(result, "not_encrypted")
    assert "AES-256" in result.message and "7-Zip" in result.message


def test_only_folders_is_not_encrypted() -> None:
    assert_refused(inspect(build_zip([Entry("docs/", b"", NONE, zipfile.ZIP_STORED)])), "not_encrypted")


def test_some_unencrypted_is_mixed() -> None:
    data = build_zip([Entry("a.txt", b"a" * 100), Entry("b.txt", b"b" * 100, NONE)])

    assert_refused(inspect(data), "mixed_encryption")


def test_method_99_without_aes_field_is_not_a_zip() -> None:
    data = make_aes_zip({"a.txt": b"a"})

    assert_refused(inspect(edit(data, 0, extra=b"")), "not_zip")


def test_unknown_aes_strength_is_not_a_zip() -> None:
    data = make_aes_zip({"a.txt": b"a"})
    _body, records, _comment = read_central_directory(data)
    extra = records[0].extra
    at = extra.index(b"AE")

    assert_refused(inspect(edit(data, 0, extra=extra[: at + 2] + b"\x07" + extra[at + 3 :])), "not_zip")


# --- Entry names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/../../x",
        "..",
        "/abs",
        "/etc/passwd",
        "C:\\x",
        "C:x",
        "a\\b",
        "bad\x01name",
        "bad\x7fname",
        "report\u202efdp.exe",
    ],
)
def test_dangerous_names_are_refused(name: str) -> None:
    data = make_aes_zip({"fine.txt": b"x" * 10, name: b"y" * 10})

    result = inspect(data)

    assert_refused(result, "bad_entry_name")
    assert result.detail.startswith("entry 1:")  # names may hold personal data; details use indexes


def test_nul_in_name_is_refused() -> None:
    # zipfile cuts names at NUL, so the byte is put in by editing the central directory
    data = make_aes_zip({"safe.txt.exe": b"x" * 10})
    patched = edit(data, 0, name=b"safe.txt\x00exe")

    assert_refused(inspect(patched), "bad_entry_name")


def test_symlink_is_refused() -> None:
    data = build_zip([Entry("a.txt", b"x" * 10), Entry("link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)])

    assert_refused(inspect(data), "bad_entry_name")


def test_unicode_path_field_is_checked_too() -> None:
    # Info-ZIP unzip extracts to the name in the 0x7075 field, not the header's
    data = make_aes_zip({"fine.txt": b"x" * 10})
    _body, records, _comment = read_central_directory(data)
    evil = b"\x01" + struct.pack("<L", 0) + b"../../evil.txt"
    field = struct.pack("<2H", 0x7075, len(evil)) + evil

    assert_refused(inspect(edit(data, 0, extra=records[0].extra + field)), "bad_entry_name")


def test_name_flagged_utf8_but_not_utf8_is_refused() -> None:
    data = make_aes_zip({"ab.txt": b"x" * 10})

    assert_refused(inspect(edit(data, 0, name=b"\xff\xfe.txt", flags=0x0801)), "bad_entry_name")


# --- Entry counts and the single-entry families -----------------------------------------------


def test_101_entries_are_too_many_decided_from_the_end_record() -> None:
    data = make_aes_zip({f"f{i}.txt": b"x" for i in range(101)}, compression=zipfile.ZIP_STORED)

    result = inspect(data)

    assert_refused(result, "too_many_entries")
    assert result.entries == 101
    assert result.requests == 1


def test_two_entries_in_a_ctf_are_too_many() -> None:
    data = make_aes_zip({CTF_XML: b"<CTfile/>", "extra.txt": b"x"})

    result = inspect(data, single_entry_name=CTF_XML)

    assert_refused(result, "too_many_entries")
    assert CTF_XML in result.message


@pytest.mark.parametrize("entry_name", ["ctf.xml", f"{CTF}.zip", f"{CTF.lower()}.xml", f"folder/{CTF_XML}", CTF])
def test_wrong_entry_name_for_a_ctf(entry_name: str) -> None:
    result = inspect(make_aes_zip({entry_name: b"<CTfile/>"}), single_entry_name=CTF_XML)

    assert_refused(result, "entry_name_mismatch")
    assert CTF_XML in result.message


def test_empty_archive() -> None:
    result = inspect(make_plain_zip({}))

    assert_refused(result, "empty_archive")
    assert result.entries == 0


# --- Zip bombs --------------------------------------------------------------------------------


def test_compressed_zeros_over_1000_to_1_are_a_bomb() -> None:
    # Deflate packs zeros about 1030:1; AES adds 28 bytes, which does not save it
    data = make_aes_zip({"zeros.bin": bytes(20 * 1024 * 1024)})
    assert len(data) < 30_000

    result = inspect(data)

    assert_refused(result, "zip_bomb")
    assert result.bytes_read == len(data)


def test_ratio_of_exactly_1000_is_allowed_and_1001_is_not() -> None:
    data = make_aes_zip({"a.bin": os.urandom(1000)}, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)
    compressed = records[0].compressed

    assert inspect(edit_both(data, 0, uncompressed=1000 * compressed)).ok
    assert_refused(inspect(edit(data, 0, uncompressed=1000 * compressed + 1)), "zip_bomb")


def test_declared_total_over_1_gib_is_a_bomb() -> None:
    # Two entries, each within the ratio, that together declare more than 1 GiB
    data = make_aes_zip({"a.bin": os.urandom(600_000), "b.bin": os.urandom(600_000)}, compression=zipfile.ZIP_STORED)
    declared = 550 * 1024 * 1024

    def inflate(records: list[CentralRecord]) -> list[CentralRecord]:
        return [replace(record, uncompressed=declared) for record in records]

    result = inspect(edit_central_directory(data, inflate))

    assert_refused(result, "zip_bomb")
    assert "total" in result.detail


# --- Structure: not a zip, lying or hidden data -----------------------------------------------


@pytest.mark.parametrize("data", [b"", b"PK", b"not a zip at all " * 100, os.urandom(70_000)])
def test_not_a_zip(data: bytes) -> None:
    assert_refused(inspect(data), "not_zip")


@pytest.mark.parametrize("cut", [1, 10, 22, 100, 0.5])
def test_truncated(cut: float) -> None:
    data = make_aes_zip(SMALL)
    keep = int(len(data) * cut) if isinstance(cut, float) else len(data) - cut

    assert_refused(inspect(data[:keep]), "not_zip")


def test_corrupt_central_directory_signature() -> None:
    data = make_aes_zip(SMALL)
    at = data.index(b"PK\x01\x02")

    assert_refused(inspect(data[:at] + b"PK\x01\x03" + data[at + 4 :]), "not_zip")


def test_central_directory_name_length_running_past_the_directory() -> None:
    data = bytearray(make_aes_zip(SMALL))
    at = data.rindex(b"PK\x01\x02")
    struct.pack_into("<H", data, at + 28, 60_000)

    assert_refused(inspect(bytes(data)), "not_zip")


def test_end_record_counting_more_entries_than_the_directory_holds() -> None:
    body, records, _comment = read_central_directory(make_aes_zip(SMALL))

    assert_refused(inspect(rebuild(body, records, count=3)), "not_zip")


def test_prepended_data_is_refused() -> None:
    data = make_aes_zip(SMALL)

    assert_refused(inspect(b"MZ" + os.urandom(4000) + data), "not_zip")


def test_prepended_data_with_shifted_offsets_is_refused() -> None:
    # A self-extractor shifts every offset so that the offsets are consistent; still prepended
    body, records, comment = read_central_directory(make_aes_zip(SMALL))
    prefix = b"MZ" + bytes(998)
    shifted = [replace(record, offset=record.offset + len(prefix)) for record in records]

    result = inspect(rebuild(prefix + body, shifted, comment=comment))

    assert_refused(result, "not_zip")
    assert "prepended" in result.detail


def test_hidden_data_between_directory_and_end_record_is_refused() -> None:
    data = make_aes_zip(SMALL)
    eocd = data.rindex(b"PK\x05\x06")

    assert_refused(inspect(data[:eocd] + b"hidden" + data[eocd:]), "not_zip")


def test_data_after_the_end_record_is_refused() -> None:
    assert_refused(inspect(make_aes_zip(SMALL) + b"trailing"), "not_zip")


def test_overlapping_entries_are_refused() -> None:
    # Given a second entry whose local header starts inside the first entry's data
    data = make_aes_zip(SMALL, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)

    result = inspect(edit(data, 1, offset=records[0].offset + 40))

    assert_refused(result, "not_zip")
    assert "overlaps" in result.detail


def test_two_entries_sharing_one_local_header_are_refused() -> None:
    # The classic overlapping-files bomb: many directory entries, one compressed stream
    data = make_aes_zip(SMALL)

    assert_refused(inspect(edit(data, 1, offset=0)), "not_zip")


def test_entry_running_into_the_central_directory_is_refused() -> None:
    data = make_aes_zip(SMALL, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)

    assert_refused(inspect(edit(data, 1, compressed=records[1].compressed + 500)), "not_zip")


def test_multi_disk_archive_is_refused() -> None:
    data = bytearray(make_aes_zip(SMALL))
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<H", data, eocd + 4, 1)

    assert_refused(inspect(bytes(data)), "not_zip")


def test_duplicated_extra_field_is_refused() -> None:
    data = make_aes_zip({"a.txt": b"a"})
    _body, records, _comment = read_central_directory(data)

    assert_refused(inspect(edit(data, 0, extra=records[0].extra * 2)), "not_zip")


def test_lying_end_record_cannot_make_the_reader_fetch_the_object() -> None:
    # Given 1 MB of data followed by an end record claiming it is all one entry's directory
    body = os.urandom(1024 * 1024)
    data = body + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(body), 0, 0)

    result = inspect(data)

    # Then it is refused from the end record alone
    assert_refused(result, "not_zip")
    assert result.requests == 1
    assert result.bytes_read == TAIL_BYTES


# --- ZIP64 lies -------------------------------------------------------------------------------


def _zip64_parts() -> tuple[bytes, int, int]:
    data = to_zip64(make_aes_zip(SMALL))
    locator = data.rindex(b"PK\x06\x07")
    record = data.rindex(b"PK\x06\x06")
    return data, locator, record


def test_zip64_locator_pointing_elsewhere() -> None:
    data, locator, record = _zip64_parts()
    broken = bytearray(data)
    struct.pack_into("<Q", broken, locator + 8, record - 4)

    assert_refused(inspect(bytes(broken)), "not_zip")


def test_zip64_record_not_ending_at_its_locator() -> None:
    data, _locator, record = _zip64_parts()
    broken = bytearray(data)
    struct.pack_into("<Q", broken, record + 4, 40)

    assert_refused(inspect(bytes(broken)), "not_zip")


def test_end_record_disagreeing_with_zip64_record() -> None:
    data, _locator, _record = _zip64_parts()
    broken = bytearray(data)
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<2H", broken, eocd + 8, 7, 7)

    assert_refused(inspect(bytes(broken)), "not_zip")


def test_zip64_sentinel_without_zip64_extra() -> None:
    data = make_aes_zip({"a.txt": b"a"})

    assert_refused(inspect(edit(data, 0, compressed=0xFFFFFFFF)), "not_zip")


def test_zip64_count_over_100_is_too_many() -> None:
    data, _locator, record = _zip64_parts()
    broken = bytearray(data)
    struct.pack_into("<2Q", broken, record + 24, 5000, 5000)

    assert_refused(inspect(bytes(broken)), "too_many_entries")


# --- Size, and what is read -------------------------------------------------------------------


def test_too_large_reads_nothing() -> None:
    data = make_aes_zip(SMALL)

    result = inspect(data, max_upload_bytes=len(data) - 1)

    assert_refused(result, "too_large")
    assert (result.bytes_read, result.requests) == (0, 0)
    assert "limit" in result.message


def test_size_other_than_the_upload_was_issued_for_reads_nothing() -> None:
    data = make_aes_zip(SMALL)

    result = inspect(data, expected_size=len(data) + 1)

    assert_refused(result, "unexpected_object")
    assert result.bytes_read == 0


def test_reader_cap_turns_into_not_zip() -> None:
    data = make_aes_zip(SMALL)

    result = inspect_archive(BytesRangedReader(data, max_total_bytes=100), max_upload_bytes=LIMIT)

    assert_refused(result, "not_zip")
    assert result.bytes_read == 0


def test_bytes_read_do_not_grow_with_the_data() -> None:
    small = make_aes_zip({"a.bin": os.urandom(10_000)}, compression=zipfile.ZIP_STORED)
    large = make_aes_zip({"a.bin": os.urandom(3_000_000)}, compression=zipfile.ZIP_STORED)

    small_read, large_read = inspect(small), inspect(large)

    # The small one fits in the first read; the large one costs that read and its local header
    assert (small_read.bytes_read, small_read.requests) == (len(small), 1)
    assert (large_read.bytes_read, large_read.requests) == (TAIL_BYTES + local_headers(large)[0], 2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"nothing", "not_zip"),
        (make_plain_zip({}), "empty_archive"),
        (make_plain_zip({"a": b"a"}), "not_encrypted"),
        (build_zip([Entry("a", b"a"), Entry("b", b"b", NONE)]), "mixed_encryption"),
        (make_aes_zip({"a": b"a"}, strength=128), "weak_encryption"),
        (make_aes_zip({"../a": b"a"}), "bad_entry_name"),
        (make_aes_zip({"a": bytes(10_000_000)}), "zip_bomb"),
    ],
)
def test_refusals_say_what_to_do_in_plain_words(data: bytes, reason: str) -> None:
    result = inspect(data)

    assert_refused(result, reason)
    assert result.message.endswith(".")
    assert "AES-256" in result.message
    assert "central directory" not in result.message and "EOCD" not in result.message


# --- Ranged readers ---------------------------------------------------------------------------


def test_bytes_reader_counts_and_caps() -> None:
    reader = BytesRangedReader(b"0123456789", max_total_bytes=6)

    assert reader.read_range(2, 3) == b"234"
    assert reader.read_range(0, 0) == b""
    assert (reader.bytes_read, reader.requests) == (3, 1)
    with pytest.raises(ReadLimitExceeded):
        reader.read_range(0, 4)
    with pytest.raises(RangeReadError):
        reader.read_range(8, 3)
    assert reader.bytes_read == 3


# --- Robustness: mangled archives never raise -------------------------------------------------

_SAMPLE = to_zip64(make_aes_zip(SMALL))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=255)),
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=40),
)
def test_mangled_archives_are_refused_or_accepted_but_never_raise(edits: list[tuple[int, int]], cut: int) -> None:
    # Bytes in the tail, where the directory and end records are, overwritten at random
    data = bytearray(_SAMPLE)
    for back, value in edits:
        data[-back] = value
    mangled = bytes(data[: len(data) - cut])

    result = inspect(mangled)

    assert result.reason in (None, *REASONS)
    assert result.bytes_read <= len(mangled)


# --- The factory other tests rely on ------------------------------------------------------------


@pytest.mark.parametrize("strength", [128, 192, 256])
def test_factory_aes_archives_decrypt_with_the_password(strength: int) -> None:
    data = make_aes_zip(SMALL, strength=strength)

    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(PASSWORD)
        assert {name: archive.read(name) for name in archive.namelist()} == SMALL
        # pyzipper reports the AES field's real compression method and its strength byte
        assert {info.wz_aes_strength for info in archive.infolist()} == {strength // 64 - 1}


def test_factory_streams_large_entries_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    size = write_aes_zip(path, {"a.bin": random_chunks(3 * 1024 * 1024, chunk=1024 * 1024), "b.txt": b"b"})

    assert size == path.stat().st_size > 3 * 1024 * 1024
    with pyzipper.AESZipFile(path) as archive:
        archive.setpassword(PASSWORD)
        assert len(archive.read("a.bin")) == 3 * 1024 * 1024
    assert inspect_archive(FileRangedReader(path), max_upload_bytes=LIMIT).ok


# --- Issue 14: every local header, the layout, the end records (docs/SERVICE.md §3) ----------------
#
# Each test changes one thing in a genuine archive, everywhere else consistent (offsets are
# recomputed by `Layout.pack`), so that only the rule it is named after can refuse it.

INCONSISTENT = "This file's structure is inconsistent, so it cannot be checked."


def assert_inconsistent(result: Inspection) -> None:
    assert_refused(result, "not_zip")
    assert result.message.startswith(INCONSISTENT)
    assert "AES-256" in result.message


def change_member(data: bytes, index: int = 0, **changes: Any) -> bytes:
    """The archive with member `index` replaced by `replace(member, **changes)`."""
    layout = parse_archive(data)
    members = list(layout.members)
    members[index] = replace(members[index], **changes)
    return replace(layout, members=tuple(members)).pack()


def set_member(data: bytes, index: int, member: Member) -> bytes:
    layout = parse_archive(data)
    members = list(layout.members)
    members[index] = member
    return replace(layout, members=tuple(members)).pack()


def change_local(data: bytes, index: int = 0, **changes: Any) -> bytes:
    member = parse_archive(data).members[index]
    return change_member(data, index, local=replace(member.local, **changes))


def change_central(data: bytes, index: int = 0, **changes: Any) -> bytes:
    member = parse_archive(data).members[index]
    return change_member(data, index, central=replace(member.central, **changes))


def test_the_layout_model_round_trips_so_the_edits_below_are_the_only_change() -> None:
    data = make_aes_zip(SMALL)

    assert parse_archive(data).pack() == data
    assert inspect(data).ok


@pytest.mark.parametrize("vendor_version", [1, 2])
def test_winzip_style_ae1_and_ae2_entries_are_accepted(vendor_version: int) -> None:
    # WinZip writes an NTFS times field beside the AES field in both headers; AE-1 keeps the CRC
    data = winzip_style(make_aes_zip(SMALL), vendor_version=vendor_version)

    result = inspect(data)

    assert result.ok, result.detail


def test_pyzipper_folder_entries_holding_only_the_aes_framing_are_accepted() -> None:
    for compression, size in ((zipfile.ZIP_STORED, 28), (zipfile.ZIP_DEFLATED, 30)):
        data = make_aes_zip({"docs/": b"", "docs/report.pdf": b"%PDF" + os.urandom(100)}, compression=compression)
        assert read_central_directory(data)[1][0].compressed == size  # salt, verifier, MAC of nothing

        assert inspect(data).ok


def test_archive_made_by_7zip_is_accepted(tmp_path: Path) -> None:
    if shutil.which("7zz") is None:
        pytest.skip("7zz is not installed: apt-get install -y 7zip (as .ci/run does)")
    (tmp_path / "in" / "docs").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"pupil records\n" * 100)
    (tmp_path / "in" / "docs" / "b.bin").write_bytes(os.urandom(3000))
    archive = tmp_path / "out.zip"
    subprocess.run(
        ["7zz", "a", "-tzip", "-mem=AES256", "-pcorrect-horse", str(archive), "a.txt", "docs"],
        cwd=tmp_path / "in",
        check=True,
        capture_output=True,
    )

    result = inspect(archive.read_bytes())

    assert result.ok, result.detail
    assert result.entries == 3


# local header against central record


def test_local_header_signature_must_be_there() -> None:
    assert_inconsistent(inspect(change_local(make_aes_zip(SMALL), 1, signature=b"PK\x03\x05")))


def test_local_header_must_name_the_same_bytes() -> None:
    # Same length, another case: streaming readers would extract "Report.pdf"
    assert_inconsistent(inspect(change_local(make_aes_zip(SMALL), 0, name=b"Report.pdf")))


def test_local_header_must_have_the_same_flags() -> None:
    data = make_aes_zip(SMALL)
    flags = parse_archive(data).members[0].local.flags

    assert_inconsistent(inspect(change_local(data, 0, flags=flags | 0x0800)))


def test_local_header_must_have_the_same_method() -> None:
    data = make_aes_zip(SMALL, compression=zipfile.ZIP_STORED)

    assert_inconsistent(inspect(change_local(data, 0, method=0)))


@pytest.mark.parametrize(
    "local_aes",
    [b"", aes_field(strength=1, actual_method=8), aes_field(strength=3, actual_method=0)],
    ids=["missing", "aes128", "other_method"],
)
def test_local_header_must_carry_the_same_aes_field(local_aes: bytes) -> None:
    data = make_aes_zip(SMALL)
    assert parse_archive(data).members[0].local.extra == aes_field(strength=3, actual_method=8)

    assert_inconsistent(inspect(change_local(data, 0, extra=local_aes)))


@pytest.mark.parametrize("field", ["compressed", "uncompressed"])
def test_local_header_sizes_must_be_the_central_sizes(field: str) -> None:
    data = make_aes_zip(SMALL)
    value = getattr(parse_archive(data).members[0].local, field)

    assert_inconsistent(inspect(change_local(data, 0, **{field: value + 1})))


def test_local_header_crc_must_be_the_central_crc() -> None:
    data = winzip_style(make_aes_zip(SMALL), vendor_version=1)  # AE-1: a real CRC field

    assert_inconsistent(inspect(change_local(data, 0, crc=0x0BADF00D)))


def test_local_header_extra_fields_must_not_repeat() -> None:
    data = make_aes_zip(SMALL)
    extra = parse_archive(data).members[0].local.extra

    assert_inconsistent_or_not_zip = inspect(change_local(data, 0, extra=extra + extra_field(0xCAFE, b"") * 2))
    assert_refused(assert_inconsistent_or_not_zip, "not_zip")


def test_local_header_extra_length_must_not_run_into_the_data() -> None:
    # The header claims 100 more extra bytes than it has: they would be the start of the data
    data = bytearray(make_aes_zip(SMALL))
    (extra_length,) = struct.unpack_from("<H", data, 28)
    struct.pack_into("<H", data, 28, extra_length + 100)

    assert_refused(inspect(bytes(data)), "not_zip")


def test_unrelated_extra_fields_may_differ_between_the_headers() -> None:
    # 7-Zip puts its NTFS times in the central record only; Info-ZIP's UT field differs in length
    data = make_aes_zip(SMALL)
    member = parse_archive(data).members[0]
    data = change_central(data, 0, extra=extra_field(0x000A, bytes(32)) + member.central.extra)
    data = change_local(data, 0, extra=member.local.extra + extra_field(0x5455, b"\x01" + bytes(4)))

    assert inspect(data).ok


# ZIP64 fields


def test_local_zip64_field_with_the_central_sizes_is_accepted() -> None:
    data = make_aes_zip(SMALL)
    local = parse_archive(data).members[0].local
    zip64 = extra_field(0x0001, struct.pack("<2Q", local.uncompressed, local.compressed))

    for sizes in ({}, {"compressed": 0xFFFFFFFF, "uncompressed": 0xFFFFFFFF}):
        assert inspect(change_local(data, 0, extra=local.extra + zip64, **sizes)).ok


@pytest.mark.parametrize(
    "payload",
    [
        lambda u, c: struct.pack("<2Q", u, c + 1),
        lambda u, c: struct.pack("<Q", u),
        lambda u, c: struct.pack("<3Q", u, c, 0),
    ],
    ids=["other_size", "one_size_only", "three_values"],
)
def test_local_zip64_field_must_hold_exactly_the_central_sizes(payload: Any) -> None:
    data = make_aes_zip(SMALL)
    local = parse_archive(data).members[0].local
    zip64 = extra_field(0x0001, payload(local.uncompressed, local.compressed))

    assert_inconsistent(inspect(change_local(data, 0, extra=local.extra + zip64)))


def test_local_size_saturated_without_a_zip64_field_is_refused() -> None:
    assert_inconsistent(inspect(change_local(make_aes_zip(SMALL), 0, compressed=0xFFFFFFFF)))


def test_central_zip64_field_with_values_no_saturated_field_claims_is_refused() -> None:
    # zipfile takes the first value for the one saturated size; a reader that reads the field by
    # position would take the second for the compressed size
    data = make_aes_zip(SMALL)
    central = parse_archive(data).members[0].central
    zip64 = extra_field(0x0001, struct.pack("<2Q", central.uncompressed, central.compressed + 5))

    assert_inconsistent(inspect(change_central(data, 0, extra=zip64 + central.extra, uncompressed=0xFFFFFFFF)))


# data descriptors (flag bit 3)


@pytest.mark.parametrize(("signature", "zip64"), [(True, False), (False, False), (True, True), (False, True)])
def test_data_descriptor_agreeing_with_both_headers_is_accepted(signature: bool, zip64: bool) -> None:
    data = make_aes_zip(SMALL)
    layout = parse_archive(data)
    members = []
    for member in layout.members:
        local = member.local
        if zip64:
            wide = extra_field(0x0001, struct.pack("<2Q", local.uncompressed, local.compressed))
            local = replace(local, extra=local.extra + wide)
        members.append(
            with_descriptor(replace(member, local=local), signature=signature, zip64=zip64, zero_local=False)
        )
    data = replace(layout, members=tuple(members)).pack()

    result = inspect(data)

    assert result.ok, result.detail


def test_data_descriptor_with_zeros_in_the_local_header_is_refused() -> None:
    # What a streaming writer leaves, and what lets a descriptor forged in the ciphertext fool a
    # streaming reader (tests/functional/test_zip_families.py)
    data = make_aes_zip(SMALL)
    member = parse_archive(data).members[0]

    assert_inconsistent(inspect(set_member(data, 0, with_descriptor(member, zero_local=True))))


@pytest.mark.parametrize("field", [0, 1, 2], ids=["crc", "compressed", "uncompressed"])
def test_data_descriptor_must_state_the_central_values(field: int) -> None:
    data = make_aes_zip(SMALL)
    member = with_descriptor(parse_archive(data).members[0], zero_local=False)
    values = list(struct.unpack("<3L", member.descriptor[4:]))
    values[field] += 1
    member = replace(member, descriptor=DESCRIPTOR_SIG + struct.pack("<3L", *values))

    assert_inconsistent(inspect(set_member(data, 0, member)))


def test_data_descriptor_width_must_follow_the_local_zip64_field() -> None:
    # 8-byte sizes with no ZIP64 field in the local header: readers would take 4-byte ones
    data = make_aes_zip(SMALL)
    member = with_descriptor(parse_archive(data).members[0], zip64=True, zero_local=False)

    assert_inconsistent(inspect(set_member(data, 0, member)))


def test_unsigned_data_descriptor_whose_crc_looks_like_the_signature_is_refused() -> None:
    data = make_aes_zip(SMALL)
    member = with_descriptor(parse_archive(data).members[0], signature=False, zero_local=False)
    crc = struct.unpack("<L", DESCRIPTOR_SIG)[0]
    member = replace(
        member,
        local=replace(member.local, crc=crc),
        central=replace(member.central, crc=crc),
        descriptor=DESCRIPTOR_SIG + member.descriptor[4:],
    )

    assert_inconsistent(inspect(set_member(data, 0, member)))


def test_descriptor_bytes_without_flag_bit_3_are_a_gap() -> None:
    data = make_aes_zip(SMALL)
    member = with_descriptor(parse_archive(data).members[0], zero_local=False)
    member = replace(
        member,
        local=replace(member.local, flags=member.local.flags & ~0x0008),
        central=replace(member.central, flags=member.central.flags & ~0x0008),
    )

    assert_inconsistent(inspect(set_member(data, 0, member)))


# back to back, from offset 0 to the directory


@pytest.mark.parametrize("where", ["after_first", "before_directory"])
def test_a_gap_between_entries_or_before_the_directory_is_refused(where: str) -> None:
    data = make_aes_zip(SMALL)
    if where == "after_first":
        data = change_member(data, 0, after=b"\x00" * 16)
    else:
        data = replace(parse_archive(data), before_directory=b"\x00" * 16).pack()

    assert_inconsistent(inspect(data))


def test_a_gap_too_large_for_any_header_is_refused_before_reading_local_headers() -> None:
    data = make_aes_zip({"a.bin": os.urandom(100_000)}, compression=zipfile.ZIP_STORED)
    data = replace(parse_archive(data), before_directory=os.urandom(70_000)).pack()

    result = inspect(data)

    assert_inconsistent(result)
    assert result.requests == 1


def test_prepended_data_with_shifted_offsets_is_refused_as_inconsistent() -> None:
    assert_inconsistent(inspect(replace(parse_archive(make_aes_zip(SMALL)), prefix=b"MZ" + bytes(100)).pack()))


# no extra field renames an entry


@pytest.mark.parametrize("where", ["central", "local", "both"])
def test_a_unicode_path_field_naming_another_file_is_refused(where: str) -> None:
    data = make_aes_zip(SMALL)
    member = parse_archive(data).members[0]
    rename = unicode_path_field(b"other.pdf", member.local.name)
    if where in ("central", "both"):
        data = change_central(data, 0, extra=member.central.extra + rename)
    if where in ("local", "both"):
        data = change_local(data, 0, extra=member.local.extra + rename)

    assert_inconsistent(inspect(data))


def test_a_unicode_path_field_naming_the_same_file_is_accepted() -> None:
    data = make_aes_zip(SMALL)
    member = parse_archive(data).members[0]
    same = unicode_path_field(member.local.name, member.local.name)
    data = change_member(
        data,
        0,
        local=replace(member.local, extra=member.local.extra + same),
        central=replace(member.central, extra=member.central.extra + same),
    )

    assert inspect(data).ok


# a folder entry carries no data


@pytest.mark.parametrize("name", ["docs/", "docs"], ids=["slash", "folder_attributes"])
def test_a_folder_entry_with_data_is_refused(name: str) -> None:
    # An AES-encrypted "folder" that holds a file's worth of data, named as a folder or marked one
    entries = [Entry("report.pdf", b"%PDF" + os.urandom(100)), Entry(name, b"hidden in a folder" * 10)]
    data = build_zip(entries)
    if name == "docs":
        data = change_central(data, 1, external=(stat.S_IFDIR | 0o755) << 16 | 0x10)

    assert_inconsistent(inspect(data))


# end records


@pytest.mark.parametrize("signature", [b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"])
def test_the_comment_must_hold_no_zip_record_signature(signature: bytes) -> None:
    data = make_aes_zip(SMALL, comment=b"Sent by the school office " + signature + b" thanks")

    assert_inconsistent(inspect(data))


def test_a_plain_comment_is_accepted() -> None:
    assert inspect(make_aes_zip(SMALL, comment=b"Sent by the school office, PK and all")).ok


def test_a_zip64_end_record_of_the_standard_size_is_accepted() -> None:
    data = replace(parse_archive(make_aes_zip(SMALL)), zip64=True).pack()

    assert inspect(data).ok


def test_a_zip64_end_record_with_extensible_data_is_refused() -> None:
    data = replace(parse_archive(make_aes_zip(SMALL)), zip64=True, zip64_extensible=b"\x00" * 8).pack()

    assert_inconsistent(inspect(data))


# what is read


def test_one_entry_costs_the_tail_and_its_local_header_whatever_its_size() -> None:
    small = make_aes_zip({CTF_XML: os.urandom(100_000)}, compression=zipfile.ZIP_STORED)
    large = make_aes_zip({CTF_XML: os.urandom(3_000_000)}, compression=zipfile.ZIP_STORED)

    first, second = inspect(small, single_entry_name=CTF_XML), inspect(large, single_entry_name=CTF_XML)

    assert first.ok and second.ok
    assert (
        (first.requests, first.bytes_read)
        == (second.requests, second.bytes_read)
        == (2, TAIL_BYTES + local_headers(large)[0])
    )


def test_each_further_entry_costs_one_read_with_the_descriptor_before_it() -> None:
    # Entries with data descriptors: each local header read also takes the previous entry's
    # descriptor; the last descriptor comes with the directory
    entries = {f"part{i}.bin": os.urandom(30_000) for i in range(5)}
    layout = parse_archive(make_aes_zip(entries, compression=zipfile.ZIP_STORED))
    data = replace(layout, members=tuple(with_descriptor(member, zero_local=False) for member in layout.members)).pack()

    result = inspect(data)

    assert result.ok, result.detail
    assert result.requests == 1 + 5


def test_a_folder_entry_with_a_data_descriptor_is_refused() -> None:
    # Its zero sizes are true, but tell a streaming reader nothing: bsdtar searches past it for a
    # descriptor (tests/functional/test_zip_families.py::folder_with_a_descriptor)
    layout = parse_archive(build_zip([Entry("docs/", b"", NONE, zipfile.ZIP_STORED), Entry("docs/a.txt", b"a" * 50)]))
    folder, member = layout.members
    assert folder.central.compressed == 0

    data = replace(layout, members=(with_descriptor(folder, signature=False), member)).pack()

    assert_inconsistent(inspect(data))


def test_flag_bit_3_without_room_for_a_descriptor_is_refused_not_a_crash() -> None:
    # Found by the differential harness: the local header read would have been shorter than a header
    data = make_aes_zip({"a": b"x"}, compression=zipfile.ZIP_STORED)
    member = with_descriptor(parse_archive(data).members[0], zero_local=False)
    member = replace(member, local=replace(member.local, extra=b""), descriptor=b"")  # 31 bytes in all

    assert_inconsistent(inspect(set_member(data, 0, member)))
