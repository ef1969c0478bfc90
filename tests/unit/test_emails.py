"""Email rendering (s2s.domain.emails): pure functions, no AWS. Events come from s2s.services.outbox.build_event."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s2s.domain import emails
from s2s.domain.transfers import Transfer
from s2s.services.outbox import build_event
from support import factories

pytestmark = pytest.mark.unit

PORTAL = "https://s2s.example.gov.uk"
NAMES = {"8231234": "Oakfield Primary", "8232345": "Riverside Academy", "823LLLL": "Central Bedfordshire"}
SIGNED_URL_MARKERS = ("X-Amz-", "amazonaws", "Signature=", "AWSAccessKeyId", "s3://")


def transfer(**overrides: Any) -> Transfer:
    """The shared factory's CTF, sent in January with no checksum."""
    january = {
        "created_at": "2026-01-10T09:00:00.000000Z",
        "created_by": "u",
        "upload_expires_at": "2026-01-10T09:15:00.000000Z",
        "expires_at": "2026-03-11T15:30:00.000000Z",
        "available_at": "2026-01-10T09:01:00.000000Z",
        "sha256": None,
    }
    return factories.transfer(**{**january, **overrides})


def render(kind: str, t: Transfer | None = None, names: dict[str, str] | None = None, **extra: Any) -> emails.Email:
    event = build_event(kind, t or transfer(), "2026-01-10T09:01:00.000000Z", **extra)  # type: ignore[arg-type]
    return emails.render(event, names=NAMES if names is None else names, portal_url=PORTAL)


def assert_no_signed_url(email: emails.Email) -> None:
    for part in (email.subject, email.text, email.html):
        for marker in SIGNED_URL_MARKERS:
            assert marker.lower() not in part.lower()
        for url in re.findall(r"https?://[^\s\"'<>]+", part):
            assert url == f"{PORTAL}/transfers/0f3c9a6e2b7d4c1a8e5f0a9b8c7d6e5f"


KINDS = list(emails.SUPPORTED_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_every_email_has_subject_text_html_and_only_the_portal_link(kind: str) -> None:
    email = render(kind, claimed_by="823LLLL", downloaded_by="8232345")

    assert email.subject and "\n" not in email.subject
    assert "8231234_CTF_8232345_001.zip" in email.subject
    link = f"{PORTAL}/transfers/0f3c9a6e2b7d4c1a8e5f0a9b8c7d6e5f"
    assert link in email.text
    assert f'href="{link}"' in email.html
    assert email.html.startswith("<!DOCTYPE html>")
    assert_no_signed_url(email)


def test_available_says_who_sent_what_and_when_it_expires() -> None:
    email = render("transfer.available")

    assert email.subject == "A file is waiting for you: 8231234_CTF_8232345_001.zip from Oakfield Primary (8231234)"
    assert "Oakfield Primary (8231234) has sent a Common Transfer File (CTF) to Riverside Academy (8232345)" in (
        email.text
    )
    # 15:30 UTC in March is 3:30pm in London (GMT); the date in the UK style.
    assert "3:30pm on Wednesday 11 March 2026 (UK time)" in email.text
    assert "47 KB" in email.text


def test_summer_times_are_shown_in_british_summer_time() -> None:
    email = render("transfer.available", transfer(expires_at="2026-07-01T11:00:00.000000Z"))

    assert "midday on Wednesday 1 July 2026 (UK time)" in email.text


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-12-25T00:00:00.000000Z", "midnight on Friday 25 December 2026 (UK time)"),
        ("2026-10-25T00:59:00.000000Z", "1:59am on Sunday 25 October 2026 (UK time)"),  # still BST
        ("2026-10-25T01:00:00.000000Z", "1:00am on Sunday 25 October 2026 (UK time)"),  # GMT again
        ("2027-02-01T23:45:30.500000Z", "11:45pm on Monday 1 February 2027 (UK time)"),
    ],
)
def test_plain_time(value: str, words: str) -> None:
    assert emails.plain_time(value) == words


def test_rejected_explains_the_zip_reason_and_how_to_rezip() -> None:
    t = transfer(
        status="rejected",
        reason="weak_encryption",
        available_at=None,
        reason_message="This zip archive uses an old or weaker kind of encryption (ZipCrypto).",
    )

    email = render("transfer.rejected", t)

    assert email.subject == "Your file was not accepted: 8231234_CTF_8232345_001.zip"
    assert "What was wrong" in email.text and "How to fix it" in email.text
    assert "ZipCrypto" in email.text
    assert "AES-256" in email.text
    assert "Rename" not in email.text


@pytest.mark.parametrize(
    "reason",
    [
        "not_zip",
        "not_encrypted",
        "mixed_encryption",
        "weak_encryption",
        "zip_bomb",
        "empty_archive",
        "bad_entry_name",
        "entry_name_mismatch",
        "too_many_entries",
    ],
)
def test_every_zip_reason_says_how_to_zip_again(reason: str) -> None:
    email = render("transfer.rejected", transfer(status="rejected", reason=reason))

    what, _ = emails.REASONS[reason]
    assert what in email.text
    assert "Zip the file again with AES-256 encryption" in email.text


def test_naming_reason_shows_the_suggested_name() -> None:
    t = transfer(
        status="rejected",
        reason="bad_pattern",
        filename="8231234_ctf_8232345_001.zip",
        suggestion="8231234_CTF_8232345_001.zip",
    )

    email = render("transfer.rejected", t)

    assert "Rename the file to 8231234_CTF_8232345_001.zip and send it again." in email.text
    assert "Suggested name" in email.text
    assert "8231234_CTF_8232345_001.zip" in email.html


def test_naming_reason_without_a_suggestion_explains_the_rules() -> None:
    email = render("transfer.rejected", transfer(status="rejected", reason="bad_sequence"))

    assert "001 to 999" in email.text
    assert "naming rules" in email.text


def test_unknown_reason_falls_back_to_the_message_from_the_check() -> None:
    t = transfer(status="rejected", reason="something_new", reason_message="The scanner found a problem.")

    email = render("transfer.rejected", t)

    assert "The file did not pass the checks." in email.text
    assert "The scanner found a problem." in email.text


def test_downloaded_is_a_receipt_for_the_sender() -> None:
    email = render("transfer.downloaded", transfer(status="downloaded"), downloaded_by="8232345")

    assert email.subject == "Your file was downloaded: 8231234_CTF_8232345_001.zip"
    assert "has been downloaded by Riverside Academy (8232345)" in email.text
    assert "First downloaded" in email.text


def test_expiring_names_the_day_in_the_subject() -> None:
    email = render("transfer.expiring")

    assert email.subject == (
        "Reminder: 8231234_CTF_8232345_001.zip has not been downloaded and will be deleted on Wednesday 11 March 2026"
    )


def test_claimed_names_the_la_and_the_lost_pupils_database() -> None:
    t = transfer(filename="8231234_CTF_XXXXXXX_001.zip", claimed_from="XXXXXXX", claimed_by="823LLLL")

    email = render("transfer.claimed", t, claimed_by="823LLLL")

    assert "Central Bedfordshire (823LLLL) has matched" in email.text
    assert "Lost Pupils Database" in email.subject


def test_unknown_names_show_the_code() -> None:
    email = render("transfer.available", names={})

    assert "to 8232345 through S2S" in email.text
    # the sender's name travels in the event
    assert "Oakfield Primary (8231234)" in email.text


def test_user_controlled_values_are_escaped_in_html_and_cleaned_everywhere() -> None:
    t = transfer(
        source_name='<script>alert("x")</script>\r\nBcc: victim@example.com',
        filename="8231234_8232345_A&B<i>.zip",
        family="generic",
    )

    email = render("transfer.available", t, names={})

    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "A&amp;B&lt;i&gt;.zip" in email.html
    assert "\r" not in email.subject and "\n" not in email.subject
    assert "\r" not in email.text


def test_unsupported_or_broken_events_are_refused() -> None:
    event = build_event("transfer.available", transfer(), "2026-01-10T09:01:00.000000Z")

    with pytest.raises(emails.UnsupportedEvent):
        emails.render({**event, "type": "transfer.other"}, names={}, portal_url=PORTAL)
    with pytest.raises(emails.UnsupportedEvent):
        emails.render({k: v for k, v in event.items() if k != "filename"}, names={}, portal_url=PORTAL)
    with pytest.raises(emails.UnsupportedEvent):
        emails.render({**event, "occurred_at": "yesterday"}, names={}, portal_url=PORTAL)


def test_link_quotes_the_transfer_id() -> None:
    assert emails.portal_link(PORTAL + "/", "a/b?c") == f"{PORTAL}/transfers/a%2Fb%3Fc"


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=80), filename=st.text(min_size=1, max_size=80))
def test_no_event_text_ever_reaches_html_unescaped(name: str, filename: str) -> None:
    t = transfer(source_name=name, filename=filename)

    email = render("transfer.available", t, names={})

    # Every tag in the HTML part is one of ours.
    tags = set(re.findall(r"</?([a-zA-Z0-9!]+)", email.html))
    assert tags <= {
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "body",
        "p",
        "h2",
        "table",
        "tr",
        "th",
        "td",
        "a",
    }
    assert email.html.count("<a ") == 1
    assert "\n" not in email.subject and "\r" not in email.subject


def test_lost_pupil_files_name_the_database_not_a_code() -> None:
    t = transfer(
        filename="8231234_CTF_XXXXXXX_001.zip",
        destination="XXXXXXX",
        dest_kind="lpd_unknown",
        dest_la=None,
        recipient_org="LPD",
        status="downloaded",
        upn="H801200001001",
    )

    email = render("transfer.downloaded", t, downloaded_by="823LLLL")

    assert "you sent to the Lost Pupils Database has been downloaded by Central Bedfordshire (823LLLL)" in email.text
