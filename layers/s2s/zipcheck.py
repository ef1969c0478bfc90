"""Zip inspection: is an upload an AES-256 zip that is safe to pass on? (SPEC section 3)

The service never sees a password and never decrypts, so everything is decided from the zip's
end record(s) and central directory, fetched through a ranged reader: one read of the last
64 KiB (which holds the whole central directory of any ordinary upload) and, only when the
directory starts before that, one more read of the part that is missing. File data is never
read, however large the archive.

The central directory is parsed here with `struct` rather than through `zipfile` over a seekable
adapter, although STYLE.md prefers the library, because the checks this module exists for are
exactly the ones `zipfile` smooths over: it silently accepts prepended data (it shifts every
offset by the difference), truncates entry names at the first NUL byte, takes the last of
duplicated extra fields, and does not object to a directory that ends before the end record.
A parser differential between this check and the recipient's unzip tool is the attack, so the
layout rules are explicit:

- the end of central directory record (EOCD) ends exactly at the end of the object (its comment
  length accounts for every trailing byte), on disk 0 of 1;
- with ZIP64, the locator sits immediately before the EOCD, and the ZIP64 end record it points
  at ends exactly at the locator; EOCD fields that are not 0xFFFF/0xFFFFFFFF must agree with it;
- the central directory starts where the end record says and ends exactly at the (ZIP64) end
  record, and its entries fill it exactly;
- the first local header is at offset 0 (nothing prepended), and local headers do not overlap
  each other or the central directory.

`inspect_archive` never raises for a bad archive: it returns an `Inspection` with a SPEC reason
code and a message a school data manager can act on. Storage errors (a missing object, no
permission) are not archive faults and propagate to the caller.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s2s.ranged import RangeReadError

if TYPE_CHECKING:
    from s2s.ranged import RangedReader

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
FLAG_UTF8 = 0x0800

S_IFMT = 0o170000
S_IFLNK = 0o120000

_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_HEADER_SIZE = 30
_EXTRA_HEADER = struct.Struct("<2H")

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


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str, message: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.message = message or _MESSAGES[reason]


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
    made_by: int
    flags: int
    method: int
    compressed_size: int
    uncompressed_size: int
    header_offset: int
    name_length: int
    external_attr: int
    extras: dict[int, bytes]


class _Window:
    """The object's tail, already fetched, in front of the reader for further ranges."""

    def __init__(self, reader: RangedReader, start: int, data: bytes) -> None:
        self.reader = reader
        self.start = start
        self.data = data

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
    """Check an uploaded archive against SPEC section 3 without decrypting or reading file data.

    `expected_size` is the size the upload was issued for (`unexpected_object` if different).
    `single_entry_name` is the one entry name allowed, for CTF, ATF and admissions files, e.g.
    `8231234_CTF_8232345_001.XML`: the stem must match exactly, the `.xml` extension in any case.
    """
    entries = 0
    try:
        size = reader.size
        if expected_size is not None and size != expected_size:
            raise _Refusal("unexpected_object", f"object is {size} bytes, upload was for {expected_size}")
        if size > max_upload_bytes:
            raise _Refusal(
                "too_large",
                f"object is {size} bytes, limit {max_upload_bytes}",
                f"This file is larger than the {_human_size(max_upload_bytes)} limit. Split it into "
                "smaller zip archives, each encrypted with AES-256, and send them separately.",
            )
        window, directory = _read_end_records(reader, size)
        entries = directory.entries
        _check_entry_count(directory, single_entry_name)
        parsed = _parse_central_directory(window.get(directory.offset, directory.size), directory.entries)
        _check_layout(parsed, directory)
        _check_names(parsed)
        _check_sizes(parsed)
        _check_encryption(parsed)
        if single_entry_name is not None:
            _check_single_entry_name(parsed[0], single_entry_name)
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
    )


def _read_end_records(reader: RangedReader, size: int) -> tuple[_Window, _Directory]:
    if size < _EOCD.size:
        raise _Refusal("not_zip", f"object is only {size} bytes")
    tail_length = min(size, TAIL_BYTES)
    window = _Window(reader, size - tail_length, reader.read_range(size - tail_length, tail_length))
    tail = window.data
    eocd_at = _find_eocd(tail)
    if eocd_at < 0:
        raise _Refusal("not_zip", "no end of central directory record")
    (_sig, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, _comment) = _EOCD.unpack_from(tail, eocd_at)
    eocd_pos = window.start + eocd_at

    locator_pos = eocd_pos - _ZIP64_LOCATOR.size
    if locator_pos >= 0 and window.get(locator_pos, 4) == _ZIP64_LOCATOR_SIG:
        return window, _read_zip64(window, locator_pos, (disk, cd_disk, disk_entries, entries, cd_size, cd_offset))

    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise _Refusal("not_zip", "multi-disk archive")
    return window, _Directory(entries=entries, offset=cd_offset, size=cd_size, end=eocd_pos)


def _find_eocd(tail: bytes) -> int:
    """The last EOCD signature whose comment length reaches exactly the end of the object."""
    at = tail.rfind(_EOCD_SIG, max(0, len(tail) - EOCD_SEARCH_BYTES))
    while at >= 0:
        if at + _EOCD.size <= len(tail):
            comment_length = struct.unpack_from("<H", tail, at + 20)[0]
            if at + _EOCD.size + comment_length == len(tail):
                return at
        at = tail.rfind(_EOCD_SIG, max(0, len(tail) - EOCD_SEARCH_BYTES), at + len(_EOCD_SIG) - 1)
    return -1


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
    # The record's size field excludes its first 12 bytes; the record must end at the locator.
    if record_offset + 12 + record_size != locator_pos:
        raise _Refusal("not_zip", "ZIP64 end record does not end at its locator")
    if disk != 0 or cd_disk != 0 or disk_entries != entries:
        raise _Refusal("not_zip", "multi-disk ZIP64 archive")
    sentinels = (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    zip64_fields = (0, 0, entries, entries, cd_size, cd_offset)
    for old, sentinel, new in zip(eocd_fields, sentinels, zip64_fields, strict=True):
        if old not in (sentinel, new):
            raise _Refusal("not_zip", "end record and ZIP64 end record disagree")
    return _Directory(entries=entries, offset=cd_offset, size=cd_size, end=record_offset)


def _check_entry_count(directory: _Directory, single_entry_name: str | None) -> None:
    """Decide what the end record alone can decide, before the directory is fetched."""
    if directory.offset + directory.size != directory.end:
        raise _Refusal(
            "not_zip",
            f"central directory at {directory.offset}+{directory.size} does not end at the end record "
            f"({directory.end}): prepended or hidden data",
        )
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
    if not directory.entries * _CENTRAL.size <= directory.size <= directory.entries * MAX_CENTRAL_ENTRY_BYTES:
        raise _Refusal("not_zip", f"central directory size {directory.size} impossible for {directory.entries}")


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
            _crc,
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
        extras = _parse_extras(data[extra_at : extra_at + extra_length], index)
        wide = _Zip64Sizes(extras.get(ZIP64_EXTRA_ID, b""), index)
        uncompressed = wide.take(uncompressed, 0xFFFFFFFF, 8)
        compressed = wide.take(compressed, 0xFFFFFFFF, 8)
        header_offset = wide.take(header_offset, 0xFFFFFFFF, 8)
        disk = wide.take(disk, 0xFFFF, 4)
        if disk != 0:
            raise _Refusal("not_zip", f"entry {index} is on another disk")
        entries.append(
            _Entry(
                index=index,
                name=_decode_name(raw_name, flags, index),
                made_by=made_by,
                flags=flags,
                method=method,
                compressed_size=compressed,
                uncompressed_size=uncompressed,
                header_offset=header_offset,
                name_length=name_length,
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


def _parse_extras(data: bytes, index: int) -> dict[int, bytes]:
    extras: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        if at + _EXTRA_HEADER.size > len(data):
            raise _Refusal("not_zip", f"entry {index} has a truncated extra field")
        field_id, length = _EXTRA_HEADER.unpack_from(data, at)
        at += _EXTRA_HEADER.size
        if at + length > len(data):
            raise _Refusal("not_zip", f"entry {index} has an extra field longer than its extra data")
        if field_id in extras:
            # Tools disagree on which copy wins; an archive that depends on that is refused.
            raise _Refusal("not_zip", f"entry {index} repeats extra field {field_id:#06x}")
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


def _check_layout(entries: list[_Entry], directory: _Directory) -> None:
    """Local headers start at 0 and neither overlap each other nor run into the directory."""
    ordered = sorted(entries, key=lambda entry: entry.header_offset)
    if ordered[0].header_offset != 0:
        raise _Refusal("not_zip", f"first local header at {ordered[0].header_offset}: prepended data")
    for entry, following in zip(ordered, [*ordered[1:], None], strict=True):
        # The local header's own extra field may differ in length from the central one, so this is
        # the least the entry can occupy; a following header inside that span is an overlap.
        end = entry.header_offset + _LOCAL_HEADER_SIZE + entry.name_length + entry.compressed_size
        limit = directory.offset if following is None else following.header_offset
        if end > limit:
            what = "the central directory" if following is None else f"entry {following.index}"
            raise _Refusal("not_zip", f"entry {entry.index} overlaps {what}")


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


def _check_names(entries: list[_Entry]) -> None:
    for entry in entries:
        problem = _name_problem(entry.name)
        unicode_path = entry.extras.get(UNICODE_PATH_EXTRA_ID)
        if problem is None and unicode_path is not None:
            # Info-ZIP unzip extracts to this name instead of the header's; check it the same way.
            if len(unicode_path) < 5 or unicode_path[0] != 1:
                problem = "malformed Unicode path field"
            else:
                try:
                    problem = _name_problem(unicode_path[5:].decode("utf-8"))
                except UnicodeDecodeError:
                    problem = "Unicode path field is not UTF-8"
        if problem is None and (entry.external_attr >> 16) & S_IFMT == S_IFLNK:
            # The high half of the external attributes is a Unix mode for archives made on Unix
            # or macOS, and 7-Zip writes one there on Windows too; a link is refused wherever.
            problem = "symbolic link"
        if problem is not None:
            raise _Refusal("bad_entry_name", f"entry {entry.index}: {problem}")


def _check_sizes(entries: list[_Entry]) -> None:
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


def _check_encryption(entries: list[_Entry]) -> None:
    kinds = [_encryption(entry) for entry in entries]
    if "weak" in kinds:
        raise _Refusal("weak_encryption", f"entry {kinds.index('weak')} is ZipCrypto or AES-128/192")
    if "aes256" not in kinds:
        raise _Refusal("not_encrypted", "no entry is encrypted")
    if "none" in kinds:
        raise _Refusal("mixed_encryption", f"entry {kinds.index('none')} is not encrypted")


def _check_single_entry_name(entry: _Entry, expected: str) -> None:
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _human_size(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size:,} bytes"
