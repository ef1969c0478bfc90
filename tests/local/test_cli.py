"""The `s2s` client, in-process through `main([...])`, against the local stack subprocess: each
command's happy path and an error path with its exit code (1 refused, 2 usage, 3 cannot connect),
and `s2s pack` (header checked against the name; the zip is AES-256 and opens with the password)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from localstack import LA, ROOT, SCHOOL_A, SCHOOL_B, Stack, wait_for
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
    assert code == 0 and "Downloaded" in out and f"school {SCHOOL_B}" in out

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
    assert code == 1 and "token_invalid" in err
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
    code, out, err = cli("uln", "find", "9276308686", "--given-name", "Amelia", "--family-name", "Hart", "--json")
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
        "--json",
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
        "--json",
    )
    assert code == 0, err
    new_uln = json.loads(out)["uln"]
    code, out, err = cli("uln", "update", new_uln, "--postcode", "SG18 8AB", "--json")
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


def test_the_local_stack_registers_each_organisation_with_the_fake_lrs_and_the_cli_manages_it(
    cli: Cli, tmp_path: Path
) -> None:
    school = "8237001"  # used by no other test: its registration is changed here
    code, out, err = cli("uln", "registration", "--json", who=school)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["registered"] is True and shown["username"] == "s2s-local"  # no set-up needed

    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not-the-lrs-password\n")
    code, out, err = cli(
        "uln",
        "registration",
        "--ukprn",
        "10000001",
        "--username",
        "s2s-local",
        "--password-file",
        str(wrong),
        who=school,
    )
    assert code == 1 and "lrs_credentials_refused" in err
    assert "not-the-lrs-password" not in out + err

    code, out, err = cli("uln", "registration", "--forget", who=school)
    assert code == 0, err
    code, out, err = cli("uln", "registration", who=school)
    assert code == 0 and "no LRS account" in out
    code, out, err = cli("uln", "find", "9276308686", "--given-name", "Amelia", "--family-name", "Hart", who=school)
    assert code == 1 and "lrs_not_registered" in err and "LRS Organisation Portal" in err

    right = tmp_path / "right.txt"
    right.write_text("local-lrs-password\n")
    code, out, err = cli(
        "uln",
        "registration",
        "--ukprn",
        "10000001",
        "--username",
        "s2s-local",
        "--password-file",
        str(right),
        who=school,
    )
    assert code == 0, err
    assert "local-lrs-password" not in out + err
    code, out, err = cli("uln", "registration", who=school)
    assert "Username: s2s-local" in out and "UKPRN: 10000001" in out
    code, _, err = cli("uln", "registration", "--username", "s2s-local", who=school)
    assert code == 2 and "--ukprn" in err


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


# ------------------------------------------------------------------------------------------ polish


def run_s2s(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`s2s` as a person's shell runs it: its own process, no terminal on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "s2s_cli.main", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_pack_with_no_terminal_and_no_password_file_is_a_one_line_error(tmp_path: Path) -> None:
    xml = tmp_path / "8231234_CTF_8232345_301.XML"
    xml.write_bytes(ctf())
    result = run_s2s("pack", str(xml))
    assert result.returncode == 2
    assert result.stderr.strip() == "s2s: no terminal to ask for the zip's password: pass --password-file FILE"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "8231234_CTF_8232345_301.zip").exists()


def test_pack_refuses_to_overwrite_a_zip_without_force(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    target = packed(cli, tmp_path, password_file, "302")
    before = target.read_bytes()
    code, _, err = cli(
        "pack", str(tmp_path / "8231234_CTF_8232345_302.XML"), "--password-file", str(password_file), who=None
    )
    assert code == 1 and "already exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert target.read_bytes() == before
    code, _, err = cli(
        "pack",
        str(tmp_path / "8231234_CTF_8232345_302.XML"),
        "--password-file",
        str(password_file),
        "--force",
        who=None,
    )
    assert code == 0, err
    assert target.read_bytes() != before  # a fresh AES salt: it was written again


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser of `s2s`, named by its command line."""
    from s2s_cli.main import _parser

    found = []
    todo = [("s2s", _parser())]
    while todo:
        name, parser = todo.pop()
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {sub}", child) for sub, child in action.choices.items()]
    return found


def test_every_option_has_help_text_and_shows_its_default() -> None:
    parsers = all_parsers()
    assert len(parsers) > 20
    for name, parser in parsers:
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
            default = action.default
            if action.option_strings and default not in (None, False, argparse.SUPPRESS):
                shown = f"(default: {default})"
                assert shown in text, f"{name} {action.option_strings[0]} does not show its default {shown}"
            if action.option_strings and default is None and not action.required:
                # No value: the help says what happens instead (a default in words), or it is a plain choice.
                assert "default" in action.help or action.choices is None or action.nargs == 0, (name, action.dest)


def test_top_level_help_has_examples_and_says_how_to_get_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "s2s send 8231234_CTF_8232345_001.zip --wait" in out
    assert "getting a token:" in out and "s2s local token --school LAESTAB" in out and "DfE Sign-in" in out


def test_a_401_says_whether_the_token_expired_or_is_invalid(cli: Cli, stack: Stack) -> None:
    expired = stack.token("school", SCHOOL_A, ttl=-120)
    code, _, err = cli("--token", expired, "inbox", who=None)
    assert code == 1 and "token_expired: your token expired at" in err
    assert re.search(r"expired at \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", err), err
    assert "s2s local token" in err  # the API is this machine's: the local hint helps
    foreign = auth.issue_token(
        auth.load_or_create_key(stack.data_dir / "other-key"), auth.organisation_claims("school", SCHOOL_A, None)
    )
    code, _, err = cli("--token", foreign, "inbox", who=None)
    assert code == 1 and "token_invalid: the service did not accept your token: it was not issued" in err
    assert len(err.strip().splitlines()) == 1


def test_the_local_token_hint_appears_only_against_a_local_stack(stack: Stack) -> None:
    from s2s_cli.client import token_refused

    expired = stack.token("school", SCHOOL_A, ttl=-120)
    remote = str(token_refused(expired, "https://s2s.education.example"))
    local = str(token_refused(expired, stack.api))
    assert "token_expired" in remote and "s2s local token" not in remote and "DfE Sign-in" in remote
    assert "s2s local token" in local
    assert "token_invalid" in str(token_refused("not-a-token", "https://s2s.education.example"))


READABLE_TIME = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} 20\d\d \d{2}:\d{2}\b")


@pytest.fixture
def london(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_tables_show_local_readable_times_and_labels_in_words(
    cli: Cli, tmp_path: Path, password_file: Path, london: None
) -> None:
    transfer_id = sent(cli, packed(cli, tmp_path, password_file, "303"))
    code, out, _ = cli("outbox")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "File", "To", "Status", "Size", "Sent"]
    (row,) = [line for line in rows if transfer_id in line]
    assert READABLE_TIME.search(row) and "Ready to download" in row and "bytes" in row
    assert not re.search(r"\d{4}-\d\d-\d\dT", out)  # no ISO timestamps
    # The time is this machine's local time, not UTC
    detail = cli.stack.call("GET", f"/transfers/{transfer_id}", cli.stack.school(SCHOOL_A)).json()
    local = datetime.fromisoformat(detail["available_at"].replace("Z", "+00:00")).astimezone()
    assert f"{local.day} {local:%b %Y %H:%M}" in row
    code, out, _ = cli("show", transfer_id)
    assert "SHA-256" in out and "Size" in out and READABLE_TIME.search(out)
    assert "Sha256" not in out and "Size bytes" not in out


def test_show_prints_the_history_in_words_with_other_organisations_people_hidden(
    cli: Cli, stack: Stack, tmp_path: Path, password_file: Path
) -> None:
    from s2s_cli.client import S2SClient

    b_email, b_browser = "data@school-b.example", "SchoolB-MIS/3.2 (private)"
    b = S2SClient(stack.api, stack.token("school", SCHOOL_B, email=b_email), show_progress=False)
    b.session.headers["User-Agent"] = b_browser
    b.request("PUT", "/subscriptions/me")
    transfer_id = sent(cli, packed(cli, tmp_path, password_file, "304"))
    wait_for(
        lambda: any(
            e["action"] == "email_sent"
            for e in stack.call("GET", f"/transfers/{transfer_id}", stack.school(SCHOOL_A)).json()["audit"]
        )
    )
    b.request("POST", f"/transfers/{transfer_id}/download")

    code, out, err = cli("show", transfer_id)
    assert code == 0, err
    history = out.split("History:", 1)[1]
    assert "Checked and accepted" in history
    # B signed in (and subscribed) as "School 8232345": the page names it as its token did
    assert f"Email sent to School {SCHOOL_B} ({SCHOOL_B}): a file is ready" in history
    assert f"Downloaded by School {SCHOOL_B} ({SCHOOL_B})" in history
    assert "landing-check" not in history and "email_sent" not in history
    # Another organisation's people stay that organisation: no user, address or browser
    assert b_email not in out and b_browser not in out
    download_line = next(line for line in history.splitlines() if "Downloaded by" in line)
    assert download_line.rstrip().endswith(f"School {SCHOOL_B} ({SCHOOL_B})")
    # The recipient sees its own people's details, and still no email address
    code, out, _ = cli("show", transfer_id, who=SCHOOL_B)
    assert b_browser in out and b_email not in out


def test_outbox_says_why_a_file_was_rejected(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "8231234_CTF_8232345_305.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("8231234_CTF_8232345_305.XML", ctf())
    code, out, _ = cli("send", str(plain), "--wait")
    assert code == 1
    transfer_id = out.split()[0]
    code, out, _ = cli("outbox", "--status", "rejected")
    assert code == 0
    reason = next(
        line
        for line in out.splitlines()
        if line.startswith(f"8231234_CTF_8232345_305.zip ({transfer_id}) was rejected: ")
    )
    assert "encrypt" in reason.lower() or "AES" in reason


def test_json_on_every_command_that_prints_data(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    # Every command that prints data offers --json (local and portal print tokens and progress)
    for name, parser in all_parsers():
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if leaf and not name.startswith(("s2s local", "s2s portal")):
            assert any("--json" in a.option_strings for a in parser._actions), f"{name} has no --json"
    xml = tmp_path / "8231234_CTF_8232345_306.XML"
    xml.write_bytes(ctf())
    answers = {}
    code, out, err = cli("pack", str(xml), "--password-file", str(password_file), "--json", who=None)
    answers["pack"] = json.loads(out)
    zip_path = Path(answers["pack"]["zip"])
    code, out, err = cli("send", str(zip_path), "--wait", "--json")
    assert code == 0, err
    answers["send"] = json.loads(out)
    transfer_id = answers["send"]["transfer_id"]
    assert answers["send"]["status"] == "available"
    folder = tmp_path / "in"
    folder.mkdir()
    for command, who in (
        (["inbox", "--json"], SCHOOL_B),
        (["outbox", "--json"], SCHOOL_A),
        (["show", transfer_id, "--json"], SCHOOL_A),
        (["download", transfer_id, "-o", str(folder), "--json"], SCHOOL_B),
        (["report", "--json"], LA),
        (["lost-pupils", "M823123426001", "--json"], LA),
        (["subscribe", "--json"], "8234568"),
        (["uln", "find", "9276308686", "--given-name", "Amelia", "--family-name", "Hart", "--json"], SCHOOL_A),
        (["remove", transfer_id, "--json"], SCHOOL_B),
    ):
        code, out, err = cli(*command, who=who)
        assert code == 0, (command, err)
        answers[command[0]] = json.loads(out)
    assert answers["download"]["sha256"] == answers["pack"]["sha256"]
    assert answers["remove"]["status"] == "removed"
    assert answers["subscribe"]["subscribed"] is True


def test_wait_says_what_it_is_waiting_for(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    zip_path = packed(cli, tmp_path, password_file, "307")
    code, out, err = cli("send", str(zip_path), "--wait")
    assert code == 0
    transfer_id = out.split()[0]
    assert f"Waiting up to 120 s for S2S to check {zip_path.name} ({transfer_id})" in err


def test_a_second_upload_of_the_same_name_while_the_first_waits_asks_for_again(
    cli: Cli, tmp_path: Path, password_file: Path
) -> None:
    zip_path = packed(cli, tmp_path, password_file, "308")
    first = sent(cli, zip_path)
    code, _, err = cli("send", str(zip_path))
    assert code == 1 and "--again" in err and first in err and "8232345" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = cli("outbox", "--json")
    assert [i["transfer_id"] for i in json.loads(out) if i["filename"] == zip_path.name] == [first]
    code, out, err = cli("send", str(zip_path), "--again")
    assert code == 0, err
    # Once the first has been downloaded nothing is waiting, and no --again is needed
    other = packed(cli, tmp_path, password_file, "309")
    first_other = sent(cli, other)
    cli.stack.call("POST", f"/transfers/{first_other}/download", cli.stack.school(SCHOOL_B))
    code, _, err = cli("send", str(other))
    assert code == 0, err


def test_local_token_finds_the_running_stack_from_any_folder(stack: Stack, tmp_path: Path) -> None:
    # The session's stack recorded itself in the state file under its XDG_STATE_HOME
    state_home = stack.data_dir / "state"
    assert (state_home / "s2s" / "local-stack.json").is_file()
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {"XDG_STATE_HOME": str(state_home), "S2S_DATA_DIR": ""}
    result = run_s2s("local", "token", "--school", SCHOOL_B, cwd=elsewhere, env=env)
    assert result.returncode == 0, result.stderr
    assert stack.call("GET", "/transfers", result.stdout.strip()).status_code == 200
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran
    # S2S_DATA_DIR names it too
    result = run_s2s(
        "local",
        "token",
        "--la",
        LA,
        cwd=elsewhere,
        env={"XDG_STATE_HOME": str(tmp_path / "none"), "S2S_DATA_DIR": str(stack.data_dir)},
    )
    assert result.returncode == 0 and stack.call("GET", "/transfers", result.stdout.strip()).status_code == 200
    # With no stack to find, one line says how to start or name one
    result = run_s2s(
        "local",
        "token",
        "--school",
        SCHOOL_B,
        cwd=elsewhere,
        env={"XDG_STATE_HOME": str(tmp_path / "none"), "S2S_DATA_DIR": ""},
    )
    assert result.returncode == 2 and "s2s local serve" in result.stderr and "S2S_DATA_DIR" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def readme_walkthrough() -> str:
    """The README's five-minute walkthrough (terminal 2), exactly as written there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index("<!-- walkthrough:") :]
    return after.split("```bash\n", 1)[1].split("\n```", 1)[0]


# What the test run itself writes in the checkout while this test runs on another worker: axe
# reports and screenshots, Hypothesis's database, bytecode.
SUITE_OUTPUT = ("test-artifacts/", ".hypothesis/", ".pytest_cache/", "__pycache__/")


def git_status() -> str:
    """Every changed, untracked or ignored path in the checkout, except the suite's own output."""
    lines = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return "\n".join(line for line in lines if not any(part in line for part in SUITE_OUTPUT))


def test_the_readme_walkthrough_runs_in_a_scratch_folder_and_leaves_nothing_in_the_checkout(
    stack: Stack, tmp_path: Path
) -> None:
    # Given the walkthrough as the README has it, against this session's stack
    script = readme_walkthrough().replace("http://127.0.0.1:3000", stack.api)
    assert "password" in script and 'cd "$(mktemp -d)"' in script
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("S2S_API", "S2S_TOKEN", "S2S_DATA_DIR")}
    env.update({"TMPDIR": str(temp_root), "XDG_STATE_HOME": str(stack.data_dir / "state")})
    before = git_status()
    # When it runs from the checkout, as a developer's second terminal would
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script + '\necho "SCRATCH=$PWD"'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # Then every step worked: the file went, B downloaded exactly what A packed, A sees the download
    assert result.returncode == 0, result.stdout + result.stderr
    scratch = Path(result.stdout.strip().splitlines()[-1].removeprefix("SCRATCH="))
    assert scratch.parent == temp_root
    name = "8231234_CTF_8232345_001.zip"
    assert (scratch / "downloads" / name).read_bytes() == (scratch / name).read_bytes()
    assert json.loads((scratch / "sent.json").read_text())["status"] == "available"
    assert "Downloaded by School 8232345 (8232345)" in result.stdout and "Total" in result.stdout
    # And it wrote only in its scratch folder: the checkout is as it was, password file and all
    assert git_status() == before
    assert (scratch / "zip-password.txt").is_file() and not (ROOT / "zip-password.txt").exists()


def test_show_hides_other_organisations_people_whatever_the_api_sends() -> None:
    from s2s_cli import display

    detail = {
        "source": "8231234",
        "source_name": "Alpha Primary",
        "recipient": "8232345",
        "audit": [
            {
                "action": "created",
                "at": "2026-12-03T09:00:00Z",
                "actor_org": "8231234",
                "actor_user": "user-a",
                "source_ip": "10.1.1.1",
                "user_agent": "A-Browser/1",
                "details": {},
            },
            {
                "action": "email_sent",
                "at": "2026-12-03T09:00:06Z",
                "actor_org": "S2S",
                "actor_user": "notify",
                "details": {"type": "transfer.available", "org": "8232345", "to": "head@school-b.example"},
            },
            {
                "action": "downloaded",
                "at": "2026-12-03T09:58:00Z",
                "actor_org": "8232345",
                "actor_user": "user-b",
                "source_ip": "10.2.2.2",
                "user_agent": "B-Browser/2",
                "details": {},
            },
        ],
        "downloads": [
            {
                "at": "2026-12-03T09:58:00Z",
                "organisation": "8232345",
                "user": "user-b",
                "source_ip": "10.2.2.2",
                "user_agent": "B-Browser/2",
            },
        ],
    }
    sender = display.Viewer("school", "8231234", "823", "user-a", None)
    text = "\n".join(" | ".join(row) for row in display.history(detail, sender))
    text += "\n" + "\n".join(" | ".join(row) for row in display.receipts(detail, sender))
    assert "you, Alpha Primary (8231234) (from 10.1.1.1, A-Browser/1)" in text
    assert "Email sent to school 8232345: a file is ready" in text
    for secret in ("user-b", "10.2.2.2", "B-Browser/2", "head@school-b.example"):
        assert secret not in text
    la = display.Viewer("la", "823LLLL", "823", "officer", None)
    la_text = "\n".join(" | ".join(row) for row in display.history(detail, la))
    assert "user-b" in la_text and "B-Browser/2" in la_text and "head@school-b.example" not in la_text


def test_show_names_the_organisations_the_api_names() -> None:
    """The API's `names` book turns codes into the names people know, in history and receipts."""
    from s2s_cli import display

    detail = {
        "source": "8231234",
        "source_name": "Alpha Primary",
        "recipient": "8232345",
        "names": {"8231234": "Alpha Primary", "8232345": "Beta Academy"},
        "audit": [
            {
                "action": "email_sent",
                "at": "2026-12-03T09:00:06Z",
                "actor_org": "S2S",
                "actor_user": "notify",
                "details": {"type": "transfer.available", "org": "8232345"},
            },
            {"action": "downloaded", "at": "2026-12-03T09:58:00Z", "actor_org": "8232345", "details": {}},
        ],
        "downloads": [{"at": "2026-12-03T09:58:00Z", "organisation": "8232345"}],
    }
    sender = display.Viewer("school", "8231234", "823", "user-a", None)
    rows = display.history(detail, sender) + [(at, by, "") for at, by in display.receipts(detail, sender)]
    text = "\n".join(" | ".join(row) for row in rows)
    assert "Email sent to Beta Academy (8232345)" in text
    assert "Beta Academy (8232345)" in display.receipts(detail, sender)[0][1]
    assert "school 8232345" not in text


def test_uln_batch_runs_a_ctf_through_the_local_stack(cli: Cli, tmp_path: Path) -> None:
    """`s2s uln batch FILE.XML --wait -o DIR`: the batch goes through the fake LRS, the return CTF
    pairs every matched UPN with its ULN, and the CSV lists every pupil."""
    from s2s.domain.ctf_batch import CtfBatchReader, Sender
    from support.ctf_batches import ctf_bytes, pupils, with_fields

    made = pupils(30, with_uln_every=0)
    made[4] = with_fields(made[4], postcode="")
    source = tmp_path / "ULN_request.xml"
    source.write_bytes(ctf_bytes(made))
    out_dir = tmp_path / "returned"
    code, out, err = cli("uln", "batch", str(source), "--wait", "-o", str(out_dir), "--interval", "0.3")
    assert code == 0, out + err
    assert "complete" in out and "29 with a ULN" in out
    assert "pupils" in err  # the progress line
    ctf = out_dir / "ULN_request_ULNs.xml"
    reader = CtfBatchReader(ctf.open("rb"), Sender("school", "823", "1234"), today=datetime.now().date())
    returned = {p.upn: p.uln for p in reader.pupils()}
    assert set(returned) == {p.upn for i, p in enumerate(made) if i != 4}
    assert all(uln and len(uln) == 10 for uln in returned.values())
    rows = (out_dir / "ULN_request_outcomes.csv").read_text().splitlines()
    assert len(rows) == 31 and "data_error" in rows[5]

    code, out, err = cli("uln", "batch", str(source), "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "pending_upload"
    bad = tmp_path / "other.xml"
    bad.write_bytes(ctf_bytes(made[:2], estab="9999"))
    code, out, err = cli("uln", "batch", str(bad), "--wait", "--interval", "0.3")
    assert code == 1 and "source_not_sender" in out
