"""A fictional establishments directory in the shape of the GIAS downloads: the sample the local
stack loads at start (`data/directory/`), the files the tests import, and the 50,000 rows
`make bench` imports. Every name, number and postcode is made up; nothing real is written.

    python -m s2s_cli.directory_sample --out DIR [--count 300] [--seed 20]

writes DIR/edubase.csv (Windows-1252, as GIAS publishes it, with columns S2S does not read) and
DIR/links_edubase.csv (GIAS pairs a links file with its establishments file by name)."""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SAMPLE_DIR = Path(__file__).with_name("data") / "directory"

HEADER = [
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (name)",
    "PhaseOfEducation (name)",
    "OpenDate",
    "CloseDate",
    "Street",
    "Town",
    "Postcode",
]
LINK_HEADER = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]

# LA codes and names (public), with made-up postcode areas for the sample's addresses.
LAS = [
    ("823", "Central Bedfordshire", "MK"),
    ("330", "Birmingham", "B"),
    ("873", "Cambridgeshire", "CB"),
    ("201", "City of London", "EC"),
    ("202", "Camden", "NW"),
    ("340", "Knowsley", "L"),
    ("926", "Norfolk", "NR"),
    ("886", "Kent", "ME"),
]
# LAESTABs the other tests sign in as or send to: the sample leaves them out, so those tests see
# the names their sign-in gives and no directory refusal.
RESERVED = {"8231234", "8232345", "8234567", "3301234", "8239999", "8234568", "8233456", "8231235", "3301111"}

PLACES = [
    "Hillside",
    "Meadowbank",
    "Oakfield",
    "Brookside",
    "Elmhurst",
    "Larchwood",
    "Fernlea",
    "Ashgrove",
    "Kingsmead",
    "Riverside",
    "Thornbury",
    "Willowbrook",
    "Highcliffe",
    "Greenacre",
    "Harrowden",
    "Millfield",
    "Stonebridge",
    "Beechwood",
    "Foxhollow",
    "Ravensholt",
    "Copperfield",
    "Lindenmoor",
    "Marshgate",
    "Northwold",
    "Quarry Hill",
    "Redbrook",
    "Saltmarsh",
    "Tanners Green",
    "Upperton",
    "Westvale",
]
SAINTS = ["Mary's", "John's", "Peter's", "Anne's", "Michael's", "Thomas'", "Bede's", "Hilda's"]
KINDS = [
    ("Primary School", "Community school", "Primary"),
    ("Infant School", "Community school", "Primary"),
    ("Junior School", "Foundation school", "Primary"),
    ("Academy", "Academy converter", "Secondary"),
    ("High School", "Community school", "Secondary"),
    ("Nursery School", "Local authority nursery school", "Nursery"),
    ("Special School", "Community special school", "Not applicable"),
]


@dataclass
class Row:
    urn: int
    la: str
    la_name: str
    number: str
    name: str
    type: str
    phase: str
    status: str
    open_date: date | None
    close_date: date | None
    postcode: str

    @property
    def laestab(self) -> str:
        return self.la + self.number

    def csv_row(self) -> list[str]:
        def day(d: date | None) -> str:
            return d.strftime("%d-%m-%Y") if d else ""

        group = "Academies" if "Academy" in self.type else "Local authority maintained schools"
        return [
            str(self.urn), self.la, self.la_name, self.number, self.name, self.type, group, self.status,
            self.phase, day(self.open_date), day(self.close_date), "1 School Lane", "Sampletown", self.postcode,
        ]  # fmt: skip


class _Numbers:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set(RESERVED)
        self.next_urn = 100001

    def urn(self) -> int:
        self.next_urn += 1
        return self.next_urn

    def number(self, la: str, low: int, high: int) -> str:
        while True:
            candidate = f"{self.rng.randint(low, high):04d}"
            if la + candidate not in self.used:
                self.used.add(la + candidate)
                return candidate

    def postcode(self, area: str) -> str:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        inward = f"{self.rng.randint(0, 9)}{self.rng.choice(letters)}{self.rng.choice(letters)}"
        return f"{area}{self.rng.randint(1, 49)} {inward}"


FIXED = [
    # laestab number, name, status, successor number (in LA 823), type
    ("3001", "Hillside Primary School", "Closed", "4001", "Community school"),
    ("4001", "Hillside Primary Academy", "Open", None, "Academy converter"),
    ("3002", "St Mary's C of E Primary School", "Open", None, "Voluntary aided school"),
    ("3003", "Saint John's CE Junior School", "Open, but proposed to close", None, "Voluntary controlled school"),
    ("3004", "Larchwood Infant School", "Closed", "3005", "Community school"),
    ("3005", "Larchwood Primary School", "Closed", "4005", "Community school"),
    ("4005", "Larchwood Primary Academy", "Open", None, "Academy converter"),
    ("3006", "Old Mill Middle School", "Closed", None, "Community school"),
    ("3007", "Sainte-Thérèse Catholic Primary School", "Open", None, "Voluntary aided school"),
    ("3008", "Twin Oaks School", "Closed", "4008|4009", "Community school"),
    ("4008", "Twin Oaks North Academy", "Open", None, "Academy converter"),
    ("4009", "Twin Oaks South Academy", "Open", None, "Academy converter"),
    ("4010", "Meadowbank Free School", "Proposed to open", None, "Free schools"),
]


def generate(count: int = 300, seed: int = 20) -> tuple[list[Row], list[list[str]]]:
    """`count` establishments (at least the fixed ones the tests name) and their links: about one
    in ten closed, most of those succeeded by an academy with a new URN and LAESTAB."""
    rng = random.Random(seed)
    numbers = _Numbers(rng)
    rows: list[Row] = []
    links: list[list[str]] = []
    by_number: dict[str, Row] = {}
    la, la_name, area = LAS[0]
    for number, name, status, _successors, kind in FIXED:
        numbers.used.add(la + number)
        opened = date(2024, 9, 1) if number.startswith("4") else date(1975, 9, 1)
        closed = date(2024, 8, 31) if status == "Closed" else None
        row = Row(numbers.urn(), la, la_name, number, name, kind, "Primary", status, opened, closed,
                  numbers.postcode(area))  # fmt: skip
        rows.append(row)
        by_number[number] = row
    for number, _name, _status, successors, _kind in FIXED:
        for successor in (successors or "").split("|"):
            if successor:
                links.append(_link(by_number[number], by_number[successor]))
    while len(rows) < count:
        la, la_name, area = LAS[len(rows) % len(LAS)] if count > 1000 else rng.choice(LAS)
        place = rng.choice(PLACES)
        suffix, kind, phase = rng.choice(KINDS)
        if rng.random() < 0.15:
            name = f"St {rng.choice(SAINTS)} {rng.choice(['C of E', 'CE', 'Catholic', 'RC'])} {suffix}"
            kind = "Voluntary aided school"
        else:
            name = f"{place} {suffix}"
        if rng.random() < 0.05:
            name = name.upper()  # GIAS has a few names in capitals
        opened = date(1950, 9, 1) + timedelta(days=rng.randint(0, 25000))
        if rng.random() < 0.1 and len(rows) < count - 1:
            closed = date(2010, 8, 31) + timedelta(days=rng.randint(0, 5000))
            old = Row(numbers.urn(), la, la_name, numbers.number(la, 1000, 3999), name, kind, phase, "Closed",
                      opened, closed, numbers.postcode(area))  # fmt: skip
            rows.append(old)
            if rng.random() < 0.8:
                new_name = name.replace("School", "Academy") if "School" in name else f"{name} Academy"
                new = Row(numbers.urn(), la, la_name, numbers.number(la, 4000, 6999), new_name, "Academy converter",
                          phase, "Open", closed + timedelta(days=1), None, old.postcode)  # fmt: skip
                rows.append(new)
                links.append(_link(old, new))
            continue
        status = "Open" if rng.random() < 0.97 else rng.choice(["Open, but proposed to close", "Proposed to open"])
        rows.append(Row(numbers.urn(), la, la_name, numbers.number(la, 1000, 7999), name, kind, phase, status,
                        opened, None, numbers.postcode(area)))  # fmt: skip
    return rows, links


def _link(old: Row, new: Row) -> list[str]:
    day = (old.close_date or date(2024, 8, 31)) + timedelta(days=1)
    return [str(old.urn), str(new.urn), new.name, "Successor", day.strftime("%d-%m-%Y")]


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "cp1252") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def edubase_bytes(rows: list[Row], encoding: str = "cp1252") -> bytes:
    return csv_bytes(HEADER, [r.csv_row() for r in rows], encoding)


def links_bytes(links: list[list[str]], encoding: str = "cp1252") -> bytes:
    return csv_bytes(LINK_HEADER, links, encoding)


def write(out: Path, count: int = 300, seed: int = 20) -> tuple[Path, Path]:
    rows, links = generate(count, seed)
    out.mkdir(parents=True, exist_ok=True)
    edubase, links_path = out / "edubase.csv", out / "links_edubase.csv"
    edubase.write_bytes(edubase_bytes(rows))
    links_path.write_bytes(links_bytes(links))
    return edubase, links_path


def sample_files() -> tuple[Path, Path]:
    """The committed sample (what `write(SAMPLE_DIR)` wrote)."""
    return SAMPLE_DIR / "edubase.csv", SAMPLE_DIR / "links_edubase.csv"


def iter_chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(argv)
    for path in write(args.out, args.count, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
