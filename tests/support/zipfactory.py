"""Build zip archives for tests: real AES zips written by pyzipper, plain zips from `zipfile`,
real ZipCrypto zips (which neither library writes), and surgery on the central directory for the
structures no honest tool writes (ZIP64 end records on small files, lying sizes, overlaps).

    from support.zipfactory import make_aes_zip, make_plain_zip
    data = make_aes_zip({"8231234_CTF_8232345_001.XML": b"<CTfile/>"})

Every archive these helpers produce, except the deliberately broken ones, opens with `zipfile`
(and decrypts with pyzipper and the password), which the tests of this module check.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import pyzipper

PASSWORD = b"correct horse battery staple"

# Kinds of entry `build_zip` can write.
AES256, AES192, AES128, ZIPCRYPTO, NONE = "aes256", "aes192", "aes128", "zipcrypto", "none"
_AES_BITS = {AES256: 256, AES192: 192, AES128: 128}


@dataclass(frozen=True)
class Entry:
    """One member to write. `mode` is a Unix mode (e.g. `stat.S_IFLNK | 0o777`) for the external
    attributes; `compression` is a zipfile constant (ZIP_STORED keeps large random data fast)."""

    name: str
    data: bytes
    kind: str = AES256
    compression: int = zipfile.ZIP_DEFLATED
    mode: int | None = None


def make_aes_zip(
    entries: Mapping[str, bytes],
    password: bytes = PASSWORD,
    strength: int = 256,
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
) -> bytes:
    """An archive whose every entry is WinZip AES encrypted with `strength` bits (128/192/256)."""
    kind = {256: AES256, 192: AES192, 128: AES128}[strength]
    return build_zip(
        [Entry(name, data, kind, compression) for name, data in entries.items()],
        password=password,
        comment=comment,
    )


def make_plain_zip(
    entries: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b""
) -> bytes:
    """An unencrypted archive, as Windows' 'Send to > Compressed folder' makes."""
    return build_zip([Entry(name, data, NONE, compression) for name, data in entries.items()], comment=comment)


def make_zipcrypto_zip(entries: Mapping[str, bytes], password: bytes = PASSWORD) -> bytes:
    """A stored archive encrypted with traditional PKWARE ZipCrypto (decryptable by `zipfile`)."""
    return build_zip(
        [Entry(name, data, ZIPCRYPTO, zipfile.ZIP_STORED) for name, data in entries.items()],
        password=password,
    )


def build_zip(entries: Iterable[Entry], *, password: bytes = PASSWORD, comment: bytes = b"") -> bytes:
    """An archive with a different kind of encryption per entry if wanted (mixed archives)."""
    entries = list(entries)
    if any(entry.kind == ZIPCRYPTO for entry in entries):
        if any(entry.kind not in (ZIPCRYPTO, NONE) for entry in entries):
            raise ValueError("ZipCrypto entries can only be mixed with unencrypted ones")
        return _build_zipcrypto(entries, password, comment)
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w") as archive:
        for entry in entries:
            _set_kind(archive, entry.kind, password)
            info = archive.zipinfo_cls(entry.name, date_time=(2025, 9, 1, 12, 0, 0))
            info.compress_type = entry.compression
            if entry.mode is not None:
                info.create_system = 3
                info.external_attr = entry.mode << 16
            else:
                info.external_attr = 0o644 << 16
            archive.writestr(info, entry.data)
        archive.comment = comment
    return buffer.getvalue()


def write_aes_zip(
    path: str | os.PathLike[str],
    entries: Mapping[str, bytes | Iterable[bytes]],
    password: bytes = PASSWORD,
    strength: int = 256,
    *,
    compression: int = zipfile.ZIP_STORED,
) -> int:
    """Write an AES archive to `path`, streaming each entry from chunks; returns its size.

    For archives of hundreds of MiB: nothing larger than one chunk is held in memory."""
    with pyzipper.AESZipFile(path, "w", compression=compression) as archive:
        _set_kind(archive, {256: AES256, 192: AES192, 128: AES128}[strength], password)
        for name, content in entries.items():
            chunks = [content] if isinstance(content, bytes) else content
            with archive.open(name, "w") as member:
                for chunk in chunks:
                    member.write(chunk)
    return os.path.getsize(path)


def random_chunks(total: int, chunk: int = 4 * 1024 * 1024) -> Iterable[bytes]:
    """`total` random (incompressible) bytes in chunks, for large entries."""
    left = total
    while left > 0:
        size = min(chunk, left)
        yield os.urandom(size)
        left -= size


def _set_kind(archive: pyzipper.AESZipFile, kind: str, password: bytes) -> None:
    # pyzipper encrypts an entry when `encryption` is set at the time it is written, so switching
    # it between entries makes mixed archives.
    if kind == NONE:
        archive.encryption = None
        archive.pwd = None
    else:
        archive.setpassword(password)
        archive.setencryption(pyzipper.WZ_AES, nbits=_AES_BITS[kind])


# --- ZipCrypto (APPNOTE 6.1): neither zipfile nor pyzipper writes it, so a small writer here. ---


def _crc_byte(crc: int, byte: int) -> int:
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCryptoKeys:
    def __init__(self, password: bytes) -> None:
        self.k0, self.k1, self.k2 = 0x12345678, 0x23456789, 0x34567890
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        self.k0 = _crc_byte(self.k0, byte)
        self.k1 = ((self.k1 + (self.k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        self.k2 = _crc_byte(self.k2, (self.k1 >> 24) & 0xFF)

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.k2 | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def _build_zipcrypto(entries: list[Entry], password: bytes, comment: bytes) -> bytes:
    body = io.BytesIO()
    records: list[CentralRecord] = []
    dos_time, dos_date = (12 << 11), ((2025 - 1980) << 9) | (9 << 5) | 1
    for entry in entries:
        name = entry.name.encode("utf-8")
        crc = zlib.crc32(entry.data)
        payload = entry.data
        flags = 0x0800
        if entry.kind == ZIPCRYPTO:
            flags |= 0x0001
            keys = _ZipCryptoKeys(password)
            # The 12-byte header's last byte is the CRC's high byte: the password check.
            header = os.urandom(11) + bytes([crc >> 24])
            payload = keys.encrypt(header + entry.data)
        offset = body.tell()
        body.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                flags,
                0,
                dos_time,
                dos_date,
                crc,
                len(payload),
                len(entry.data),
                len(name),
                0,
            )
        )
        body.write(name)
        body.write(payload)
        records.append(
            CentralRecord(
                made_by=(3 << 8) | 20,
                needed=20,
                flags=flags,
                method=0,
                time=dos_time,
                date=dos_date,
                crc=crc,
                compressed=len(payload),
                uncompressed=len(entry.data),
                name=name,
                external=(stat.S_IFREG | 0o644) << 16,
                offset=offset,
            )
        )
    return rebuild(body.getvalue(), records, comment=comment)


# --- Central directory surgery ---------------------------------------------------------------


@dataclass(frozen=True)
class CentralRecord:
    """The raw fields of one central directory entry (APPNOTE 4.3.12)."""

    made_by: int = (3 << 8) | 20
    needed: int = 20
    flags: int = 0
    method: int = 0
    time: int = 0
    date: int = 0
    crc: int = 0
    compressed: int = 0
    uncompressed: int = 0
    name: bytes = b""
    extra: bytes = b""
    comment: bytes = b""
    disk: int = 0
    internal: int = 0
    external: int = 0
    offset: int = 0

    def pack(self) -> bytes:
        return (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                self.made_by,
                self.needed,
                self.flags,
                self.method,
                self.time,
                self.date,
                self.crc,
                self.compressed,
                self.uncompressed,
                len(self.name),
                len(self.extra),
                len(self.comment),
                self.disk,
                self.internal,
                self.external,
                self.offset,
            )
            + self.name
            + self.extra
            + self.comment
        )


def read_central_directory(data: bytes) -> tuple[bytes, list[CentralRecord], bytes]:
    """Split a well-formed, non-ZIP64 archive into (everything before the central directory,
    its records, the archive comment)."""
    eocd = data.rfind(b"PK\x05\x06")
    _sig, _d, _cd, _n, count, _size, cd_offset, comment_length = struct.unpack_from("<4s4H2LH", data, eocd)
    records: list[CentralRecord] = []
    at = cd_offset
    for _ in range(count):
        (
            _sig,
            made_by,
            needed,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            compressed,
            uncompressed,
            name_length,
            extra_length,
            comment_length,
            disk,
            internal,
            external,
            offset,
        ) = struct.unpack_from("<4s6H3L5H2L", data, at)
        at += 46
        name = data[at : at + name_length]
        extra = data[at + name_length : at + name_length + extra_length]
        entry_comment = data[at + name_length + extra_length : at + name_length + extra_length + comment_length]
        at += name_length + extra_length + comment_length
        records.append(
            CentralRecord(
                made_by=made_by,
                needed=needed,
                flags=flags,
                method=method,
                time=dos_time,
                date=dos_date,
                crc=crc,
                compressed=compressed,
                uncompressed=uncompressed,
                name=name,
                extra=extra,
                comment=entry_comment,
                disk=disk,
                internal=internal,
                external=external,
                offset=offset,
            )
        )
    return data[:cd_offset], records, data[eocd + 22 : eocd + 22 + comment_length]


def rebuild(
    body: bytes,
    records: list[CentralRecord],
    *,
    comment: bytes = b"",
    zip64: bool = False,
    count: int | None = None,
) -> bytes:
    """`body` + central directory + end records. With `zip64`, a ZIP64 end record and locator
    precede an EOCD whose counts, size and offset are all saturated. `count` overrides the
    entry count written in the end record(s)."""
    directory = b"".join(record.pack() for record in records)
    entries = len(records) if count is None else count
    cd_offset = len(body)
    tail = b""
    if zip64:
        record_at = cd_offset + len(directory)
        tail += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, len(directory), cd_offset)
        tail += struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment))
    else:
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), cd_offset, len(comment))
    return body + directory + tail + comment


def edit_central_directory(
    data: bytes, edit: Callable[[list[CentralRecord]], list[CentralRecord]], *, zip64: bool = False
) -> bytes:
    """Rewrite an archive's central directory through `edit` (local headers are left as they are)."""
    body, records, comment = read_central_directory(data)
    return rebuild(body, edit(records), comment=comment, zip64=zip64)


def to_zip64(data: bytes) -> bytes:
    """The same archive in full ZIP64 dress: every entry's sizes and offset moved into a 0x0001
    extra field, and a ZIP64 end record and locator before a saturated EOCD."""

    def widen(records: list[CentralRecord]) -> list[CentralRecord]:
        return [
            replace(
                record,
                needed=45,
                compressed=0xFFFFFFFF,
                uncompressed=0xFFFFFFFF,
                offset=0xFFFFFFFF,
                extra=struct.pack("<2H3Q", 1, 24, record.uncompressed, record.compressed, record.offset) + record.extra,
            )
            for record in records
        ]

    return edit_central_directory(data, widen, zip64=True)


# --- A structural model: every byte of an archive, in order, for the issue 14 families --------
#
# `parse_archive` splits a well-formed archive into its local entries (header, data, data
# descriptor), central records and end records; `Layout.pack` writes them back with the offsets
# recomputed, plus whatever was put in the places a hostile archive hides things: before the
# first entry, after any entry, between the directory and the end records, inside a ZIP64 end
# record's extensible data, in the comment, after the end.

LOCAL_SIG = b"PK\x03\x04"
DESCRIPTOR_SIG = b"PK\x07\x08"


@dataclass(frozen=True)
class LocalHeader:
    """The raw fields of one local file header (APPNOTE 4.3.7)."""

    needed: int = 20
    flags: int = 0
    method: int = 0
    time: int = 0
    date: int = 0
    crc: int = 0
    compressed: int = 0
    uncompressed: int = 0
    name: bytes = b""
    extra: bytes = b""
    signature: bytes = LOCAL_SIG

    def pack(self) -> bytes:
        return (
            struct.pack(
                "<4s5H3L2H",
                self.signature,
                self.needed,
                self.flags,
                self.method,
                self.time,
                self.date,
                self.crc,
                self.compressed,
                self.uncompressed,
                len(self.name),
                len(self.extra),
            )
            + self.name
            + self.extra
        )


@dataclass(frozen=True)
class Member:
    """One entry as it lies in the file, with its central record; `after` is whatever follows
    its data descriptor (nothing, in an honest archive)."""

    local: LocalHeader
    data: bytes
    central: CentralRecord
    descriptor: bytes = b""
    after: bytes = b""


@dataclass(frozen=True)
class Layout:
    members: tuple[Member, ...]
    comment: bytes = b""
    prefix: bytes = b""  # before the first local header
    before_directory: bytes = b""  # after the last entry, before the central directory
    before_end: bytes = b""  # between the central directory and the end record(s)
    trailing: bytes = b""  # after the end record's comment
    zip64: bool = False
    zip64_extensible: bytes = b""  # appended to the ZIP64 end record, its size field counting it
    extra_records: tuple[CentralRecord, ...] = ()  # central records for no member (duplicates)
    shift_offsets: bool = True  # False: the central records keep their own `offset`

    def pack(self) -> bytes:
        out = bytearray(self.prefix)
        records = []
        for member in self.members:
            offset = len(out)
            out += member.local.pack() + member.data + member.descriptor + member.after
            records.append(replace(member.central, offset=offset) if self.shift_offsets else member.central)
        out += self.before_directory
        cd_offset = len(out)
        directory = b"".join(record.pack() for record in [*records, *self.extra_records])
        out += directory + self.before_end
        count = len(records) + len(self.extra_records)
        if self.zip64:
            record_at = len(out)
            out += struct.pack(
                "<4sQ2H2L4Q",
                b"PK\x06\x06",
                44 + len(self.zip64_extensible),
                45,
                45,
                0,
                0,
                count,
                count,
                len(directory),
                cd_offset,
            )
            out += self.zip64_extensible
            out += struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
            out += struct.pack(
                "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(self.comment)
            )
        else:
            out += struct.pack(
                "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), cd_offset, len(self.comment)
            )
        return bytes(out + self.comment + self.trailing)


def parse_archive(data: bytes) -> Layout:
    """The layout of a well-formed archive without ZIP64 records (what pyzipper and 7-Zip write
    for small files). Data descriptors are kept as they are."""
    _body, records, comment = read_central_directory(data)
    ordered = sorted(records, key=lambda record: record.offset)
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<L", data, eocd + 16)[0]
    bounds = [record.offset for record in ordered[1:]] + [cd_offset]
    members = []
    for record, end in zip(ordered, bounds, strict=True):
        fields = struct.unpack_from("<4s5H3L2H", data, record.offset)
        name_length, extra_length = fields[9], fields[10]
        name_at = record.offset + 30
        local = LocalHeader(
            signature=fields[0],
            needed=fields[1],
            flags=fields[2],
            method=fields[3],
            time=fields[4],
            date=fields[5],
            crc=fields[6],
            compressed=fields[7],
            uncompressed=fields[8],
            name=data[name_at : name_at + name_length],
            extra=data[name_at + name_length : name_at + name_length + extra_length],
        )
        data_at = name_at + name_length + extra_length
        members.append(
            Member(
                local=local,
                data=data[data_at : data_at + record.compressed],
                central=record,
                descriptor=data[data_at + record.compressed : end],
            )
        )
    return Layout(members=tuple(members), comment=comment)


def extra_field(field_id: int, payload: bytes) -> bytes:
    return struct.pack("<2H", field_id, len(payload)) + payload


def unicode_path_field(name: bytes, header_name: bytes) -> bytes:
    """Info-ZIP's 0x7075 Unicode Path field: version 1, CRC-32 of the header's name, the name."""
    return extra_field(0x7075, b"\x01" + struct.pack("<L", zlib.crc32(header_name)) + name)


def aes_field(strength: int = 3, actual_method: int = zipfile.ZIP_DEFLATED, vendor_version: int = 2) -> bytes:
    """WinZip's 0x9901 field: vendor version (AE-1/AE-2), 'AE', strength, the real method."""
    return extra_field(0x9901, struct.pack("<H2sBH", vendor_version, b"AE", strength, actual_method))


def plain_member(name: str, content: bytes) -> Member:
    """A stored, unencrypted entry: the payload a hostile archive wants some tool to find."""
    raw = name.encode("utf-8")
    crc = zlib.crc32(content)
    dos_time, dos_date = (12 << 11), ((2025 - 1980) << 9) | (9 << 5) | 1
    local = LocalHeader(
        flags=0x0800,
        time=dos_time,
        date=dos_date,
        crc=crc,
        compressed=len(content),
        uncompressed=len(content),
        name=raw,
    )
    central = CentralRecord(
        flags=0x0800,
        time=dos_time,
        date=dos_date,
        crc=crc,
        compressed=len(content),
        uncompressed=len(content),
        name=raw,
        external=(stat.S_IFREG | 0o644) << 16,
    )
    return Member(local=local, data=content, central=central)


def with_descriptor(member: Member, *, signature: bool = True, zip64: bool = False, zero_local: bool = True) -> Member:
    """`member` as a streaming writer leaves it: flag bit 3 in both headers, the sizes (and CRC)
    in a data descriptor after the data, and zeros in the local header."""
    central = member.central
    if zip64:
        body = struct.pack("<L2Q", central.crc, central.compressed, central.uncompressed)
    else:
        body = struct.pack("<3L", central.crc, central.compressed, central.uncompressed)
    local = replace(member.local, flags=member.local.flags | 0x0008)
    if zero_local:
        local = replace(local, crc=0, compressed=0, uncompressed=0)
    return replace(
        member,
        local=local,
        central=replace(central, flags=central.flags | 0x0008),
        descriptor=(DESCRIPTOR_SIG if signature else b"") + body,
    )


def winzip_style(data: bytes, *, vendor_version: int = 2) -> bytes:
    """The archive as WinZip writes AES entries: AE-2 (no CRC) or AE-1 (real CRC, here the
    plaintext's CRC is unknown so a fixed one), an NTFS times field (0x000a) beside the AES
    field in both headers, and the Windows 'made by' byte."""
    layout = parse_archive(data)
    ntfs = extra_field(
        0x000A, struct.pack("<LHH3Q", 0, 1, 24, 0x01DB0C7F5A5B6000, 0x01DB0C7F5A5B6000, 0x01DB0C7F5A5B6000)
    )
    members = []
    for member in layout.members:
        if member.central.method != 99:
            members.append(member)
            continue
        aes = member.central.extra[member.central.extra.index(b"\x01\x99") :][:11]
        aes = aes[:4] + struct.pack("<H", vendor_version) + aes[6:]
        crc = 0 if vendor_version == 2 else 0x1234ABCD
        members.append(
            replace(
                member,
                local=replace(member.local, extra=ntfs + aes, crc=crc),
                central=replace(member.central, extra=ntfs + aes, crc=crc, made_by=(0 << 8) | 63),
            )
        )
    return replace(layout, members=tuple(members)).pack()
