"""Zip inspection: is an upload an AES-256 zip that every common extractor reads the same way,
with nothing readable without the password? (docs/SERVICE.md §3)

The service never sees a password and never decrypts, so everything is decided from the zip's
structure, fetched through a ranged reader: the end record(s) and central directory (one read of
the last 64 KiB, plus one read of any part of the directory that starts before it) and then every
entry's local header (one read per entry, which also takes the data descriptor of the entry
before it). File data is never read, so what the check reads depends on the number of entries and
the length of their names and extra fields, never on the size of the data. An object small enough
to fit in the first read costs that one read.

Why a hand parser. The attack this module exists for is an archive that reads differently in
different tools: a central directory that says AES-256 over a local header that says "stored",
a plaintext entry in a gap that only streaming readers see, a second directory in the comment
that `zipfile` prefers, a ZIP64 end record whose extensible data hides another one. `zipfile`
(and `pyzipper`, which is `zipfile` with AES) cannot be used for any part of that judgement,
even over the ranged reader, because it accepts exactly what docs/SERVICE.md §3 refuses:

- `_EndRecData` takes the last `PK\x05\x06` in the tail without checking that its comment
  reaches the end of the file, so it picks an end record hidden in the comment;
- `_EndRecData64` reads the 56 bytes before the locator instead of the record the locator points
  at, so ZIP64 extensible data can carry the record it uses;
- `_RealGetContents` shifts every offset when data is prepended ("concat"), stops at the first
  NUL in a name, and looks at no local header at all; `ZipFile.open` compares only the name of
  the local header, and only when a member is read (which needs the file data);
- `_decodeExtra` lets the 0x7075 Unicode Path field rename an entry (since Python 3.12).

So the layout is parsed here with `struct`, and each rule of docs/SERVICE.md §3 is one function named
after the sentence it enforces (`_rule_...`). `zipfile` is still one of the extractors the test
suite's differential harness (tests/functional/test_zip_differential.py) runs on every archive this
module accepts, beside Info-ZIP unzip, 7-Zip and bsdtar (from a file and from a pipe).

Decisions where docs/SERVICE.md §3 leaves room:

- Flag bit 3 (sizes in a data descriptor after the data) is accepted when the descriptor, the
  local header and the central record all state the same sizes. A local header that leaves its
  sizes as zeros is refused: a streaming reader (bsdtar from a pipe) must then find the end of
  the data by searching the encrypted bytes for a descriptor signature, and the sender chooses
  those bytes, so a fake descriptor followed by a plaintext entry is read by bsdtar and by nobody
  else. For the same reason an entry with no data (a folder) may not have a descriptor: its
  local sizes of zero are true but tell a streaming reader nothing (found by the differential
  harness). The descriptor is read with the next entry's local header (or with the directory).
- A folder entry (a name ending in `/`, or folder attributes) declares no uncompressed data and
  holds either nothing or, when AES-encrypted as pyzipper writes folders, an encrypted empty file
  (salt, verifier and MAC around at most an empty deflate stream: 33 bytes).
- A 0x7075 Unicode Path field is allowed only when it names what the header names (as decoded by
  its flags, or as UTF-8 bytes); any other name is a renaming.

`inspect_archive` never raises for a bad archive: it returns an `Inspection` with a reason of docs/SERVICE.md §3
code and a message a school data manager can act on. Storage errors (a missing object, no
permission) are not archive faults and propagate to the caller.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s2s.domain.ranged import RangeReadError

if TYPE_CHECKING:
    from s2s.domain.ranged import RangedReader

MAX_ENTRIES = 100
MAX_TOTAL_UNCOMPRESSED = 1024**3  # 1 GiB declared, across all entries
MAX_RATIO = 1000  # uncompressed : compressed, per entry

AES_METHOD = 99
AES_EXTRA_ID = 0x9901
ZIP64_EXTRA_ID = 0x0001
UNICODE_PATH_EXTRA_ID = 0x7075  # Info-ZIP: unzip tools prefer this name over the header's
AES_256_STRENGTH = 3

FLAG_ENCRYPTED = 0x0001
FLAG_STRONG_ENCRYPTION = 0x0040  # PKWARE's proprietary scheme: not AES as WinZip/7-Zip write it
FLAG_DATA_DESCRIPTOR = 0x0008  # bit 3: CRC and sizes follow the data
FLAG_UTF8 = 0x0800

S_IFMT = 0o170000
S_IFLNK = 0o120000
S_IFDIR = 0o040000
DOS_DIRECTORY = 0x10

# What AES-256 adds to any entry (16-byte salt, 2-byte password verifier, 10-byte MAC), around at
# most an empty deflate stream (2 to 5 bytes): an encrypted empty file, as pyzipper writes folders.
AES_256_EMPTY_MAX_SIZE = 16 + 2 + 10 + 5

_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL = struct.Struct("<4s5H3L2H")
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_EXTRA_HEADER = struct.Struct("<2H")
# A data descriptor is CRC + two sizes, 4 or 8 bytes wide, with or without its signature.
DESCRIPTOR_LENGTHS = (12, 16, 20, 24)
# The record's size field counts what follows its first 12 bytes: 44 for a record with no
# extensible data.
ZIP64_EOCD_STANDARD_SIZE = 44
# Signatures that must not appear in the archive comment: each starts a record some tool follows.
RECORD_SIGNATURES = (_CENTRAL_SIG, _LOCAL_SIG, _EOCD_SIG, _ZIP64_EOCD_SIG, _ZIP64_LOCATOR_SIG)

# The end record may be followed by a comment of up to 65535 bytes, so it is searched for in the
# last 22 + 65535 bytes only; the first read takes the ZIP64 locator and end record too, so that
# even with the longest comment the end records cost one read.
EOCD_SEARCH_BYTES = _EOCD.size + 0xFFFF
TAIL_BYTES = EOCD_SEARCH_BYTES + _ZIP64_LOCATOR.size + _ZIP64_EOCD.size
# The most one central directory entry can take (three 16-bit lengths); bounds the directory
# size an end record may claim for its entry count before anything is fetched.
MAX_CENTRAL_ENTRY_BYTES = _CENTRAL.size + 3 * 0xFFFF

REASONS = (
    "not_zip",
    "too_large",
    "empty_archive",
    "not_encrypted",
    "mixed_encryption",
    "weak_encryption",
    "bad_entry_name",
    "too_many_entries",
    "zip_bomb",
    "entry_name_mismatch",
    "unexpected_object",
)

_HOW = "(WinZip: 'AES 256-bit'; 7-Zip: 'AES-256')"
_REZIP = f"Zip it again with AES-256 encryption {_HOW}, then send it again."

# For a structure that tools could read in different ways (docs/SERVICE.md §3, the last four points).
_INCONSISTENT = (
    "This file's structure is inconsistent, so it cannot be checked. Zip it again with AES-256 "
    f"encryption {_HOW}, using the files themselves rather than this zip, then send the new zip."
)

_MESSAGES = {
    "not_zip": "This file is not a zip archive we can check: it may be damaged, cut short or not a zip "
    "at all. Zip the file again with AES-256 encryption and send the new zip.",
    "empty_archive": "This zip archive has no files in it. Add the file you meant to send, encrypt it "
    "with AES-256, and send it again.",
    "not_encrypted": "This zip archive is not encrypted. " + _REZIP,
    "mixed_encryption": (
        f"Some files in this zip archive are not encrypted. Zip all of them again with AES-256 encryption "
        f"{_HOW}, then send it again."
    ),
    "weak_encryption": "This zip archive uses an old or weaker kind of encryption (ZipCrypto, AES-128 or "
    "AES-192). " + _REZIP,
    "bad_entry_name": "A file name inside this zip archive is not allowed (it points outside the "
    "archive, uses a backslash or hidden characters, or is a link). Put the files in a plain folder, "
    "zip them again with AES-256 encryption, and send the new zip.",
    "zip_bomb": "This zip archive would expand to far more data than it holds, so it cannot be "
    "accepted. Zip the original files again with AES-256 encryption and send the new zip.",
    "unexpected_object": "The file that arrived is not the one this upload was set up for (its size "
    "differs). Start the upload again.",
}


@dataclass(frozen=True)
class Inspection:
    """The verdict on one archive. `detail` is a technical note for support and logs (never an
    entry name, which may contain a learner's name); `message` is for the sender."""

    ok: bool
    reason: str | None
    message: str
    entries: int
    bytes_read: int
    requests: int
    detail: str = ""
    # The entry names of an accepted archive, as the central directory and local headers agree
    # on them: for the caller (and the differential tests), never for logs.
    names: tuple[str, ...] = ()


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str, message: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.message = message or _MESSAGES[reason]


def _inconsistent(detail: str) -> _Refusal:
    """A `not_zip` refusal for a structure that tools could read in different ways."""
    return _Refusal("not_zip", detail, _INCONSISTENT)


@dataclass(frozen=True)
class _Directory:
    """Where the end record says the central directory is, and where it must end."""

    entries: int
    offset: int
    size: int
    end: int  # position of the ZIP64 end record if there is one, else of the EOCD


@dataclass(frozen=True)
class _Entry:
    index: int
    name: str
    raw_name: bytes
    made_by: int
    flags: int
    method: int
    crc: int
    compressed_size: int
    uncompressed_size: int
    header_offset: int
    external_attr: int
    extras: dict[int, bytes]

    @property
    def has_descriptor(self) -> bool:
        return bool(self.flags & FLAG_DATA_DESCRIPTOR)

    @property
    def is_folder(self) -> bool:
        unix_mode = self.external_attr >> 16
        return self.name.endswith("/") or bool(self.external_attr & DOS_DIRECTORY) or unix_mode & S_IFMT == S_IFDIR


@dataclass(frozen=True)
class _Span:
    """Where one entry lies: its local header starts at `start`, and the header, the data and the
    data descriptor fill `room` + compressed size bytes up to `end` (the next entry, or the
    directory). Decided from the central directory before any local header is read."""

    entry: _Entry
    start: int
    end: int

    @property
    def room(self) -> int:
        """Bytes for the local header and the data descriptor together."""
        return self.end - self.start - self.entry.compressed_size

    @property
    def header_bytes(self) -> int:
        """The most the local header can take: all of `room` but the shortest descriptor."""
        return self.room - (DESCRIPTOR_LENGTHS[0] if self.entry.has_descriptor else 0)

    @property
    def descriptor_read(self) -> int:
        """Bytes before `end` to fetch for the descriptor (0 without flag bit 3)."""
        if not self.entry.has_descriptor:
            return 0
        return min(DESCRIPTOR_LENGTHS[-1], self.end - self.start - _LOCAL.size - len(self.entry.raw_name))


class _Window:
    """The object's tail, already fetched, in front of the reader for further ranges."""

    def __init__(self, reader: RangedReader, start: int, data: bytes) -> None:
        self.reader = reader
        self.start = start
        self.data = data

    @property
    def whole_object(self) -> bool:
        return self.start == 0

    def get(self, start: int, length: int) -> bytes:
        """Bytes [start, start+length), fetching only the part before the tail."""
        if start >= self.start:
            offset = start - self.start
            return self.data[offset : offset + length]
        missing = min(length, self.start - start)
        head = self.reader.read_range(start, missing)
        return head + self.data[: length - missing]


def inspect_archive(
    reader: RangedReader,
    *,
    expected_size: int | None = None,
    max_upload_bytes: int,
    single_entry_name: str | None = None,
) -> Inspection:
    """Check an uploaded archive against docs/SERVICE.md §3 without decrypting or reading file data.

    `expected_size` is the size the upload was issued for (`unexpected_object` if different).
    `single_entry_name` is the one entry name allowed, for CTF, ATF and admissions files, e.g.
    `8231234_CTF_8232345_001.XML`: the stem must match exactly, the `.xml` extension in any case.
    """
    entries = 0
    try:
        size = reader.size
        _rule_the_object_is_the_one_the_upload_was_issued_for(size, expected_size)
        _rule_at_most_max_upload_bytes(size, max_upload_bytes)
        window, directory = _read_end_records(reader, size)
        entries = directory.entries
        _rule_the_directory_ends_exactly_at_the_end_record(directory)
        _rule_1_to_100_entries(directory, single_entry_name)
        # The directory and the few bytes before it, where the last entry's data descriptor is.
        before = min(DESCRIPTOR_LENGTHS[-1], directory.offset)
        data = window.get(directory.offset - before, directory.size + before)
        parsed = _parse_central_directory(data[before:], directory.entries)
        _rule_no_entry_name_absolute_dotdot_backslash_or_symlink(parsed)
        _rule_declared_total_and_ratio(parsed)
        _rule_every_entry_is_aes_256(parsed)
        if single_entry_name is not None:
            _rule_single_entry_families_name_their_entry(parsed[0], single_entry_name)
        _rule_a_folder_entry_carries_no_data(parsed)
        spans = _rule_the_entries_lie_back_to_back_from_offset_0(parsed, directory)
        headers = _read_local_headers(window, spans, directory_bytes=(directory.offset - before, data))
        for span in spans:
            _rule_every_local_header_agrees_with_its_central_record(span, headers)
    except _Refusal as refusal:
        return Inspection(
            ok=False,
            reason=refusal.reason,
            message=refusal.message,
            entries=entries,
            bytes_read=reader.bytes_read,
            requests=reader.requests,
            detail=refusal.detail,
        )
    except RangeReadError as exc:
        # A lying structure that hit the reader's byte cap, or an object shorter than its stated
        # size (ranges are checked against the size first): either way not an archive to accept.
        return Inspection(
            ok=False,
            reason="not_zip",
            message=_MESSAGES["not_zip"],
            entries=entries,
            bytes_read=reader.bytes_read,
            requests=reader.requests,
            detail=f"read failed: {exc}",
        )
    return Inspection(
        ok=True,
        reason=None,
        message=f"The zip archive is AES-256 encrypted and holds {_plural(entries, 'file')}.",
        entries=entries,
        bytes_read=reader.bytes_read,
        requests=reader.requests,
        names=tuple(entry.name for entry in parsed),
    )


# ------------------------------------------------------------------------ the object itself


def _rule_the_object_is_the_one_the_upload_was_issued_for(size: int, expected_size: int | None) -> None:
    """docs/SERVICE.md §3: "the object's key and size are the ones that the upload was issued for"."""
    if expected_size is not None and size != expected_size:
        raise _Refusal("unexpected_object", f"object is {size} bytes, upload was for {expected_size}")


def _rule_at_most_max_upload_bytes(size: int, max_upload_bytes: int) -> None:
    """docs/SERVICE.md §3: "it is a zip ..., at most `MAX_UPLOAD_BYTES`"."""
    if size > max_upload_bytes:
        raise _Refusal(
            "too_large",
            f"object is {size} bytes, limit {max_upload_bytes}",
            f"This file is larger than the {_human_size(max_upload_bytes)} limit. Split it into "
            "smaller zip archives, each encrypted with AES-256, and send them separately.",
        )


# ------------------------------------------------------------------------ end records


def _read_end_records(reader: RangedReader, size: int) -> tuple[_Window, _Directory]:
    """docs/SERVICE.md §3: "it is a zip (EOCD found; ZIP64 understood)", with the end-record rules applied."""
    if size < _EOCD.size:
        raise _Refusal("not_zip", f"object is only {size} bytes")
    tail_length = min(size, TAIL_BYTES)
    window = _Window(reader, size - tail_length, reader.read_range(size - tail_length, tail_length))
    tail = window.data
    eocd_at = _rule_nothing_after_the_end_record(tail)
    (_sig, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, _comment) = _EOCD.unpack_from(tail, eocd_at)
    _rule_one_end_record_whose_comment_holds_no_zip_signature(tail[eocd_at + _EOCD.size :])
    eocd_pos = window.start + eocd_at

    locator_pos = eocd_pos - _ZIP64_LOCATOR.size
    if locator_pos >= 0 and window.get(locator_pos, 4) == _ZIP64_LOCATOR_SIG:
        return window, _read_zip64(window, locator_pos, (disk, cd_disk, disk_entries, entries, cd_size, cd_offset))

    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise _Refusal("not_zip", "multi-disk archive")
    return window, _Directory(entries=entries, offset=cd_offset, size=cd_size, end=eocd_pos)


def _rule_nothing_after_the_end_record(tail: bytes) -> int:
    """docs/SERVICE.md §3: "nothing after the end record": the EOCD whose comment length reaches exactly the end
    of the object (the last such one). Returns its position in `tail`."""
    at = tail.rfind(_EOCD_SIG, max(0, len(tail) - EOCD_SEARCH_BYTES))
    while at >= 0:
        if at + _EOCD.size <= len(tail):
            comment_length = struct.unpack_from("<H", tail, at + 20)[0]
            if at + _EOCD.size + comment_length == len(tail):
                return at
        at = tail.rfind(_EOCD_SIG, max(0, len(tail) - EOCD_SEARCH_BYTES), at + len(_EOCD_SIG) - 1)
    raise _Refusal("not_zip", "no end of central directory record")


def _rule_one_end_record_whose_comment_holds_no_zip_signature(comment: bytes) -> None:
    """docs/SERVICE.md §3: "there is one end record; its comment holds no zip record signature". Python's
    zipfile, 7-Zip and bsdtar take an end record found in the comment over the real one, and a
    directory it points at may list anything."""
    for signature in RECORD_SIGNATURES:
        if signature in comment:
            raise _inconsistent(f"archive comment holds a zip record signature {signature!r}")


def _read_zip64(window: _Window, locator_pos: int, eocd_fields: tuple[int, ...]) -> _Directory:
    _sig, record_disk, record_offset, disks = _ZIP64_LOCATOR.unpack(window.get(locator_pos, _ZIP64_LOCATOR.size))
    if record_disk != 0 or disks not in (0, 1):
        raise _Refusal("not_zip", "multi-disk ZIP64 archive")
    if record_offset + _ZIP64_EOCD.size > locator_pos:
        raise _Refusal("not_zip", "ZIP64 end record does not fit before its locator")
    record = window.get(record_offset, _ZIP64_EOCD.size)
    (sig, record_size, _made, _needed, disk, cd_disk, disk_entries, entries, cd_size, cd_offset) = _ZIP64_EOCD.unpack(
        record
    )
    if sig != _ZIP64_EOCD_SIG:
        raise _Refusal("not_zip", "ZIP64 locator does not point at a ZIP64 end record")
    _rule_a_zip64_end_record_has_the_standard_size(record_offset, record_size, locator_pos)
    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise _Refusal("not_zip", "multi-disk ZIP64 archive")
    sentinels = (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    zip64_fields = (0, 0, entries, entries, cd_size, cd_offset)
    for old, sentinel, new in zip(eocd_fields, sentinels, zip64_fields, strict=True):
        if old not in (sentinel, new):
            raise _Refusal("not_zip", "end record and ZIP64 end record disagree")
    return _Directory(entries=entries, offset=cd_offset, size=cd_size, end=record_offset)


def _rule_a_zip64_end_record_has_the_standard_size(record_offset: int, record_size: int, locator_pos: int) -> None:
    """docs/SERVICE.md §3: "a ZIP64 end record has the standard size and no extensible data". Python's zipfile
    reads the 56 bytes before the locator whatever the locator says, so extensible data that ends
    in a second record would be read as the archive's."""
    # The record's size field excludes its first 12 bytes; the record must end at the locator.
    if record_offset + 12 + record_size != locator_pos:
        raise _Refusal("not_zip", "ZIP64 end record does not end at its locator")
    if record_size != ZIP64_EOCD_STANDARD_SIZE:
        raise _inconsistent(
            f"ZIP64 end record carries {record_size - ZIP64_EOCD_STANDARD_SIZE} bytes of extensible data"
        )


def _rule_the_directory_ends_exactly_at_the_end_record(directory: _Directory) -> None:
    """docs/SERVICE.md §3: "the central directory ..., which ends exactly at the end record"."""
    if directory.offset + directory.size != directory.end:
        raise _Refusal(
            "not_zip",
            f"central directory at {directory.offset}+{directory.size} does not end at the end record "
            f"({directory.end}): prepended or hidden data",
        )


def _rule_1_to_100_entries(directory: _Directory, single_entry_name: str | None) -> None:
    """docs/SERVICE.md §3: "1 to 100 entries" and, for single-entry families, "exactly one entry". Decided from
    the end record alone, before the directory is fetched."""
    if directory.entries == 0:
        if directory.size != 0:
            raise _Refusal("not_zip", "no entries but a non-empty central directory")
        raise _Refusal("empty_archive", "no entries")
    if directory.entries > MAX_ENTRIES:
        raise _Refusal(
            "too_many_entries",
            f"{directory.entries} entries",
            f"This zip archive holds {directory.entries} files; the most allowed is {MAX_ENTRIES}. "
            "Send the files in several zip archives, each encrypted with AES-256.",
        )
    if single_entry_name is not None and directory.entries > 1:
        raise _Refusal(
            "too_many_entries",
            f"{directory.entries} entries where one is required",
            f"This zip archive holds {directory.entries} files, but a file of this kind must hold "
            f"exactly one: {single_entry_name}. Zip that one file with AES-256 encryption and send it again.",
        )
    # Bounds what the directory read may cost before anything is fetched.
    if not directory.entries * _CENTRAL.size <= directory.size <= directory.entries * MAX_CENTRAL_ENTRY_BYTES:
        raise _Refusal("not_zip", f"central directory size {directory.size} impossible for {directory.entries}")


# ------------------------------------------------------------------------ central directory


def _parse_central_directory(data: bytes, count: int) -> list[_Entry]:
    entries: list[_Entry] = []
    at = 0
    for index in range(count):
        if at + _CENTRAL.size > len(data):
            raise _Refusal("not_zip", f"central directory ends inside entry {index}")
        (
            sig,
            made_by,
            _needed,
            flags,
            method,
            _time,
            _date,
            crc,
            compressed,
            uncompressed,
            name_length,
            extra_length,
            comment_length,
            disk,
            _internal,
            external_attr,
            header_offset,
        ) = _CENTRAL.unpack_from(data, at)
        if sig != _CENTRAL_SIG:
            raise _Refusal("not_zip", f"entry {index} has no central directory signature")
        name_at = at + _CENTRAL.size
        extra_at = name_at + name_length
        at = extra_at + extra_length + comment_length
        if at > len(data):
            raise _Refusal("not_zip", f"entry {index} runs past the central directory")
        raw_name = data[name_at:extra_at]
        extras = _parse_extras(data[extra_at : extra_at + extra_length], f"entry {index}")
        wide = _Zip64Sizes(extras.get(ZIP64_EXTRA_ID, b""), index)
        uncompressed = wide.take(uncompressed, 0xFFFFFFFF, 8)
        compressed = wide.take(compressed, 0xFFFFFFFF, 8)
        header_offset = wide.take(header_offset, 0xFFFFFFFF, 8)
        disk = wide.take(disk, 0xFFFF, 4)
        wide.all_taken()
        if disk != 0:
            raise _Refusal("not_zip", f"entry {index} is on another disk")
        entries.append(
            _Entry(
                index=index,
                name=_decode_name(raw_name, flags, index),
                raw_name=raw_name,
                made_by=made_by,
                flags=flags,
                method=method,
                crc=crc,
                compressed_size=compressed,
                uncompressed_size=uncompressed,
                header_offset=header_offset,
                external_attr=external_attr,
                extras=extras,
            )
        )
    if at != len(data):
        raise _Refusal("not_zip", f"{len(data) - at} unaccounted bytes at the end of the central directory")
    return entries


class _Zip64Sizes:
    """The 0x0001 extra field: the wide value of each fixed field that is saturated, in order."""

    def __init__(self, data: bytes, index: int) -> None:
        self.data = data
        self.index = index
        self.at = 0

    def take(self, value: int, sentinel: int, width: int) -> int:
        if value != sentinel:
            return value
        if self.at + width > len(self.data):
            raise _Refusal("not_zip", f"entry {self.index} lacks its ZIP64 sizes")
        (wide,) = struct.unpack_from("<Q" if width == 8 else "<L", self.data, self.at)
        self.at += width
        return int(wide)

    def all_taken(self) -> None:
        # A value no saturated field claims is read by some tools as one field and by others as
        # the next: the sizes would depend on the reader.
        if self.at != len(self.data):
            raise _inconsistent(f"entry {self.index} has ZIP64 values for fields that are not saturated")


def _parse_extras(data: bytes, where: str) -> dict[int, bytes]:
    extras: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        if at + _EXTRA_HEADER.size > len(data):
            raise _Refusal("not_zip", f"{where} has a truncated extra field")
        field_id, length = _EXTRA_HEADER.unpack_from(data, at)
        at += _EXTRA_HEADER.size
        if at + length > len(data):
            raise _Refusal("not_zip", f"{where} has an extra field longer than its extra data")
        if field_id in extras:
            # Tools disagree on which copy wins; an archive that depends on that is refused.
            raise _Refusal("not_zip", f"{where} repeats extra field {field_id:#06x}")
        extras[field_id] = data[at : at + length]
        at += length
    return extras


def _decode_name(raw: bytes, flags: int, index: int) -> str:
    if flags & FLAG_UTF8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refusal("bad_entry_name", f"entry {index} name is not valid UTF-8") from None
    return raw.decode("cp437")


_DRIVE = re.compile(r"^[A-Za-z]:")
# Bidirectional overrides can disguise an extension ("report<RLO>fdp.exe").
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _name_problem(name: str) -> str | None:
    if not name:
        return "empty name"
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        return "control character in name"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute name"
    if ".." in name.split("/"):
        return "'..' in name"
    return None


def _unicode_path(payload: bytes) -> str | None:
    """The name in a 0x7075 field, or None when the field is malformed."""
    if len(payload) < 5 or payload[0] != 1:
        return None
    try:
        return payload[5:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _rule_no_entry_name_absolute_dotdot_backslash_or_symlink(entries: list[_Entry]) -> None:
    """docs/SERVICE.md §3: "no entry name absolute, containing `..` or `\\`, or a symlink" (and no control or
    bidi characters, which disguise a name)."""
    for entry in entries:
        problem = _name_problem(entry.name)
        unicode_path = entry.extras.get(UNICODE_PATH_EXTRA_ID)
        if problem is None and unicode_path is not None:
            # Info-ZIP unzip extracts to this name instead of the header's; check it the same way.
            name = _unicode_path(unicode_path)
            problem = "malformed Unicode path field" if name is None else _name_problem(name)
        if problem is None and (entry.external_attr >> 16) & S_IFMT == S_IFLNK:
            # The high half of the external attributes is a Unix mode for archives made on Unix
            # or macOS, and 7-Zip writes one there on Windows too; a link is refused wherever.
            problem = "symbolic link"
        if problem is not None:
            raise _Refusal("bad_entry_name", f"entry {entry.index}: {problem}")
        _rule_no_extra_field_renames_an_entry(entry.extras, entry, "central record")


def _rule_no_extra_field_renames_an_entry(extras: dict[int, bytes], entry: _Entry, where: str) -> None:
    """docs/SERVICE.md §3: "no extra field renames an entry (a `0x7075` Unicode Path field must name the same as
    the header)". Info-ZIP unzip and Python's zipfile extract to the field's name; bsdtar and
    7-Zip, reading the same entry, may use the header's."""
    payload = extras.get(UNICODE_PATH_EXTRA_ID)
    if payload is None:
        return
    name = _unicode_path(payload)
    if name is None:
        raise _Refusal("bad_entry_name", f"entry {entry.index}: malformed Unicode path field in its {where}")
    if name != entry.name and name.encode("utf-8") != entry.raw_name:
        raise _inconsistent(f"entry {entry.index}: Unicode path field in its {where} renames the entry")


def _rule_declared_total_and_ratio(entries: list[_Entry]) -> None:
    """docs/SERVICE.md §3: "declared uncompressed total at most 1 GiB and ratio at most 1000:1"."""
    total = 0
    for entry in entries:
        total += entry.uncompressed_size
        if entry.uncompressed_size > MAX_RATIO * entry.compressed_size:
            raise _Refusal(
                "zip_bomb",
                f"entry {entry.index} declares {entry.uncompressed_size} bytes from {entry.compressed_size}",
            )
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise _Refusal("zip_bomb", f"declared uncompressed total {total} bytes")


def _encryption(entry: _Entry) -> str:
    """'aes256', 'weak', 'none' or 'neutral' (an empty, unencrypted folder entry)."""
    if entry.method == AES_METHOD:
        aes = entry.extras.get(AES_EXTRA_ID)
        if not entry.flags & FLAG_ENCRYPTED or aes is None or len(aes) != 7 or aes[2:4] != b"AE":
            raise _Refusal("not_zip", f"entry {entry.index} uses method 99 without a valid AES field")
        strength = aes[4]
        if strength == AES_256_STRENGTH:
            return "aes256"
        if strength in (1, 2):
            return "weak"
        raise _Refusal("not_zip", f"entry {entry.index} has unknown AES strength {strength}")
    if entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION):
        return "weak"
    if entry.name.endswith("/") and entry.compressed_size == 0 and entry.uncompressed_size == 0:
        # 7-Zip and WinZip store folder entries unencrypted even in AES-256 archives: they hold
        # no data, so they neither need encryption nor make an archive "mixed".
        return "neutral"
    return "none"


def _rule_every_entry_is_aes_256(entries: list[_Entry]) -> None:
    """docs/SERVICE.md §3: "every entry is AES-encrypted (method 99 with the `0x9901` extra field, strength 3 =
    AES-256); unencrypted, ZipCrypto, AES-128/192 and mixed archives are refused"."""
    kinds = [_encryption(entry) for entry in entries]
    if "weak" in kinds:
        raise _Refusal("weak_encryption", f"entry {kinds.index('weak')} is ZipCrypto or AES-128/192")
    if "aes256" not in kinds:
        raise _Refusal("not_encrypted", "no entry is encrypted")
    if "none" in kinds:
        raise _Refusal("mixed_encryption", f"entry {kinds.index('none')} is not encrypted")


def _rule_single_entry_families_name_their_entry(entry: _Entry, expected: str) -> None:
    """docs/SERVICE.md §3: "for CTF, ATF and admissions files exactly one entry, named `<STEM>.XML` (any case of
    `.xml`)"."""
    stem, dot, extension = expected.rpartition(".")
    if not dot:
        stem, extension = expected, "XML"
    name_stem, name_dot, name_extension = entry.name.rpartition(".")
    if not (name_dot and name_stem == stem and name_extension.lower() == extension.lower()):
        raise _Refusal(
            "entry_name_mismatch",
            "single entry has another name",
            f"The file inside this zip archive must be named {stem}.{extension}, to match the zip's "
            "name. Rename the file, zip it again with AES-256 encryption, and send it again.",
        )


def _rule_a_folder_entry_carries_no_data(entries: list[_Entry]) -> None:
    """docs/SERVICE.md §3: "a folder entry carries no data". Nothing at all, or, for an AES-encrypted folder as
    pyzipper writes one, only an encrypted empty file."""
    for entry in entries:
        if not entry.is_folder:
            continue
        most = AES_256_EMPTY_MAX_SIZE if entry.method == AES_METHOD else 0
        if entry.uncompressed_size != 0 or entry.compressed_size > most:
            raise _inconsistent(f"folder entry {entry.index} carries {entry.compressed_size} bytes")


# ------------------------------------------------------------------------ local headers


def _rule_the_entries_lie_back_to_back_from_offset_0(entries: list[_Entry], directory: _Directory) -> list[_Span]:
    """docs/SERVICE.md §3: "the entries lie back to back from offset 0 to the central directory ...: no
    prepended data, no gap, no overlap". From the central directory alone: each entry's local
    header, data and descriptor must fit exactly between its offset and the next entry's (or the
    directory); the local headers, read next, must then fill what is left exactly."""
    ordered = sorted(entries, key=lambda entry: entry.header_offset)
    if ordered[0].header_offset != 0:
        raise _inconsistent(f"first local header at {ordered[0].header_offset}: prepended data")
    ends = [entry.header_offset for entry in ordered[1:]] + [directory.offset]
    spans = [_Span(entry, entry.header_offset, end) for entry, end in zip(ordered, ends, strict=True)]
    for span in spans:
        descriptor = (DESCRIPTOR_LENGTHS[0], DESCRIPTOR_LENGTHS[-1]) if span.entry.has_descriptor else (0, 0)
        least = _LOCAL.size + len(span.entry.raw_name) + descriptor[0]
        most = _LOCAL.size + len(span.entry.raw_name) + 0xFFFF + descriptor[1]
        if span.room < least:
            raise _inconsistent(f"entry {span.entry.index} overlaps what follows it")
        if span.room > most:
            raise _inconsistent(f"entry {span.entry.index} is followed by a gap")
    return spans


def _read_local_headers(window: _Window, spans: list[_Span], *, directory_bytes: tuple[int, bytes]) -> dict[int, bytes]:
    """Fetch every local header together with the previous entry's data descriptor: one read per
    entry (ranges that touch are fetched together), none when the first read held the whole
    object. The last entry's descriptor came with the directory. Returns the fetched chunks by
    start position (see `_slice`)."""
    wanted: list[tuple[int, int]] = []
    for span in spans:
        wanted.append((span.start, span.start + span.header_bytes))
        if span.descriptor_read:
            wanted.append((span.end - span.descriptor_read, span.end))
    wanted.sort()
    merged: list[list[int]] = []
    for start, end in wanted:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    directory_start, directory_data = directory_bytes
    fetched: dict[int, bytes] = {}
    for start, end in merged:
        if window.whole_object:
            fetched[start] = window.data[start:end]
        elif start >= directory_start and end <= directory_start + len(directory_data):
            # The last entry's descriptor, fetched with the directory.
            fetched[start] = directory_data[start - directory_start : end - directory_start]
        else:
            fetched[start] = window.reader.read_range(start, end - start)
    return fetched


def _slice(fetched: dict[int, bytes], start: int, length: int) -> bytes:
    for chunk_start, chunk in fetched.items():
        if chunk_start <= start and start + length <= chunk_start + len(chunk):
            return chunk[start - chunk_start : start - chunk_start + length]
    raise AssertionError(f"bytes {start}+{length} were not planned")  # pragma: no cover


def _rule_every_local_header_agrees_with_its_central_record(span: _Span, fetched: dict[int, bytes]) -> None:
    """docs/SERVICE.md §3: "every local header agrees with its central-directory record: signature, name bytes,
    flags, method, the same `0x9901` field, sizes (or flag bit 3 with sizes that the data
    descriptor and the central record agree on)". 7-Zip, bsdtar and Java read the local header;
    zipfile and unzip the central record: they must not be able to tell them apart."""
    entry = span.entry
    index = entry.index
    header = _slice(fetched, span.start, span.header_bytes)
    (sig, _needed, flags, method, _time, _date, crc, compressed, uncompressed, name_length, extra_length) = (
        _LOCAL.unpack_from(header, 0)
    )
    if sig != _LOCAL_SIG:
        raise _inconsistent(f"entry {index} has no local header where the directory says")
    local_length = _LOCAL.size + name_length + extra_length
    if header[_LOCAL.size : _LOCAL.size + name_length] != entry.raw_name:
        raise _inconsistent(f"entry {index}: local header names another file")
    if flags != entry.flags:
        raise _inconsistent(f"entry {index}: local header flags {flags:#06x}, directory {entry.flags:#06x}")
    if method != entry.method:
        raise _inconsistent(f"entry {index}: local header method {method}, directory {entry.method}")
    if local_length > span.header_bytes:
        raise _inconsistent(f"entry {index}: local header runs into its data's place")
    extras = _parse_extras(header[_LOCAL.size + name_length : local_length], f"entry {index} local header")
    if extras.get(AES_EXTRA_ID) != entry.extras.get(AES_EXTRA_ID):
        raise _inconsistent(f"entry {index}: local and central AES fields differ")
    _rule_no_extra_field_renames_an_entry(extras, entry, "local header")
    _rule_local_sizes_are_the_central_sizes(entry, crc, compressed, uncompressed, extras)
    descriptor_length = span.room - local_length
    if not entry.has_descriptor:
        if descriptor_length != 0:
            raise _inconsistent(f"entry {index} is followed by a {descriptor_length}-byte gap")
        return
    _rule_the_data_descriptor_agrees(span, descriptor_length, ZIP64_EXTRA_ID in extras, fetched)


def _rule_local_sizes_are_the_central_sizes(
    entry: _Entry, crc: int, compressed: int, uncompressed: int, extras: dict[int, bytes]
) -> None:
    """Sizes: every size the local header states (its own fields, its ZIP64 field) is the central
    record's, so a streaming reader skips exactly the data the directory describes."""
    index = entry.index
    zip64 = extras.get(ZIP64_EXTRA_ID)
    if zip64 is not None:
        # APPNOTE 4.5.3: in a local header the field holds both sizes, uncompressed first.
        if len(zip64) != 16:
            raise _inconsistent(f"entry {index}: local ZIP64 field of {len(zip64)} bytes")
        wide_uncompressed, wide_compressed = struct.unpack("<2Q", zip64)
        if (wide_uncompressed, wide_compressed) != (entry.uncompressed_size, entry.compressed_size):
            raise _inconsistent(f"entry {index}: local ZIP64 sizes differ from the directory's")
    for stated, real in ((compressed, entry.compressed_size), (uncompressed, entry.uncompressed_size)):
        if stated == 0xFFFFFFFF and zip64 is not None:
            continue
        if stated != real:
            # Zeros with flag bit 3 included: see the module docstring.
            raise _inconsistent(f"entry {index}: local header sizes differ from the directory's")
    if crc != entry.crc and not (entry.has_descriptor and crc == 0):
        raise _inconsistent(f"entry {index}: local header CRC differs from the directory's")


def _rule_the_data_descriptor_agrees(span: _Span, length: int, zip64: bool, fetched: dict[int, bytes]) -> None:
    """Flag bit 3: the descriptor right after the data states the central record's CRC and sizes,
    in the width the local header announces (8-byte sizes when it has a ZIP64 field)."""
    index = span.entry.index
    if span.entry.compressed_size == 0:
        # A size of zero tells a streaming reader nothing: bsdtar then searches what follows (the
        # next entries, whose ciphertext the sender chooses) for a descriptor signature.
        raise _inconsistent(f"entry {index} holds no data but has a data descriptor")
    expected_lengths = DESCRIPTOR_LENGTHS[2:] if zip64 else DESCRIPTOR_LENGTHS[:2]
    if length not in expected_lengths:
        raise _inconsistent(f"entry {index}: {length} bytes where its data descriptor should be")
    data = _slice(fetched, span.end - length, length)
    signed = length in (DESCRIPTOR_LENGTHS[1], DESCRIPTOR_LENGTHS[3])
    if data.startswith(_DESCRIPTOR_SIG) != signed:
        # An unsigned descriptor whose CRC looks like the signature reads as a signed one.
        raise _inconsistent(f"entry {index}: data descriptor signature does not match its length")
    body = data[4:] if signed else data
    crc, compressed, uncompressed = struct.unpack("<L2Q" if zip64 else "<3L", body)
    if (crc, compressed, uncompressed) != (span.entry.crc, span.entry.compressed_size, span.entry.uncompressed_size):
        raise _inconsistent(f"entry {index}: data descriptor differs from the directory")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _human_size(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size:,} bytes"
