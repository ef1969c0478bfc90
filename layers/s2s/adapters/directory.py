"""Where the establishment directory lives (docs/SERVICE.md §12): immutable load objects in the
files bucket and one pointer item in the table that names the current load.

- `directory/<name>.csv`: what an operator uploads, the GIAS establishments file
  (`edubasealldataYYYYMMDD.csv`) and its links file (`links_<name>.csv`, as GIAS names it); an
  object put here triggers the import of the pair.
- `directory/ACCEPT-SMALLER`: an operator's consent to the next import that changes the directory
  being much smaller than the current load; that import deletes it.
- `directory-index/<version>/search.json.gz`: every establishment and the word index built at import.
- `directory-index/<version>/la/<LA>.json`: one LA's establishments, for point lookups (a file's
  destination, names in lists and emails) without loading the whole directory.
- `directory-index/<version>/report.json`: what the import accepted and refused, with line numbers.
- `DIRECTORY` / `CURRENT` in the table: the current version (and the one before it).

A load's objects are all written before the pointer moves, and never changed after; the pointer is
one item, so a reader sees the old load or the new one, never part of each. Readers cache loads by
version, and re-read the pointer at most every `POINTER_SECONDS`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from s2s.adapters import dynamo
from s2s.adapters.aws import s3
from s2s.domain.directory import Load
from s2s.runtime.settings import get_settings

SOURCE_PREFIX = "directory/"
ACCEPT_SMALLER_KEY = f"{SOURCE_PREFIX}ACCEPT-SMALLER"
INDEX_PREFIX = "directory-index/"
POINTER_KEY = ("DIRECTORY", "CURRENT")
POINTER_SECONDS = 1.0
_CHUNK = 256 * 1024

monotonic: Callable[[], float] = time.monotonic  # tests move it


class PointerMoved(Exception):
    """Another import switched the pointer between our read and our write."""


@dataclass(frozen=True)
class Pointer:
    version: str
    previous: str | None
    imported_at: str
    establishments: int


def _bucket() -> str:
    return get_settings().bucket_name


def load_key(version: str, name: str) -> str:
    return f"{INDEX_PREFIX}{version}/{name}"


# ---------------------------------------------------------------------------- source files


def list_sources() -> list[tuple[str, str]]:
    """(key, last modified) of every file under `directory/`, newest first (S3 keeps whole seconds:
    of files put in one second, the last name first, as GIAS names carry the day)."""
    found: list[tuple[str, str]] = []
    paginator = s3().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=_bucket(), Prefix=SOURCE_PREFIX):
        for item in page.get("Contents", []):
            found.append((item["Key"], item["LastModified"].isoformat()))
    return sorted(found, key=lambda kv: (kv[1], kv[0]), reverse=True)


def source_chunks(object_key: str) -> Iterator[bytes]:
    """The object's bytes as a stream of chunks (a 60 MB file is never held whole)."""
    body = s3().get_object(Bucket=_bucket(), Key=object_key)["Body"]
    try:
        yield from body.iter_chunks(_CHUNK)
    finally:
        body.close()


def put_source(object_key: str, data: bytes) -> None:
    s3().put_object(Bucket=_bucket(), Key=object_key, Body=data, ContentType="text/csv")


def consume_accept_smaller() -> None:
    """Delete the operator's consent to a much smaller load (it is good for one import)."""
    s3().delete_object(Bucket=_bucket(), Key=ACCEPT_SMALLER_KEY)


# ---------------------------------------------------------------------------- writing a load


def _put_json(object_key: str, document: Any, *, compress: bool = False) -> None:
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    extra: dict[str, Any] = {"ContentType": "application/json"}
    if compress:
        body = gzip.compress(body, compresslevel=6)
        extra["ContentEncoding"] = "gzip"
    s3().put_object(Bucket=_bucket(), Key=object_key, Body=body, **extra)


def _get_json(object_key: str) -> Any | None:
    try:
        body = s3().get_object(Bucket=_bucket(), Key=object_key)["Body"].read()
    except s3().exceptions.NoSuchKey:
        return None
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return json.loads(body)


def write_load(load: Load, report: dict[str, Any]) -> None:
    """Every object of the load (the pointer is not touched)."""
    shards = load.shards()
    for la, shard in shards.items():
        _put_json(load_key(load.version, f"la/{la}.json"), shard)
    _put_json(load_key(load.version, "search.json.gz"), load.search_document(), compress=True)
    _put_json(load_key(load.version, "manifest.json"), {"las": sorted(shards)})
    write_report(load.version, report)


def write_report(version: str, report: dict[str, Any]) -> None:
    _put_json(load_key(version, "report.json"), report)


def read_report(version: str) -> dict[str, Any] | None:
    found = _get_json(load_key(version, "report.json"))
    return found if isinstance(found, dict) else None


def drop_load(version: str, *, keep_report: bool = False) -> int:
    """Delete an old load's objects (all but its report with `keep_report`); returns how many."""
    manifest = _get_json(load_key(version, "manifest.json")) or {}
    keys = [load_key(version, f"la/{la}.json") for la in manifest.get("las", [])]
    names = ("search.json.gz", "manifest.json") if keep_report else ("search.json.gz", "report.json", "manifest.json")
    keys += [load_key(version, name) for name in names]
    for start in range(0, len(keys), 1000):
        s3().delete_objects(
            Bucket=_bucket(), Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )
    return len(keys)


# ---------------------------------------------------------------------------- the pointer

_cache_lock = threading.Lock()
_pointer_cache: list[tuple[float, Pointer | None]] = []
# The clients the caches were filled through: new clients (a test's new moto backend, or
# `reset_clients()`) start empty caches. Held, not their ids, so an id is never reused under us.
_filled_by: list[Any] = []


def _check_generation() -> None:
    current = s3()
    if not _filled_by or _filled_by[0] is not current:
        _pointer_cache.clear()
        _loads.clear()
        _shards.clear()
        _filled_by[:] = [current]


def read_pointer(*, fresh: bool = False) -> Pointer | None:
    """The current load (None before the first import), re-read at most every POINTER_SECONDS."""
    now = monotonic()
    with _cache_lock:
        _check_generation()
        if not fresh and _pointer_cache and now - _pointer_cache[0][0] < POINTER_SECONDS:
            return _pointer_cache[0][1]
    data = dynamo.get(dynamo.key(*POINTER_KEY), consistent=fresh)
    pointer = None
    if data:
        pointer = Pointer(data["version"], data.get("previous"), data["imported_at"], int(data["establishments"]))
    with _cache_lock:
        _pointer_cache[:] = [(now, pointer)]
    return pointer


def switch_pointer(version: str, expected: str | None, imported_at: str, establishments: int) -> None:
    """Make `version` current, on condition that `expected` still is (None: no load yet)."""
    item = {
        "PK": POINTER_KEY[0],
        "SK": POINTER_KEY[1],
        "kind": "directory",
        "version": version,
        "previous": expected,
        "imported_at": imported_at,
        "establishments": establishments,
    }
    try:
        if expected is None:
            dynamo.put(item, condition="attribute_not_exists(PK)")
        else:
            dynamo.put(item, condition="version = :v", values={":v": expected})
    except dynamo.ConditionFailed as exc:
        raise PointerMoved(version) from exc
    forget_pointer()


def forget_pointer() -> None:
    with _cache_lock:
        _pointer_cache.clear()


# ---------------------------------------------------------------------------- reading loads

_loads: OrderedDict[str, Load] = OrderedDict()
_shards: OrderedDict[tuple[str, str], dict[str, Any] | None] = OrderedDict()
MAX_LOADS = 2
MAX_SHARDS = 400


def search_load(version: str) -> Load | None:
    """The whole load of `version` (cached: a warm container reads it once)."""
    with _cache_lock:
        _check_generation()
        if version in _loads:
            _loads.move_to_end(version)
            return _loads[version]
    document = _get_json(load_key(version, "search.json.gz"))
    if not isinstance(document, dict):
        return None
    load = Load.from_search_document(document)
    with _cache_lock:
        _loads[version] = load
        while len(_loads) > MAX_LOADS:
            _loads.popitem(last=False)
    return load


def la_shard(version: str, la: str) -> dict[str, Any] | None:
    """One LA's establishments in `version` (cached), or None when the load has none there."""
    cache_key = (version, la)
    with _cache_lock:
        _check_generation()
        if cache_key in _shards:
            _shards.move_to_end(cache_key)
            return _shards[cache_key]
    manifest_missing = False
    shard = _get_json(load_key(version, f"la/{la}.json"))
    if shard is None and _get_json(load_key(version, "manifest.json")) is None:
        manifest_missing = True  # the load was dropped under us: do not cache the miss
    with _cache_lock:
        if not manifest_missing:
            _shards[cache_key] = shard
            while len(_shards) > MAX_SHARDS:
                _shards.popitem(last=False)
    return shard if isinstance(shard, dict) else None


def lookup(laestab: str) -> tuple[Pointer, dict[str, Any] | None] | None:
    """The current load's brief record of one LAESTAB (None inside when it does not know it), or
    None when no directory is loaded."""
    pointer = read_pointer()
    if pointer is None:
        return None
    shard = la_shard(pointer.version, laestab[:3]) or {}
    return pointer, (shard.get("records") or {}).get(laestab)


def org_names(orgs: set[str]) -> dict[str, str]:
    """Directory names of the organisations it knows: schools by LAESTAB, LAs (`823LLLL`) by the
    LA name their establishments carry. Others are absent."""
    pointer = read_pointer()
    if pointer is None:
        return {}
    names: dict[str, str] = {}
    for org in sorted(orgs):
        if len(org) != 7 or not org[:3].isdigit():
            continue
        shard = la_shard(pointer.version, org[:3])
        if not shard:
            continue
        if org[3:] == "LLLL":
            if shard.get("la_name"):
                names[org] = str(shard["la_name"])
        elif org.isdigit():
            record = (shard.get("records") or {}).get(org)
            if record:
                names[org] = str(record["name"])
    return names


def reset_cache() -> None:
    """For tests that start a new moto backend."""
    with _cache_lock:
        _pointer_cache.clear()
        _loads.clear()
        _shards.clear()
