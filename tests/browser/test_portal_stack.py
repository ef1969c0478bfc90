"""The portal against a real `s2s local serve`, in headless Chromium, as people use it: school A
sends a CTF, school B opens the link from its email and downloads it (both by keyboard alone),
a transfer in each status, the history's privacy rule, the LA's and the DfE's pages.

Every page and state passes axe-core at WCAG 2.2 AA (`WatchedPage.check`, which also writes the
screenshot to test-artifacts/screenshots/). No page may log a CSP violation or an uncaught error
(checked by the `new_page` fixture). One stack for the module; most pages are opened with a
token put in session storage as sign-in leaves it, and one test signs in through the form."""

from __future__ import annotations

import email
import json
import re
import time
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page
from portal_harness import LocalStack, WatchedPage, active, focus_is_visible
from s2s_cli.client import S2SClient
from s2s_cli.local import auth
from support.zipfactory import make_aes_zip, make_plain_zip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCHOOL_A, SCHOOL_B, LA = "8231234", "8232345", "823"
B_EMAIL = "office@school-b.example"
B_BROWSER = "SchoolB-Browser/7.1 (private)"


# ---------------------------------------------------------------------------- helpers


def token(stack: LocalStack, kind: auth.Kind, org: str | None, email_address: str | None = None) -> str:
    """A token the local stack accepts, as `s2s local token` prints it."""
    key = auth.load_or_create_key(stack.data_dir)
    return auth.issue_token(key, auth.organisation_claims(kind, org, email_address), ttl=3600)


# The portal draws every page's h1 with tabindex=-1 (app.js `page`); index.html's placeholder has none.
APP_HEADING = "main h1[tabindex='-1']"


def signed_in(
    new_page: Callable[[], WatchedPage], stack: LocalStack, kind: auth.Kind, org: str | None, path: str, **kw: Any
) -> WatchedPage:
    """A page signed in as `org` (the token in session storage, as sign-in leaves it), at `path`.

    The sign-out page clears the token once the portal has loaded its settings, which can be after
    the page's load event: the token is stored only when that page has been drawn, or the sign-out
    would remove it again (a loaded CI machine did exactly that). Likewise the shell's own h1
    ("Loading...") is there before the app runs, so the wait is for an h1 the app drew."""
    watched = new_page()
    watched.page.goto(stack.portal + "/sign-out")
    watched.page.get_by_role("heading", name="You have signed out", level=1).wait_for()
    watched.page.evaluate("t => sessionStorage.setItem('s2s.token', t)", token(stack, kind, org, kw.get("email")))
    watched.page.goto(stack.portal + path)
    watched.page.locator(APP_HEADING).wait_for()
    return watched


def sign_in_with_the_form(page: Page, stack: LocalStack, kind: str, org: str, start: str = "/") -> None:
    """Sign in through the development sign-in form, starting from `start` on the portal."""
    page.goto(stack.portal + start)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(stack.api) + r"/dev/authorize\?"))
    page.locator(f"input[name=kind][value={kind}]").check()
    page.get_by_label("LAESTAB or LA code").fill(org)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.startswith(stack.portal) and "/callback" not in url)
    page.get_by_test_id("org-name").wait_for()
    # The code and state never stay in the address bar or history.
    assert "code=" not in page.url and "state=" not in page.url


def ctf_zip(folder: Path, name: str, *, encrypted: bool = True) -> tuple[Path, bytes]:
    inner = {name.removesuffix(".zip") + ".XML": b"<CTfile><Header/></CTfile>"}
    data = make_aes_zip(inner) if encrypted else make_plain_zip(inner)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path, data


def outcome(page: Page) -> Locator:
    """The upload page's final word: the file's status once checked, or the error that stopped it."""
    result = page.locator("[data-testid=upload-result], [data-testid=upload-error-summary]").first
    result.wait_for(timeout=60000)
    return result


def email_link(stack: LocalStack, transfer_id: str, timeout: float = 30.0) -> str:
    """The portal link in the 'available' email about `transfer_id` (emails are .eml files)."""
    pattern = re.compile(re.escape(stack.portal) + r"/transfers/" + re.escape(transfer_id) + r"\b")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(stack.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for part in message.walk():
                if part.get_content_maintype() == "text" and (match := pattern.search(part.get_content())):
                    return match.group(0)
        time.sleep(0.3)
    raise AssertionError(f"no email links to transfer {transfer_id} in {stack.mail_dir}")


class Api:
    """The API as a school's MIS would call it, to set up transfers in each status quickly."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def client(self, org: str, email_address: str | None = None, user_agent: str | None = None) -> S2SClient:
        kind: auth.Kind = "la" if len(org) == 3 else "school"
        client = S2SClient(self.stack.api, token(self.stack, kind, org, email_address), show_progress=False)
        if user_agent:
            client.session.headers["User-Agent"] = user_agent
        return client

    def create(self, org: str, name: str) -> dict[str, Any]:
        ticket: dict[str, Any] = self.client(org).create_transfer(name, 100, "0" * 64, None)
        return ticket

    def send(self, tmp: Path, org: str, name: str, *, encrypted: bool = True) -> str:
        path, _ = ctf_zip(tmp, name, encrypted=encrypted)
        client = self.client(org)
        from s2s_cli.client import sha256_file

        ticket = client.create_transfer(name, path.stat().st_size, sha256_file(path), None)
        client.upload(ticket["upload"], path)
        transfer_id = str(ticket["transfer_id"])
        deadline = time.monotonic() + 60
        while client.request("GET", f"/transfers/{transfer_id}")["status"] == "pending_upload":
            assert time.monotonic() < deadline, f"{name} was never checked"
            time.sleep(0.2)
        return transfer_id

    def expire(self, transfer_id: str) -> None:
        """Move a file's expiry into the past in the stack's (moto) table: it reads as expired."""
        import boto3

        csp = requests.get(self.stack.portal + "/", timeout=10).headers["Content-Security-Policy"]
        origins = re.search(r"connect-src ([^;]+)", csp)
        assert origins
        moto = next(o for o in origins.group(1).split() if o.startswith("http") and o != self.stack.api)
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=moto,
            region_name="eu-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        (table,) = [t for t in dynamodb.list_tables()["TableNames"] if "ransfer" in t or "S2S" in t][:1]
        dynamodb.update_item(
            TableName=table,
            Key={"PK": {"S": f"T#{transfer_id}"}, "SK": {"S": "META"}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"S": "2026-01-02T03:04:05Z"}},
        )


@pytest.fixture(scope="module")
def stack_api(local_stack: LocalStack) -> Iterator[Api]:
    yield Api(local_stack)


def tab_until(page: Page, predicate: str, limit: int = 40) -> list[str]:
    """Press Tab until `predicate` (a JS expression about document.activeElement) holds; returns
    the focus stops on the way, each of which must show GOV.UK's visible focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(active(page))
        assert focus_is_visible(page), f"no visible focus on {stops[-1]}"
        if page.evaluate(f"(() => {{ const el = document.activeElement; return Boolean({predicate}); }})()"):
            return stops
    raise AssertionError(f"never reached {predicate}; focus went {stops}")


# ---------------------------------------------------------------------------- keyboard journeys


def test_upload_by_keyboard_only_with_focus_on_each_error(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school A signed in through the form, on its inbox with nothing in it yet
    a = new_page()
    sign_in_with_the_form(a.page, local_stack, "school", SCHOOL_A)
    page = a.page
    page.get_by_test_id("empty").wait_for()
    a.check("inbox-empty")
    # When it uses the keyboard alone: the skip link comes first, then the header, then the menu
    page.reload()  # a fresh load, so the keyboard starts at the top of the page
    page.get_by_test_id("empty").wait_for()
    stops = tab_until(page, "el.textContent.trim() === 'Send a file' && el.closest('nav')")
    assert stops[0].startswith("a govuk-skip-link Skip to main content")
    assert [s.split(" ", 2)[-1] for s in stops[3:]] == ["Inbox", "Sent files", "Send a file"], stops
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name="Send a file", level=1)
    heading.wait_for()
    assert heading.evaluate("h => h === document.activeElement")
    # And sends without choosing a file: the error summary takes focus and links to the field
    tab_until(page, "el.id === 'send'")
    page.keyboard.press("Enter")
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert summary.evaluate("s => s === document.activeElement")
    tab_until(page, "el.getAttribute('href') === '#file'", limit=3)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "file"
    assert focus_is_visible(page)
    # And chooses a misnamed file from the focused field (Space opens the file chooser)
    wrong, _ = ctf_zip(tmp_path / "wrong", f"{SCHOOL_A}_ctf_{SCHOOL_B}_001.zip")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(wrong))
    page.get_by_test_id("name-error").wait_for()
    assert page.get_by_test_id("suggestion").inner_text() == f"{SCHOOL_A}_CTF_{SCHOOL_B}_001.zip"
    tab_until(page, "el.id === 'send'", limit=3)
    page.keyboard.press("Enter")
    page.locator(".govuk-error-summary").wait_for()
    assert page.locator(".govuk-error-summary").evaluate("s => s === document.activeElement")
    # Then, with the right file, the upload's progress is shown in a summary list with a tag,
    # and the result in a success banner that takes focus
    path, _ = ctf_zip(tmp_path / "good", f"{SCHOOL_A}_CTF_{SCHOOL_B}_001.zip")
    # back to the field the keyboard way, through the error summary's link (focus set from a
    # script does not count as the user's, and Chromium then opened no chooser under load)
    tab_until(page, "el.getAttribute('href') === '#file'", limit=3)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "file"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(path))
    # (record each state the progress tag shows on the way)
    page.evaluate(
        """() => { window.uploadStates = [];
          new MutationObserver(() => { const tag = document.querySelector("[data-testid=upload-state]");
            if (tag && window.uploadStates.at(-1) !== tag.dataset.state) window.uploadStates.push(tag.dataset.state); })
            .observe(document.getElementById("upload-progress"), { childList: true, subtree: true }); }"""
    )
    tab_until(page, "el.id === 'send'", limit=3)
    page.keyboard.press("Enter")
    result = outcome(page)
    assert result.get_attribute("data-status") == "available", result.inner_text()
    assert "govuk-notification-banner--success" in (result.get_attribute("class") or "")
    assert result.evaluate("b => b === document.activeElement")
    state = page.get_by_test_id("upload-state")
    assert state.get_attribute("data-state") == "accepted" and state.inner_text() == "Sent"
    assert page.locator("progress").count() == 0
    assert page.evaluate("window.uploadStates") == ["preparing", "uploading", "checking", "accepted"]
    assert page.locator("#upload-announcer[aria-live=polite]").count() == 1
    a.check("upload-sent")
    tab_until(page, 'el.textContent.trim() === "See the file\'s page"', limit=5)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=path.name, level=1).wait_for()


def test_download_by_keyboard_only_and_the_page_then_says_so(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, stack_api: Api, tmp_path: Path
) -> None:
    # Given school B gets emails and A has sent it a file
    b_client = stack_api.client(SCHOOL_B, B_EMAIL)
    b_client.request("PUT", "/subscriptions/me")
    name = f"{SCHOOL_A}_CTF_{SCHOOL_B}_002.zip"
    transfer_id = stack_api.send(tmp_path, SCHOOL_A, name)
    data = (tmp_path / name).read_bytes()
    # When B opens the email's link and signs in
    link = email_link(local_stack, transfer_id)
    b = new_page()
    sign_in_with_the_form(b.page, local_stack, "school", SCHOOL_B, start=link.removeprefix(local_stack.portal))
    page = b.page
    page.get_by_role("heading", name=name, level=1).wait_for()
    # Then opening the page downloaded nothing: the link is asked for only on a press
    assert page.get_by_test_id("no-downloads").is_visible()
    assert page.get_by_test_id("status").inner_text() == "Ready to download"
    b.check("transfer-available-recipient")
    # When B reaches Download with Tab and presses Enter
    page.reload()
    page.get_by_role("heading", name=name, level=1).wait_for()
    tab_until(page, "el.id === 'download'")
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    saved = tmp_path / "downloaded.zip"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == data
    assert download_info.value.suggested_filename == name
    # Then the page says so in a banner that takes focus, and its status and receipts agree
    banner = page.get_by_test_id("download-started")
    banner.wait_for()
    assert banner.evaluate("b => b === document.activeElement")
    assert page.get_by_test_id("status").inner_text() == "Downloaded"
    assert page.get_by_test_id("no-downloads").count() == 0
    receipts = page.get_by_test_id("receipts")
    assert "You, School 8232345" in receipts.inner_text()
    assert "Downloaded by School 8232345" in page.get_by_test_id("audit").inner_text()
    b.check("transfer-downloaded-recipient")


# ---------------------------------------------------------------------------- every status


def status_page(watched: WatchedPage, stack: LocalStack, transfer_id: str) -> Page:
    watched.page.goto(f"{stack.portal}/transfers/{transfer_id}")
    watched.page.get_by_test_id("transfer-summary").wait_for()
    return watched.page


def test_a_transfer_in_each_status_reads_in_words_and_passes_axe(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, stack_api: Api, tmp_path: Path
) -> None:
    # Given transfers from A to B in every status
    ids = {
        "pending_upload": stack_api.create(SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_010.zip")["transfer_id"],
        "available": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_011.zip"),
        "downloaded": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_012.zip"),
        "withdrawn": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_013.zip"),
        "removed": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_014.zip"),
        "rejected": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_015.zip", encrypted=False),
        "expired": stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_016.zip"),
    }
    a_api, b_api = stack_api.client(SCHOOL_A), stack_api.client(SCHOOL_B)
    b_api.request("POST", f"/transfers/{ids['downloaded']}/download")
    a_api.request("DELETE", f"/transfers/{ids['withdrawn']}")
    b_api.request("DELETE", f"/transfers/{ids['removed']}")
    stack_api.expire(ids["expired"])
    words = {
        "pending_upload": "Waiting for upload",
        "available": "Ready to download",
        "downloaded": "Downloaded",
        "withdrawn": "Withdrawn by the sender",
        "removed": "Removed",
        "rejected": "Rejected",
        "expired": "Expired",
    }
    history = {
        "available": "Checked and accepted",
        "downloaded": "Downloaded by School 8232345",
        "withdrawn": "Withdrawn by School 8231234",
        "removed": "Removed by School 8232345",
        "rejected": "Checked and rejected",
        "expired": "Checked and accepted",
    }
    # When the sender opens each one
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, "/sent")
    for status, transfer_id in ids.items():
        page = status_page(a, local_stack, transfer_id)
        # Then the status is a tag in words, the history is in words, and axe finds nothing
        assert page.get_by_test_id("status").inner_text() == words[status]
        if status in history:
            assert history[status] in page.get_by_test_id("audit").inner_text(), status
        audit = page.get_by_test_id("audit").inner_text() if page.get_by_test_id("audit").count() else ""
        assert "landing-check" not in audit and "_" not in audit, audit
        if status == "rejected":
            # A rejected file shows its reason, not an expiry
            reason = page.get_by_test_id("reason").inner_text()
            assert "encrypt" in reason.lower() or "AES" in reason, reason
            assert page.get_by_test_id("expires").count() == 0
            assert "Available until" not in page.get_by_test_id("transfer-summary").inner_text()
        elif status in ("pending_upload", "available", "downloaded"):
            assert page.get_by_test_id("expires").is_visible()
        else:
            assert page.get_by_test_id("expires").count() == 0
        a.check(f"transfer-{status}-sender")

    # And the sent files list shows each row's time as well as its age, and a rejected row's reason
    a.page.goto(local_stack.portal + "/sent")
    table = a.page.get_by_test_id("transfer-table")
    table.wait_for()
    rejected_row = table.get_by_role("row").filter(has_text=f"{SCHOOL_A}_CTF_{SCHOOL_B}_015.zip")
    assert "encrypt" in rejected_row.get_by_test_id("row-reason").inner_text().lower()
    assert "Until" not in rejected_row.inner_text()
    available_row = table.get_by_role("row").filter(has_text=f"{SCHOOL_A}_CTF_{SCHOOL_B}_011.zip")
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}\s+today", available_row.inner_text())
    a.check("sent-files")

    # And the recipient sees the ones that reached it (never the pending or rejected ones)
    b = signed_in(new_page, local_stack, "school", SCHOOL_B, "/inbox")
    b.page.get_by_test_id("transfer-table").wait_for()
    inbox = b.page.get_by_test_id("transfer-table").inner_text()
    assert f"{SCHOOL_A}_CTF_{SCHOOL_B}_015.zip" not in inbox and f"{SCHOOL_A}_CTF_{SCHOOL_B}_010.zip" not in inbox
    b.check("inbox-full")
    for status in ("available", "withdrawn", "removed", "expired"):
        page = status_page(b, local_stack, ids[status])
        assert page.get_by_test_id("status").inner_text() == words[status]
        b.check(f"transfer-{status}-recipient")


def test_the_history_shows_another_organisations_people_only_as_that_organisation(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, stack_api: Api, tmp_path: Path
) -> None:
    # Given B gets emails, A sends B a file, and one of B's people downloads it from B's browser
    b_client = stack_api.client(SCHOOL_B, B_EMAIL, user_agent=B_BROWSER)
    b_client.request("PUT", "/subscriptions/me")
    transfer_id = stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_020.zip")
    email_link(local_stack, transfer_id)  # the email has gone
    b_client.request("POST", f"/transfers/{transfer_id}/download")
    detail = stack_api.client(SCHOOL_A).request("GET", f"/transfers/{transfer_id}")
    b_people = {str(e.get("actor_user") or "") for e in detail["audit"] if e["actor_org"] == SCHOOL_B} - {""}

    # When A (the sender) opens the file's page
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, f"/transfers/{transfer_id}")
    a.page.get_by_test_id("audit").wait_for()
    text = a.page.locator("main").inner_text()
    # Then B's actions show as B, the action and the time: no person, address or browser
    assert "Downloaded by School 8232345" in text
    assert re.search(r"Email sent to School 8232345", text), text
    assert B_EMAIL not in text and B_BROWSER not in text
    assert not any(person in text for person in b_people), b_people
    download_row = a.page.get_by_test_id("audit").get_by_role("row").filter(has_text="Downloaded by")
    assert download_row.locator("td").last.inner_text() == "School 8232345"
    # (A's own actions do show A's own people and addresses)
    assert "You, School 8231234 (from 127.0.0.1" in text
    receipts = a.page.get_by_test_id("receipts").inner_text()
    assert receipts.strip().endswith("School 8232345")
    a.check("transfer-history-sender")

    # And B sees its own people's details on the same page
    b = signed_in(new_page, local_stack, "school", SCHOOL_B, f"/transfers/{transfer_id}", email=B_EMAIL)
    b.page.get_by_test_id("audit").wait_for()
    assert B_BROWSER in b.page.get_by_test_id("audit").inner_text()
    # And even B never sees an email address in the history
    assert B_EMAIL not in b.page.get_by_test_id("audit").inner_text()
    b.check("transfer-history-recipient")


# ---------------------------------------------------------------------------- upload errors


def test_upload_errors_from_the_service_and_the_landing_check(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, "/upload")
    page = a.page
    # A UPN with a wrong check letter is refused by the service, and the summary links to the UPN
    path, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_CTF_XXXXXXX_031.zip")
    page.locator("#file").set_input_files(str(path))
    page.get_by_label("Pupil's UPN").fill("B823123426001")
    page.get_by_role("button", name="Send file").click()
    refused = outcome(page)
    assert refused.get_attribute("data-code") == "bad_upn", refused.inner_text()
    assert refused.get_by_role("link").get_attribute("href") == "#upn"
    assert refused.evaluate("s => s === document.activeElement")
    a.check("upload-error-refused-by-the-service")
    # An unencrypted zip is rejected by the landing check, and the page says why
    page.goto(local_stack.portal + "/upload")
    name = f"{SCHOOL_A}_CTF_{SCHOOL_B}_032.zip"
    plain, _ = ctf_zip(tmp_path, name, encrypted=False)
    page.locator("#file").set_input_files(str(plain))
    page.get_by_role("button", name="Send file").click()
    result = outcome(page)
    assert result.get_attribute("data-status") == "rejected", result.inner_text()
    reason = result.get_by_test_id("reason").inner_text()
    assert "AES" in reason or "encrypt" in reason.lower(), reason
    assert page.get_by_test_id("upload-state").inner_text() == "Rejected"
    a.check("upload-error-rejected")


# ---------------------------------------------------------------------------- other pages


def test_withdraw_and_email_alerts(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, stack_api: Api, tmp_path: Path
) -> None:
    transfer_id = stack_api.send(tmp_path, SCHOOL_A, f"{SCHOOL_A}_CTF_{SCHOOL_B}_040.zip")
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, f"/transfers/{transfer_id}")
    page = a.page
    # The sender has no Download button, only Withdraw, which asks first
    page.get_by_role("button", name="Withdraw this file").wait_for()
    assert page.get_by_role("button", name="Download").count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Withdraw this file").click()
    page.get_by_text("The file was withdrawn").wait_for()
    assert page.get_by_test_id("status").inner_text() == "Withdrawn by the sender"
    assert page.get_by_role("button", name="Withdraw this file").count() == 0
    a.check("transfer-withdrawn-just-now")
    # Email alerts on and off
    page.goto(local_stack.portal + "/subscriptions")
    page.get_by_role("heading", name="Email alerts").wait_for()
    a.check("subscriptions")
    page.get_by_role("button", name="Get emails").click()
    page.get_by_role("button", name="Stop emails").wait_for()
    assert "You get emails" in page.get_by_test_id("subscribed").inner_text()
    a.check("subscriptions-on")
    page.get_by_role("button", name="Stop emails").click()
    page.get_by_role("button", name="Get emails").wait_for()


def test_the_la_pages(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, stack_api: Api, tmp_path: Path
) -> None:
    openapi = requests.get(f"{local_stack.api}/openapi.json", timeout=10).json()
    if "/reports/transfers" not in openapi.get("paths", {}):
        pytest.skip("the local stack does not serve /reports/transfers yet")
    name = f"{SCHOOL_A}_CTF_{SCHOOL_B}_050.zip"
    stack_api.send(tmp_path, SCHOOL_A, name)
    la = signed_in(new_page, local_stack, "la", LA, "/reports")
    page = la.page
    report = page.locator("#report-results").locator("[data-testid=report-table], .govuk-error-summary").first
    report.wait_for()
    assert report.get_attribute("data-testid") == "report-table", report.inner_text()
    headers = [cell.inner_text() for cell in report.locator("thead th").all()]
    totals = [cell.inner_text() for cell in report.locator("tbody tr").last.locator("td").all()]
    assert totals[0] == "Total" and int(totals[headers.index("Sent")]) >= 1
    assert page.get_by_test_id("report-chart").locator("rect.app-chart__bar--sent").count() >= 1
    la.check("la-report")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    csv_path = tmp_path / "report.csv"
    download_info.value.save_as(csv_path)
    assert "sent" in csv_path.read_text(encoding="utf-8-sig").splitlines()[0].lower()

    page.get_by_role("link", name="Not downloaded").click()
    page.get_by_label("Older than (days)").fill("0")
    page.get_by_role("button", name="Show files").click()
    page.get_by_test_id("undownloaded-table").get_by_role("link", name=name).wait_for()
    la.check("la-undownloaded")

    page.get_by_role("link", name="Your schools' files").click()
    row = page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=name)
    assert re.search(rf"{SCHOOL_A}\)? to .*{SCHOOL_B}", row.inner_text()), row.inner_text()
    la.check("la-files")

    page.get_by_role("link", name="Lost pupils").click()
    page.get_by_role("heading", name="Lost pupils", level=1).wait_for()
    la.check("la-lost-pupils")
    page.get_by_role("button", name="Search").click()
    page.locator(".govuk-error-summary").wait_for()
    la.check("la-lost-pupils-no-upn")


VALID_UPN = "H801200001001"


def test_the_la_finds_a_lost_pupil_file_by_upn_and_claims_it_for_a_school(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school A sends a CTF to the Lost Pupils Database, which asks for the pupil's UPN
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, "/upload")
    path, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_CTF_XXXXXXX_001.zip")
    a.page.locator("#file").set_input_files(str(path))
    a.page.get_by_label("Pupil's UPN").fill(VALID_UPN.lower())
    a.page.get_by_role("button", name="Send file").click()
    result = outcome(a.page)
    assert result.get_attribute("data-status") == "available", result.inner_text()

    # When the LA searches the Lost Pupils Database for that UPN
    la = signed_in(new_page, local_stack, "la", LA, "/lost-pupils")
    la.page.get_by_label("Pupil's UPN").fill(VALID_UPN)
    la.page.get_by_role("button", name="Search").click()
    row = la.page.get_by_test_id("lpd-table").get_by_role("row").filter(has_text=path.name)
    row.wait_for()
    la.check("la-lost-pupils-found")
    # And claims it for school B
    row.get_by_label("School LAESTAB").fill(SCHOOL_B)
    row.get_by_role("button", name="Claim").click()
    la.page.get_by_test_id("lpd-table").get_by_role("row").filter(has_text=path.name).get_by_role(
        "button", name="Claim"
    ).wait_for(state="detached")
    # Then it is in B's inbox, ready to download
    b = signed_in(new_page, local_stack, "school", SCHOOL_B, "/inbox")
    inbox_row = b.page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=path.name)
    assert "Ready to download" in inbox_row.inner_text()


def test_dfe_sees_reports_only(new_page: Callable[[], WatchedPage], local_stack: LocalStack) -> None:
    dfe = signed_in(new_page, local_stack, "dfe", None, "/")
    report = dfe.page.get_by_test_id("report-table")
    report.wait_for()
    assert dfe.page.url == local_stack.portal + "/reports"
    menu = [link.inner_text() for link in dfe.page.get_by_role("navigation").get_by_role("link").all()]
    assert menu == ["Reports", "Not downloaded", "Find a school", "Sign out"]
    assert "England" in dfe.page.locator("#report-results").inner_text()
    dfe.check("dfe-report")
    dfe.page.goto(local_stack.portal + "/upload")
    dfe.page.get_by_test_id("report-table").wait_for()
    assert dfe.page.url == local_stack.portal + "/reports"
    dfe.page.goto(local_stack.portal + "/undownloaded")
    dfe.page.get_by_role("button", name="Show files").click()
    dfe.page.locator(".govuk-error-summary").wait_for()
    dfe.check("dfe-undownloaded-no-la")
    dfe.page.goto(local_stack.portal + "/no-such-page")
    dfe.page.get_by_role("heading", name="Page not found").wait_for()
    dfe.check("page-not-found")
    dfe.page.goto(local_stack.portal + "/sign-out")
    dfe.page.get_by_role("heading", name="You have signed out").wait_for()
    dfe.check("signed-out-after-sign-out")
    assert json.loads(json.dumps(dfe.page.evaluate("sessionStorage.getItem('s2s.token')"))) is None


def test_the_lrs_registration_page(new_page: Callable[[], WatchedPage], local_stack: LocalStack) -> None:
    school = "8237002"  # no other test uses it: its registration is changed here
    watched = signed_in(new_page, local_stack, "school", school, "/lrs-registration")
    page = watched.page
    page.get_by_role("heading", name="LRS registration").wait_for()
    # The local stack registered the fake LRS's development account on the school's first request.
    summary = page.get_by_test_id("lrs-registration")
    summary.wait_for()
    assert "s2s-local" in summary.inner_text() and "Registered" in summary.inner_text()
    watched.check("lrs-registration")

    page.get_by_label("UKPRN", exact=True).fill("10000001")
    page.get_by_label("LRS web service user name").fill("s2s-local")
    page.get_by_label("LRS web service password").fill("not-the-lrs-password")
    page.get_by_role("button", name="Check and replace").click()
    page.get_by_role("alert").get_by_text("There is a problem").wait_for()
    assert "refused" in page.locator(".govuk-error-summary").inner_text()
    assert page.get_by_label("LRS web service password").input_value() == ""  # never left in the form
    watched.check("lrs-registration-refused")

    page.get_by_role("button", name="Remove the account from S2S").click()
    page.get_by_test_id("lrs-not-registered").wait_for()
    watched.check("lrs-registration-none")

    page.get_by_label("UKPRN", exact=True).fill("10000001")
    page.get_by_label("LRS web service user name").fill("s2s-local")
    page.get_by_label("LRS web service password").fill("local-lrs-password")
    page.get_by_role("button", name="Check and save").click()
    page.get_by_text("The LRS accepted the account").wait_for()
    page.get_by_test_id("lrs-registration").wait_for()
    assert "local-lrs-password" not in page.content()
    watched.check("lrs-registration-saved")
