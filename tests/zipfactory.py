"""Build zip archives for tests: real AES zips written by pyzipper, plain zips from `zipfile`,
real ZipCrypto zips (which neither library writes), and surgery on the central directory for the
structures no honest tool writes (ZIP64 end records on small files, lying sizes, overlaps).

    from zipfactory import make_aes_zip, make_plain_zip
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
