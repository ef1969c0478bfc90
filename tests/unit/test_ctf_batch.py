"""The batch CTF reader and the return files (s2s.domain.ctf_batch), on generated files."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date

import pytest
from s2s.domain.ctf_batch import (
    MAX_PUPILS,
    BatchFileError,
    CtfBatchReader,
    ReturnPupil,
    Sender,
    safe_cell,
    scan,
    write_csv,
    write_return_ctf,
)
from s2s.domain.identifiers import is_valid_uln, is_valid_upn
from support.ctf_batches import BILLION_LAUGHS, EXTERNAL_ENTITY, ctf_bytes, pupils, with_fields

pytestmark = pytest.mark.unit

SCHOOL = Sender("school", "823", "1234")
TODAY = date(2026, 12, 3)


def read(data: bytes, sender: Sender = SCHOOL, **kwargs: int) -> list:
    reader = CtfBatchReader(io.BytesIO(data), sender, today=TODAY, **kwargs)
    return list(reader.pupils())


def test_generated_pupils_have_valid_identifiers() -> None:
    made = pupils(300, with_uln_every=4)
    assert all(is_valid_upn(p.upn) for p in made)
    assert all(is_valid_uln(p.uln) for p in made if p.uln)
    assert len({p.upn for p in made}) == 300


def test_a_good_file_reads_every_pupil_with_lrs_codes() -> None:
    made = pupils(12, with_uln_every=3)
    read_back = read(ctf_bytes(made))
    assert [p.upn for p in read_back] == [p.upn for p in made]
    assert all(p.ok for p in read_back), [p.problems for p in read_back if p.problems]
    assert {p.sex for p in read_back} == {1, 2}
    assert [p.uln for p in read_back] == [p.uln for p in made]
    assert read_back[0].postcode == made[0].postcode


def test_the_uln_is_read_from_either_element_name() -> None:
    made = [with_fields(p, uln_element="ULN") for p in pupils(3, with_uln_every=1)]
    assert [p.uln for p in read(ctf_bytes(made))] == [p.uln for p in made]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"upn": "Q207000016049"}, "upn"),
        ({"upn": ""}, "upn"),
        ({"surname": "X" * 36}, "surname"),
        ({"forename": "1Ann"}, "forename"),
        ({"dob": "2030-01-01"}, "dob"),
        ({"dob": "03/11/2010"}, "dob"),
        ({"sex": "Q"}, "sex"),
        ({"postcode": "NOT A CODE"}, "postcode"),
        ({"postcode": ""}, "postcode"),
        ({"uln": "9999999999"}, "uln"),
    ],
)
def test_a_bad_field_is_that_pupils_data_error_and_the_rest_go_on(change: dict, field: str) -> None:
    made = pupils(3)
    made[1] = with_fields(made[1], **change)
    read_back = read(ctf_bytes(made))
    assert read_back[0].ok and read_back[2].ok
    assert [p.field for p in read_back[1].problems] == [field]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 this is a zip, not XML", "xml_invalid"),
        (b"", "xml_invalid"),
        (BILLION_LAUGHS, "xml_invalid"),
        (EXTERNAL_ENTITY, "xml_invalid"),
        (ctf_bytes(pupils(2), root="ATfile"), "not_ctf"),
        (ctf_bytes(pupils(2), document_name="Admissions Transfer File"), "not_ctf"),
        (ctf_bytes(pupils(2), estab="9999"), "source_not_sender"),
        (ctf_bytes(pupils(2), lea="201"), "source_not_sender"),
        (b"<CTfile><Header><DocumentName>Common Transfer File</DocumentName>", "xml_invalid"),
    ],
)
def test_hostile_or_wrong_files_are_refused_with_their_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BatchFileError) as caught:
        scan(io.BytesIO(data), SCHOOL, today=TODAY)
    assert caught.value.reason == reason
    assert caught.value.message


def test_more_than_the_limit_of_pupils_is_refused() -> None:
    data = ctf_bytes(pupils(MAX_PUPILS + 1), extra_section=False)
    with pytest.raises(BatchFileError) as caught:
        scan(io.BytesIO(data), SCHOOL, today=TODAY)
    assert caught.value.reason == "too_many_pupils"
    assert scan(io.BytesIO(ctf_bytes(pupils(MAX_PUPILS), extra_section=False)), SCHOOL, today=TODAY)[1] == MAX_PUPILS


def test_an_la_may_send_for_its_own_schools_only() -> None:
    la = Sender("la", "823")
    assert scan(io.BytesIO(ctf_bytes(pupils(1))), la, today=TODAY)[1] == 1
    with pytest.raises(BatchFileError):
        scan(io.BytesIO(ctf_bytes(pupils(1), lea="201")), la, today=TODAY)


def test_memory_stays_flat_however_many_pupils() -> None:
    def peak(count: int) -> int:
        data = ctf_bytes(pupils(count))
        tracemalloc.start()
        try:
            stream = io.BytesIO(data)
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            for _ in CtfBatchReader(stream, SCHOOL, today=TODAY).pupils():
                pass
            return tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()

    assert peak(4000) < 2 * peak(40) + 64 * 1024


def test_the_return_ctf_parses_back_as_a_ctf_for_the_school() -> None:
    made = pupils(5)
    out = io.BytesIO()
    written = write_return_ctf(
        out,
        school_lea="823",
        school_estab="1234",
        school_name="Alpha & <Academy>",
        ctf_version="25.0",
        academic_year="2026",
        written_at="2026-12-03T10:00:00",
        pupils=[ReturnPupil(p.upn, f"10000000{i:02d}", p.surname, p.forename, p.dob, 2) for i, p in enumerate(made)],
    )
    assert written == 5
    header_reader = CtfBatchReader(io.BytesIO(out.getvalue()), SCHOOL, today=TODAY)
    assert header_reader.header().qualifier == "partial"
    assert header_reader.header().school_name == "Alpha & <Academy>"
    back = list(header_reader.pupils())
    assert [(p.upn, p.uln) for p in back] == [(p.upn, f"10000000{i:02d}") for i, p in enumerate(made)]


def test_csv_cells_that_would_run_as_formulas_are_made_safe() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("+1") == "'+1" and safe_cell("-1") == "'-1" and safe_cell("@x") == "'@x"
    assert safe_cell("Ann") == "Ann" and safe_cell(None) == ""
    out = io.BytesIO()
    write_csv(out, [{"upn": "A1", "surname": "=cmd|'/c calc'!A1", "outcome": "registered"}])
    rows = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert rows[0][0] == "upn"
    assert rows[1][1] == "'=cmd|'/c calc'!A1"
