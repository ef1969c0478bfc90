"""Find a school (docs/SERVICE.md §12): importing the GIAS files, searching the establishments, and
the routing check every upload and Lost Pupils claim makes against the directory.

An import streams the files (hashing them as it reads: the same files give the same version, so a
repeated import changes nothing), writes the new load's objects, then moves the one pointer item:
searches see the old load or the new one, never a mix. A load much smaller than the current one (a
cut-short export) is refused unless an operator has accepted it. With no directory loaded, uploads
and claims go on as before."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from s2s.adapters import directory as repository
from s2s.domain import clock
from s2s.domain.directory import (
    DestinationWarning,
    DirectoryFileError,
    Establishment,
    ImportReport,
    Link,
    Load,
    Refusal,
    StatusFilter,
    build_load,
    read_establishments,
    read_links,
    readdressed,
    text_lines,
    version_of,
)
from s2s.domain.errors import ClosedDestination, InvalidRequest, NotFound
from s2s.domain.naming import ParsedName
from s2s.domain.principal import Principal
from s2s.runtime.log import Metric, count_by, logger

UNKNOWN_DESTINATION: DestinationWarning = "unknown_destination"
LOAD_MUCH_SMALLER = "load_much_smaller"
Chunks = Callable[[], Iterable[bytes]]


# ---------------------------------------------------------------------------- import


@dataclass
class ImportResult:
    version: str
    outcome: str  # "imported", "unchanged" or "refused"
    report: dict[str, Any]


class _Hashing:
    """The chunks, hashed as they pass."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.digest.update(chunk)
            yield chunk

    def hexdigest(self) -> str:
        """The hash of the whole stream (reading what is left of it)."""
        for chunk in self.chunks:
            self.digest.update(chunk)
        return self.digest.hexdigest()


def _refused(version: str, reason: str, report: dict[str, Any], **counts: int | float) -> ImportResult:
    """A refused import: counted and logged with its reason and counts (never a row's data)."""
    count_by(Metric.DIRECTORY_LOAD_REFUSED, reason=reason)
    logger.warning("directory load refused", extra={"version": version, "code": reason, **counts})
    return ImportResult(version, "refused", {**report, "ok": False, "code": reason})


def _much_smaller(establishments: int, current: int, ratio: float) -> str:
    return (
        f"This file has {establishments:,} establishments, fewer than {ratio:.0%} of the {current:,} in the "
        "current directory, so it was not loaded: the current directory still answers searches and "
        "upload checks. Check that the export was not cut short and import the whole file. If the "
        "directory really is that much smaller, put an object named directory/ACCEPT-SMALLER in the "
        "files bucket (locally: s2s directory import --accept-smaller): it runs this import again and "
        "accepts the smaller load once."
    )


def import_directory(
    establishments: Chunks,
    links: Chunks | None = None,
    *,
    accept_smaller: bool = False,
    before_switch: Callable[[str], object] | None = None,
) -> ImportResult:
    """Read, check and load the files; make the load current unless it already is. A file that
    cannot be read at all (no such columns, not CSV) is refused whole and the current load stays;
    so is a load with fewer establishments than DIRECTORY_MIN_RATIO of the current one's, unless
    `accept_smaller`. `before_switch` runs after the new load is written and before the pointer
    moves (the tests search there)."""
    from s2s.runtime.settings import get_settings

    report = ImportReport()
    hashed = _Hashing(establishments())
    hashed_links = _Hashing(links()) if links is not None else None
    rows: list[Establishment] = []
    try:
        for row in read_establishments(text_lines(hashed)):
            report.rows += 1
            if isinstance(row, Refusal):
                report.refuse(row)
            else:
                rows.append(row)
        report.accepted = len(rows)
        found_links: list[Link] = []
        if hashed_links is not None:
            for link in read_links(text_lines(hashed_links)):
                if isinstance(link, Refusal):
                    report.refuse(link, link=True)
                else:
                    found_links.append(link)
    except DirectoryFileError as exc:
        version = version_of(hashed.hexdigest(), hashed_links.hexdigest() if hashed_links else None)
        return _refused(version, "unreadable_file", {**report.to_dict(), "error": str(exc)}, rows=report.rows)
    version = version_of(hashed.hexdigest(), hashed_links.hexdigest() if hashed_links else None)
    if not rows:
        result = {**report.to_dict(), "error": "The file has no establishment S2S can use."}
        return _refused(version, "no_establishments", result, rows=report.rows)
    current = repository.read_pointer(fresh=True)
    if current is not None and current.version == version:
        return ImportResult(version, "unchanged", repository.read_report(version) or report.to_dict())
    load = build_load(version, rows, found_links, report)
    ratio = get_settings().directory_min_ratio
    if current is not None and not accept_smaller and len(load.records) < ratio * current.establishments:
        if version != current.previous:  # (the load just replaced is kept for readers in flight)
            repository.drop_load(version, keep_report=True)  # what an earlier, interrupted attempt wrote
        counts = {"establishments": len(load.records), "current_establishments": current.establishments}
        result = {
            **report.to_dict(),
            "version": version,
            **counts,
            "min_ratio": ratio,
            "error": _much_smaller(len(load.records), current.establishments, ratio),
        }
        return _refused(version, LOAD_MUCH_SMALLER, result, **counts, min_ratio=ratio)
    imported_at = clock.now_iso()
    summary = {
        **report.to_dict(),
        "ok": True,
        "version": version,
        "imported_at": imported_at,
        "establishments": len(load.records),
        "accepted_smaller": bool(accept_smaller and current and len(load.records) < ratio * current.establishments),
    }
    repository.write_load(load, summary)
    if before_switch is not None:
        before_switch(version)
    for _ in range(3):
        try:
            repository.switch_pointer(
                version, current.version if current else None, imported_at, establishments=len(load.records)
            )
            break
        except repository.PointerMoved:
            current = repository.read_pointer(fresh=True)  # another import won: follow it
    else:
        raise RuntimeError("the directory pointer kept moving; try the import again")
    # Keep the load just replaced (a reader may be between reading the pointer and the object);
    # the one before it is no longer named anywhere.
    if current is not None and current.previous and current.previous != version:
        repository.drop_load(current.previous)
    logger.info(
        "directory imported",
        extra={
            "version": version,
            "accepted": report.accepted,
            "refused": report.refused,
            "links": report.links,
            "establishments": len(load.records),
            "current_establishments": current.establishments if current else 0,
            "accepted_smaller": bool(accept_smaller),
        },
    )
    return ImportResult(version, "imported", summary)


LINKS_PREFIX = "links_"


def pair_of(object_key: str) -> tuple[str, str]:
    """The establishments file and its links file that an object under `directory/` belongs to:
    GIAS names them `edubasealldataYYYYMMDD.csv` and `links_edubasealldataYYYYMMDD.csv`."""
    folder, _, name = object_key.rpartition("/")
    base = name[len(LINKS_PREFIX) :] if name.lower().startswith(LINKS_PREFIX) else name
    return f"{folder}/{base}", f"{folder}/{LINKS_PREFIX}{base}"


def _newest_establishments_file(sources: list[tuple[str, str]]) -> str | None:
    for key, _ in sources:  # newest first
        folder, _, name = key.rpartition("/")
        csv = folder + "/" == repository.SOURCE_PREFIX and name.lower().endswith(".csv")
        if csv and not name.lower().startswith(LINKS_PREFIX):
            return key
    return None


def import_from_bucket(bucket: str, object_key: str) -> ImportResult | None:
    """What an object put under `directory/` triggers: an import of its establishments file with
    its links file, when both (or the establishments file alone) are there. `directory/ACCEPT-SMALLER`
    (an operator's consent to a much smaller load) triggers the import of the newest establishments
    file; the first import that changes the directory while it is there uses it up. None when the
    key is neither, is not in our bucket, or the establishments file is not there yet."""
    from s2s.runtime.settings import get_settings

    if bucket != get_settings().bucket_name:
        logger.warning("security event", extra={"security_event": "foreign_bucket", "bucket": bucket[:100]})
        return None
    folder, _, name = object_key.rpartition("/")
    marker = object_key == repository.ACCEPT_SMALLER_KEY
    if not marker and (folder + "/" != repository.SOURCE_PREFIX or not name.lower().endswith(".csv")):
        logger.warning("directory object ignored", extra={"key": object_key[:300]})
        return None
    sources = repository.list_sources()
    present = {key for key, _ in sources}
    if marker:
        newest = _newest_establishments_file(sources)
        if newest is None:
            logger.info("directory consent to a smaller load waits for a file")
            return None
        object_key = newest
    establishments, links = pair_of(object_key)
    if establishments not in present:
        logger.info("directory links file waits for its establishments file", extra={"key": object_key[:300]})
        return None
    accept_smaller = repository.ACCEPT_SMALLER_KEY in present
    result = import_directory(
        lambda: repository.source_chunks(establishments),
        (lambda: repository.source_chunks(links)) if links in present else None,
        accept_smaller=accept_smaller,
    )
    if result.outcome == "refused" and result.version:
        repository.write_report(result.version, result.report)
    if accept_smaller and result.outcome == "imported":  # good for one change of the directory
        repository.consume_accept_smaller()
    return result


# ---------------------------------------------------------------------------- search


def _current_load() -> tuple[repository.Pointer | None, Load | None]:
    pointer = repository.read_pointer()
    if pointer is None:
        return None, None
    load = repository.search_load(pointer.version)
    if load is None:  # dropped between the pointer and the object: the pointer has moved on
        pointer = repository.read_pointer(fresh=True)
        load = repository.search_load(pointer.version) if pointer else None
    return pointer, load


def _summary(load: Load, record: dict[str, Any]) -> dict[str, Any]:
    out = {k: record.get(k) for k in ("laestab", "urn", "name", "la", "la_name", "type", "phase", "status")}
    out.update(
        open_date=record.get("open_date"),
        close_date=record.get("close_date"),
        postcode=record.get("postcode") or None,
        open=record["status"] != "Closed",
    )
    successor = record.get("open_successor")
    if successor:
        target = load.get(successor) or {}
        out["successor"] = {"laestab": successor, "name": target.get("name", "")}
    return out


def _about(pointer: repository.Pointer | None) -> dict[str, Any] | None:
    if pointer is None:
        return None
    return {"version": pointer.version, "imported_at": pointer.imported_at, "establishments": pointer.establishments}


def search(
    principal: Principal,
    *,
    q: str | None,
    la: str | None,
    postcode: str | None,
    status: StatusFilter,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """One page of establishments matching every key given, best match first."""
    from s2s.adapters import cursors

    text = (q or "").strip()
    if not text and not la and not (postcode or "").strip():
        raise InvalidRequest(
            "Say what to look for: words of the school's name, its LAESTAB or URN (q), its LA (la) or postcode.",
            details=[{"field": "q", "reason": "missing"}],
        )
    pointer, load = _current_load()
    if pointer is None or load is None:
        return {"items": [], "next_cursor": None, "total": 0, "directory": None}
    offset = 0
    query = {"q": text, "la": la, "postcode": postcode, "status": status}
    if cursor:
        state = cursors.decode_cursor(cursor)
        if state.get("query") != query or not isinstance(state.get("offset"), int):
            raise InvalidRequest(
                "The cursor belongs to another search.", details=[{"field": "cursor", "reason": "invalid"}]
            )
        if state.get("version") != load.version:
            raise InvalidRequest(
                "The directory was reloaded since the first page. Search again.",
                code="directory_reloaded",
                details=[{"field": "cursor", "reason": "directory_reloaded"}],
            )
        offset = state["offset"]
    hits = load.search(text, la=la, postcode=postcode, status=status)
    page = hits[offset : offset + limit]
    next_cursor = None
    if offset + limit < len(hits):
        next_cursor = cursors.encode_cursor({"query": query, "offset": offset + limit, "version": load.version})
    return {
        "items": [_summary(load, load.records[i]) for i in page],
        "next_cursor": next_cursor,
        "total": len(hits),
        "directory": _about(pointer),
    }


def establishment(principal: Principal, laestab: str) -> dict[str, Any]:
    """One establishment with its predecessors and successors."""
    pointer, load = _current_load()
    record = load.get(laestab) if load is not None else None
    if record is None or load is None:
        raise NotFound(f"The directory has no establishment with LAESTAB {laestab}.", code="not_found")

    def brief(code: str) -> dict[str, Any]:
        other = load.get(code) or {}
        return {
            "laestab": code,
            "urn": other.get("urn"),
            "name": other.get("name", ""),
            "status": other.get("status", ""),
            "close_date": other.get("close_date"),
        }

    return {
        **_summary(load, record),
        "predecessors": [brief(c) for c in record.get("predecessors", [])],
        "successors": [brief(c) for c in record.get("successors", [])],
        "directory": _about(pointer),
    }


# ---------------------------------------------------------------------------- routing safety


def _closed(laestab: str, record: dict[str, Any], filename: str | None, field: str) -> ClosedDestination:
    successor = (record.get("open_successor") or {}).get("laestab")
    closed_on = f" on {record['close_date']}" if record.get("close_date") else ""
    message = f"{record['name']} ({laestab}) closed{closed_on}, so nobody there will collect this file."
    suggestion = readdressed(filename, successor) if filename and successor else None
    if successor:
        name = (record.get("open_successor") or {}).get("name") or successor
        message += f" Its successor is {name} ({successor})."
        if suggestion:
            message += f" Rename the file to {suggestion} and send it again."
    elif len(record.get("successors") or []) > 1:
        codes = ", ".join(record["successors"])
        message += (
            f" It was succeeded by more than one establishment ({codes}): send the file to the pupil's new school."
        )
    else:
        message += " Check the pupil's new school and its LAESTAB with them or with your LA."
    return ClosedDestination(message, successor=successor, suggestion=suggestion, field=field)


def check_destination(parsed: ParsedName) -> list[DestinationWarning]:
    """The directory's view of an upload's destination: raises ClosedDestination (422) for a
    closed school, and returns `["unknown_destination"]` for a school it does not know (GIAS lags
    new schools, so that is a warning). Not a school (an LA, the Lost Pupils Database), or no
    directory loaded: nothing to say."""
    if parsed.dest_kind != "school":
        return []
    return _check(parsed.destination, parsed.filename, "filename")


def check_claim_destination(laestab: str) -> list[DestinationWarning]:
    """The same for the school an LA claims a Lost Pupils Database file for."""
    return _check(laestab, None, "destination")


def _check(laestab: str, filename: str | None, field: str) -> list[DestinationWarning]:
    found = repository.lookup(laestab)
    if found is None:
        return []
    _, record = found
    if record is None:
        return [UNKNOWN_DESTINATION]
    if record["status"] == "Closed":
        raise _closed(laestab, record, filename, field)
    return []


def names(orgs: Iterable[str]) -> dict[str, str]:
    """Directory names of these organisations (schools by LAESTAB, LAs as `<LA>LLLL`)."""
    return repository.org_names({o for o in orgs if o})
