"""A batch of ULN requests as a school sends it: a (partial) CTF, read as a stream, and the files
that go back (docs/SERVICE.md "ULNs in bulk").

Reading (`CtfBatchReader`): defusedxml's `iterparse` with DTDs, entities and external references
refused, so a billion-laughs or external-entity file fails before anything expands. Each `Pupil`
is taken off the tree as soon as it has been read, so memory stays flat however many pupils (and
however much else) the file holds; only the fields the LRS needs are read, because other sections
of a real CTF often carry data that would fail checks of their own.

The file is refused as a whole (`BatchFileError`, with a reason) when it is not XML or has a DTD
(`xml_invalid`), when the root is not `CTfile` or `Header/DocumentName` is not "Common Transfer
File" (`not_ctf`), when `SourceSchool` is not the caller (`source_not_sender`: a school's own LEA
and Estab; an LA's own LEA), and when it holds more than 5,000 pupils (`too_many_pupils`). A pupil
whose own fields fail is one `Pupil` with `problems` (a data error naming each field); the rest of
the file goes on.

The ULN element of a CTF pupil is uncertain: recent CTF specifications call it
`UniqueLearnerNumber`, some supplier files `ULN`. Both are read; `UniqueLearnerNumber` is written.

Writing: `write_return_ctf` (a partial CTF addressed to the school, each matched pupil's UPN, ULN,
names, date of birth and sex, for import into the MIS) and `write_csv` (every pupil and its outcome,
cells that a spreadsheet would run as a formula made safe), both streamed to a binary file.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from s2s.domain.identifiers import is_valid_uln, is_valid_upn
from s2s.domain.learners import CTF_SEX, is_postcode, lrs_gender, name_problem, tidy_name, tidy_postcode

MAX_PUPILS = 5000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_AGE_YEARS = 110
DOCUMENT_NAME = "Common Transfer File"
ULN_ELEMENTS = ("UniqueLearnerNumber", "ULN")  # read both; write the first
ULN_ELEMENT = ULN_ELEMENTS[0]

# Text longer than this is never a field we want (a name is 35): cut before it is kept anywhere.
_FIELD_LIMIT = 200


class BatchFileError(Exception):
    """The whole file is refused: `reason` is a stable code, `message` a sentence for the school."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Sender:
    """Who uploaded the file: a school (its LAESTAB) or an LA (its 3-digit code)."""

    kind: str  # "school" | "la"
    la: str
    estab: str | None = None

    def sent(self, lea: str, estab: str) -> bool:
        if self.kind == "school":
            return lea == self.la and estab == self.estab
        return lea == self.la and len(estab) == 4


@dataclass(frozen=True, slots=True)
class CtfHeader:
    document_name: str
    ctf_version: str
    qualifier: str
    source_lea: str
    source_estab: str
    school_name: str
    academic_year: str


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


@dataclass(slots=True)
class Pupil:
    """One pupil as read. `sex` is the LRS gender code; `uln` is the ULN the file gave, if any.
    `problems` names every field that failed; a pupil with problems is not sent to the LRS."""

    seq: int
    upn: str = ""
    surname: str = ""
    forename: str = ""
    dob: str = ""
    sex: int | None = None
    postcode: str = ""
    uln: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return (element.text or "").strip()[:_FIELD_LIMIT]


def _child(element: ET.Element, *names: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) in names:
            return child
    return None


def _descendant(element: ET.Element, name: str) -> ET.Element | None:
    for child in element.iter():
        if child is not element and _local(child.tag) == name:
            return child
    return None


def _dob_problem(value: str, today: date) -> str | None:
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return "must be a date, YYYY-MM-DD"
    if len(value) != 10:
        return "must be a date, YYYY-MM-DD"
    if born > today:
        return "cannot be in the future"
    if today.year - born.year > MAX_AGE_YEARS:
        return f"gives an age over {MAX_AGE_YEARS}"
    return None


def read_pupil(element: ET.Element, seq: int, today: date) -> Pupil:
    """The fields of one `Pupil` element, each checked on its own."""
    pupil = Pupil(seq)
    problems = pupil.problems
    pupil.upn = _text(_child(element, "UPN")).upper()
    if not pupil.upn:
        problems.append(Problem("upn", "is missing"))
    elif not is_valid_upn(pupil.upn):
        problems.append(Problem("upn", "is not a UPN with a valid check letter"))
    for name in ("surname", "forename"):
        value = tidy_name(_text(_child(element, name.capitalize())))
        setattr(pupil, name, value)
        why = name_problem(value) if value else "is missing"
        if why:
            problems.append(Problem(name, why))
    pupil.dob = _text(_child(element, "DOB"))
    why = _dob_problem(pupil.dob, today) if pupil.dob else "is missing"
    if why:
        problems.append(Problem("dob", why))
    sex = _text(_child(element, "Sex", "Gender"))
    pupil.sex = lrs_gender(sex) if sex else None
    if pupil.sex is None:
        problems.append(Problem("sex", "must be M, F, U or X" if sex else "is missing"))
    address = _child(element, "Address")
    postcode = _text(_descendant(address, "PostCode")) if address is not None else ""
    pupil.postcode = tidy_postcode(postcode)
    if not pupil.postcode:
        problems.append(Problem("postcode", "is missing: the LRS matches on it"))
    elif not is_postcode(pupil.postcode):
        problems.append(Problem("postcode", "must be a UK postcode, for example SW1A 1AA"))
    uln = _text(_child(element, *ULN_ELEMENTS))
    if uln:
        pupil.uln = uln
        if not is_valid_uln(uln):
            problems.append(Problem("uln", "must be a 10-digit ULN with a valid check digit"))
    return pupil


class CtfBatchReader:
    """Streams one CTF. `header()` reads up to the end of `Header` and checks it; `pupils()` yields
    each pupil as it is read. Either raises `BatchFileError` for a file refused as a whole."""

    def __init__(self, stream: IO[bytes], sender: Sender, *, today: date, max_pupils: int = MAX_PUPILS) -> None:
        self._events = iterparse(stream, events=("start", "end"), forbid_dtd=True)
        self._sender = sender
        self._today = today
        self._max = max_pupils
        self._header: CtfHeader | None = None
        self._stack: list[ET.Element] = []
        self.pupil_count = 0

    def _next(self) -> tuple[str, ET.Element] | None:
        try:
            return next(self._events)
        except StopIteration:
            return None
        except DefusedXmlException as exc:
            raise BatchFileError(
                "xml_invalid",
                "The file declares a DTD or entities, which S2S never reads. Export the CTF from the MIS again.",
            ) from exc
        except (ET.ParseError, ValueError, UnicodeError) as exc:
            raise BatchFileError(
                "xml_invalid", "The file is not well-formed XML. Export the CTF from the MIS again."
            ) from exc

    def header(self) -> CtfHeader:
        if self._header is not None:
            return self._header
        while (item := self._next()) is not None:
            event, element = item
            if event == "start":
                if not self._stack and _local(element.tag) != "CTfile":
                    raise BatchFileError("not_ctf", "The file is not a CTF: its root element is not CTfile.")
                self._stack.append(element)
                continue
            self._stack.pop()
            if _local(element.tag) == "Header" and len(self._stack) == 1:
                self._header = self._check_header(element)
                self._stack[0].remove(element)
                return self._header
        raise BatchFileError("not_ctf", "The file is not a CTF: it has no Header.")

    def _check_header(self, element: ET.Element) -> CtfHeader:
        name = _text(_child(element, "DocumentName"))
        if name != DOCUMENT_NAME:
            raise BatchFileError("not_ctf", f'The file is not a CTF: Header/DocumentName is not "{DOCUMENT_NAME}".')
        source = _child(element, "SourceSchool")
        lea = _text(_child(source, "LEA")) if source is not None else ""
        estab = _text(_child(source, "Estab")) if source is not None else ""
        if not self._sender.sent(lea, estab):
            raise BatchFileError(
                "source_not_sender",
                "The file's SourceSchool is not your organisation. Export the CTF from your own MIS.",
            )
        return CtfHeader(
            document_name=name,
            ctf_version=_text(_child(element, "CTFversion")) or "25.0",
            qualifier=_text(_child(element, "DocumentQualifier")),
            source_lea=lea,
            source_estab=estab,
            school_name=_text(_child(source, "SchoolName")) if source is not None else "",
            academic_year=_text(_child(source, "AcademicYear")) if source is not None else "",
        )

    def pupils(self) -> Iterator[Pupil]:
        self.header()
        while (item := self._next()) is not None:
            event, element = item
            if event == "start":
                self._stack.append(element)
                continue
            self._stack.pop()
            parent = self._stack[-1] if self._stack else None
            if _local(element.tag) == "Pupil" and parent is not None and _local(parent.tag) == "CTFpupilData":
                self.pupil_count += 1
                if self.pupil_count > self._max:
                    raise BatchFileError(
                        "too_many_pupils",
                        f"The file holds more than {self._max:,} pupils. Split it into files of {self._max:,} or fewer "
                        "pupils each.",
                    )
                pupil = read_pupil(element, self.pupil_count, self._today)
                parent.remove(element)
                yield pupil
            elif parent is not None and len(self._stack) <= 2:
                # A finished section outside the pupils (or a whole CTFpupilData): never needed again.
                parent.remove(element)


def scan(stream: IO[bytes], sender: Sender, *, today: date, max_pupils: int = MAX_PUPILS) -> tuple[CtfHeader, int]:
    """Check the whole file without keeping anything: its header and how many pupils it holds."""
    reader = CtfBatchReader(stream, sender, today=today, max_pupils=max_pupils)
    header = reader.header()
    for _ in reader.pupils():
        pass
    return header, reader.pupil_count


# ------------------------------------------------------------------------------------ writing


@dataclass(frozen=True, slots=True)
class ReturnPupil:
    upn: str
    uln: str
    surname: str
    forename: str
    dob: str
    sex: int | None


_NO_ATTRIBUTES: AttributesImpl[str] = AttributesImpl({})


class _Xml:
    def __init__(self, out: IO[bytes]) -> None:
        self.gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)

    def leaf(self, name: str, text: str) -> None:
        self.gen.startElement(name, _NO_ATTRIBUTES)
        self.gen.characters(text)  # escaped by the generator: a value can never become markup
        self.gen.endElement(name)

    def open(self, name: str) -> None:
        self.gen.startElement(name, _NO_ATTRIBUTES)

    def close(self, name: str) -> None:
        self.gen.endElement(name)

    def newline(self) -> None:
        self.gen.ignorableWhitespace("\n")


def write_return_ctf(
    out: IO[bytes],
    *,
    school_lea: str,
    school_estab: str,
    school_name: str,
    ctf_version: str,
    academic_year: str,
    written_at: str,
    pupils: Iterable[ReturnPupil],
) -> int:
    """A partial CTF addressed to the school with each matched pupil's UPN and ULN; how many pupils."""
    xml = _Xml(out)
    xml.gen.startDocument()
    xml.open("CTfile")
    xml.newline()
    xml.open("Header")
    xml.leaf("DocumentName", DOCUMENT_NAME)
    xml.leaf("CTFversion", ctf_version or "25.0")
    xml.leaf("DateTime", written_at)
    xml.leaf("DocumentQualifier", "partial")
    xml.leaf("SupplierID", "S2S ULN service")
    for element in ("SourceSchool", "DestSchool"):
        xml.open(element)
        xml.leaf("LEA", school_lea)
        xml.leaf("Estab", school_estab)
        if element == "SourceSchool":
            xml.leaf("SchoolName", school_name)
            if academic_year:
                xml.leaf("AcademicYear", academic_year)
        xml.close(element)
    xml.close("Header")
    xml.newline()
    xml.open("CTFpupilData")
    xml.newline()
    written = 0
    for pupil in pupils:
        xml.open("Pupil")
        xml.leaf("UPN", pupil.upn)
        xml.leaf(ULN_ELEMENT, pupil.uln)
        xml.leaf("Surname", pupil.surname)
        xml.leaf("Forename", pupil.forename)
        xml.leaf("DOB", pupil.dob)
        if pupil.sex is not None:
            xml.leaf("Sex", CTF_SEX.get(pupil.sex, "U"))
        xml.close("Pupil")
        xml.newline()
        written += 1
    xml.close("CTFpupilData")
    xml.newline()
    xml.close("CTfile")
    xml.gen.endDocument()
    return written


CSV_COLUMNS = (
    "upn",
    "surname",
    "forename",
    "date_of_birth",
    "outcome",
    "uln",
    "lrs_code",
    "candidates",
    "master_uln",
    "fields",
    "message",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading `'`."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def write_csv(out: IO[bytes], rows: Iterable[dict[str, Any]]) -> int:
    """Every pupil and its outcome, UTF-8 with a header row; how many rows."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in CSV_COLUMNS])
        written += 1
    text.flush()
    text.detach()
    return written
