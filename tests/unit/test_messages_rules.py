"""The rules of secure messages as plain functions (s2s.domain.messages): who can be written to, plain
text, the thread rule, who sees a message and what a read receipt shows."""

from __future__ import annotations

from dataclasses import replace

import pytest
from s2s.domain.messages import (
    Message,
    as_principal,
    receipt_view,
    recipient_problem,
    side_of,
    text_problem,
    thread_problem,
)
from support.factories import dfe, la, school

pytestmark = pytest.mark.unit

A, B = "8231234", "8232345"
MESSAGE = Message(
    message_id="m1",
    thread_id="m1",
    sender=A,
    sender_name="Oakfield Primary",
    recipient=B,
    subject="s",
    created_at="2026-06-01T09:00:00.000000Z",
    expires_at="2026-07-31T09:00:00.000000Z",
    sent_by="user-a",
    sent_by_email="a@a.example",
)


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("8232345", None),
        ("823LLLL", None),
        ("823", "bad_recipient"),
        ("823XXXX", "bad_recipient"),
        ("LPD", "bad_recipient"),
        ("8232345 ", "bad_recipient"),
        ("９２３２３４５", "bad_recipient"),  # full-width digits are not digits here
        ("9992345", "unknown_la"),
    ],
)
def test_who_can_be_written_to(to: str, reason: str | None) -> None:
    assert recipient_problem(to) == reason


@pytest.mark.parametrize(
    ("text", "one_line", "reason"),
    [
        ("Password for the file", True, None),
        ("Two\nlines", True, "control_characters"),
        ("Two\nlines\tand a tab\r\n", False, None),
        ("nul \x00", False, "control_characters"),
        ("escape \x1b[31m", False, "control_characters"),
        ("c1 \x85", False, "control_characters"),
        ("abc\u202egpj.exe", True, "hidden_characters"),
        ("zero\u200bwidth", False, "hidden_characters"),
        ("  \n\t ", False, "blank"),
        ("Ysgol Gymraeg – ŵ ŷ", True, None),
    ],
)
def test_plain_text(text: str, one_line: bool, reason: str | None) -> None:
    assert text_problem(text, one_line=one_line) == reason


def test_a_reply_stays_between_the_same_two_organisations_either_way_round() -> None:
    assert thread_problem(MESSAGE, B, A) is None
    assert thread_problem(MESSAGE, A, B) is None
    assert thread_problem(MESSAGE, A, "823LLLL") == "other_organisations"


def test_only_the_two_organisations_see_a_message_until_they_delete_it() -> None:
    assert side_of(school(A), MESSAGE) == "sender"
    assert side_of(school(B), MESSAGE) == "recipient"
    for outsider in (la("823"), la("330"), dfe(), school("8233456")):
        assert side_of(outsider, MESSAGE) is None
    deleted = replace(MESSAGE, deleted_by=("recipient",))
    assert side_of(school(B), deleted) is None and side_of(school(A), deleted) == "sender"


def test_a_read_receipt_names_the_reader_only_to_their_own_organisation() -> None:
    assert receipt_view(school(A), MESSAGE) is None
    read = replace(MESSAGE, read_at="2026-06-01T10:02:00.000000Z", read_by="user-b", read_by_email="b@b.example")

    assert receipt_view(school(A), read) == {"organisation": B, "read_at": "2026-06-01T10:02:00.000000Z"}
    assert receipt_view(school(B), read) == {
        "organisation": B,
        "read_at": "2026-06-01T10:02:00.000000Z",
        "read_by": "user-b",
        "read_by_email": "b@b.example",
    }


def test_an_organisation_as_a_caller_for_the_transfer_check() -> None:
    assert as_principal("823LLLL").kind == "la" and as_principal("823LLLL").la == "823"
    assert as_principal(B).kind == "school" and as_principal(B).org == B
