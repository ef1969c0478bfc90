"""The `s2s` client, in-process through `main([...])`, against the local stack subprocess: each
command's happy path and an error path with its exit code (1 refused, 2 usage, 3 cannot connect),
and `s2s pack` (header checked against the name; the zip is AES-256 and opens with the password)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from localstack import LA, SCHOOL_A, SCHOOL_B, Stack, wait_for
from s2s_cli.local import auth
from s2s_cli.main import main

pytestmark = pytest.mark.local

PASSWORD = "a long enough password"


def ctf(
    source: tuple[str, str] = ("823", "1234"), dest: tuple[str, str] = ("823", "2345"), root: str = "CTfile"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}><Header><DocumentName>Common Transfer File'
        f"</DocumentName><SourceSchool><LEA>{source[0]}</LEA><Estab>{source[1]}</Estab><SchoolName>A"
        f"</SchoolName></SourceSchool><DestSchool><LEA>{dest[0]}</LEA><Estab>{dest[1]}</Estab></DestSchool>"
        f"</Header><CTFpupilData><Pupil><UPN>A823123426001</UPN></Pupil></CTFpupilData></{root}>"
    ).encode()


class Cli:
    """Runs `s2s` with the stack's API and a token for `who`; returns (exit code, stdout, stderr)."""

    def __init__(self, stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
        self.stack = stack
        self.capsys = capsys

    def __call__(self, *args: str, who: str | None = SCHOOL_A, api: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        prefix = ["--api", api or self.stack.api]
        if who is not None:
            if who == "dfe":
                token = self.stack.token("dfe", None)
            elif len(who) == 3:
                token = self.stack.token("la", who)
            else:
                token = self.stack.school(who)
            prefix += ["--token", token]
        code = main([*prefix, *args])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(stack: Stack, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(stack, capsys)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def packed(cli: Cli, tmp_path: Path, password_file: Path, sequence: str) -> Path:
    xml = tmp_path / f"8231234_CTF_8232345_{sequence}.XML"
    xml.write_bytes(ctf())
    code, out, err = cli("pack", str(xml), "--password-file", str(password_file), who=None)
    assert code == 0, err
    return Path(out.strip())


def sent(cli: Cli, zip_path: Path) -> str:
    code, out, err = cli("send", str(zip_path), "--wait")
    assert code == 0, err
    assert out.strip().endswith("available")
    return out.split()[0]


# ------------------------------------------------------------------------------------------ pack


def test_pack_writes_an_aes256_zip_that_opens_with_the_password(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    target = packed(cli, tmp_path, password_file, "201")
    assert target == tmp_path / "8231234_CTF_8232345_201.zip"
    with zipfile.ZipFile(target) as plain:
        (info,) = plain.infolist()
    assert info.filename == "8231234_CTF_8232345_201.XML"
    assert info.compress_type == 99 and info.flag_bits & 0x1
    extra = info.extra
    at = extra.index(b"\x01\x99")
    assert extra[at + 4 + 4] == 3  # AE-x strength byte: 3 is AES-256
    with pyzipper.AESZipFile(target) as archive:
        archive.setpassword(PASSWORD.encode())
        assert archive.read(info.filename) == ctf()
        archive.setpassword(b"wrong password")
        with pytest.raises(RuntimeError):
            archive.read(info.filename)


@pytest.mark.parametrize(
    ("xml", "needle"),
    [
        (ctf(dest=("823", "9999")), "DestSchool is 8239999"),
        (ctf(source=("330", "1234")), "SourceSchool is 3301234"),
        (ctf(root="ATfile"), "root element is ATfile"),
        (b"<CTfile><Header>", "not well-formed"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><CTfile>&a;</CTfile>', "safely"),
    ],
)
def test_pack_refuses_a_header_that_disagrees_with_the_name(
    cli: Cli, tmp_path: Path, password_file: Path, xml: bytes, needle: str
) -> None:
    path = tmp_path / "8231234_CTF_8232345_202.XML"
    path.write_bytes(xml)
    code, _, err = cli("pack", str(path), "--password-file", str(password_file), who=None)
    assert code == 1 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "8231234_CTF_8232345_202.zip").exists()


def test_pack_refuses_a_bad_name_and_a_missing_file(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    path = tmp_path / "8231234_CTF_8232345_000.XML"
    path.write_bytes(ctf())
    code, _, err = cli("pack", str(path), "--password-file", str(password_file), who=None)
    assert code == 1 and "bad_sequence" in err
    code, _, err = cli("pack", str(tmp_path / "missing.XML"), "--password-file", str(password_file), who=None)
    assert code == 2 and "no such file" in err


# ------------------------------------------------------------------------------------------ transfers


def test_send_show_inbox_outbox_download_remove(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    zip_path = packed(cli, tmp_path, password_file, "203")
    transfer_id = sent(cli, zip_path)

    code, out, _ = cli("outbox")
    assert code == 0 and transfer_id in out and "8232345" in out
    code, out, _ = cli("inbox", "--json", who=SCHOOL_B)
    assert code == 0 and transfer_id in [item["transfer_id"] for item in json.loads(out)]

    folder = tmp_path / "downloads"
    folder.mkdir()
    code, out, err = cli("download", transfer_id, "-o", str(folder), who=SCHOOL_B)
    assert code == 0, err
    assert Path(out.strip()).read_bytes() == zip_path.read_bytes()

    code, out, _ = cli("show", transfer_id)
    assert code == 0 and "downloaded" in out and f"({SCHOOL_B})" in out

    code, out, _ = cli("remove", transfer_id, who=SCHOOL_B)
    assert code == 0 and "removed" in out
    code, out, _ = cli("inbox", "--status", "removed", "--json", who=SCHOOL_B)
    assert code == 0


def test_transfer_commands_refuse_with_the_service_code(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    zip_path = packed(cli, tmp_path, password_file, "204")
    transfer_id = sent(cli, zip_path)
    # The sender cannot download what it sent.
    code, _, err = cli("download", transfer_id, "-o", str(tmp_path), who=SCHOOL_A)
    assert code == 1 and "not_recipient" in err
    # Another school does not see it at all.
    code, _, err = cli("show", transfer_id, who="8233456")
    assert code == 1 and "not_found" in err
    code, _, err = cli("remove", "no-such-id")
    assert code == 1 and "not_found" in err


def test_send_a_misnamed_file_and_an_unencrypted_zip(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "8231234_ctf_8232345_205.zip"
    bad.write_bytes(b"PK")
    code, _, err = cli("send", str(bad))
    assert code == 1 and "refused:" in err and "8231234_CTF_8232345_205.zip" in err

    plain = tmp_path / "8231234_CTF_8232345_206.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("8231234_CTF_8232345_206.XML", ctf())
    code, out, _ = cli("send", str(plain), "--wait")
    assert code == 1 and "rejected: not_encrypted" in out


def test_usage_and_connection_errors(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("inbox", who=None)
    assert code == 2 and "S2S_TOKEN" in err
    code, _, err = cli("inbox", api="http://127.0.0.1:9")
    assert code == 3 and "cannot connect" in err
    code, _, err = cli("--token", "not-a-token", "outbox", who=None)
    assert code == 1 and "unauthorized" in err
    code, _, _ = cli("send", str(tmp_path / "nothing.zip"))
    assert code == 2
    # The connection options may also follow the command.
    code, out, _ = cli(
        "outbox", "--api", cli.stack.api, "--token", cli.stack.school(SCHOOL_A), who=None, api="http://127.0.0.1:9"
    )
    assert code == 0 and out


# ------------------------------------------------------------------------------------------ others


def test_subscribe_on_and_off(cli: Cli, stack: Stack) -> None:
    code, out, _ = cli("subscribe", who="8234567")
    assert code == 0 and out.startswith("Emails on for 8234567")
    code, out, _ = cli("subscribe", "--off", who="8234567")
    assert code == 0 and out.startswith("Emails off")
    code, _, err = cli("subscribe", who="dfe")
    assert code == 1 and "role_not_allowed" in err


def test_report_table_csv_and_refusal(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    sent(cli, packed(cli, tmp_path, password_file, "207"))
    code, out, err = cli("report", "--group-by", "school", who=LA)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:2] == ["School", "Name"]
    assert any(line.startswith(SCHOOL_A) for line in lines) and lines[-1].startswith("Total")
    code, out, _ = cli("report", "--csv", who=LA)
    assert code == 0 and out.splitlines()[0].startswith("month,")
    code, _, err = cli("report", "--la", "330", who=LA)
    assert code == 1 and "refused:" in err


def test_lost_pupils_with_no_files_and_a_bad_upn(cli: Cli) -> None:
    code, out, err = cli("lost-pupils", "M823123426001", who="201")
    assert code == 0, err
    assert out.strip() == "No Lost Pupils Database files for M823123426001."
    code, _, err = cli("lost-pupils", "not-a-upn", who=LA)
    assert code == 1 and "bad_upn" in err


def test_lost_pupils_finds_a_file_sent_to_the_lpd(cli: Cli, tmp_path: Path) -> None:
    # A school of another LA than the other tests use, so this file stays out of their lists.
    upn = "M823123426001"
    zip_path = tmp_path / "3301234_CTF_XXXXXXX_001.zip"
    with pyzipper.AESZipFile(zip_path, "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(PASSWORD.encode())
        archive.writestr("3301234_CTF_XXXXXXX_001.XML", ctf(source=("330", "1234")))
    code, out, err = cli("send", str(zip_path), "--upn", upn, "--wait", who="3301234")
    assert code == 0, err
    transfer_id = out.split()[0]
    code, out, err = cli("lost-pupils", upn, who="330")
    assert code == 0, err
    assert transfer_id in out and "3301234_CTF_XXXXXXX_001.zip" in out


def test_uln_find_search_register_update(cli: Cli) -> None:
    code, out, err = cli("uln", "find", "9276308686", "--given-name", "Amelia", "--family-name", "Hart")
    assert code == 0, err
    assert json.loads(out)["learner"]["uln"] == "9276308686"
    code, out, err = cli(
        "uln",
        "search",
        "--given-name",
        "Amelia",
        "--family-name",
        "Hart",
        "--dob",
        "2010-04-12",
        "--gender",
        "2",
        "--postcode",
        "LU5 4QA",
    )
    assert code == 0, err
    assert json.loads(out)["match"] == "exact"
    code, out, err = cli(
        "uln",
        "register",
        "--given-name",
        "Grace",
        "--family-name",
        "Okafor",
        "--dob",
        "2012-06-01",
        "--gender",
        "2",
        "--postcode",
        "MK45 2DD",
        "--verification-type",
        "1",
        "--ability-to-share",
        "1",
    )
    assert code == 0, err
    new_uln = json.loads(out)["uln"]
    code, out, err = cli("uln", "update", new_uln, "--postcode", "SG18 8AB")
    assert code == 0, err
    assert json.loads(out)["uln"] == new_uln
    code, _, err = cli(
        "uln",
        "search",
        "--given-name",
        "Nobody",
        "--family-name",
        "Known",
        "--dob",
        "2010-01-01",
        "--gender",
        "1",
        "--postcode",
        "LU5 4QA",
    )
    assert code == 1 and "learner_not_found" in err
    code, _, err = cli("uln", "update", new_uln)
    assert code == 2 and "nothing to update" in err


def test_local_token_is_accepted_and_checks_its_input(cli: Cli, stack: Stack) -> None:
    code, out, _ = cli(
        "local", "token", "--la", LA, "--email", "me@la.example", "--data-dir", str(stack.data_dir), who=None
    )
    assert code == 0
    claims: dict[str, Any] = auth.verify_token(auth.load_or_create_key(stack.data_dir), out.strip())
    assert json.loads(claims["organisation"])["localAuthority"]["code"] == LA
    assert claims["email"] == "me@la.example"
    assert stack.call("GET", "/transfers", out.strip(), params={"box": "la"}).status_code == 200
    code, _, err = cli("local", "token", "--school", "82312", "--data-dir", str(stack.data_dir), who=None)
    assert code == 2 and "LAESTAB" in err


def test_an_email_arrives_for_a_subscriber(cli: Cli, stack: Stack, tmp_path: Path, password_file: Path) -> None:
    assert cli("subscribe", who=SCHOOL_B)[0] == 0
    before = set(stack.mail_dir.glob("*.eml"))
    sent(cli, packed(cli, tmp_path, password_file, "208"))
    new = wait_for(lambda: set(stack.mail_dir.glob("*.eml")) - before)
    assert any("8231234_CTF_8232345_208.zip" in path.read_text(errors="replace") for path in new)


def test_download_refuses_bytes_whose_sha256_differs(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    from s2s_cli.client import S2SClient, ServiceRefused

    transfer_id = sent(cli, packed(cli, tmp_path, password_file, "209"))
    client = S2SClient(cli.stack.api, cli.stack.school(SCHOOL_B), show_progress=False)
    folder = tmp_path / "in"
    folder.mkdir()
    with pytest.raises(ServiceRefused) as refused:
        client.download(transfer_id, folder, "0" * 64, "8231234_CTF_8232345_209.zip")
    assert refused.value.code == "checksum_mismatch"
    assert list(folder.iterdir()) == []
