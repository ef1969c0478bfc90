"""`s2s message send|list|read` against the local stack (the messages function, its KMS key and the
notify pipeline as the template makes them), and the hint `s2s send` gives about the zip's password."""

from __future__ import annotations

import email
import email.policy
import io
import json
from pathlib import Path

import pytest
from localstack import SCHOOL_A, SCHOOL_B, Stack, wait_for
from test_cli import PASSWORD, Cli, packed, sent

pytestmark = pytest.mark.local


@pytest.fixture
def cli(stack: Stack, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(stack, capsys)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def test_send_list_and_read_a_message_with_its_read_receipt(cli: Cli, password_file: Path) -> None:
    code, out, err = cli(
        "message", "send", "--to", SCHOOL_B, "--subject", "Password for the CTF", "--body-file", str(password_file)
    )
    assert code == 0, err
    message_id = out.split()[0]
    assert out.strip() == f"{message_id} sent to {SCHOOL_B}"

    code, out, _ = cli("message", "list", who=SCHOOL_B)
    assert code == 0
    assert "unread" in out.splitlines()[0] and int(out.split()[0]) >= 1
    row = next(line for line in out.splitlines() if line.startswith(message_id))
    assert SCHOOL_A in row and "Password for the CTF" in row and row.rstrip().endswith("new")
    assert PASSWORD not in out  # a list never shows a body

    code, out, _ = cli("message", "read", message_id, who=SCHOOL_B)
    assert code == 0
    assert "Subject: Password for the CTF" in out and out.rstrip().endswith(PASSWORD)

    code, out, _ = cli("message", "list", "--sent")
    row = next(line for line in out.splitlines() if line.startswith(message_id))
    assert f"Read by school {SCHOOL_B}" in row
    assert "office@" not in row  # who read it stays with their own organisation

    code, out, _ = cli("message", "list", "--unread", "--json", who=SCHOOL_B)
    assert message_id not in [m["message_id"] for m in json.loads(out)["messages"]]


def test_the_body_can_come_from_standard_input_and_a_reply_joins_the_thread(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Which pupil is this about?\n"))
    code, out, err = cli("message", "send", "--to", SCHOOL_B, "--subject", "A question", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["body"] == "Which pupil is this about?"

    monkeypatch.setattr("sys.stdin", io.StringIO("The one who left in May."))
    code, out, err = cli(
        "message", "send", "--to", SCHOOL_A, "--subject", "Re: A question", "--reply-to", first["message_id"], "--json",
        who=SCHOOL_B,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["thread_id"] == first["message_id"]

    code, out, _ = cli("message", "read", first["message_id"])
    assert out.index("Which pupil") < out.index("The one who left in May.")


def test_refusals_are_one_line_with_the_services_code(cli: Cli, tmp_path: Path) -> None:
    long_body = tmp_path / "long.txt"
    long_body.write_text("x" * 10_001)

    code, _, err = cli("message", "send", "--to", SCHOOL_B, "--subject", "s", "--body-file", str(long_body))
    assert code == 1 and "message_too_long" in err and len(err.strip().splitlines()) == 1

    code, _, err = cli("message", "send", "--to", "12", "--subject", "s", "--body-file", str(long_body))
    assert code == 1 and "validation_error" in err

    code, _, err = cli("message", "read", "0" * 32)
    assert code == 1 and "not_found" in err

    code, _, err = cli("message", "send", "--to", SCHOOL_B, "--subject", "s", "--body-file", str(tmp_path / "no"))
    assert code == 2 and "cannot read" in err


def test_send_suggests_the_password_goes_by_secure_message(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    zip_path = packed(cli, tmp_path, password_file, "311")
    code, out, err = cli("send", str(zip_path), "--wait")
    assert code == 0, err
    transfer_id = out.split()[0]

    hint = [line for line in err.splitlines() if "secure message" in line]
    assert len(hint) == 1
    assert f"s2s message send --to {SCHOOL_B}" in hint[0] and f"--transfer {transfer_id}" in hint[0]
    assert PASSWORD not in err and PASSWORD not in out


def test_a_message_email_arrives_with_no_subject_or_body(cli: Cli, stack: Stack, password_file: Path) -> None:
    assert cli("subscribe", who=SCHOOL_B)[0] == 0
    before = set(stack.mail_dir.glob("*.eml"))
    code, out, err = cli(
        "message", "send", "--to", SCHOOL_B, "--subject", "Unmistakable subject", "--body-file", str(password_file)
    )
    assert code == 0, err
    message_id = out.split()[0]

    def decoded(path: Path) -> str:
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        return f"{mail['Subject']}\n{mail.get_content()}"  # type: ignore[attr-defined]

    new = wait_for(lambda: [decoded(p) for p in set(stack.mail_dir.glob("*.eml")) - before if message_id in decoded(p)])
    text = new[0]
    assert f"/messages/{message_id}" in text and "A secure message is waiting for you" in text
    assert "Unmistakable subject" not in text and PASSWORD not in text


def test_a_message_can_be_about_a_file_you_sent(cli: Cli, tmp_path: Path, password_file: Path) -> None:
    transfer_id = sent(cli, packed(cli, tmp_path, password_file, "312"))
    code, out, err = cli(
        "message", "send", "--to", SCHOOL_B, "--subject", "About the file", "--transfer", transfer_id,
        "--body-file", str(password_file), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["transfer_id"] == transfer_id
