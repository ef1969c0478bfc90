"""The establishment directory (docs/SERVICE.md §12), as plain rules: reading a Get Information
about Schools (GIAS) "all establishment data" CSV and its links CSV row by row, the LAESTAB of each
row, name folding for search, and the index a load is searched with.

Nothing here touches AWS: `read_establishments` and `read_links` take lines of bytes (a stream)
and yield checked rows or refusals with their line numbers; `build_load` turns the accepted rows
into a `Load`, the immutable thing an import writes and a search reads.

Column names (DOMAIN facts kept in one place): `URN`, `LA (code)`, `EstablishmentNumber`,
`EstablishmentName`, `TypeOfEstablishment (name)`, `PhaseOfEducation (name)`,
`EstablishmentStatus (name)`, `OpenDate`, `CloseDate`, `Postcode` and, when present, `LA (name)`;
links: `URN`, `LinkURN`, `LinkType` (a type starting "Successor" or "Predecessor"). Other columns
are ignored."""

from __future__ import annotations

import bisect
import csv
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from s2s.domain.naming import known_la

# The columns an establishments file must have; `LA (name)` is optional.
COLUMNS = {
    "urn": "URN",
    "la": "LA (code)",
    "number": "EstablishmentNumber",
    "name": "EstablishmentName",
    "type": "TypeOfEstablishment (name)",
    "phase": "PhaseOfEducation (name)",
    "status": "EstablishmentStatus (name)",
    "open_date": "OpenDate",
    "close_date": "CloseDate",
    "postcode": "Postcode",
}
OPTIONAL_COLUMNS = {"la_name": "LA (name)"}
LINK_COLUMNS = {"urn": "URN", "link_urn": "LinkURN", "link_type": "LinkType"}

STATUSES = ("Open", "Closed", "Open, but proposed to close", "Proposed to open")
StatusFilter = Literal["open", "closed", "any"]
DestinationWarning = Literal["unknown_destination"]

# Changing how a load is built changes its version, so a re-import after a deploy rebuilds it.
FORMAT = "s2s-directory-v1"
MAX_NAME = 200
MAX_REFUSALS_LISTED = 200
MAX_SUCCESSOR_HOPS = 10

_URN = re.compile(r"[0-9]{5,7}", re.ASCII)
_LA = re.compile(r"[0-9]{3}", re.ASCII)
_NUMBER = re.compile(r"[0-9]{4}", re.ASCII)
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", re.ASCII)
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})[-/]([0-9]{1,2})[-/]([0-9]{4})", re.ASCII)
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


class DirectoryFileError(ValueError):
    """The file as a whole cannot be read as a GIAS file (missing columns, not CSV)."""


# ---------------------------------------------------------------------------- reading bytes


def decode_line(raw: bytes) -> str:
    """One line of a file that is UTF-8 or Windows-1252 (GIAS has published both). A line that is
    valid UTF-8 is read as such (ASCII reads the same either way); any other is Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines of text from a stream of byte chunks, never holding more than one line: the first
    line's byte-order mark is dropped, line ends are kept (the csv module needs them in quoted
    fields that span lines)."""
    pending = b""
    first = True
    for chunk in chunks:
        pending += chunk
        while True:
            end = pending.find(b"\n")
            if end < 0:
                break
            raw, pending = pending[: end + 1], pending[end + 1 :]
            line = decode_line(raw)
            if first:
                line, first = line.removeprefix("\ufeff"), False
            yield line
    if pending:
        line = decode_line(pending)
        yield line.removeprefix("\ufeff") if first else line


# ---------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Establishment:
    laestab: str
    urn: str
    name: str
    la: str
    la_name: str
    type: str
    phase: str
    status: str
    open_date: str | None
    close_date: str | None
    postcode: str

    @property
    def is_open(self) -> bool:
        return self.status != "Closed"


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str
    message: str


def _day(value: str, column: str) -> str | None:
    """GIAS writes days as DD-MM-YYYY; YYYY-MM-DD is accepted too. Empty is no day."""
    text = value.strip()
    if not text:
        return None
    found = _DAY_MONTH_YEAR.fullmatch(text)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    iso = _ISO.fullmatch(text)
    if iso:
        parts = (iso.group(1), iso.group(2), iso.group(3))
    if parts is None:
        raise _RowError("bad_date", f"{column} “{text[:20]}” is not a date (DD-MM-YYYY)")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        raise _RowError("bad_date", f"{column} “{text[:20]}” is not a date") from None


def normalise_postcode(value: str) -> str:
    """Upper case, one space before the inward code ("mk451ab" -> "MK45 1AB"); kept as given
    (upper case, spaces squeezed) when it is not a UK postcode shape."""
    text = re.sub(r"\s+", "", value.upper())
    if len(text) >= 5 and _POSTCODE.fullmatch(text):
        return f"{text[:-3]} {text[-3:]}"
    return re.sub(r"\s+", " ", value.upper()).strip()[:10]


class _RowError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _check_row(row: dict[str, str]) -> Establishment:
    def get(column: str) -> str:
        return (row.get(column) or "").strip()

    urn = get(COLUMNS["urn"])
    if not _URN.fullmatch(urn):
        raise _RowError("bad_urn", f"URN “{urn[:20]}” is not a URN (5 to 7 digits)")
    la = get(COLUMNS["la"])
    if not _LA.fullmatch(la):
        raise _RowError("bad_la", f"LA (code) “{la[:20]}” is not a 3-digit LA code")
    if not known_la(la):
        raise _RowError("unknown_la", f"LA (code) {la} is not a local authority code S2S knows")
    number = get(COLUMNS["number"])
    if not _NUMBER.fullmatch(number):
        what = "is empty" if not number else f"“{number[:20]}” is not 4 digits"
        raise _RowError("bad_establishment_number", f"EstablishmentNumber {what}, so the row has no LAESTAB")
    name = re.sub(r"\s+", " ", get(COLUMNS["name"]))
    if not name:
        raise _RowError("no_name", "EstablishmentName is empty")
    status = get(COLUMNS["status"])
    if status not in STATUSES:
        raise _RowError("bad_status", f"EstablishmentStatus (name) “{status[:40]}” is not one of {', '.join(STATUSES)}")
    return Establishment(
        laestab=la + number,
        urn=urn,
        name=name[:MAX_NAME],
        la=la,
        la_name=get(OPTIONAL_COLUMNS["la_name"])[:100],
        type=get(COLUMNS["type"])[:100],
        phase=get(COLUMNS["phase"])[:60],
        status=status,
        open_date=_day(get(COLUMNS["open_date"]), "OpenDate"),
        close_date=_day(get(COLUMNS["close_date"]), "CloseDate"),
        postcode=normalise_postcode(get(COLUMNS["postcode"])),
    )


def _reader(lines: Iterable[str], required: dict[str, str], what: str) -> Any:
    reader = csv.DictReader(iter(lines))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise DirectoryFileError(f"The {what} file is not a CSV file: {exc}") from None
    if not header:
        raise DirectoryFileError(f"The {what} file is empty.")
    missing = [c for c in required.values() if c not in {h.strip() for h in header}]
    if missing:
        raise DirectoryFileError(f"The {what} file has no column {', '.join(missing)}: is it the GIAS download?")
    reader.fieldnames = [h.strip() for h in header]
    return reader


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str, Any] | Refusal]:
    """Each row of `reader`, or a Refusal (with its line number) for a row that is not valid CSV;
    reading goes on after it."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Refusal(reader.line_num, "bad_csv", f"the row is not valid CSV ({exc})")


def read_establishments(lines: Iterable[str]) -> Iterator[Establishment | Refusal]:
    """Each data row of an establishments CSV, checked: an Establishment, or a Refusal naming the
    row's line number in the file (the header is line 1; a quoted field may span lines)."""
    reader = _reader(lines, COLUMNS, "establishments")
    for row in _rows(reader):
        if isinstance(row, Refusal):
            yield row
            continue
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        try:
            yield _check_row(row)
        except _RowError as exc:
            yield Refusal(reader.line_num, exc.reason, exc.message)


@dataclass(frozen=True)
class Link:
    predecessor: str  # URN
    successor: str  # URN


def read_links(lines: Iterable[str]) -> Iterator[Link | Refusal]:
    """Successor links from a GIAS links CSV: `URN` -> `LinkURN` for a "Successor" type, the
    reverse for a "Predecessor" type; other link types are skipped."""
    reader = _reader(lines, LINK_COLUMNS, "links")
    for row in _rows(reader):
        if isinstance(row, Refusal):
            yield row
            continue
        urn = (row.get("URN") or "").strip()
        other = (row.get("LinkURN") or "").strip()
        kind = (row.get("LinkType") or "").strip().lower()
        if not kind.startswith(("successor", "predecessor")):
            continue
        if not _URN.fullmatch(urn) or not _URN.fullmatch(other):
            yield Refusal(reader.line_num, "bad_urn", "URN and LinkURN must both be URNs (5 to 7 digits)")
            continue
        yield Link(urn, other) if kind.startswith("successor") else Link(other, urn)


# ---------------------------------------------------------------------------- folding names

_SPELLINGS = {"saint": "st", "cofe": "ce", "&": "and"}


def fold_words(text: str) -> list[str]:
    """The words of a name or a query, folded so that spellings of the same name meet: case and
    accents, punctuation ("St. Mary's" = "St Marys"), "Saint" = "St", and "C of E", "C.E.",
    "CofE", "Church of England" = "CE"."""
    plain = unicodedata.normalize("NFKD", text.replace("&", " and ")).encode("ascii", "ignore").decode("ascii").lower()
    plain = re.sub(r"['`]", "", plain)  # apostrophes join (a curly one went with the accents): marys
    words = re.findall(r"[a-z0-9]+", plain)
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if words[i : i + 3] in (["c", "of", "e"], ["church", "of", "england"]):
            out.append("ce")
            i += 3
            continue
        if words[i : i + 2] == ["c", "e"]:
            out.append("ce")
            i += 2
            continue
        out.append(_SPELLINGS.get(w, w))
        i += 1
    return out


def postcode_key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


# ---------------------------------------------------------------------------- a load


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    refused: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    duplicates: int = 0
    links: int = 0
    links_refused: int = 0
    link_refusals: list[Refusal] = field(default_factory=list)

    def refuse(self, refusal: Refusal, *, link: bool = False) -> None:
        if link:
            self.links_refused += 1
            if len(self.link_refusals) < MAX_REFUSALS_LISTED:
                self.link_refusals.append(refusal)
            return
        self.refused += 1
        if len(self.refusals) < MAX_REFUSALS_LISTED:
            self.refusals.append(refusal)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "refused": self.refused,
            "refusals": [r.__dict__ for r in self.refusals],
            "duplicates": self.duplicates,
            "links": self.links,
            "links_refused": self.links_refused,
            "link_refusals": [r.__dict__ for r in self.link_refusals],
        }


def version_of(establishments_sha256: str, links_sha256: str | None) -> str:
    """A load's version: its input files and the build format, so the same files give the same load."""
    text = f"{FORMAT}\n{establishments_sha256}\n{links_sha256 or '-'}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:20]


def _prefer(a: Establishment, b: Establishment) -> Establishment:
    """Two rows with one LAESTAB (a re-registration that kept its number): the open one, else the
    one that closed last."""
    if a.is_open != b.is_open:
        return a if a.is_open else b
    return a if (a.close_date or a.open_date or "") >= (b.close_date or b.open_date or "") else b


def build_load(version: str, rows: Iterable[Establishment], links: Iterable[Link], report: ImportReport) -> Load:
    """The load from accepted rows and links: one record per LAESTAB, with its predecessors and
    successors as LAESTABs, and for a closed one the open establishment its successor chain leads to."""
    by_laestab: dict[str, Establishment] = {}
    laestab_of_urn: dict[str, str] = {}
    for row in rows:
        laestab_of_urn[row.urn] = row.laestab
        if row.laestab in by_laestab:
            report.duplicates += 1
            by_laestab[row.laestab] = _prefer(by_laestab[row.laestab], row)
        else:
            by_laestab[row.laestab] = row
    successors: dict[str, set[str]] = {}
    predecessors: dict[str, set[str]] = {}
    for link in links:
        old, new = laestab_of_urn.get(link.predecessor), laestab_of_urn.get(link.successor)
        if old is None or new is None or old == new:
            continue
        report.links += 1
        successors.setdefault(old, set()).add(new)
        predecessors.setdefault(new, set()).add(old)
    urns_of: dict[str, list[str]] = {}
    for urn, laestab in laestab_of_urn.items():
        urns_of.setdefault(laestab, []).append(urn)
    records = []
    for laestab in sorted(by_laestab, key=lambda k: (by_laestab[k].name.lower(), k)):
        e = by_laestab[laestab]
        record: dict[str, Any] = {
            "laestab": e.laestab,
            "urn": e.urn,
            "name": e.name,
            "la": e.la,
            "la_name": e.la_name,
            "type": e.type,
            "phase": e.phase,
            "status": e.status,
            "open_date": e.open_date,
            "close_date": e.close_date,
            "postcode": e.postcode,
            "successors": sorted(successors.get(laestab, ())),
            "predecessors": sorted(predecessors.get(laestab, ())),
            "urns": sorted(urns_of.get(laestab, [e.urn])),
        }
        records.append(record)
    load = Load(version, records)
    for record in load.records:
        if record["status"] == "Closed":
            record["open_successor"] = load.open_successor(record["laestab"])
    return load


class Load:
    """One import's establishments and the index searched over them. Immutable once built: a
    reader holds one Load for a whole request, so an answer never mixes two imports."""

    def __init__(self, version: str, records: list[dict[str, Any]], words: dict[str, list[int]] | None = None) -> None:
        self.version = version
        self.records = records
        self.by_laestab = {r["laestab"]: i for i, r in enumerate(records)}
        self.by_urn = {u: i for i, r in enumerate(records) for u in (r.get("urns") or [r["urn"]])}
        if words is None:
            built: dict[str, list[int]] = {}
            for i, r in enumerate(records):
                for w in dict.fromkeys(fold_words(r["name"])):
                    built.setdefault(w, []).append(i)
            words = built
        self.words = words
        self.word_list = sorted(words)
        self.by_la: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            self.by_la.setdefault(r["la"], []).append(i)
        self.postcodes = sorted((postcode_key(r["postcode"]), i) for i, r in enumerate(records) if r["postcode"])
        self.la_names = {r["la"]: r["la_name"] for r in records if r.get("la_name")}

    def get(self, laestab: str) -> dict[str, Any] | None:
        i = self.by_laestab.get(laestab)
        return None if i is None else self.records[i]

    def open_successor(self, laestab: str) -> str | None:
        """The one open establishment that a closed one's successor links lead to, following closed
        successors; None when there is none, or more than one (a split: the sender must choose)."""
        seen = {laestab}
        frontier = [laestab]
        found: set[str] = set()
        for _ in range(MAX_SUCCESSOR_HOPS):
            nxt = []
            for code in frontier:
                record = self.get(code)
                for successor in (record or {}).get("successors", []):
                    if successor in seen:
                        continue
                    seen.add(successor)
                    target = self.get(successor)
                    if target is not None and target["status"] != "Closed":
                        found.add(successor)
                    else:
                        nxt.append(successor)
            if not nxt:
                break
            frontier = nxt
        return found.pop() if len(found) == 1 else None

    # ------------------------------------------------------------------ search

    def _word_matches(self, word: str) -> dict[int, int]:
        """Records with a word starting with `word`: 2 for the whole word, 1 for a prefix."""
        hits: dict[int, int] = {}
        start = bisect.bisect_left(self.word_list, word)
        for candidate in self.word_list[start:]:
            if not candidate.startswith(word):
                break
            score = 2 if candidate == word else 1
            for i in self.words[candidate]:
                if hits.get(i, 0) < score:
                    hits[i] = score
        return hits

    def search(
        self, q: str = "", *, la: str | None = None, postcode: str | None = None, status: StatusFilter = "any"
    ) -> list[int]:
        """Indexes of the records that match every given key, best match first: LAESTAB or URN
        exactly (a query of 7 or 6 digits, or 823/1234), else every word of `q` as the start of a
        word of the name; then open before closed, then by name."""
        candidates: dict[int, int] | None = None
        text = q.strip()
        compact = text.replace("/", "").replace(" ", "")
        if text and compact.isdigit() and len(compact) in (5, 6, 7):
            hit = self.by_laestab.get(compact) if len(compact) == 7 else self.by_urn.get(compact)
            candidates = {} if hit is None else {hit: 3}
        elif text:
            for word in fold_words(text):
                hits = self._word_matches(word)
                if candidates is None:
                    candidates = hits
                else:
                    candidates = {i: s + hits[i] for i, s in candidates.items() if i in hits}
                if not candidates:
                    break
            if candidates is None:
                candidates = {}
        if la is not None:
            in_la = self.by_la.get(la, [])
            if candidates is None:
                candidates = dict.fromkeys(in_la, 0)
            else:
                allowed = set(in_la)
                candidates = {i: s for i, s in candidates.items() if i in allowed}
        if postcode:
            key = postcode_key(postcode)
            start = bisect.bisect_left(self.postcodes, (key, -1))
            near: set[int] = set()
            for pc, i in self.postcodes[start:]:
                if not pc.startswith(key):
                    break
                near.add(i)
            if candidates is None:
                candidates = dict.fromkeys(near, 0)
            else:
                candidates = {i: s for i, s in candidates.items() if i in near}
        if candidates is None:
            return []
        if status != "any":
            want_closed = status == "closed"
            candidates = {i: s for i, s in candidates.items() if (self.records[i]["status"] == "Closed") == want_closed}
        # Records are stored in name order, so the index breaks ties by name.
        return sorted(candidates, key=lambda i: (-candidates[i], self.records[i]["status"] == "Closed", i))

    # ------------------------------------------------------------------ what is written

    def search_document(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": self.version, "records": self.records, "words": self.words}

    @classmethod
    def from_search_document(cls, document: dict[str, Any]) -> Load:
        return cls(document["version"], document["records"], document.get("words"))

    def shards(self) -> dict[str, dict[str, Any]]:
        """Per LA, what a point lookup needs (names, the routing check): the LA's records and the
        LA's name. A closed record carries its successor's name, so one shard answers the check."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.records:
            shard = out.setdefault(r["la"], {"version": self.version, "la": r["la"], "la_name": "", "records": {}})
            shard["la_name"] = shard["la_name"] or r.get("la_name", "")
            brief = {k: r[k] for k in ("laestab", "urn", "name", "status", "close_date", "successors")}
            successor = r.get("open_successor")
            if successor:
                target = self.get(successor) or {}
                brief["open_successor"] = {"laestab": successor, "name": target.get("name", "")}
            shard["records"][r["laestab"]] = brief
        return out


def readdressed(filename: str, destination: str) -> str | None:
    """`filename` with its destination replaced by `destination` (the successor's LAESTAB), or
    None when the name does not parse."""
    from s2s.domain.errors import NamingError
    from s2s.domain.naming import parse_filename

    try:
        parsed = parse_filename(filename)
    except NamingError:
        return None
    extension = parsed.filename[len(parsed.stem) :]
    if parsed.family == "generic":
        return f"{parsed.source}_{destination}_{parsed.text}{extension}"
    return f"{parsed.source}_{parsed.file_type}_{destination}_{parsed.sequence}{extension}"
