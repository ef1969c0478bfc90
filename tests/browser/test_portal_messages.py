"""Secure messages in the portal against a real `s2s local serve`, in headless Chromium: school A
sends school B a file, then a message about it from the file's page; B sees the unread count,
reads the thread and replies; A sees the read receipt (B's organisation and the time, never who
there). Every new page and state passes axe-core at WCAG 2.2 AA (`WatchedPage.check`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from portal_harness import LocalStack, WatchedPage
from test_portal_stack import SCHOOL_A, SCHOOL_B, Api, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

B_READER = "reader@school-b.example"
PASSWORD_TEXT = "The password is marmalade-otter-19.\nIt opens the zip only."


def test_a_message_about_a_file_its_thread_the_reply_and_the_read_receipt(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school A has sent school B a file
    name = f"{SCHOOL_A}_CTF_{SCHOOL_B}_041.zip"
    transfer_id = Api(local_stack).send(tmp_path, SCHOOL_A, name)

    # When A opens the file's page, which has no messages yet, and writes one from there
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, f"/transfers/{transfer_id}")
    page = a.page
    page.get_by_test_id("no-file-messages").wait_for()
    a.check("transfer-no-messages")
    page.get_by_role("button", name="Send a message about this file").click()
    page.get_by_role("heading", name="Send a message about this file", level=1).wait_for()
    assert page.get_by_test_id("about-file").inner_text() == name
    assert page.get_by_label("To", exact=True).input_value() == SCHOOL_B
    a.check("message-compose-about-file")
    # (sending it empty names the field to fill, and the summary takes focus)
    page.get_by_label("Subject").fill("")
    page.get_by_role("button", name="Send message").click()
    summary = page.get_by_test_id("message-error")
    summary.wait_for()
    assert set(summary.get_by_role("link").all_inner_texts()) == {"Enter a subject", "Enter the message"}
    a.check("message-compose-errors")
    page.get_by_label("Subject").fill("Password for the CTF")
    page.get_by_label("Message").fill(PASSWORD_TEXT)
    page.get_by_role("button", name="Send message").click()

    # Then the thread shows it, not yet read
    page.get_by_test_id("message-sent").wait_for()
    assert re.search(r"/messages/[0-9a-f]{32}$", page.url)
    assert page.get_by_test_id("message-body").inner_text() == PASSWORD_TEXT
    assert page.get_by_test_id("read-receipt").inner_text() == "Not read yet"
    a.check("message-thread-sent")

    # When B signs in, its messages show one unread
    b = signed_in(new_page, local_stack, "school", SCHOOL_B, "/messages", email=B_READER)
    inbox = b.page
    count = inbox.get_by_test_id("unread-count")
    count.wait_for()
    assert count.get_attribute("data-count") == "1" and count.inner_text() == "You have 1 unread message."
    assert inbox.get_by_test_id("unread-tag").count() == 1
    b.check("messages-inbox-unread")
    # And it reads the thread
    inbox.get_by_role("link", name="Password for the CTF").click()
    inbox.get_by_role("heading", name="Password for the CTF", level=1).wait_for()
    assert inbox.get_by_test_id("message-body").inner_text() == PASSWORD_TEXT
    assert inbox.get_by_test_id("transfer-link").count() == 1
    b.check("message-thread-received")
    # And replies
    assert SCHOOL_A in inbox.get_by_test_id("reply-to-org").inner_text()
    inbox.get_by_label("Your reply").fill("Thank you, the zip opens.")
    inbox.get_by_role("button", name="Send reply").click()
    inbox.get_by_test_id("message-sent").wait_for()
    bodies = inbox.get_by_test_id("message-body").all_inner_texts()
    assert bodies == [PASSWORD_TEXT, "Thank you, the zip opens."]
    b.check("message-thread-replied")
    inbox.get_by_role("link", name="Messages", exact=True).click()
    inbox.get_by_test_id("unread-count").wait_for()
    assert inbox.get_by_test_id("unread-count").get_attribute("data-count") == "0"
    b.check("messages-inbox-read")

    # Then A sees the read receipt: B's organisation and the time, not who there read it
    page.get_by_role("link", name="Messages", exact=True).click()
    page.get_by_test_id("unread-count").wait_for()
    assert page.get_by_test_id("unread-count").get_attribute("data-count") == "1"  # B's reply
    page.get_by_role("link", name="Sent", exact=True).click()
    page.get_by_role("heading", name="Sent messages", level=1).wait_for()
    receipt = page.get_by_test_id("receipt").first.inner_text()
    assert receipt.startswith("Read by ") and SCHOOL_B in receipt
    assert B_READER not in receipt and "@" not in receipt
    a.check("messages-sent-receipts")
    # And the file's page lists both messages, the question and the answer
    page.goto(local_stack.portal + f"/transfers/{transfer_id}")
    page.get_by_test_id("transfer-messages").wait_for()
    links = page.get_by_test_id("file-message-link").all_inner_texts()
    assert links == ["Password for the CTF", "Re: Password for the CTF"]
    a.check("transfer-with-messages")
    # And the thread shows the receipt under A's own message, and B's reply, now read by A
    page.get_by_role("link", name="Password for the CTF", exact=True).click()
    page.get_by_role("heading", name="Password for the CTF", level=1).wait_for()
    in_thread = page.get_by_test_id("read-receipt").first.inner_text()
    assert in_thread.startswith("Read by ") and SCHOOL_B in in_thread and "@" not in in_thread
    a.check("message-thread-read")
    b.page.get_by_role("link", name="Sent", exact=True).click()
    b.page.get_by_role("heading", name="Sent messages", level=1).wait_for()
    assert b.page.get_by_test_id("receipt").first.inner_text().startswith("Read by ")


def test_a_message_is_not_there_for_an_la_and_a_blank_compose_page(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack
) -> None:
    from s2s_cli.client import S2SClient

    sent = S2SClient(local_stack.api, Api(local_stack).client(SCHOOL_A).token, show_progress=False).send_message(
        SCHOOL_B, "Only for B", "Private"
    )
    la = signed_in(new_page, local_stack, "la", "823", f"/messages/{sent['message_id']}")
    la.page.get_by_role("heading", name="Message not found", level=1).wait_for()
    la.check("message-not-found")

    a = signed_in(new_page, local_stack, "school", SCHOOL_A, "/messages/new")
    a.page.get_by_role("heading", name="Write a message", level=1).wait_for()
    a.check("message-compose")
    a.page.get_by_label("To", exact=True).fill("999LLLL")
    a.page.get_by_label("Subject").fill("Hello")
    a.page.get_by_label("Message").fill("Hello there")
    a.page.get_by_role("button", name="Send message").click()
    error = a.page.get_by_test_id("message-error")
    error.wait_for()
    assert "To:" in error.inner_text()  # the API's refusal, on the field it names
    a.check("message-compose-refused")
