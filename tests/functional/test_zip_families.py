"""Issue 14: seven families of archives that the landing check used to pass as AES-256 while a
common extractor reads pupil data from them without the password. Each is built here, proven
genuine by running the extractor that falls for it (where it is installed), then refused by the
checker as `not_zip` and, through the real upload path (presigned POST, landing check), rejected
with nothing stored and nothing for the recipient to see.

The first five are the issue's; the sixth (a data descriptor forged inside the ciphertext) was
found while building them: with flag bit 3 and zeros in the local header, bsdtar reading a pipe
searches the encrypted bytes for the descriptor signature, and the sender chooses those bytes.
The seventh (a folder with a data descriptor) was found by the differential harness.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from s2s.domain.ranged import BytesRangedReader
from s2s.domain.zipcheck import inspect_archive
from support.extractors import available, extract, missing_message
from support.flows import drain_landing, post_file, queued_events, start_upload, upload_api
from support.helpers import call, school_claims
from support.records import RECIPIENT, SENDER, bucket_keys
from support.zipfactory import (
    DESCRIPTOR_SIG,
    Layout,
    Member,
    aes_field,
    make_aes_zip,
    parse_archive,
    plain_member,
    unicode_path_field,
    with_descriptor,
)

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

GENERIC = f"{SENDER}_{RECIPIENT}_records.zip"
SECRET = b"Pupil: Jane Example, UPN A123456789012, SEN support, home address withheld\n" * 3
REPORT = {"report.pdf": b"%PDF-1.7 " + bytes(range(256)) * 4}
INCONSISTENT = "This file's structure is inconsistent, so it cannot be checked."


def local_header_says_stored() -> bytes:
    """The central record says method 99 with an AES-256 field; the local header, and the data,
    are a stored plaintext file."""
    member = plain_member("record.txt", SECRET)
    central = replace(member.central, method=99, flags=member.central.flags | 0x0001, extra=aes_field(3, 0), crc=0)
    return Layout(members=(replace(member, central=central),)).pack()


def plaintext_entry_in_a_gap() -> bytes:
    """A genuine AES archive with a whole plaintext local entry between its last entry and the
    central directory, which does not list it."""
    layout = parse_archive(make_aes_zip(REPORT))
    hidden = plain_member("record.txt", SECRET)
    return replace(layout, before_directory=hidden.local.pack() + hidden.data).pack()


def comment_holds_a_directory() -> bytes:
    """A genuine AES archive whose comment holds a plaintext entry, a central directory listing
    it and an end record for that directory (and one more byte, so the real end record is still
    the one whose comment reaches the end of the file)."""
    genuine = make_aes_zip(REPORT)
    hidden = plain_member("record.txt", SECRET)
    comment_at = len(genuine)  # the comment follows the (empty-comment) archive's end record
    local = hidden.local.pack() + hidden.data
    directory = replace(hidden.central, offset=comment_at).pack()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), comment_at + len(local), 0)
    return replace(parse_archive(genuine), comment=local + directory + end + b"x").pack()


def folder_renamed_by_unicode_path() -> bytes:
    """Beside a genuine AES entry, a "folder" `docs/` with zero sizes in the directory, a 0x7075
    Unicode Path field naming `record.txt`, and a local header that carries the plaintext."""
    layout = parse_archive(make_aes_zip(REPORT))
    hidden = plain_member("docs/", SECRET)
    rename = unicode_path_field(b"record.txt", b"docs/")
    # Without the UTF-8 flag, which would make unzip ignore the field.
    local = replace(hidden.local, flags=0, extra=rename)
    central = replace(
        hidden.central, flags=0, crc=0, compressed=0, uncompressed=0, extra=rename, external=(0o040755 << 16) | 0x10
    )
    return replace(layout, members=(*layout.members, Member(local=local, data=SECRET, central=central))).pack()


def zip64_record_with_extensible_data() -> bytes:
    """A genuine AES archive in ZIP64 dress whose ZIP64 end record carries extensible data: a
    plaintext entry, a directory listing it, and a second ZIP64 end record for that directory,
    which ends where the locator is (Python's zipfile reads the 56 bytes before the locator)."""
    layout = replace(parse_archive(make_aes_zip(REPORT)), zip64=True)
    record_at = layout.pack().rindex(b"PK\x06\x06")
    hidden = plain_member("record.txt", SECRET)
    local_at = record_at + 56
    local = hidden.local.pack() + hidden.data
    directory = replace(hidden.central, offset=local_at).pack()
    second = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(directory), local_at + len(local))
    return replace(layout, zip64_extensible=local + directory + second).pack()


def descriptor_forged_in_ciphertext() -> bytes:
    """A genuine AES entry, stored, with flag bit 3 and zeros in its local header; its "ciphertext"
    holds a forged data descriptor and then a whole plaintext local entry. The real descriptor,
    the central record and the local header's flags all agree."""
    layout = parse_archive(make_aes_zip(REPORT, compression=zipfile.ZIP_STORED))
    (member,) = layout.members
    hidden = plain_member("record.txt", SECRET)
    forged = DESCRIPTOR_SIG + struct.pack("<3L", 0, 18, 0)
    data = member.data[:18] + forged + hidden.local.pack() + hidden.data + member.data[18:]
    member = replace(member, data=data, central=replace(member.central, compressed=len(data)))
    return replace(layout, members=(with_descriptor(member, zero_local=True),)).pack()


def folder_with_a_descriptor() -> bytes:
    """An unencrypted folder entry, as 7-Zip writes one, but with flag bit 3 and an unsigned data
    descriptor; the AES entry after it holds, inside its "ciphertext", a descriptor signature and
    a plaintext entry. Every size is true (the folder's are zero), yet bsdtar reading a pipe
    searches past the folder for a signed descriptor, finds the forged one and reads on from it.
    Found by the differential harness (tests/functional/test_zip_differential.py)."""
    layout = parse_archive(make_aes_zip({"docs/report.pdf": REPORT["report.pdf"]}, compression=zipfile.ZIP_STORED))
    folder = plain_member("docs/", b"")
    folder = replace(folder, central=replace(folder.central, external=(0o040755 << 16) | 0x10))
    (member,) = layout.members
    hidden = plain_member("record.txt", SECRET)
    forged = DESCRIPTOR_SIG + struct.pack("<3L", 0, 0, 0)
    data = member.data[:18] + forged + hidden.local.pack() + hidden.data + member.data[18:]
    member = replace(
        member,
        data=data,
        local=replace(member.local, compressed=len(data)),
        central=replace(member.central, compressed=len(data)),
    )
    return replace(layout, members=(with_descriptor(folder, signature=False), member)).pack()


Family = tuple[str, Callable[[], bytes], tuple[str, ...]]
# Each family, and the extractors that read its plaintext on Debian 12/13 (checked below).
FAMILIES: list[Family] = [
    ("local_header_says_stored", local_header_says_stored, ("7zz", "bsdtar", "bsdtar-pipe")),
    ("plaintext_entry_in_a_gap", plaintext_entry_in_a_gap, ("bsdtar-pipe",)),
    ("comment_holds_a_directory", comment_holds_a_directory, ("unzip", "bsdtar", "zipfile")),
    ("folder_renamed_by_unicode_path", folder_renamed_by_unicode_path, ("unzip", "bsdtar-pipe")),
    ("zip64_record_with_extensible_data", zip64_record_with_extensible_data, ("zipfile",)),
    ("descriptor_forged_in_ciphertext", descriptor_forged_in_ciphertext, ("bsdtar-pipe",)),
    ("folder_with_a_descriptor", folder_with_a_descriptor, ("bsdtar-pipe",)),
]
FAMILY_IDS = [family[0] for family in FAMILIES]
READERS = [(name, build, tool) for name, build, tools in FAMILIES for tool in tools]


@pytest.mark.parametrize(("build", "extractor"), [r[1:] for r in READERS], ids=[f"{r[0]}-{r[2]}" for r in READERS])
def test_the_family_is_genuine_an_extractor_reads_its_plaintext(
    build: Callable[[], bytes], extractor: str, tmp_path: Path
) -> None:
    if not available(extractor):
        pytest.skip(missing_message(extractor))
    path = tmp_path / "hostile.zip"
    path.write_bytes(build())

    # When a recipient without the password extracts it (no password, then a wrong one)
    contents: list[bytes] = []
    for number, password in enumerate((None, "not the password")):
        files, _output = extract(extractor, path, password=password, into=tmp_path / f"out{number}")
        contents += files.values()

    # Then the pupil data comes out in plain text: the family is real
    assert any(SECRET in content for content in contents)


@pytest.mark.parametrize("build", [f[1] for f in FAMILIES], ids=FAMILY_IDS)
def test_the_family_is_refused_as_inconsistent(build: Callable[[], bytes]) -> None:
    verdict = inspect_archive(BytesRangedReader(build()), max_upload_bytes=50 * 1024 * 1024)

    assert (verdict.ok, verdict.reason) == (False, "not_zip"), verdict.detail
    assert verdict.message.startswith(INCONSISTENT)
    assert "AES-256" in verdict.message


def _detail(claims: dict[str, Any], transfer_id: str) -> Any:
    return call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})


@pytest.mark.parametrize("build", [f[1] for f in FAMILIES], ids=FAMILY_IDS)
def test_the_family_uploaded_is_rejected_and_never_reaches_the_recipient(aws: Any, build: Callable[[], bytes]) -> None:
    # Given a sender who uploads the archive with its exact size through the presigned POST
    data = build()
    claims = school_claims(SENDER)
    ticket = start_upload(claims, GENERIC, len(data))
    assert ticket.status == 201, ticket.body
    transfer_id = ticket.body["transfer_id"]
    assert post_file(ticket.body, data) == 204

    # When the landing check runs
    assert drain_landing(aws) == []

    # Then it is rejected as not_zip with the structure sentence, nothing is kept, and the
    # recipient sees nothing
    detail = _detail(claims, transfer_id)
    assert detail.status == 200
    assert (detail.body["status"], detail.body["reason"]) == ("rejected", "not_zip")
    assert detail.body["reason_message"].startswith(INCONSISTENT)
    assert bucket_keys(aws) == []
    assert [(e["type"], e["reason"]) for e in queued_events(aws)] == [("transfer.rejected", "not_zip")]
    assert _detail(school_claims(RECIPIENT), transfer_id).status == 404
