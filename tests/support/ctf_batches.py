"""Generated batch CTFs for the ULN batch tests and benchmarks: fictional pupils, UPN check letters
and ULN check digits computed by `s2s.domain.identifiers`, and the hostile files a batch must refuse."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from s2s.domain.identifiers import uln_check_digit, upn_check_letter

FORENAMES = ("Amara", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hari", "Isla", "Jonah", "Kai", "Lena")
SURNAMES = ("Ashdown", "Birch", "Carrow", "Dunmore", "Ellery", "Fenwick", "Garside", "Holloway", "Ingram")
POSTCODES = ("LU5 4QA", "MK45 2DD", "SG18 8AB", "LU7 1AA", "MK17 9QP")


def make_upn(la: str, estab: str, serial: int, year: str = "10") -> str:
    body = f"{la}{estab}{year}{serial % 1000:03d}"
    return upn_check_letter(body) + body


def make_uln(n: int) -> str:
    """The n-th valid ULN in a run starting at 400000000 (nine digits with a check digit)."""
    first = 400000000 + n
    while True:
        digit = uln_check_digit(f"{first:09d}")
        if digit is not None:
            return f"{first:09d}{digit}"
        first += 10_000_000


@dataclass(frozen=True)
class BatchPupil:
    upn: str
    surname: str
    forename: str
    dob: str
    sex: str
    postcode: str
    uln: str | None = None
    uln_element: str = "UniqueLearnerNumber"


def pupils(count: int, *, la: str = "823", estab: str = "1234", with_uln_every: int = 0) -> list[BatchPupil]:
    """`count` fictional pupils with valid UPNs; every `with_uln_every`-th one already has a ULN."""
    made = []
    for i in range(count):
        serial = i + 1
        year = f"{10 + (i // 1000) % 90:02d}"
        uln = make_uln(i) if with_uln_every and serial % with_uln_every == 0 else None
        made.append(
            BatchPupil(
                upn=make_upn(la, estab, serial, year),
                surname=SURNAMES[i % len(SURNAMES)],
                forename=FORENAMES[(i // len(SURNAMES)) % len(FORENAMES)],
                dob=f"{2009 + i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                sex="MF"[i % 2],
                postcode=POSTCODES[i % len(POSTCODES)],
                uln=uln,
            )
        )
    return made


def ctf_bytes(
    pupil_list: list[BatchPupil],
    *,
    lea: str = "823",
    estab: str = "1234",
    document_name: str = "Common Transfer File",
    root: str = "CTfile",
    extra_section: bool = True,
) -> bytes:
    """A partial CTF, as a MIS exports one for the ULN service (with an address per pupil)."""
    ctf = ET.Element(root)
    header = ET.SubElement(ctf, "Header")
    for name, text in (
        ("DocumentName", document_name),
        ("CTFversion", "25.0"),
        ("DateTime", "2026-11-02T09:30:00"),
        ("DocumentQualifier", "partial"),
        ("SupplierID", "Test MIS"),
    ):
        ET.SubElement(header, name).text = text
    source = ET.SubElement(header, "SourceSchool")
    for name, text in (("LEA", lea), ("Estab", estab), ("SchoolName", "Alpha Academy"), ("AcademicYear", "2026")):
        ET.SubElement(source, name).text = text
    dest = ET.SubElement(header, "DestSchool")
    ET.SubElement(dest, "LEA").text = "MMM"
    ET.SubElement(dest, "Estab").text = "MMMM"
    data = ET.SubElement(ctf, "CTFpupilData")
    for p in pupil_list:
        pupil = ET.SubElement(data, "Pupil")
        ET.SubElement(pupil, "UPN").text = p.upn
        if p.uln:
            ET.SubElement(pupil, p.uln_element).text = p.uln
        ET.SubElement(pupil, "Surname").text = p.surname
        ET.SubElement(pupil, "Forename").text = p.forename
        ET.SubElement(pupil, "DOB").text = p.dob
        ET.SubElement(pupil, "Sex").text = p.sex
        address = ET.SubElement(ET.SubElement(pupil, "Address"), "BS7666Address")
        ET.SubElement(address, "PAON").text = "12"
        ET.SubElement(address, "Street").text = "High Street"
        ET.SubElement(address, "Town").text = "Leighton Buzzard"
        ET.SubElement(address, "PostCode").text = p.postcode
        if extra_section:
            # Sections the service must not read (a real CTF has many; their data may be odd).
            attendance = ET.SubElement(pupil, "Attendance")
            ET.SubElement(attendance, "SessionsPossible").text = "not a number"
    return bytes(ET.tostring(ctf, encoding="utf-8", xml_declaration=True))


def with_fields(p: BatchPupil, **changes: str | None) -> BatchPupil:
    return replace(p, **changes)  # type: ignore[arg-type]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<CTfile><Header><DocumentName>&lol4;</DocumentName></Header></CTfile>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CTfile><Header><DocumentName>Common Transfer File</DocumentName>
<SourceSchool><LEA>823</LEA><Estab>1234</Estab><SchoolName>&xxe;</SchoolName></SourceSchool></Header>
<CTFpupilData/></CTfile>
"""
