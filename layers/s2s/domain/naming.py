"""The CTF naming protocol (docs/SERVICE.md §2): what a file's name says about its family, sender and
destination, and why a name is refused.

The destination of a file comes from its name only, so this check is the routing check: a name
that parses here is where the file goes. Refusals carry a stable code, checked in docs/SERVICE.md's order
(`REASONS`), a sentence a school data manager can act on, and, when the name fails only on
letter case, a browser's copy suffix, surrounding spaces or a missing `.zip`, the corrected name.

Every pattern is ASCII and matched in full: `str.isdigit()` and a bare `\\d` accept Arabic-Indic
and full-width digits, and `$` accepts a trailing newline. The LA codes are data
(`data/la_codes.txt`), read once on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from s2s.domain.errors import Forbidden, NamingError
from s2s.domain.identifiers import is_valid_upn

Family = Literal["ctf", "atf", "admissions", "generic"]
SourceKind = Literal["school", "la"]
DestKind = Literal["school", "la", "la_unknown_school", "lpd_unknown", "lpd_outside"]
Confidence = Literal["C", "S", "U"]

# Refusal codes in the order they are checked: a name gets the first that applies.
REASONS = (
    "bad_extension",
    "bad_pattern",
    "bad_source",
    "unknown_la",
    "bad_destination",
    "bad_sequence",
    "source_not_sender",
    "lpd_needs_upn",
    "bad_upn",
)

EXTENSION = ".zip"
# The longest protocol name is 35 characters (generic, 15-character text); anything far longer
# is refused before it is split, so hostile input costs nothing.
MAX_NAME_LENGTH = 100
FILE_TYPES: dict[str, Family] = {
    "CTF": "ctf",
    "ATF": "atf",
    "ADT": "admissions",
    "ASL": "admissions",
    "APT": "admissions",
    "AOT": "admissions",
    "ALT": "admissions",
}
GENERIC_TYPE = "GEN"
LPD_UNKNOWN = "XXXXXXX"  # destination unknown
LPD_OUTSIDE = "MMMMMMM"  # independent school, or outside England and Wales
LPD_ORG = "LPD"
GENERIC_TEXT_MAX = 15
LA_CODES_FILE = Path(__file__).parents[1] / "data" / "la_codes.txt"

_SCHOOL = re.compile(r"([0-9]{3})[0-9]{4}", re.ASCII)
_LA_ITSELF = re.compile(r"([0-9]{3})LLLL", re.ASCII)
_LA_UNKNOWN_SCHOOL = re.compile(r"([0-9]{3})XXXX", re.ASCII)
_STEM_CHAR = re.compile(r"[A-Za-z0-9_-]", re.ASCII)
_GENERIC_TEXT = re.compile(rf"[A-Za-z0-9-]{{1,{GENERIC_TEXT_MAX}}}", re.ASCII)
_NNN = re.compile(r"[0-9]{3}", re.ASCII)
_YYNNN = re.compile(r"[0-9]{2}([0-9]{3})", re.ASCII)
_LA_LINE = re.compile(r"([0-9]{3})(?:\s*-\s*([0-9]{3}))?", re.ASCII)
# What browsers and file managers append to a second copy: " (1)", "(2)", " - Copy", " - Copy (3)".
# None of these characters can occur in a protocol name, so removing them is never a guess.
_COPY_SUFFIX = re.compile(r"(?: ?\([0-9]{1,3}\)| - copy(?: \([0-9]{1,3}\))?)\Z", re.ASCII | re.IGNORECASE)
_CASE_FIXABLE_ORG = re.compile(r"[0-9]{3}(?:LLLL|XXXX)|XXXXXXX|MMMMMMM", re.ASCII | re.IGNORECASE)

# Case-fold ASCII only, so that lengths and positions match the original text.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_EXAMPLES = (
    "8231234_CTF_8232345_001.zip (CTF), 823LLLL_ADT_8234001_26001.zip (admissions) or "
    "8231234_8232345_SENreport.zip (any other file)"
)


# ---------------------------------------------------------------------------- LA codes


def parse_la_codes(text: str) -> dict[str, Confidence]:
    """Read the LA code list: one code or `lo-hi` range a line, `#` comments, `[S]`/`[U]` tags in
    the comment marking codes from secondary or no confirmed source. Raises ValueError on a line
    it cannot read, a reversed range or a code listed twice, so a bad edit fails loudly."""
    table: dict[str, Confidence] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        body, _, comment = raw.partition("#")
        body = body.strip()
        if not body:
            continue
        match = _LA_LINE.fullmatch(body)
        if not match:
            raise ValueError(f"LA code list line {number}: expected a 3-digit code or range, got {body!r}")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise ValueError(f"LA code list line {number}: range {body!r} runs backwards")
        confidence: Confidence = "U" if "[U]" in comment else "S" if "[S]" in comment else "C"
        for value in range(low, high + 1):
            code = f"{value:03d}"
            if code in table:
                raise ValueError(f"LA code list line {number}: {code} is listed twice")
            table[code] = confidence
    return table


@cache
def _la_codes() -> dict[str, Confidence]:
    return parse_la_codes(LA_CODES_FILE.read_text(encoding="utf-8"))


def known_la(code: str) -> bool:
    """Whether `code` (3 digits) is a local authority that may appear in a file name."""
    return code in _la_codes()


def la_code_confidence(code: str) -> Confidence | None:
    """`C` confirmed, `S` secondary source, `U` unconfirmed (docs/SERVICE.md), or None when unknown."""
    return _la_codes().get(code)


# ---------------------------------------------------------------------------- parsed names


@dataclass(frozen=True)
class ParsedName:
    """A file name that follows the protocol, split into what it says."""

    filename: str  # exactly as given (the extension keeps its case)
    stem: str
    family: Family
    file_type: str  # CTF, ATF, ADT, ASL, APT, AOT, ALT, or GEN for a generic file
    source: str  # 7-digit LAESTAB or <LA>LLLL
    source_kind: SourceKind
    source_la: str
    destination: str  # as written: LAESTAB, <LA>LLLL, <LA>XXXX, XXXXXXX or MMMMMMM
    dest_kind: DestKind
    dest_la: str | None  # None for the Lost Pupils Database
    sequence: str | None  # "001" or "26001"; None for generic files
    text: str | None  # a generic file's description; None otherwise

    @property
    def is_lpd(self) -> bool:
        """Addressed to the Lost Pupils Database (XXXXXXX or MMMMMMM)."""
        return self.dest_kind in ("lpd_unknown", "lpd_outside")

    @property
    def recipient_org(self) -> str:
        """Who the file is for: the school's LAESTAB, `<LA>LLLL` for the LA itself and for
        `<LA>XXXX` (the LA finds the school), or `LPD`."""
        if self.dest_kind == "school":
            return self.destination
        if self.dest_la is not None:
            return f"{self.dest_la}LLLL"
        return LPD_ORG

    @property
    def single_entry(self) -> bool:
        """CTF, ATF and admissions zips hold exactly one file, `<STEM>.XML`."""
        return self.family != "generic"

    @property
    def expected_entry_name(self) -> str:
        return f"{self.stem}.XML"


class _Refusal(Exception):
    """A failed rule; `unless_suggested` is advice that a suggested name makes redundant."""

    def __init__(self, code: str, message: str, unless_suggested: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.unless_suggested = unless_suggested


def _has_zip_extension(name: str) -> bool:
    # Compare ASCII only: str.lower() maps some non-ASCII letters onto ASCII ones.
    return len(name) >= len(EXTENSION) and name[-4:] in {"." + z + i + p for z in "zZ" for i in "iI" for p in "pP"}


def _parse(name: str) -> ParsedName:
    if not isinstance(name, str) or not _has_zip_extension(name):
        raise _Refusal(
            "bad_extension",
            _extension_message(name if isinstance(name, str) else ""),
            unless_suggested=f"Zip the file and give the zip a name such as {_EXAMPLES}.",
        )
    stem = name[: -len(EXTENSION)]
    if not stem:
        raise _Refusal("bad_pattern", f"The name is only “{name}”. Name the file by the S2S rules: {_EXAMPLES}.")
    # Characters first, so a long name with a wrong character is told which character (docs/SERVICE.md §2).
    # The API bounds a name to 255 characters, so this loop costs nothing.
    _check_characters(stem[: 4 * MAX_NAME_LENGTH])
    if len(name) > MAX_NAME_LENGTH:
        raise _Refusal(
            "bad_pattern",
            f"The name is {len(name)} characters long; S2S names are much shorter, for example {_EXAMPLES}.",
        )
    tokens = stem.split("_")
    if "" in tokens:
        raise _Refusal(
            "bad_pattern",
            "The name has two underscores together, or one at the start or end. The parts are "
            f"separated by single underscores, for example {_EXAMPLES}.",
        )
    if len(tokens) == 4 and tokens[1].upper() not in FILE_TYPES:
        raise _Refusal("bad_pattern", _shape_message(tokens))
    if len(tokens) == 4:
        source, file_type, destination, sequence = tokens
        text = None
        family = _family(file_type)
    elif len(tokens) == 3:
        source, destination, text = tokens
        file_type, sequence, family = GENERIC_TYPE, None, "generic"
        _check_generic(stem, destination, text)
    else:
        raise _Refusal("bad_pattern", _shape_message(tokens))

    source_kind, source_la = _source(source)
    dest_kind, dest_la = _destination(destination, family)
    if sequence is not None:
        _check_sequence(sequence, family)
    return ParsedName(
        filename=name,
        stem=stem,
        family=family,
        file_type=file_type,
        source=source,
        source_kind=source_kind,
        source_la=source_la,
        destination=destination,
        dest_kind=dest_kind,
        dest_la=dest_la,
        sequence=sequence,
        text=text,
    )


def _extension_message(name: str) -> str:
    stripped = name.rstrip()
    if stripped != name and _has_zip_extension(stripped):
        return "The name has spaces or invisible characters after “.zip”. Remove them and send the file again."
    if stripped[-4:].lower() == ".xml":
        return (
            "S2S only accepts zip files encrypted with AES-256, and this is an XML file. Zip it with "
            "AES-256 encryption (for example with `s2s pack`, or WinZip's AES-256 option) and send the zip."
        )
    return "The name must end in “.zip”: S2S only accepts files zipped with AES-256 encryption."


def _describe(char: str) -> str:
    """The character, named so a reader can find it: its code point whenever it is not printable
    ASCII (docs/SERVICE.md §2), since an invisible or look-alike character cannot be seen in the message."""
    if char == " ":
        return "a space"
    if char in "/\\":
        return f"a folder separator (“{char}”)"
    if char == ".":
        return "a full stop (“.”), as in a second extension such as .xml.zip"
    if char == "\u00a0":
        return "a non-breaking space (U+00A0)"
    if not char.isprintable() or char.isspace():
        return f"an invisible character (U+{ord(char):04X})"
    if ord(char) > 127:
        return f"the character “{char}” (U+{ord(char):04X})"
    return f"the character “{char}”"


def _check_characters(stem: str) -> None:
    copy = _COPY_SUFFIX.search(stem)
    if copy:
        raise _Refusal(
            "bad_pattern",
            f"The name ends in the copy number “{copy.group(0)}”, which a browser or computer adds when a "
            "file is saved twice; the receiving school's system cannot import a file named like that. "
            "Remove the copy number.",
        )
    stripped = stem.strip()
    if stem != stripped:
        edge = stem[0] if stem[0] != stripped[:1] or not stripped else stem[-1]
        raise _Refusal(
            "bad_pattern",
            f"The name starts or ends with {_describe(edge)}. Remove it and send the file again.",
        )
    for char in stem:
        if not _STEM_CHAR.fullmatch(char):
            raise _Refusal(
                "bad_pattern",
                f"The name contains {_describe(char)}. S2S names use only the letters A-Z and a-z, the "
                f"digits 0-9, underscores and hyphens, for example {_EXAMPLES}.",
            )


def _family(file_type: str) -> Family:
    family = FILE_TYPES.get(file_type)
    if family is not None:
        return family
    # Only case can be wrong here: _parse has refused unknown types already.
    raise _Refusal("bad_pattern", f"The file type “{file_type}” must be written in capitals: {file_type.upper()}.")


def _check_generic(stem: str, destination: str, text: str) -> None:
    if destination.upper() in FILE_TYPES:
        raise _Refusal(
            "bad_pattern",
            f"The name stops after the destination: add the file's number at the end, for example {stem}_001.",
        )
    if not _GENERIC_TEXT.fullmatch(text):
        raise _Refusal(
            "bad_pattern",
            f"The description at the end of the name is {len(text)} characters; it may be at most "
            f"{GENERIC_TEXT_MAX} (letters, digits and hyphens).",
        )


def _shape_message(tokens: list[str]) -> str:
    if len(tokens) == 4:
        hint = (
            f"It has four parts, but the second, “{tokens[1]}”, is not a file type "
            f"({', '.join(FILE_TYPES)}). A generic file's name has three parts, and its description "
            "(the last part) may not contain underscores."
        )
    elif len(tokens) > 4:
        hint = (
            "It has too many parts. A generic file's description (the last part) may use letters, digits "
            "and hyphens, but not underscores."
        )
    else:
        hint = "It has too few parts: it needs at least the sender and the destination, separated by underscores."
    return f"The name does not follow the S2S naming rules. {hint} Examples: {_EXAMPLES}."


def _source(source: str) -> tuple[SourceKind, str]:
    kind: SourceKind
    if match := _SCHOOL.fullmatch(source):
        kind = "school"
    elif match := _LA_ITSELF.fullmatch(source):
        kind = "la"
    else:
        raise _Refusal("bad_source", _source_message(source))
    la = match[1]
    if not known_la(la):
        raise _Refusal(
            "unknown_la",
            f"{la} (the start of the sender, {source}) is not a local authority code S2S knows. Check the "
            "first three digits of your LAESTAB.",
        )
    return kind, la


def _source_message(source: str) -> str:
    upper = source.upper()
    if _LA_ITSELF.fullmatch(upper):
        return f"Write the sender “{source}” in capitals: {upper}."
    if _LA_UNKNOWN_SCHOOL.fullmatch(upper) or upper in (LPD_UNKNOWN, LPD_OUTSIDE):
        return (
            f"“{source}” can only be a destination. The first part of the name is the sender: your own "
            "7-digit LAESTAB, or your LA code followed by LLLL for a local authority (for example 823LLLL)."
        )
    return (
        f"The sender “{source}” is not a LAESTAB. The first part of the name must be your 7-digit "
        "LAESTAB (3-digit LA code and 4-digit establishment number, for example 8231234), or your LA "
        "code followed by LLLL for a local authority (for example 823LLLL)."
    )


def _destination(destination: str, family: Family) -> tuple[DestKind, str | None]:
    kind: DestKind
    if match := _SCHOOL.fullmatch(destination):
        kind = "school"
    elif match := _LA_ITSELF.fullmatch(destination):
        kind = "la"
    elif match := _LA_UNKNOWN_SCHOOL.fullmatch(destination):
        kind = "la_unknown_school"
    elif destination in (LPD_UNKNOWN, LPD_OUTSIDE):
        if family != "ctf":
            raise _Refusal(
                "bad_destination",
                f"{destination} (the Lost Pupils Database) is for CTFs only. Address this file to a "
                "school's LAESTAB, or to its LA as <LA>LLLL or <LA>XXXX.",
            )
        return ("lpd_unknown" if destination == LPD_UNKNOWN else "lpd_outside"), None
    else:
        raise _Refusal("bad_destination", _destination_message(destination))
    la = match[1]
    if not known_la(la):
        raise _Refusal(
            "unknown_la",
            f"{la} (the start of the destination, {destination}) is not a local authority code S2S knows. "
            "Check the receiving school's LAESTAB: it is 3 digits of LA code and 4 of establishment number.",
        )
    return kind, la


def _destination_message(destination: str) -> str:
    upper = destination.upper()
    if _CASE_FIXABLE_ORG.fullmatch(destination):
        return f"Write the destination “{destination}” in capitals: {upper}."
    return (
        f"The destination “{destination}” is not one S2S can deliver to. Use the receiving school's "
        "7-digit LAESTAB (for example 8232345), <LA>LLLL for the local authority itself, <LA>XXXX when "
        "you know the LA but not the school, or, for a CTF only, XXXXXXX (destination unknown) or "
        "MMMMMMM (independent school or outside England and Wales)."
    )


def _check_sequence(sequence: str, family: Family) -> None:
    short = _NNN.fullmatch(sequence)
    long = _YYNNN.fullmatch(sequence)
    if family == "ctf":
        ok, shape = short is not None, "three digits from 001 to 999, for example 001"
    elif family == "atf":
        ok = short is not None or long is not None
        shape = "three digits from 001 to 999 (for example 001), or a two-digit year and three digits (26001)"
    else:
        ok = long is not None
        shape = "a two-digit year and a three-digit number, for example 26001 for the first file of 2026"
    if not ok:
        raise _Refusal("bad_sequence", f"The number at the end of the name, “{sequence}”, must be {shape}.")
    if sequence[-3:] == "000":
        raise _Refusal(
            "bad_sequence",
            f"The number at the end of the name, “{sequence}”, ends in 000: files are numbered from 001. "
            "Use 001 for the first file to this destination.",
        )


# ---------------------------------------------------------------------------- public checks


def parse_filename(name: str) -> ParsedName:
    """Split a protocol name, or raise NamingError with the first failing reason (docs/SERVICE.md's order) and,
    when the name fails only on case, a copy suffix, spaces or a missing `.zip`, the corrected
    name as `suggestion`."""
    try:
        return _parse(name)
    except _Refusal as refusal:
        suggestion = suggest_name(name)
        message = refusal.message
        if suggestion is not None:
            message += " " + _suggestion_sentence(name, refusal.code, suggestion)
        elif refusal.unless_suggested:
            message += " " + refusal.unless_suggested
        raise NamingError(refusal.code, message, suggestion) from None


def _suggestion_sentence(name: str, code: str, suggestion: str) -> str:
    if name.strip()[-4:].lower() == ".xml":
        return f"Name the zip {suggestion}."
    if code == "bad_extension" and not _has_zip_extension(name.strip()):
        return (
            f"If this file is already the encrypted zip, rename it to {suggestion}; if not, zip it with "
            f"AES-256 encryption and name the zip {suggestion}."
        )
    return f"Rename the file to {suggestion} and send it again."


def check_upload_name(name: str, sender_org: str, upn: str | None) -> ParsedName:
    """Everything docs/SERVICE.md §2 checks before an upload is allowed to start.

    `sender_org` is the signed-in organisation as names write it (`8231234`, `823LLLL`). `upn` is
    the pupil's UPN exactly as given: lower case or spaces are `bad_upn` too. LPD destinations (XXXXXXX,
    MMMMMMM) need one (`lpd_needs_upn`) with a valid check letter (`bad_upn`). Other files do not
    use it, but a UPN that is given must still be valid: a typo is better reported than ignored.
    """
    parsed = parse_filename(name)
    if parsed.source != sender_org:
        if _SCHOOL.fullmatch(sender_org):
            own = f"The first part of the name must be your own LAESTAB, {sender_org}."
        elif _LA_ITSELF.fullmatch(sender_org):
            own = f"The first part of the name must be your LA code followed by LLLL, {sender_org}."
        else:
            own = "Only schools and local authorities send files."
        raise Forbidden(
            f"This file's name says it is from {parsed.source}, but you are signed in for {sender_org}. " + own,
            code="source_not_sender",
        )
    if parsed.is_lpd and not upn:
        raise NamingError(
            "lpd_needs_upn",
            f"Files addressed to {parsed.destination} go to the Lost Pupils Database and hold exactly one "
            "pupil. Enter that pupil's UPN with the upload.",
        )
    if upn and not is_valid_upn(upn):
        raise NamingError("bad_upn", _upn_message(upn, parsed.is_lpd))
    return parsed


def _upn_message(upn: str, lpd: bool) -> str:
    why = upn_refusal(upn)
    if not lpd:
        why += " A UPN is only needed for files addressed to XXXXXXX or MMMMMMM; you can leave it out."
    return why


def upn_refusal(upn: str) -> str:
    """Why `upn` is not a UPN, in words a data manager can act on (docs/SERVICE.md §2: every wrong form is
    `bad_upn`). Never echoes the UPN: it identifies a child, and error messages end up in logs."""
    shape = (
        "A UPN is 13 characters: a capital letter, 11 digits, then a digit (or a capital letter for a temporary UPN)."
    )
    if not isinstance(upn, str) or len(upn) != 13:
        return shape
    if not all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in upn):
        if upn.upper().isascii() and upn.upper().isalnum():
            return "Write the UPN in capital letters, as your MIS shows it. " + shape
        return "The UPN contains a space or a character that is not a capital letter or a digit. " + shape
    if not upn[0].isalpha() or not upn[1:12].isdigit():
        return shape
    return (
        "The UPN's check letter (its first character) does not match the rest of it, so a character "
        "was probably mistyped. Copy the UPN from your MIS again."
    )


def suggest_name(name: str) -> str | None:
    """The corrected name for one that fails only on letter case (`_ctf_`, `823llll`), a browser
    or file-manager copy suffix (` (1)`, `(2)`, ` - Copy`, ` - Copy (2)`), surrounding spaces, or a
    missing `.zip` (an unzipped `STEM.XML`, and macOS's `STEM.XML.zip`, become `STEM.zip`).

    None when the name already parses, or when the correction would still not parse."""
    if not isinstance(name, str) or len(name) > 4 * MAX_NAME_LENGTH:
        return None
    candidate = _corrected(name)
    if candidate == name:
        return None
    try:
        _parse(candidate)
    except _Refusal:
        return None
    return candidate


def _corrected(name: str) -> str:
    text = name.strip()
    lower = text.translate(_ASCII_LOWER)
    if lower.endswith(".xml.zip"):
        stem, extension = text[:-8], text[-4:]
    elif lower.endswith(EXTENSION):
        stem, extension = text[:-4], text[-4:]
    elif lower.endswith(".xml"):
        stem, extension = text[:-4], EXTENSION
    else:
        stem, extension = text, EXTENSION
    for _ in range(3):  # "X - Copy (2) (1)" at worst
        stem = _COPY_SUFFIX.sub("", stem.strip()).strip()
    tokens = stem.split("_")
    if len(tokens) in (3, 4):
        organisations = (0, 2) if len(tokens) == 4 else (0, 1)
        for index in organisations:
            if _CASE_FIXABLE_ORG.fullmatch(tokens[index]):
                tokens[index] = tokens[index].upper()
        if len(tokens) == 4 and tokens[1].upper() in FILE_TYPES:
            tokens[1] = tokens[1].upper()
    return "_".join(tokens) + extension


def naming_rules() -> dict[str, Any]:
    """The rules as JSON-able data, for clients (the web portal) that check names before upload."""
    return {
        "extension": EXTENSION,
        "extension_case_sensitive": False,
        "max_length": MAX_NAME_LENGTH,
        "reasons": list(REASONS),
        "families": {
            "ctf": {"types": ["CTF"], "sequence": ["nnn"], "lpd_destinations": True},
            "atf": {"types": ["ATF"], "sequence": ["nnn", "YYnnn"], "lpd_destinations": False},
            "admissions": {
                "types": [t for t, f in FILE_TYPES.items() if f == "admissions"],
                "sequence": ["YYnnn"],
                "lpd_destinations": False,
            },
            "generic": {"types": [], "sequence": [], "lpd_destinations": False},
        },
        "generic_text": {"pattern": _GENERIC_TEXT.pattern, "max_length": GENERIC_TEXT_MAX},
        "source_patterns": {"school": _SCHOOL.pattern, "la": _LA_ITSELF.pattern},
        "destination_patterns": {
            "school": _SCHOOL.pattern,
            "la": _LA_ITSELF.pattern,
            "la_unknown_school": _LA_UNKNOWN_SCHOOL.pattern,
            "lpd_unknown": LPD_UNKNOWN,
            "lpd_outside": LPD_OUTSIDE,
        },
        "sequence_min": 1,
        "sequence_max": 999,
        "la_codes": dict(sorted(_la_codes().items())),
    }
