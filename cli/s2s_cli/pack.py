"""`s2s pack`: check a CTF or ATF's header against its protocol name, then write the AES-256 zip
the protocol asks for (`<STEM>.zip` holding `<STEM>.XML`).

The header check catches the costly mistake early: a file named for one school that holds
another school's pupils. XML is parsed with defusedxml (no entity expansion, no external DTDs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PackError(Exception):
    """The file cannot be packed; the message says why and what to do."""


@dataclass(frozen=True)
class CtfHeader:
    root: str
    source: str  # LAESTAB from SourceSchool LEA + Estab
    destination: str  # LAESTAB from DestSchool LEA + Estab


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_header(path: Path) -> CtfHeader:
    """SourceSchool and DestSchool from the file's Header, reading no further than it needs."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    root = ""
    found: dict[str, dict[str, str]] = {}
    stack: list[str] = []
    try:
        for event, element in iterparse(str(path), events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if not root:
                    root = name
                    if root not in ("CTfile", "ATfile"):
                        raise PackError(
                            f"{path.name} is not a CTF or ATF: its root element is {root}, not CTfile or ATfile"
                        )
                stack.append(name)
                continue
            stack.pop()
            if len(stack) == 3 and stack[1] == "Header" and stack[2] in ("SourceSchool", "DestSchool"):
                found.setdefault(stack[2], {})[name] = (element.text or "").strip()
            if name == "Header":
                break
    except (ParseError, DefusedXmlException) as exc:
        raise PackError(f"{path.name} is not well-formed XML that s2s can read safely: {exc}") from None
    schools = {}
    for part in ("SourceSchool", "DestSchool"):
        values = found.get(part, {})
        lea, estab = values.get("LEA", ""), values.get("Estab", "")
        if not lea or not estab:
            raise PackError(f"{path.name} has no Header/{part} with LEA and Estab")
        schools[part] = f"{lea}{estab}"
    return CtfHeader(root, schools["SourceSchool"], schools["DestSchool"])


def check_header(path: Path) -> str:
    """The protocol stem after checking the name and that the header agrees with it."""
    from s2s.domain.errors import NamingError
    from s2s.domain.naming import parse_filename

    if path.suffix.lower() != ".xml":
        raise PackError(f"{path.name} is not an XML file; pack the .XML file itself")
    try:
        # The protocol names the zip; the XML inside carries the same stem.
        parsed = parse_filename(f"{path.stem}.zip")
    except NamingError as exc:
        raise PackError(f"{exc.code}: {exc.message}") from None
    if parsed.file_type not in ("CTF", "ATF"):
        raise PackError(f"{path.name} is a {parsed.file_type} file; s2s pack checks and packs CTF and ATF files")
    header = read_header(path)
    expected_root = "CTfile" if parsed.file_type == "CTF" else "ATfile"
    if header.root != expected_root:
        raise PackError(f"{path.name} is named as a {parsed.file_type} but its root element is {header.root}")
    if header.source != parsed.source:
        raise PackError(
            f"{path.name} says it is from {parsed.source} but its header's SourceSchool is "
            f"{header.source}: check you exported the right file"
        )
    if parsed.dest_kind == "school" and header.destination != parsed.destination:
        raise PackError(
            f"{path.name} says it is for {parsed.destination} but its header's DestSchool is "
            f"{header.destination}: check the destination school"
        )
    return parsed.stem


def pack(path: Path, password: bytes, out_dir: Path | None = None, *, force: bool = False) -> Path:
    """Write `<STEM>.zip` next to the file (or in `out_dir`) with `<STEM>.XML` inside, AES-256.
    An existing zip of that name is replaced only with `force` (it may be one already sent)."""
    import pyzipper

    if len(password) < 8:
        raise PackError("the password must have at least 8 characters")
    stem = check_header(path)
    target = (out_dir or path.parent) / f"{stem}.zip"
    if target.exists() and not force:
        raise PackError(f"{target} already exists: pass --force to replace it, or move it first")
    partial = target.with_name(target.name + ".part")
    with pyzipper.AESZipFile(partial, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password)
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.write(path, arcname=f"{stem}.XML")
    partial.replace(target)
    return target
