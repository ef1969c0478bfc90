"""Hostile zips (issue 9, input) through the real upload path: POST /transfers with the exact
size, the presigned POST to (moto) S3, then the S3 event through the landing queue to the
landing check. Every archive ends `rejected` with its reason code (docs/SERVICE.md §3), the incoming object is
deleted, nothing reaches stored/, and the sender is told (a transfer.rejected event)."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from s2s.domain.zipcheck import REASONS
from support.flows import drain_landing, post_file, queued_events, start_upload, upload_api
from support.helpers import call, school_claims
from support.records import GOOD_NAME, SENDER, bucket_keys
from support.zipfactory import (
    AES128,
    AES192,
    NONE,
    ZIPCRYPTO,
    CentralRecord,
    Entry,
    build_zip,
    edit_central_directory,
    make_aes_zip,
    make_plain_zip,
    make_zipcrypto_zip,
    read_central_directory,
    rebuild,
    to_zip64,
)

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

GENERIC = f"{SENDER}_8232345_hostile.zip"  # any number of entries may be in a generic file
CTF_ENTRY = GOOD_NAME.removesuffix(".zip") + ".XML"
TWO = {"report.pdf": b"%PDF-1.7 " + bytes(range(256)) * 8, "notes.txt": b"all well\n" * 50}


def _edit(data: bytes, index: int, **changes: Any) -> bytes:
    def change(records: list[CentralRecord]) -> list[CentralRecord]:
        records[index] = replace(records[index], **changes)
        return records

    return edit_central_directory(data, change)


def _patched(data: bytes, sig: bytes, offset: int, fmt: str, *values: int) -> bytes:
    """`data` with `values` packed at `offset` bytes after the last `sig`."""
    out = bytearray(data)
    struct.pack_into(fmt, out, data.rindex(sig) + offset, *values)
    return bytes(out)


def ratio_bomb() -> bytes:
    return make_aes_zip({"zeros.bin": bytes(16 * 1024 * 1024)})


def declared_total_bomb() -> bytes:
    data = make_aes_zip({"a.bin": os.urandom(4000), "b.bin": os.urandom(4000)}, compression=zipfile.ZIP_STORED)
    body, records, comment = read_central_directory(data)
    # Each entry declares 600 MiB from ~4 KB (a ratio the per-entry check alone would also
    # catch); together they declare more than the 1 GiB total.
    return rebuild(body, [replace(r, uncompressed=600 * 1024 * 1024) for r in records], comment=comment)


def count_bomb() -> bytes:
    return make_aes_zip({f"f{i:03}.txt": b"x" for i in range(101)}, compression=zipfile.ZIP_STORED)


def zip64_count_bomb() -> bytes:
    return _patched(to_zip64(make_aes_zip(TWO)), b"PK\x06\x06", 24, "<2Q", 65_000, 65_000)


def overlapping() -> bytes:
    data = make_aes_zip(TWO, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)
    return _edit(data, 1, offset=records[0].offset + 40)


def shared_local_header() -> bytes:
    return _edit(make_aes_zip(TWO), 1, offset=0)


def lying_count() -> bytes:
    body, records, comment = read_central_directory(make_aes_zip(TWO))
    return rebuild(body, records, comment=comment, count=5)


def lying_directory_size() -> bytes:
    body = os.urandom(64 * 1024)
    return body + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(body), 0, 0)


def entry_into_directory() -> bytes:
    data = make_aes_zip(TWO, compression=zipfile.ZIP_STORED)
    _body, records, _comment = read_central_directory(data)
    return _edit(data, 1, compressed=records[1].compressed + 500)


def hidden_before_end_record() -> bytes:
    data = make_aes_zip(TWO)
    at = data.rindex(b"PK\x05\x06")
    return data[:at] + b"hidden" + data[at:]


def zip64_locator_elsewhere() -> bytes:
    data = to_zip64(make_aes_zip(TWO))
    return _patched(data, b"PK\x06\x07", 8, "<Q", data.rindex(b"PK\x06\x06") - 4)


def zip64_record_size_lie() -> bytes:
    return _patched(to_zip64(make_aes_zip(TWO)), b"PK\x06\x06", 4, "<Q", 40)


def zip64_eocd_disagrees() -> bytes:
    return _patched(to_zip64(make_aes_zip(TWO)), b"PK\x05\x06", 8, "<2H", 7, 7)


def zip64_sentinel_without_extra() -> bytes:
    return _edit(make_aes_zip({"a.txt": b"a" * 50}), 0, compressed=0xFFFFFFFF)


def shifted_self_extractor() -> bytes:
    body, records, comment = read_central_directory(make_aes_zip(TWO))
    prefix = b"MZ" + bytes(998)
    return rebuild(prefix + body, [replace(r, offset=r.offset + len(prefix)) for r in records], comment=comment)


def nul_in_name() -> bytes:
    return _edit(make_aes_zip({"safe.txt.exe": b"x" * 10}), 0, name=b"safe.txt\x00exe")


def unicode_path_traversal() -> bytes:
    data = make_aes_zip({"fine.txt": b"x" * 10})
    _body, records, _comment = read_central_directory(data)
    evil = b"\x01" + struct.pack("<L", 0) + b"../../evil.txt"
    return _edit(data, 0, extra=records[0].extra + struct.pack("<2H", 0x7075, len(evil)) + evil)


def _aes_with(name: str) -> Callable[[], bytes]:
    return lambda: make_aes_zip({"fine.txt": b"x" * 10, name: b"y" * 10})


def _ctf(entries: dict[str, bytes]) -> Callable[[], bytes]:
    return lambda: make_aes_zip(entries)


Case = tuple[str, Callable[[], bytes], str, str]
CASES: list[Case] = [
    # bombs
    ("bomb_ratio", ratio_bomb, "zip_bomb", GENERIC),
    ("bomb_declared_total", declared_total_bomb, "zip_bomb", GENERIC),
    ("bomb_count_101", count_bomb, "too_many_entries", GENERIC),
    ("bomb_count_zip64", zip64_count_bomb, "too_many_entries", GENERIC),
    ("overlapping_entries", overlapping, "not_zip", GENERIC),
    ("shared_local_header", shared_local_header, "not_zip", GENERIC),
    # lying central directory / end record
    ("lying_entry_count", lying_count, "not_zip", GENERIC),
    ("lying_directory_size", lying_directory_size, "not_zip", GENERIC),
    ("entry_runs_into_directory", entry_into_directory, "not_zip", GENERIC),
    ("hidden_data_before_end_record", hidden_before_end_record, "not_zip", GENERIC),
    (
        "duplicated_extra_field",
        lambda: _edit(
            make_aes_zip({"a.txt": b"a"}),
            0,
            extra=read_central_directory(make_aes_zip({"a.txt": b"a"}))[1][0].extra * 2,
        ),
        "not_zip",
        GENERIC,
    ),
    (
        "aes_method_without_aes_field",
        lambda: _edit(make_aes_zip({"a.txt": b"a"}), 0, extra=b""),
        "not_zip",
        GENERIC,
    ),
    ("multi_disk", lambda: _patched(make_aes_zip(TWO), b"PK\x05\x06", 4, "<H", 1), "not_zip", GENERIC),
    # ZIP64 tricks
    ("zip64_locator_elsewhere", zip64_locator_elsewhere, "not_zip", GENERIC),
    ("zip64_record_size_lie", zip64_record_size_lie, "not_zip", GENERIC),
    ("zip64_eocd_disagrees", zip64_eocd_disagrees, "not_zip", GENERIC),
    ("zip64_sentinel_without_extra", zip64_sentinel_without_extra, "not_zip", GENERIC),
    # truncated tails, prepended and appended data, not a zip
    ("truncated_1", lambda: make_aes_zip(TWO)[:-1], "not_zip", GENERIC),
    ("truncated_22", lambda: make_aes_zip(TWO)[:-22], "not_zip", GENERIC),
    ("truncated_half", lambda: (d := make_aes_zip(TWO))[: len(d) // 2], "not_zip", GENERIC),
    ("prepended_exe", lambda: b"MZ" + os.urandom(4000) + make_aes_zip(TWO), "not_zip", GENERIC),
    ("prepended_shifted_offsets", shifted_self_extractor, "not_zip", GENERIC),
    ("appended_data", lambda: make_aes_zip(TWO) + b"trailing", "not_zip", GENERIC),
    ("not_a_zip_text", lambda: b"this is not a zip at all\n" * 100, "not_zip", GENERIC),
    ("not_a_zip_random", lambda: os.urandom(70_000), "not_zip", GENERIC),
    ("not_a_zip_pdf", lambda: b"%PDF-1.7\n" + os.urandom(3000), "not_zip", GENERIC),
    ("only_pk", lambda: b"PK" + bytes(20), "not_zip", GENERIC),
    # encryption
    ("empty_archive", lambda: make_plain_zip({}), "empty_archive", GENERIC),
    ("unencrypted", lambda: make_plain_zip(TWO), "not_encrypted", GENERIC),
    ("zipcrypto", lambda: make_zipcrypto_zip(TWO), "weak_encryption", GENERIC),
    ("aes128", lambda: make_aes_zip(TWO, strength=128), "weak_encryption", GENERIC),
    ("aes192", lambda: make_aes_zip(TWO, strength=192), "weak_encryption", GENERIC),
    (
        "mixed_aes_and_plain",
        lambda: build_zip([Entry("a.txt", b"a" * 100), Entry("b.txt", b"b" * 100, NONE)]),
        "mixed_encryption",
        GENERIC,
    ),
    (
        "mixed_aes256_and_aes128",
        lambda: build_zip([Entry("a.txt", b"a" * 100), Entry("b.txt", b"b" * 100, AES128)]),
        "weak_encryption",
        GENERIC,
    ),
    (
        "mixed_aes256_and_aes192",
        lambda: build_zip([Entry("a.txt", b"a" * 100), Entry("b.txt", b"b" * 100, AES192)]),
        "weak_encryption",
        GENERIC,
    ),
    (
        "mixed_zipcrypto_and_plain",
        lambda: build_zip(
            [Entry("a.txt", b"a" * 100, ZIPCRYPTO, zipfile.ZIP_STORED), Entry("b.txt", b"b" * 100, NONE)]
        ),
        "weak_encryption",
        GENERIC,
    ),
    # entry names
    (
        "symlink",
        lambda: build_zip([Entry("a.txt", b"x" * 10), Entry("link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)]),
        "bad_entry_name",
        GENERIC,
    ),
    ("dotdot_entry", _aes_with("../../evil.txt"), "bad_entry_name", GENERIC),
    ("dotdot_backslash_entry", _aes_with("..\\..\\evil.txt"), "bad_entry_name", GENERIC),
    ("absolute_entry", _aes_with("/etc/passwd"), "bad_entry_name", GENERIC),
    ("drive_entry", _aes_with("C:\\evil.txt"), "bad_entry_name", GENERIC),
    ("control_char_entry", _aes_with("bad\x01name"), "bad_entry_name", GENERIC),
    ("rtl_override_entry", _aes_with("report\u202efdp.exe"), "bad_entry_name", GENERIC),
    ("nul_in_entry_name", nul_in_name, "bad_entry_name", GENERIC),
    ("unicode_path_field_traversal", unicode_path_traversal, "bad_entry_name", GENERIC),
    # single-entry families
    (
        "ctf_with_two_entries",
        _ctf({CTF_ENTRY: b"<CTfile/>", "extra.txt": b"x"}),
        "too_many_entries",
        GOOD_NAME,
    ),
    ("ctf_wrong_entry_name", _ctf({"ctf.xml": b"<CTfile/>"}), "entry_name_mismatch", GOOD_NAME),
    ("ctf_entry_in_folder", _ctf({f"folder/{CTF_ENTRY}": b"<CTfile/>"}), "entry_name_mismatch", GOOD_NAME),
]


def _detail(claims: dict[str, Any], transfer_id: str) -> dict[str, Any]:
    reply = call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})
    assert reply.status == 200, reply.body
    return reply.body


@pytest.mark.parametrize(("data_factory", "reason", "filename"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_zip_is_rejected_and_nothing_is_stored(
    aws: Any, data_factory: Callable[[], bytes], reason: str, filename: str
) -> None:
    # Given a sender who starts an upload with the archive's exact size
    data = data_factory()
    claims = school_claims(SENDER)
    ticket = start_upload(claims, filename, len(data))
    assert ticket.status == 201, ticket.body
    transfer_id = ticket.body["transfer_id"]

    # When the archive lands and the landing check runs
    assert post_file(ticket.body, data) == 204
    assert drain_landing(aws) == []

    # Then it is rejected with its reason, and nothing of it is kept
    detail = _detail(claims, transfer_id)
    assert (detail["status"], detail["reason"]) == ("rejected", reason)
    assert detail["reason_message"]
    assert bucket_keys(aws) == []
    events = queued_events(aws)
    assert [(e["type"], e["transfer_id"], e["reason"]) for e in events] == [("transfer.rejected", transfer_id, reason)]
    assert events[0]["recipients"] == [SENDER]


def test_the_case_list_covers_every_archive_reason() -> None:
    covered = {c[2] for c in CASES}
    # too_large is refused at POST /transfers (see test_abuse_limits); unexpected_object below.
    assert set(REASONS) - covered == {"too_large", "unexpected_object"}


def test_an_object_larger_than_its_ticket_is_rejected_as_unexpected(aws: Any) -> None:
    """moto ignores the POST policy's content-length-range, so this is what S3 would refuse
    anyway: the landing check must not trust that the object is the size it was issued for."""
    claims = school_claims(SENDER)
    good = make_aes_zip({"a.txt": b"a" * 100})
    ticket = start_upload(claims, GENERIC, len(good))
    assert post_file(ticket.body, good + b"padding") == 204
    assert drain_landing(aws) == []

    detail = _detail(claims, ticket.body["transfer_id"])
    assert (detail["status"], detail["reason"]) == ("rejected", "unexpected_object")
    assert bucket_keys(aws) == []
    assert [e["type"] for e in queued_events(aws)] == ["transfer.rejected"]


def test_a_good_archive_is_stored_so_the_rejections_are_about_the_archives(aws: Any) -> None:
    claims = school_claims(SENDER)
    good = make_aes_zip({CTF_ENTRY: b"<CTfile/>"})
    ticket = start_upload(claims, GOOD_NAME, len(good))
    assert post_file(ticket.body, good) == 204
    assert drain_landing(aws) == []

    assert _detail(claims, ticket.body["transfer_id"])["status"] == "available"
    assert bucket_keys(aws) == [f"stored/{ticket.body['transfer_id']}/{GOOD_NAME}"]
