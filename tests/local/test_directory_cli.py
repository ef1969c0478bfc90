"""Find a school with the `s2s` client against the local stack (docs/SERVICE.md §12): the stack
starts with the fictional sample loaded; `s2s directory search|show`; `s2s send` refuses a closed
school's file with the renamed one and warns of an unknown school before uploading; `s2s directory
import` loads new files through the stack's bucket and returns once searches answer from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pyzipper
from local.test_cli import Cli
from localstack import Stack
from s2s_cli.directory_sample import edubase_bytes, generate, links_bytes, sample_files
from support.directory import CLOSED, ST_MARYS, SUCCESSOR, UNKNOWN

pytestmark = pytest.mark.local

A = "8231234"


@pytest.fixture
def cli(stack: Stack, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(stack, capsys)


def zip_named(tmp_path: Path, stem: str) -> Path:
    path = tmp_path / f"{stem}.zip"
    with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"a long enough password")
        archive.writestr(f"{stem}.XML", b"<CTfile><Header/></CTfile>")
    return path


def test_search_finds_a_school_by_name_and_show_names_its_successor(cli: Cli) -> None:
    code, out, err = cli("directory", "search", "saint", "marys", "c", "of", "e", "--la", "823")
    assert code == 0, err
    assert ST_MARYS in out and "St Mary's C of E Primary School" in out

    code, out, err = cli("directory", "search", "hillside", "primary", "--la", "823", "--json")
    assert code == 0, err
    found = json.loads(out)
    assert [i["laestab"] for i in found["items"]][:2] == [SUCCESSOR, CLOSED]

    code, out, err = cli("directory", "show", CLOSED)
    assert code == 0, err
    assert "Hillside Primary School (8233001)" in out
    assert "Successors:" in out and f"Hillside Primary Academy ({SUCCESSOR})" in out
    assert cli("directory", "show", UNKNOWN)[0] == 1


def test_send_refuses_a_closed_schools_file_with_the_new_name_and_warns_of_an_unknown_one(
    cli: Cli, tmp_path: Path
) -> None:
    code, out, err = cli("send", str(zip_named(tmp_path, f"{A}_CTF_{CLOSED}_001")))
    assert code == 1
    assert "closed_destination" in err and f"{A}_CTF_{SUCCESSOR}_001.zip" in err
    assert out == ""  # nothing was uploaded

    code, out, err = cli("send", str(zip_named(tmp_path, f"{A}_CTF_{UNKNOWN}_001")), "--wait")
    assert code == 0, err
    assert f"warning: the establishment directory does not know {UNKNOWN}" in err
    assert out.strip().endswith("available")


def test_import_loads_new_files_reports_refused_rows_and_the_sample_comes_back(
    cli: Cli, stack: Stack, tmp_path: Path
) -> None:
    rows, links = generate(60, 5)
    edubase = tmp_path / "edubasealldata20261203.csv"
    edubase.write_bytes(edubase_bytes(rows) + b"100999,999,1000,Nowhere School,Other,Primary,Open,,,,,,,\r\n")
    links_file = tmp_path / "links_edubasealldata20261203.csv"
    links_file.write_bytes(links_bytes(links))

    code, out, err = cli("directory", "import", str(edubase), "--links", str(links_file), "--data-dir",
                         str(stack.data_dir), who=None)  # fmt: skip
    assert code == 1  # 60 establishments where the sample has 300: refused unless accepted
    assert "fewer than 90% of the 300" in out and "--accept-smaller" in out
    assert json.loads(cli("directory", "search", "--la", "823", "--json")[1])["directory"]["establishments"] == 300
    code, out, err = cli("directory", "import", str(edubase), "--links", str(links_file), "--data-dir",
                         str(stack.data_dir), "--accept-smaller", who=None)  # fmt: skip
    assert code == 0, err
    assert "Imported 60 establishments" in out and "1 rows refused" in out
    assert f"line {len(rows) + 2}: unknown_la" in out
    code, out, err = cli("directory", "search", "--la", "823", "--json")
    assert json.loads(out)["directory"]["establishments"] == 60

    again = cli("directory", "import", str(edubase), "--links", str(links_file), "--data-dir", str(stack.data_dir),
                "--json", who=None)  # fmt: skip
    assert again[0] == 0 and json.loads(again[1])["accepted"] == 60

    sample, sample_links = sample_files()
    code, out, err = cli("directory", "import", str(sample), "--links", str(sample_links), "--data-dir",
                         str(stack.data_dir), who=None)  # fmt: skip
    assert code == 0, err
    assert "Imported 300 establishments" in out
    assert json.loads(cli("directory", "search", "--la", "823", "--json")[1])["directory"]["establishments"] == 300


def test_import_refuses_a_file_that_is_not_the_gias_download(cli: Cli, stack: Stack, tmp_path: Path) -> None:
    wrong = tmp_path / "schools.csv"
    wrong.write_text("Name,Town\r\nA School,Sampletown\r\n")

    code, out, _ = cli("directory", "import", str(wrong), "--data-dir", str(stack.data_dir), who=None)

    assert code == 1
    assert "schools.csv was not imported" in out and "URN" in out
    assert json.loads(cli("directory", "search", "--la", "823", "--json")[1])["directory"] is not None
