"""The establishment directory's rules (s2s.domain.directory): reading GIAS bytes in either
encoding as a stream, checking rows, folding names, the successor chain, the search's order and
the successor's file name."""

from __future__ import annotations

import pytest
from s2s.domain.directory import (
    Establishment,
    ImportReport,
    Link,
    Load,
    Refusal,
    build_load,
    decode_line,
    fold_words,
    normalise_postcode,
    read_establishments,
    read_links,
    readdressed,
    text_lines,
    version_of,
)

pytestmark = pytest.mark.unit

HEADER = (
    "URN,LA (code),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),"
    "PhaseOfEducation (name),EstablishmentStatus (name),OpenDate,CloseDate,Postcode\r\n"
)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("St Mary's C of E Primary School", "saint marys ce primary school"),
        ("ST. MARY’S C.E. PRIMARY", "st marys c of e primary"),
        ("Saint Mary's CofE Primary", "St Mary's Church of England Primary"),
        ("Sainte-Thérèse Catholic Primary", "sainte therese catholic primary"),
        ("Fox & Hounds Infants", "fox and hounds infants"),
    ],
)
def test_spellings_of_the_same_name_fold_to_the_same_words(name: str, query: str) -> None:
    assert fold_words(name) == fold_words(query)


def test_folding_keeps_words_that_only_look_alike_apart() -> None:
    assert fold_words("Cefn Primary") == ["cefn", "primary"]
    assert fold_words("C E Academy") == ["ce", "academy"]
    assert fold_words("Stanton") == ["stanton"]


def test_lines_decode_as_utf8_else_windows_1252_across_chunk_boundaries() -> None:
    data = (HEADER + "1,823,1000,Thérèse School,,,Open,,,\r\n").encode("cp1252")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # a chunk ends inside a line and a character
    lines = list(text_lines(chunks))
    assert lines[1].startswith("1,823,1000,Thérèse School")
    assert decode_line("é".encode()) == "é" and decode_line(b"\xe9") == "é"
    assert list(text_lines([b"\xef\xbb\xbfURN\r\n", b"1"])) == ["URN\r\n", "1"]


def test_a_row_is_refused_with_the_line_it_ends_on() -> None:
    text = HEADER + '100001,823,1001,"A ""quoted""\nname",x,y,Open,,,\r\n100002,823,10,B,x,y,Open,,,\r\n'
    rows = list(read_establishments(text_lines([text.encode()])))
    assert isinstance(rows[0], Establishment) and rows[0].name == 'A "quoted" name'
    assert rows[1] == Refusal(
        4, "bad_establishment_number", "EstablishmentNumber “10” is not 4 digits, so the row has no LAESTAB"
    )


def test_dates_and_postcodes_are_normalised() -> None:
    text = HEADER + "100001,823,1001,A,x,y,Closed,1-9-1990,2024-08-31, mk451ab \r\n"
    (row,) = list(read_establishments(text_lines([text.encode()])))
    assert isinstance(row, Establishment)
    assert (row.laestab, row.open_date, row.close_date, row.postcode) == (
        "8231001",
        "1990-09-01",
        "2024-08-31",
        "MK45 1AB",
    )
    assert normalise_postcode("not a  postcode") == "NOT A POST"  # kept as given, squeezed, at most 10


def test_links_read_both_directions_and_skip_other_types() -> None:
    text = "URN,LinkURN,LinkType\r\n100001,100002,Successor\r\n100003,100002,Predecessor - merged\r\n100004,100005,Sixth form centre link\r\n"
    assert list(read_links(text_lines([text.encode()]))) == [Link("100001", "100002"), Link("100002", "100003")]


def _row(
    number: str, name: str, status: str = "Open", urn: str | None = None, closed: str | None = None
) -> Establishment:
    return Establishment(
        laestab="823" + number, urn=urn or "10" + number, name=name, la="823", la_name="Central Bedfordshire",
        type="", phase="", status=status, open_date=None, close_date=closed, postcode="",
    )  # fmt: skip


def _load(rows: list[Establishment], links: list[tuple[str, str]] = ()) -> tuple[Load, ImportReport]:
    report = ImportReport()
    load = build_load("v1", rows, [Link(a, b) for a, b in links], report)
    return load, report


def test_the_successor_chain_leads_to_one_open_school_and_a_split_or_a_loop_to_none() -> None:
    rows = [
        _row("1001", "Old", "Closed"), _row("1002", "Middle", "Closed"), _row("1003", "New"),
        _row("2001", "Split", "Closed"), _row("2002", "North"), _row("2003", "South"),
        _row("3001", "Loop A", "Closed"), _row("3002", "Loop B", "Closed"),
    ]  # fmt: skip
    links = [("101001", "101002"), ("101002", "101003"), ("102001", "102002"), ("102001", "102003")]
    links += [("103001", "103002"), ("103002", "103001"), ("999999", "101003")]  # a loop; an unknown URN
    load, report = _load(rows, links)
    assert load.get("8231001")["open_successor"] == "8231003"
    assert load.get("8232001")["open_successor"] is None
    assert load.get("8233001")["open_successor"] is None
    assert load.get("8231003")["predecessors"] == ["8231002"]
    assert report.links == 6


def test_two_rows_with_one_laestab_keep_the_open_one_and_both_urns() -> None:
    load, report = _load([_row("1001", "Closed one", "Closed", urn="100001"), _row("1001", "Open one", urn="100002")])
    assert report.duplicates == 1 and len(load.records) == 1
    assert load.get("8231001")["name"] == "Open one"
    assert [load.records[i]["laestab"] for i in load.search("100001")] == ["8231001"]


def test_search_puts_whole_words_first_then_open_before_closed_then_by_name() -> None:
    load, _ = _load(
        [_row("1001", "Oakfield School", "Closed"), _row("1002", "Oakfield Academy"), _row("1003", "Oaks School")]
    )
    names = [load.records[i]["name"] for i in load.search("oakfield")]
    assert names == ["Oakfield Academy", "Oakfield School"]
    assert [load.records[i]["name"] for i in load.search("oak")] == [
        "Oakfield Academy",
        "Oaks School",
        "Oakfield School",
    ]
    assert load.search("oakfield", status="closed") == [load.by_laestab["8231001"]]


def test_a_load_written_and_read_back_searches_the_same() -> None:
    load, _ = _load([_row("1001", "Oakfield School"), _row("1002", "Brook Academy")])
    again = Load.from_search_document(load.search_document())
    assert again.search("brook") == load.search("brook") and again.version == "v1"


@pytest.mark.parametrize(
    ("name", "renamed"),
    [
        ("8231234_CTF_8233001_001.zip", "8231234_CTF_8234001_001.zip"),
        ("8231234_ATF_8233001_26001.ZIP", "8231234_ATF_8234001_26001.ZIP"),
        ("8231234_8233001_SEN-notes.zip", "8231234_8234001_SEN-notes.zip"),
        ("not a name.zip", None),
    ],
)
def test_the_file_renamed_for_the_successor(name: str, renamed: str | None) -> None:
    assert readdressed(name, "8234001") == renamed


def test_the_same_files_give_the_same_version() -> None:
    assert version_of("a" * 64, None) == version_of("a" * 64, None) != version_of("a" * 64, "b" * 64)
