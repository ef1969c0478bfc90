"""The CTF naming protocol (docs/SERVICE.md §2): a matrix of accepted and refused names with the reason code
and suggested name for each refusal, the upload checks (sender, LPD UPN), the LA code data, and
property tests that valid names round-trip and that a suggestion always parses."""

from __future__ import annotations

import json
import re
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s2s.domain.errors import Forbidden, NamingError
from s2s.domain.naming import (
    FILE_TYPES,
    MAX_NAME_LENGTH,
    REASONS,
    ParsedName,
    check_upload_name,
    known_la,
    la_code_confidence,
    naming_rules,
    parse_filename,
    parse_la_codes,
    suggest_name,
)

pytestmark = pytest.mark.unit


class Accepted(NamedTuple):
    name: str
    family: str
    file_type: str
    source: str
    source_kind: str
    source_la: str
    destination: str
    dest_kind: str
    dest_la: str | None
    sequence: str | None
    text: str | None
    recipient_org: str


A = Accepted
# fmt: off
ACCEPTED = [
    # CTF, every destination form
    A("8231234_CTF_8232345_001.zip", "ctf", "CTF", "8231234", "school", "823", "8232345", "school", "823", "001", None, "8232345"),
    A("8231234_CTF_8232345_999.zip", "ctf", "CTF", "8231234", "school", "823", "8232345", "school", "823", "999", None, "8232345"),
    A("8231234_CTF_8232345_010.ZIP", "ctf", "CTF", "8231234", "school", "823", "8232345", "school", "823", "010", None, "8232345"),
    A("8231234_CTF_8232345_002.Zip", "ctf", "CTF", "8231234", "school", "823", "8232345", "school", "823", "002", None, "8232345"),
    A("8231234_CTF_823LLLL_001.zip", "ctf", "CTF", "8231234", "school", "823", "823LLLL", "la", "823", "001", None, "823LLLL"),
    A("8231234_CTF_330XXXX_001.zip", "ctf", "CTF", "8231234", "school", "823", "330XXXX", "la_unknown_school", "330", "001", None, "330LLLL"),
    A("8231234_CTF_XXXXXXX_001.zip", "ctf", "CTF", "8231234", "school", "823", "XXXXXXX", "lpd_unknown", None, "001", None, "LPD"),
    A("8231234_CTF_MMMMMMM_001.zip", "ctf", "CTF", "8231234", "school", "823", "MMMMMMM", "lpd_outside", None, "001", None, "LPD"),
    A("823LLLL_CTF_8232345_001.zip", "ctf", "CTF", "823LLLL", "la", "823", "8232345", "school", "823", "001", None, "8232345"),
    A("823LLLL_CTF_XXXXXXX_003.zip", "ctf", "CTF", "823LLLL", "la", "823", "XXXXXXX", "lpd_unknown", None, "003", None, "LPD"),
    A("873LLLL_CTF_873XXXX_001.zip", "ctf", "CTF", "873LLLL", "la", "873", "873XXXX", "la_unknown_school", "873", "001", None, "873LLLL"),
    # LA code edges: range ends, pseudo codes, [S] and [U] codes, LA dummy establishments
    A("2011234_CTF_9411234_001.zip", "ctf", "CTF", "2011234", "school", "201", "9411234", "school", "941", "001", None, "9411234"),
    A("0011234_CTF_0051234_001.zip", "ctf", "CTF", "0011234", "school", "001", "0051234", "school", "005", "001", None, "0051234"),
    A("8391234_CTF_8381234_001.zip", "ctf", "CTF", "8391234", "school", "839", "8381234", "school", "838", "001", None, "8381234"),
    A("6601234_CTF_6811234_001.zip", "ctf", "CTF", "6601234", "school", "660", "6811234", "school", "681", "001", None, "6811234"),
    A("7011234_CTF_708LLLL_001.zip", "ctf", "CTF", "7011234", "school", "701", "708LLLL", "la", "708", "001", None, "708LLLL"),
    A("8233950_CTF_8233999_001.zip", "ctf", "CTF", "8233950", "school", "823", "8233999", "school", "823", "001", None, "8233999"),
    A("8230000_CTF_8969999_001.zip", "ctf", "CTF", "8230000", "school", "823", "8969999", "school", "896", "001", None, "8969999"),
    A("4201234_CTF_9431234_001.zip", "ctf", "CTF", "4201234", "school", "420", "9431234", "school", "943", "001", None, "9431234"),
    # A school sending to itself is odd but not a protocol error.
    A("8231234_CTF_8231234_001.zip", "ctf", "CTF", "8231234", "school", "823", "8231234", "school", "823", "001", None, "8231234"),
    # ATF: nnn or YYnnn
    A("823LLLL_ATF_8234001_001.zip", "atf", "ATF", "823LLLL", "la", "823", "8234001", "school", "823", "001", None, "8234001"),
    A("823LLLL_ATF_8234001_26001.zip", "atf", "ATF", "823LLLL", "la", "823", "8234001", "school", "823", "26001", None, "8234001"),
    A("8231234_ATF_873LLLL_25999.zip", "atf", "ATF", "8231234", "school", "823", "873LLLL", "la", "873", "25999", None, "873LLLL"),
    A("8231234_ATF_873XXXX_001.ZIP", "atf", "ATF", "8231234", "school", "823", "873XXXX", "la_unknown_school", "873", "001", None, "873LLLL"),
    # admissions: every type, YYnnn only
    A("823LLLL_ADT_8234001_26001.zip", "admissions", "ADT", "823LLLL", "la", "823", "8234001", "school", "823", "26001", None, "8234001"),
    A("823LLLL_ASL_8234001_26001.zip", "admissions", "ASL", "823LLLL", "la", "823", "8234001", "school", "823", "26001", None, "8234001"),
    A("823LLLL_APT_8234001_26002.zip", "admissions", "APT", "823LLLL", "la", "823", "8234001", "school", "823", "26002", None, "8234001"),
    A("823LLLL_AOT_8234001_00001.zip", "admissions", "AOT", "823LLLL", "la", "823", "8234001", "school", "823", "00001", None, "8234001"),
    A("823LLLL_ALT_8234001_99999.zip", "admissions", "ALT", "823LLLL", "la", "823", "8234001", "school", "823", "99999", None, "8234001"),
    A("8234001_ADT_823LLLL_26001.zip", "admissions", "ADT", "8234001", "school", "823", "823LLLL", "la", "823", "26001", None, "823LLLL"),
    A("823LLLL_ADT_330XXXX_26010.zip", "admissions", "ADT", "823LLLL", "la", "823", "330XXXX", "la_unknown_school", "330", "26010", None, "330LLLL"),
    # generic
    A("8231234_8232345_SENreport.zip", "generic", "GEN", "8231234", "school", "823", "8232345", "school", "823", None, "SENreport", "8232345"),
    A("8231234_8232345_a.zip", "generic", "GEN", "8231234", "school", "823", "8232345", "school", "823", None, "a", "8232345"),
    A("8231234_8232345_ABCDEFGHIJKLMNO.zip", "generic", "GEN", "8231234", "school", "823", "8232345", "school", "823", None, "ABCDEFGHIJKLMNO", "8232345"),
    A("8231234_823LLLL_exclusions-2026.zip", "generic", "GEN", "8231234", "school", "823", "823LLLL", "la", "823", None, "exclusions-2026", "823LLLL"),
    A("823LLLL_8232345_2026-01-15.zip", "generic", "GEN", "823LLLL", "la", "823", "8232345", "school", "823", None, "2026-01-15", "8232345"),
    A("823LLLL_330XXXX_CTF.zip", "generic", "GEN", "823LLLL", "la", "823", "330XXXX", "la_unknown_school", "330", None, "CTF", "330LLLL"),
    A("8231234_873LLLL_report.ZIP", "generic", "GEN", "8231234", "school", "823", "873LLLL", "la", "873", None, "report", "873LLLL"),
    A("8231234_8232345_---.zip", "generic", "GEN", "8231234", "school", "823", "8232345", "school", "823", None, "---", "8232345"),
    A("823LLLL_823LLLL_note.zip", "generic", "GEN", "823LLLL", "la", "823", "823LLLL", "la", "823", None, "note", "823LLLL"),
]
# fmt: on


class Refused(NamedTuple):
    name: str
    code: str
    suggestion: str | None


R = Refused
GOOD = "8231234_CTF_8232345_001.zip"
REFUSED = [
    # bad_extension
    R("8231234_CTF_8232345_001", "bad_extension", GOOD),
    R("8231234_CTF_8232345_001.XML", "bad_extension", GOOD),
    R("8231234_CTF_8232345_001.xml", "bad_extension", GOOD),
    R("823LLLL_ADT_8234001_26001.XML", "bad_extension", "823LLLL_ADT_8234001_26001.zip"),
    R("8231234_CTF_8232345_001.zip ", "bad_extension", GOOD),
    R("8231234_CTF_8232345_001.zip\n", "bad_extension", GOOD),
    R("8231234_ctf_823xxxx_001 (1).XML", "bad_extension", "8231234_CTF_823XXXX_001.zip"),
    R("8231234_CTF_8232345_001.zi", "bad_extension", None),
    R("8231234_CTF_8232345_001.7z", "bad_extension", None),
    R("8231234_CTF_8232345_001.zip.xml", "bad_extension", None),
    R("8231234_CTF_8232345_001.\uff5a\uff49\uff50", "bad_extension", None),  # full-width "zip"
    R("8231234_CTF_8232345_001.z\u0130p", "bad_extension", None),  # dotted capital I: lower() gives 2 chars
    R("report.pdf", "bad_extension", None),
    R("", "bad_extension", None),
    R("zip", "bad_extension", None),
    # bad_pattern: case of the type token, copy suffixes, spaces, ".XML.zip"
    R("8231234_ctf_8232345_001.zip", "bad_pattern", GOOD),
    R("8231234_Ctf_8232345_001.zip", "bad_pattern", GOOD),
    R("823LLLL_adt_8234001_26001.zip", "bad_pattern", "823LLLL_ADT_8234001_26001.zip"),
    R("8231234_atf_8234001_001.ZIP", "bad_pattern", "8231234_ATF_8234001_001.ZIP"),
    R("8231234_CTF_8232345_001 (1).zip", "bad_pattern", GOOD),
    R("8231234_CTF_8232345_001(2).zip", "bad_pattern", GOOD),
    R("8231234_CTF_8232345_001 - Copy.zip", "bad_pattern", GOOD),
    R("8231234_CTF_8232345_001 - Copy (3).zip", "bad_pattern", GOOD),
    R("8231234_CTF_8232345_001 - Copy - Copy.zip", "bad_pattern", GOOD),
    R("8231234_8232345_SENreport (12).zip", "bad_pattern", "8231234_8232345_SENreport.zip"),
    R("8231234_CTF_8232345_001.XML.zip", "bad_pattern", GOOD),
    R(" 8231234_CTF_8232345_001.zip", "bad_pattern", GOOD),
    R("8231234_CTF_8232345_001 .zip", "bad_pattern", GOOD),
    R("8231234_ctf_8232345_000.zip", "bad_pattern", None),  # the corrected name still fails
    R("8231234_CTF_8232345_000 (1).zip", "bad_pattern", None),
    R("823llll_adt_xxxxxxx_26001.zip", "bad_pattern", None),
    # bad_pattern: shapes
    R("8231234_CTF_8232345_001_1.zip", "bad_pattern", None),  # "_1" might be anything: no guess
    R("8231234_8232345_SEN_report.zip", "bad_pattern", None),
    R("8231234_CTF_8232345.zip", "bad_pattern", None),
    R("8231234_XYZ_8232345_001.zip", "bad_pattern", None),
    R("8231234__8232345_001.zip", "bad_pattern", None),
    R("_8231234_CTF_8232345_001.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_001_.zip", "bad_pattern", None),
    R("8231234.zip", "bad_pattern", None),
    R(".zip", "bad_pattern", None),
    R("8231234-CTF-8232345-001.zip", "bad_pattern", None),
    R("8231234_8232345_ABCDEFGHIJKLMNOP.zip", "bad_pattern", None),
    R("8231234_8232345_SEN report.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_001 copy.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_001.zip.zip", "bad_pattern", None),
    R("8231234_8232345_" + "a" * 90 + ".zip", "bad_pattern", None),
    R("8231234_CTF_8232345_" + "0" * 200 + ".zip", "bad_pattern", None),
    # bad_pattern: hostile or foreign characters
    R("8231234_CTF_8232345_00\u0661.zip", "bad_pattern", None),  # Arabic-Indic digit one
    R("\uff18231234_CTF_8232345_001.zip", "bad_pattern", None),  # full-width digit eight
    R("dir/8231234_CTF_8232345_001.zip", "bad_pattern", None),
    R("C:\\fakepath\\8231234_CTF_8232345_001.zip", "bad_pattern", None),
    R("../8231234_CTF_8232345_001.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_001\x00.zip", "bad_pattern", None),
    R("8231234_CTF_\t8232345_001.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_001\u200b.zip", "bad_pattern", None),
    R("8231234_CTF_8232345_0\u0301.zip", "bad_pattern", None),
    R("8231234_\u0421TF_8232345_001.zip", "bad_pattern", None),  # Cyrillic capital Es
    # bad_source
    R("82312345_CTF_8232345_001.zip", "bad_source", None),
    R("823123_CTF_8232345_001.zip", "bad_source", None),
    R("823llll_CTF_8232345_001.zip", "bad_source", "823LLLL_CTF_8232345_001.zip"),
    R("823Llll_ATF_8234001_001.zip", "bad_source", "823LLLL_ATF_8234001_001.zip"),
    R("823llll_8232345_note.zip", "bad_source", "823LLLL_8232345_note.zip"),
    R("823XXXX_CTF_8232345_001.zip", "bad_source", None),
    R("823xxxx_CTF_8232345_001.zip", "bad_source", None),
    R("XXXXXXX_CTF_8232345_001.zip", "bad_source", None),
    R("MMMMMMM_8232345_note.zip", "bad_source", None),
    R("ABCDEFG_CTF_8232345_001.zip", "bad_source", None),
    R("82LLLL_CTF_8232345_001.zip", "bad_source", None),
    R("823-1234_CTF_8232345_001.zip", "bad_source", None),
    R("823123a_CTF_8232345_001.zip", "bad_source", None),
    R("82312345_CTF_8232345_000.zip", "bad_source", None),  # before bad_sequence
    # unknown_la (source first, then destination; before bad_destination and bad_sequence)
    R("9991234_CTF_8232345_001.zip", "unknown_la", None),
    R("999LLLL_ADT_1114999_26001.zip", "unknown_la", None),  # the supplier's placeholder codes
    R("0001234_CTF_8232345_001.zip", "unknown_la", None),
    R("8041234_CTF_8232345_001.zip", "unknown_la", None),
    R("8231234_CTF_9992345_001.zip", "unknown_la", None),
    R("8231234_CTF_111LLLL_001.zip", "unknown_la", None),
    R("8231234_CTF_804XXXX_001.zip", "unknown_la", None),
    R("8231234_8342345_note.zip", "unknown_la", None),
    R("9991234_CTF_82345_001.zip", "unknown_la", None),
    R("9991234_CTF_8232345_000.zip", "unknown_la", None),
    R("8231234_CTF_999xxxx_001.zip", "bad_destination", None),  # case first; fixed, 999 is unknown
    # bad_destination
    R("8231234_CTF_823234_001.zip", "bad_destination", None),
    R("8231234_CTF_82323456_001.zip", "bad_destination", None),
    R("8231234_CTF_823llll_001.zip", "bad_destination", "8231234_CTF_823LLLL_001.zip"),
    R("8231234_CTF_823xxxx_001.zip", "bad_destination", "8231234_CTF_823XXXX_001.zip"),
    R("8231234_CTF_xxxxxxx_001.zip", "bad_destination", "8231234_CTF_XXXXXXX_001.zip"),
    R("8231234_CTF_mmmmmmm_001.zip", "bad_destination", "8231234_CTF_MMMMMMM_001.zip"),
    R("8231234_8232345xxxx_note.zip", "bad_destination", None),
    R("8231234_CTF_XXXXXX_001.zip", "bad_destination", None),
    R("8231234_CTF_823MMMM_001.zip", "bad_destination", None),
    R("8231234_CTF_LLLL823_001.zip", "bad_destination", None),
    R("8231234_ATF_XXXXXXX_001.zip", "bad_destination", None),
    R("8231234_ATF_xxxxxxx_001.zip", "bad_destination", None),
    R("823LLLL_ADT_MMMMMMM_26001.zip", "bad_destination", None),
    R("8231234_XXXXXXX_note.zip", "bad_destination", None),
    R("8231234_MMMMMMM_note.zip", "bad_destination", None),
    R("8231234_CTF_823234_000.zip", "bad_destination", None),  # before bad_sequence
    # bad_sequence
    R("8231234_CTF_8232345_000.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_01.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_0001.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_26001.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_1.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_abc.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_00a.zip", "bad_sequence", None),
    R("8231234_CTF_8232345_-01.zip", "bad_sequence", None),
    R("823LLLL_ATF_8234001_000.zip", "bad_sequence", None),
    R("823LLLL_ATF_8234001_26000.zip", "bad_sequence", None),
    R("823LLLL_ATF_8234001_2601.zip", "bad_sequence", None),
    R("823LLLL_ADT_8234001_001.zip", "bad_sequence", None),
    R("823LLLL_ASL_8234001_26000.zip", "bad_sequence", None),
    R("823LLLL_APT_8234001_260001.zip", "bad_sequence", None),
]


class Upload(NamedTuple):
    name: str
    sender: str
    upn: str | None
    code: str | None  # None: accepted


U = Upload
UPLOADS = [
    U("8231234_CTF_8232345_001.zip", "8231234", None, None),
    U("8231234_CTF_8232345_001.zip", "8231234", "", None),
    U("8231234_CTF_8232345_001.zip", "8231234", "H801200001001", None),  # not needed, valid: ignored
    U("8231234_CTF_8232345_001.zip", "8231234", "Q207000016049", "bad_upn"),  # not needed, but wrong
    U("823LLLL_ADT_8234001_26001.zip", "823LLLL", None, None),
    U("8231234_8232345_SENreport.zip", "8231234", None, None),
    U("8231234_CTF_8232345_001.zip", "8239999", None, "source_not_sender"),
    U("8231234_CTF_8232345_001.zip", "823LLLL", None, "source_not_sender"),  # an LA posing as its school
    U("823LLLL_CTF_8232345_001.zip", "8231234", None, "source_not_sender"),  # a school posing as its LA
    U("873LLLL_CTF_8232345_001.zip", "823LLLL", None, "source_not_sender"),
    U("8231234_8232345_note.zip", "DFE", None, "source_not_sender"),
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", None, "lpd_needs_upn"),
    U("8231234_CTF_MMMMMMM_001.zip", "8231234", "", "lpd_needs_upn"),
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "H801200001001", None),
    U("8231234_CTF_MMMMMMM_002.zip", "8231234", "B801200005001", None),
    U("823LLLL_CTF_XXXXXXX_001.zip", "823LLLL", "R674123101121", None),
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "X00180001701A", None),  # temporary UPN
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "Q207000016049", "bad_upn"),
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "h801200001001", "bad_upn"),  # callers upper-case
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "H80120000100", "bad_upn"),
    U("8231234_CTF_XXXXXXX_001.zip", "8231234", "H801200001001\n", "bad_upn"),
    # order: naming reasons, then source_not_sender, then the UPN
    U("8239999_CTF_8232345_000.zip", "8231234", None, "bad_sequence"),
    U("8239999_CTF_XXXXXXX_001.zip", "8231234", None, "source_not_sender"),
    U("8239999_CTF_XXXXXXX_001.zip", "8231234", "Q207000016049", "source_not_sender"),
    U("8231234_ctf_XXXXXXX_001.zip", "8231234", None, "bad_pattern"),
]


def _fields(parsed: ParsedName) -> Accepted:
    return Accepted(
        parsed.filename,
        parsed.family,
        parsed.file_type,
        parsed.source,
        parsed.source_kind,
        parsed.source_la,
        parsed.destination,
        parsed.dest_kind,
        parsed.dest_la,
        parsed.sequence,
        parsed.text,
        parsed.recipient_org,
    )


def test_the_matrix_covers_every_family_destination_and_reason() -> None:
    assert len(ACCEPTED) + len(REFUSED) + len(UPLOADS) >= 100
    assert {case.family for case in ACCEPTED} == {"ctf", "atf", "admissions", "generic"}
    assert {case.file_type for case in ACCEPTED} == {*FILE_TYPES, "GEN"}
    assert {case.dest_kind for case in ACCEPTED} == {
        "school",
        "la",
        "la_unknown_school",
        "lpd_unknown",
        "lpd_outside",
    }
    codes = {case.code for case in REFUSED} | {case.code for case in UPLOADS if case.code}
    assert codes == set(REASONS)
    names = [case.name for case in ACCEPTED] + [case.name for case in REFUSED]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.name for case in ACCEPTED])
def test_accepted_names_are_split_into_their_parts(case: Accepted) -> None:
    parsed = parse_filename(case.name)

    assert _fields(parsed) == case
    assert parsed.stem == case.name[:-4]
    assert parsed.is_lpd == (case.dest_kind in ("lpd_unknown", "lpd_outside"))
    assert parsed.single_entry == (case.family != "generic")
    assert parsed.expected_entry_name == case.name[:-4] + ".XML"
    assert suggest_name(case.name) is None


@pytest.mark.parametrize("case", REFUSED, ids=[repr(case.name)[1:-1][:60] for case in REFUSED])
def test_refused_names_carry_the_first_failing_reason_and_any_suggestion(case: Refused) -> None:
    with pytest.raises(NamingError) as caught:
        parse_filename(case.name)

    error = caught.value
    assert error.code == case.code
    assert error.suggestion == case.suggestion
    assert suggest_name(case.name) == case.suggestion
    assert error.message.endswith(".")
    assert error.message.isprintable()
    if case.suggestion is not None:
        assert case.suggestion in error.message
        parse_filename(case.suggestion)


@pytest.mark.parametrize("case", UPLOADS, ids=[f"{c.name}-{c.sender}-{c.upn!r}" for c in UPLOADS])
def test_upload_checks_sender_and_lpd_upn_after_the_name(case: Upload) -> None:
    if case.code is None:
        parsed = check_upload_name(case.name, case.sender, case.upn)
        assert parsed == parse_filename(case.name)
        return
    error_class = Forbidden if case.code == "source_not_sender" else NamingError
    with pytest.raises(error_class) as caught:
        check_upload_name(case.name, case.sender, case.upn)
    assert caught.value.code == case.code
    if case.upn:
        assert case.upn.strip() not in caught.value.message  # a UPN identifies a child: never echoed


@pytest.mark.parametrize(
    ("name", "sender", "words"),
    [
        ("8231234_CTF_8232345_001.zip", "8239999", ["8231234", "8239999", "your own LAESTAB"]),
        ("8231234_CTF_8232345_001.zip", "823LLLL", ["8231234", "823LLLL", "followed by LLLL"]),
        ("8231234_CTF_8232345_001.zip", "DFE", ["Only schools and local authorities"]),
    ],
)
def test_source_not_sender_names_both_organisations(name: str, sender: str, words: list[str]) -> None:
    with pytest.raises(Forbidden) as caught:
        check_upload_name(name, sender, None)

    for word in words:
        assert word in caught.value.message


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("8231234_CTF_8232345_001.XML", ["zip", "AES-256"]),
        ("8231234_CTF_8232345_001.xml ", ["XML file", GOOD]),
        ("8231234_CTF_8232345_001.zip ", ["after “.zip”", GOOD]),
        ("report.pdf", [".zip", "8231234_CTF_8232345_001.zip"]),
        ("8231234_CTF_8232345_001", ["already the encrypted zip", GOOD]),
        ("8231234_CTF_8232345_001 (1).zip", ["copy number", GOOD]),
        ("8231234_ctf_8232345_001.zip", ["capitals", "CTF"]),
        ("8231234_CTF_8232345_001\x00.zip", ["U+0000"]),
        ("dir/8231234_CTF_8232345_001.zip", ["folder separator"]),
        ("8231234_CTF_8232345_001_1.zip", ["too many parts"]),
        ("8231234_CTF_8232345.zip", ["8231234_CTF_8232345_001"]),
        ("8231234_8232345_ABCDEFGHIJKLMNOP.zip", ["16 characters", "at most 15"]),
        ("82312345_CTF_8232345_001.zip", ["7-digit LAESTAB", "LLLL"]),
        ("823XXXX_CTF_8232345_001.zip", ["only be a destination"]),
        ("9991234_CTF_8232345_001.zip", ["999", "not a local authority code"]),
        ("8231234_ATF_XXXXXXX_001.zip", ["Lost Pupils Database", "CTFs only"]),
        ("8231234_CTF_823234_001.zip", ["LAESTAB", "XXXXXXX", "MMMMMMM"]),
        ("8231234_CTF_8232345_000.zip", ["001"]),
        ("823LLLL_ADT_8234001_001.zip", ["two-digit year", "26001"]),
    ],
)
def test_messages_say_how_to_fix_the_name(name: str, words: list[str]) -> None:
    with pytest.raises(NamingError) as caught:
        parse_filename(name)

    for word in words:
        assert word in caught.value.message


@pytest.mark.parametrize(
    ("upn", "words"),
    [("Q207000016049", ["check letter", "mistyped"]), ("H80120000100", ["13 characters"])],
)
def test_bad_upn_messages_explain_without_echoing_the_upn(upn: str, words: list[str]) -> None:
    with pytest.raises(NamingError) as caught:
        check_upload_name("8231234_CTF_XXXXXXX_001.zip", "8231234", upn)

    assert caught.value.code == "bad_upn"
    assert upn not in caught.value.message
    for word in words:
        assert word in caught.value.message


def test_a_upn_on_an_ordinary_file_says_it_can_be_left_out() -> None:
    with pytest.raises(NamingError) as caught:
        check_upload_name("8231234_CTF_8232345_001.zip", "8231234", "Q207000016049")

    assert "leave it out" in caught.value.message


def test_parsed_names_are_immutable() -> None:
    parsed = parse_filename(GOOD)

    with pytest.raises(AttributeError):
        parsed.source = "8239999"  # type: ignore[misc]


# ---------------------------------------------------------------------------- LA codes

# docs/SERVICE.md's list, written out independently of the data file.
DOMAIN_LA_CODES = (
    "001-005 201-213 301-320 330-336 340-344 350-359 370-373 380-384 390-394 420 800-803 805-808 "
    "810-813 815 816 820-823 825 826 830 831 835-837 839 840 841 845 846 850-852 855-857 860 861 "
    "865-896 908 909 916 919 921 925 926 928 929 931 933 935-938 940 941 660-681 701-708 838 942 943"
)


def _expand(ranges: str) -> set[str]:
    codes: set[str] = set()
    for part in ranges.split():
        low, _, high = part.partition("-")
        codes.update(f"{n:03d}" for n in range(int(low), int(high or low) + 1))
    return codes


def test_the_data_file_holds_exactly_the_domain_list() -> None:
    expected = _expand(DOMAIN_LA_CODES)

    assert set(naming_rules()["la_codes"]) == expected
    assert all(known_la(code) for code in expected)
    assert not any(known_la(f"{n:03d}") for n in range(1000) if f"{n:03d}" not in expected)


@pytest.mark.parametrize(
    ("code", "confidence"),
    [
        ("823", "C"),
        ("001", "C"),
        ("420", "C"),
        ("839", "S"),
        ("838", "U"),
        ("942", "U"),
        ("943", "U"),
        ("660", "U"),
        ("681", "U"),
        ("701", "U"),
        ("708", "U"),
        ("999", None),
        ("804", None),
    ],
)
def test_la_codes_carry_their_confidence(code: str, confidence: str | None) -> None:
    assert la_code_confidence(code) == confidence


@pytest.mark.parametrize("code", ["", "82", "8231", "823\n", " 823", "\uff18\uff12\uff13", "\u0668\u0662\u0663", "abc"])
def test_only_three_ascii_digits_can_be_a_known_la(code: str) -> None:
    assert not known_la(code)


def test_the_la_code_list_reads_codes_ranges_comments_and_tags() -> None:
    text = "# header\n\n001-003   # pseudo\n839 # [S]\n 660 - 661 # [U] Wales\n"

    assert parse_la_codes(text) == {"001": "C", "002": "C", "003": "C", "839": "S", "660": "U", "661": "U"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("82", "line 1"),
        ("823\n82x", "line 2"),
        ("830-820", "backwards"),
        ("820-823\n821", "listed twice"),
        ("823, 824", "line 1"),
        ("\uff18\uff12\uff13", "line 1"),
    ],
)
def test_a_bad_edit_to_the_la_code_list_fails_loudly(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_la_codes(text)


def test_naming_rules_are_json_for_the_portal() -> None:
    rules = json.loads(json.dumps(naming_rules()))

    assert rules["reasons"] == list(REASONS)
    assert rules["max_length"] == MAX_NAME_LENGTH
    assert rules["families"]["admissions"]["types"] == ["ADT", "ASL", "APT", "AOT", "ALT"]
    assert rules["families"]["ctf"]["lpd_destinations"] is True
    assert rules["la_codes"]["823"] == "C"
    assert rules["la_codes"]["839"] == "S"
    assert re.fullmatch(rules["generic_text"]["pattern"], "SEN-report-2026")
    assert not re.fullmatch(rules["generic_text"]["pattern"], "SEN_report")
    assert re.fullmatch(rules["destination_patterns"]["la_unknown_school"], "823XXXX")


# ---------------------------------------------------------------------------- properties

LA_CODES = sorted(_expand(DOMAIN_LA_CODES))
known_las = st.sampled_from(LA_CODES)
establishments = st.from_regex(r"[0-9]{4}", fullmatch=True)
extensions = st.sampled_from([".zip", ".ZIP", ".Zip", ".zIp"])
nnn = st.integers(1, 999).map(lambda n: f"{n:03d}")
yynnn = st.tuples(st.integers(0, 99), st.integers(1, 999)).map(lambda t: f"{t[0]:02d}{t[1]:03d}")
generic_texts = st.from_regex(r"[A-Za-z0-9-]{1,15}", fullmatch=True)
copy_suffixes = st.sampled_from([" (1)", "(2)", " (10)", " - Copy", " - Copy (2)", " - copy"])
leading_spaces = st.sampled_from([" ", "  ", "\t"])
trailing_spaces = st.sampled_from(["", " ", "\r\n"])


@st.composite
def sources(draw: st.DrawFn) -> tuple[str, str, str]:
    la = draw(known_las)
    if draw(st.booleans()):
        return la + draw(establishments), "school", la
    return f"{la}LLLL", "la", la


@st.composite
def destinations(draw: st.DrawFn, family: str) -> tuple[str, str, str | None, str]:
    forms = ["school", "la", "la_unknown_school"]
    if family == "ctf":
        forms += ["lpd_unknown", "lpd_outside"]
    kind = draw(st.sampled_from(forms))
    la = draw(known_las)
    if kind == "school":
        school = la + draw(establishments)
        return school, kind, la, school
    if kind == "la":
        return f"{la}LLLL", kind, la, f"{la}LLLL"
    if kind == "la_unknown_school":
        return f"{la}XXXX", kind, la, f"{la}LLLL"
    return ("XXXXXXX" if kind == "lpd_unknown" else "MMMMMMM"), kind, None, "LPD"


@st.composite
def valid_names(draw: st.DrawFn) -> Accepted:
    file_type = draw(st.sampled_from([*FILE_TYPES, "GEN"]))
    family = FILE_TYPES.get(file_type, "generic")
    source, source_kind, source_la = draw(sources())
    destination, dest_kind, dest_la, recipient = draw(destinations(family))
    extension = draw(extensions)
    if family == "generic":
        text = draw(generic_texts)
        return Accepted(
            f"{source}_{destination}_{text}{extension}",
            family,
            file_type,
            source,
            source_kind,
            source_la,
            destination,
            dest_kind,
            dest_la,
            None,
            text,
            recipient,
        )
    sequence = draw({"ctf": nnn, "atf": nnn | yynnn, "admissions": yynnn}[family])
    return Accepted(
        f"{source}_{file_type}_{destination}_{sequence}{extension}",
        family,
        file_type,
        source,
        source_kind,
        source_la,
        destination,
        dest_kind,
        dest_la,
        sequence,
        None,
        recipient,
    )


@settings(max_examples=300, deadline=None)
@given(valid_names())
def test_every_valid_name_round_trips_to_its_parts(case: Accepted) -> None:
    parsed = parse_filename(case.name)

    assert _fields(parsed) == case
    assert suggest_name(case.name) is None


def _lower_a_token(name: str, index: int) -> str:
    stem, extension = name[:-4], name[-4:]
    tokens = stem.split("_")
    tokens[index] = tokens[index].lower()
    return "_".join(tokens) + extension


@settings(max_examples=300, deadline=None)
@given(valid_names(), st.data())
def test_a_damaged_valid_name_is_refused_with_the_repair_suggested(case: Accepted, data: st.DataObject) -> None:
    name = case.name
    stem = name[:-4]
    damages = {
        "copy suffix": (stem + data.draw(copy_suffixes) + name[-4:], name),
        "spaces": (data.draw(leading_spaces) + name + data.draw(trailing_spaces), name),
        "no extension": (stem, stem + ".zip"),
        "unzipped": (stem + data.draw(st.sampled_from([".XML", ".xml"])), stem + ".zip"),
        "macOS archive name": (stem + ".XML" + name[-4:], name),
    }
    tokens = stem.split("_")
    # Sender, type and destination; never a generic description, whose case is free.
    upper_tokens = [i for i in range(len(tokens) - 1) if tokens[i].lower() != tokens[i]]
    if upper_tokens:
        damages["lower case"] = (_lower_a_token(name, data.draw(st.sampled_from(upper_tokens))), name)
    damaged, expected = damages[data.draw(st.sampled_from(sorted(damages)))]

    with pytest.raises(NamingError) as caught:
        parse_filename(damaged)

    assert caught.value.suggestion == expected
    assert _fields(parse_filename(expected))[1:] == case[1:]


# Characters names are made of, and a few that must never pass (an Arabic-Indic digit, NUL, "/").
names_alphabet = st.sampled_from([*"0123456789_LXMCTFADSPOlxmctf -().zipZIPXMLxml", "\u0661", "\x00", "/"])


@st.composite
def near_valid_names(draw: st.DrawFn) -> str:
    """A valid name after one to four random edits: a character's case swapped, a character
    inserted or deleted, a copy suffix, spaces, or the extension changed."""
    name = draw(valid_names()).name
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["swapcase", "insert", "delete", "copy", "spaces", "extension"]))
        at = draw(st.integers(0, len(name)))
        if edit == "swapcase" and at < len(name):
            name = name[:at] + name[at].swapcase() + name[at + 1 :]
        elif edit == "insert":
            name = name[:at] + draw(names_alphabet) + name[at:]
        elif edit == "delete":
            name = name[:at] + name[at + 1 :]
        elif edit == "copy":
            name = name[:-4] + draw(copy_suffixes) + name[-4:]
        elif edit == "spaces":
            name = draw(leading_spaces) + name + draw(trailing_spaces)
        elif edit == "extension":
            name = name[:-4] + draw(st.sampled_from(["", ".XML", ".xml", ".XML.zip", ".zip.zip", ".7z"]))
    return name


any_names = st.one_of(st.text(max_size=60), st.text(names_alphabet, max_size=40), near_valid_names())


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_names)
def test_suggestions_always_parse_and_refusals_use_known_codes(name: str) -> None:
    suggestion = suggest_name(name)
    try:
        parse_filename(name)
    except NamingError as error:
        assert error.code in REASONS
        assert error.suggestion == suggestion
    else:
        assert suggestion is None
    if suggestion is not None:
        parsed = parse_filename(suggestion)
        assert parsed.filename == suggestion


def test_check_upload_name_takes_the_documented_keywords() -> None:
    parsed = check_upload_name(name=GOOD, sender_org="8231234", upn=None)

    assert parsed.recipient_org == "8232345"


# ---------------------------------------------------------------- docs/SERVICE.md §2: the character rule

_STEM = "8231234_CTF_8232345_001"


@pytest.mark.parametrize(
    ("name", "named"),
    [
        (f"{_STEM} (1).zip", "“ (1)”"),
        (f"{_STEM} - Copy.zip", "“ - Copy”"),
        ("8231234 CTF_8232345_001.zip", "a space"),
        (f"{_STEM}.xml.zip", "a full stop (“.”)"),
        (f"a/{_STEM}.zip", "(“/”)"),
        ("8231234\\_CTF_8232345_001.zip", "(“\\”)"),
        (f"{_STEM}\x01.zip", "U+0001"),
        (f"{_STEM}\x7f.zip", "U+007F"),
        ("8231234_CTF_8232345_00\u200b1.zip", "U+200B"),  # zero-width space
        (f"{_STEM}\u202e.zip", "U+202E"),  # right-to-left override
        (f"{_STEM}\u00a0.zip", "U+00A0"),  # non-breaking space at the end
        (f"\u00a0{_STEM}.zip", "U+00A0"),
        ("8231234_CTF_82\u04172345_001.zip", "“\u0417” (U+0417)"),  # Cyrillic look-alike of 3
        ("8231234_CTF_\uff18232345_001.zip", "(U+FF18)"),  # full-width 8
        ("8231234_8232345_SENr\u00e9.zip", "“é” (U+00E9)"),
        ("8231234_8232345_SEN!.zip", "“!”"),
        # a long name is told its wrong character, not only its length
        ("8231234_8232345_" + "x" * 90 + "!.zip", "“!”"),
    ],
)
def test_a_character_outside_the_protocol_is_bad_pattern_and_named(name: str, named: str) -> None:
    with pytest.raises(NamingError) as caught:
        parse_filename(name)

    assert caught.value.code == "bad_pattern"
    assert named in caught.value.message


@pytest.mark.parametrize(
    "name",
    ["8231234__CTF_8232345_001.zip", "_8231234_CTF_8232345_001.zip", "8231234_CTF_8232345_001_.zip", "8231234__x.zip"],
)
def test_an_empty_token_is_bad_pattern(name: str) -> None:
    with pytest.raises(NamingError) as caught:
        parse_filename(name)

    assert caught.value.code == "bad_pattern"
    assert "two underscores together" in caught.value.message
