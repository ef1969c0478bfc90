"""Ranged readers: byte ranges of a file or a bytes object, counted and capped (the S3 reader is
s2s.adapters.ranged).

Zip inspection reads an archive's end records, central directory and local headers, never its
file data, so it needs nothing but "give me bytes a..b" and the object's size. Every reader counts
what it fetched (`bytes_read`, `requests`) so tests and benchmarks can prove that inspection never
reads file data, and every reader refuses to fetch more than `max_total_bytes` in total, so an end
record that lies about the central directory cannot make the service download gigabytes.
"""

from __future__ import annotations

import os
from typing import Protocol

# Enough for what the inspector reads of the largest structure it accepts: the end-record search
# window, a central directory of 100 entries with maximal names, extras and comments (~19 MiB)
# and 100 local headers with maximal names and extras, each with a data descriptor (~12.5 MiB);
# see s2s.domain.zipcheck.
DEFAULT_MAX_TOTAL_BYTES = 32 * 1024 * 1024


class RangeReadError(Exception):
    """A range could not be read as asked: outside the object, short, or over the reader's cap."""


class ReadLimitExceeded(RangeReadError):
    """The reader has already fetched its `max_total_bytes`."""


class RangedReader(Protocol):
    """What zip inspection needs from an object: its size and byte ranges of it."""

    @property
    def size(self) -> int: ...

    @property
    def bytes_read(self) -> int: ...

    @property
    def requests(self) -> int: ...

    def read_range(self, start: int, length: int) -> bytes: ...


class _CountingReader:
    """Bookkeeping shared by the readers: range validation, the byte cap and the counters."""

    def __init__(self, max_total_bytes: int) -> None:
        if max_total_bytes < 0:
            raise ValueError("max_total_bytes must not be negative")
        self.max_total_bytes = max_total_bytes
        self._bytes_read = 0
        self._requests = 0

    @property
    def size(self) -> int:
        raise NotImplementedError

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    @property
    def requests(self) -> int:
        return self._requests

    def read_range(self, start: int, length: int) -> bytes:
        """Return exactly `length` bytes from `start`, or raise RangeReadError."""
        if start < 0 or length < 0:
            raise RangeReadError(f"invalid range start={start} length={length}")
        if start + length > self.size:
            raise RangeReadError(f"range {start}+{length} is beyond the end of a {self.size}-byte object")
        if length == 0:
            return b""
        if self._bytes_read + length > self.max_total_bytes:
            # Checked before fetching: the cap bounds what is transferred, not just what is kept.
            raise ReadLimitExceeded(f"reading {length} more bytes would exceed the cap of {self.max_total_bytes}")
        self._requests += 1
        data = self._fetch(start, length)
        self._bytes_read += len(data)
        if len(data) != length:
            raise RangeReadError(f"asked for {length} bytes at {start}, got {len(data)}")
        return data

    def _fetch(self, start: int, length: int) -> bytes:
        raise NotImplementedError


class BytesRangedReader(_CountingReader):
    """Ranges of an in-memory bytes object (tests, and archives already in memory)."""

    def __init__(self, data: bytes, *, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> None:
        super().__init__(max_total_bytes)
        self._data = memoryview(data)

    @property
    def size(self) -> int:
        return len(self._data)

    def _fetch(self, start: int, length: int) -> bytes:
        return bytes(self._data[start : start + length])


class FileRangedReader(_CountingReader):
    """Ranges of a local file, opened per read so the reader holds no file handle."""

    def __init__(self, path: str | os.PathLike[str], *, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> None:
        super().__init__(max_total_bytes)
        self.path = os.fspath(path)
        self._size = os.path.getsize(self.path)

    @property
    def size(self) -> int:
        return self._size

    def _fetch(self, start: int, length: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(length)
