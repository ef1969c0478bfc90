"""The portal against a real `s2s local serve`, in headless Chromium, as people use it: school A
sends a CTF, school B opens the link from its email and downloads it, the LA reads its report.
Sign-in goes through the local stack's development sign-in page (authorization code + PKCE).

Screenshots of the main pages go to test-artifacts/screenshots/. No page may log a CSP violation
or an uncaught error (checked by the `new_page` fixture)."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from email import policy
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Locator, Page
from portal_harness import LocalStack, WatchedPage
from zipfactory import make_aes_zip, make_plain_zip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCHOOL_A, SCHOOL_B, LA = "8231234", "8232345", "823"


def sign_in(page: Page, stack: LocalStack, kind: str, org: str, start: str = "/") -> None:
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


def ctf_zip(tmp_path: Path, name: str) -> tuple[Path, bytes]:
    data = make_aes_zip({name.removesuffix(".zip") + ".XML": b"<CTfile><Header/></CTfile>"})
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def outcome(page: Page) -> Locator:
    """The upload page's final word: the file's status once checked, or the error that stopped it."""
    result = page.locator("#upload-status").locator("[data-testid=upload-result], .error-summary").first
    result.wait_for(timeout=60000)
    return result


def report_table(page: Page) -> Locator:
    """The report's table once shown; fails with the page's own error message when the API refused."""
    result = page.locator("#report-results").locator("[data-testid=report-table], .error-summary").first
    result.wait_for()
    assert result.get_attribute("data-testid") == "report-table", result.inner_text()
    return result


def upload(page: Page, stack: LocalStack, path: Path) -> str:
    """Send `path` from the upload page; returns the transfer id once the file is available."""
    page.goto(stack.portal + "/upload")
    page.get_by_label("File to send").set_input_files(str(path))
    page.get_by_role("button", name="Send file").click()
    result = outcome(page)
    assert result.get_attribute("data-status") == "available", result.inner_text()
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    href = result.get_by_role("link", name="See the file's page").get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[-1]


def email_link(stack: LocalStack, transfer_id: str, timeout: float = 30.0) -> str:
    """The portal link in the 'available' email about `transfer_id` (emails are .eml files)."""
    import time

    pattern = re.compile(re.escape(stack.portal) + r"/transfers/" + re.escape(transfer_id) + r"\b")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(stack.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for part in message.walk():
                if part.get_content_maintype() == "text" and (match := pattern.search(part.get_content())):
                    return match.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no email links to transfer {transfer_id} in {stack.mail_dir}")


def test_school_a_sends_a_ctf_and_school_b_downloads_it_from_the_email_link(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school B gets emails about its files
    b = new_page()
    sign_in(b.page, local_stack, "school", SCHOOL_B)
    b.page.get_by_role("link", name="Email alerts").click()
    b.page.get_by_role("button", name="Get emails").click()
    b.page.get_by_role("button", name="Stop emails").wait_for()
    assert "You get emails" in b.page.get_by_test_id("subscribed").inner_text()
    b.screenshot("subscriptions")

    # When school A signs in, first picks a wrongly named file, then sends the CTF
    a = new_page()
    sign_in(a.page, local_stack, "school", SCHOOL_A)
    a.screenshot("inbox-empty")
    wrong, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_ctf_{SCHOOL_B}_001.zip")
    a.page.goto(local_stack.portal + "/upload")
    a.page.get_by_label("File to send").set_input_files(str(wrong))
    assert a.page.get_by_test_id("suggestion").inner_text() == f"{SCHOOL_A}_CTF_{SCHOOL_B}_001.zip"
    assert a.page.locator("#send").is_disabled()
    a.screenshot("upload-invalid-name")
    (tmp_path / "good").mkdir()
    path, data = ctf_zip(tmp_path / "good", f"{SCHOOL_A}_CTF_{SCHOOL_B}_001.zip")
    transfer_id = upload(a.page, local_stack, path)
    a.screenshot("upload-sent")

    # Then A's sent files list it as ready to download
    a.page.get_by_role("link", name="Sent files").click()
    row = a.page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=path.name)
    assert "Ready to download" in row.inner_text()
    assert SCHOOL_B in row.inner_text()
    a.screenshot("sent-files")

    # When B opens the link from the email it was sent
    link = email_link(local_stack, transfer_id)
    b.page.goto(link)
    b.page.get_by_role("heading", name=path.name).wait_for()
    # Then opening the page downloaded nothing: the download link is asked for only on a press
    assert b.page.get_by_text("Nobody has downloaded this file yet.").is_visible()
    b.screenshot("transfer-page")
    # And pressing Download fetches exactly the bytes A sent
    with b.page.expect_download() as download_info:
        b.page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == path.name
    saved = tmp_path / "downloaded.zip"
    download.save_as(saved)
    assert saved.read_bytes() == data

    # And the receipt shows on the file's page, for B and in B's inbox
    b.page.goto(link)
    receipts = b.page.get_by_role("table", name="Download receipts")
    receipts.wait_for()
    assert SCHOOL_B in receipts.inner_text()
    b.page.get_by_role("link", name="Inbox").click()
    inbox_row = b.page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=path.name)
    assert "Downloaded" in inbox_row.inner_text()
    b.screenshot("inbox")


def test_the_la_reads_its_transfers_report_and_downloads_it_as_csv(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    openapi = requests.get(f"{local_stack.api}/openapi.json", timeout=10).json()
    if "/reports/transfers" not in openapi.get("paths", {}):
        pytest.skip("the local stack does not serve /reports/transfers yet")
    # Given school A has sent a file this month
    a = new_page()
    sign_in(a.page, local_stack, "school", SCHOOL_A)
    path, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_CTF_{SCHOOL_B}_002.zip")
    upload(a.page, local_stack, path)

    # When the LA signs in and opens its report
    la = new_page()
    sign_in(la.page, local_stack, "la", LA)
    la.page.get_by_role("link", name="Reports").click()
    report = report_table(la.page)

    # Then the table's totals count the file as sent and received, and the chart is drawn
    headers = [cell.inner_text() for cell in report.locator("thead th").all()]
    totals = [cell.inner_text() for cell in report.locator("tbody tr").last.locator("td").all()]
    assert totals[0] == "Total"
    assert int(totals[headers.index("Sent")]) >= 1
    assert int(totals[headers.index("Received")]) >= 1
    chart = la.page.get_by_test_id("report-chart")
    assert chart.locator("rect.chart-bar-sent").count() >= 1
    la.screenshot("la-report")

    # And the CSV download carries the same report
    with la.page.expect_download() as download_info:
        la.page.get_by_role("button", name="Download CSV").click()
    csv_path = tmp_path / "report.csv"
    download_info.value.save_as(csv_path)
    csv_text = csv_path.read_text(encoding="utf-8-sig")
    assert "sent" in csv_text.splitlines()[0].lower()
    assert len(csv_text.splitlines()) >= 2

    # And the undownloaded page lists what is waiting at the LA's schools
    la.page.get_by_role("link", name="Not downloaded").click()
    la.page.get_by_label("Older than (days)").fill("0")
    la.page.get_by_role("button", name="Show files").click()
    la.page.get_by_test_id("undownloaded-table").get_by_role("link", name=path.name).wait_for()
    la.screenshot("la-undownloaded")

    # And the files to and from its schools include A's
    la.page.get_by_role("link", name="Your schools' files").click()
    la_row = la.page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=path.name)
    assert f"{SCHOOL_A} → {SCHOOL_B}" in la_row.inner_text()


VALID_UPN = "H801200001001"


def test_the_la_finds_a_lost_pupil_file_by_upn_and_claims_it_for_a_school(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    openapi = requests.get(f"{local_stack.api}/openapi.json", timeout=10).json()
    if "/lost-pupils" not in openapi.get("paths", {}):
        pytest.skip("the local stack does not serve /lost-pupils yet")
    # Given school A sends a CTF to the Lost Pupils Database, which asks for the pupil's UPN
    a = new_page()
    sign_in(a.page, local_stack, "school", SCHOOL_A)
    path, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_CTF_XXXXXXX_001.zip")
    a.page.goto(local_stack.portal + "/upload")
    a.page.get_by_label("File to send").set_input_files(str(path))
    a.page.get_by_label("Pupil's UPN").fill(VALID_UPN.lower())
    a.page.get_by_role("button", name="Send file").click()
    result = outcome(a.page)
    assert result.get_attribute("data-status") == "available", result.inner_text()

    # When the LA searches the Lost Pupils Database for that UPN
    la = new_page()
    sign_in(la.page, local_stack, "la", LA)
    la.page.get_by_role("link", name="Lost pupils").click()
    la.page.get_by_label("Pupil's UPN").fill(VALID_UPN)
    la.page.get_by_role("button", name="Search").click()
    row = la.page.get_by_test_id("lpd-table").get_by_role("row").filter(has_text=path.name)
    row.wait_for()
    la.screenshot("la-lost-pupils")
    # And claims it for school B
    row.get_by_label("School LAESTAB").fill(SCHOOL_B)
    row.get_by_role("button", name="Claim").click()

    # Then the file can no longer be claimed, and it is in B's inbox
    la.page.get_by_test_id("lpd-table").get_by_role("row").filter(has_text=path.name).get_by_role(
        "button", name="Claim"
    ).wait_for(state="detached")
    b = new_page()
    sign_in(b.page, local_stack, "school", SCHOOL_B)
    inbox_row = b.page.get_by_test_id("transfer-table").get_by_role("row").filter(has_text=path.name)
    assert "Ready to download" in inbox_row.inner_text()


def test_dfe_sees_reports_only(new_page: Callable[[], WatchedPage], local_stack: LocalStack) -> None:
    openapi = requests.get(f"{local_stack.api}/openapi.json", timeout=10).json()
    if "/reports/transfers" not in openapi.get("paths", {}):
        pytest.skip("the local stack does not serve /reports/transfers yet")
    # Given a DfE user signs in
    dfe = new_page()
    sign_in(dfe.page, local_stack, "dfe", "")
    # Then they land on the national report, and the menu offers reports only
    report_table(dfe.page)
    assert dfe.page.url == local_stack.portal + "/reports"
    menu = [link.inner_text() for link in dfe.page.get_by_role("navigation").get_by_role("link").all()]
    assert menu == ["Reports", "Not downloaded"]
    assert "England" in dfe.page.locator("#report-results").inner_text()
    # And a school's page sends them back to the reports
    dfe.page.goto(local_stack.portal + "/upload")
    report_table(dfe.page)
    assert dfe.page.url == local_stack.portal + "/reports"
    dfe.screenshot("dfe-report")


def test_an_unencrypted_zip_is_rejected_and_the_page_says_why(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school A picks a correctly named zip that is not encrypted
    name = f"{SCHOOL_A}_CTF_{SCHOOL_B}_004.zip"
    path = tmp_path / name
    path.write_bytes(make_plain_zip({name.removesuffix(".zip") + ".XML": b"<CTfile/>"}))
    a = new_page()
    sign_in(a.page, local_stack, "school", SCHOOL_A)
    # When it sends it
    a.page.goto(local_stack.portal + "/upload")
    a.page.get_by_label("File to send").set_input_files(str(path))
    a.page.get_by_role("button", name="Send file").click()
    # Then the upload page follows the file to its rejection and shows the reason in plain words
    result = outcome(a.page)
    assert result.get_attribute("data-status") == "rejected", result.inner_text()
    reason = result.get_by_test_id("reason").inner_text()
    assert "AES" in reason or "encrypt" in reason.lower(), reason
    a.screenshot("upload-rejected")


def test_the_sender_withdraws_a_file_before_it_is_downloaded(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    a = new_page()
    sign_in(a.page, local_stack, "school", SCHOOL_A)
    path, _ = ctf_zip(tmp_path, f"{SCHOOL_A}_CTF_{SCHOOL_B}_005.zip")
    transfer_id = upload(a.page, local_stack, path)
    a.page.goto(f"{local_stack.portal}/transfers/{transfer_id}")
    # The sender has no Download button, only Withdraw, which asks first
    assert a.page.get_by_role("button", name="Download").count() == 0
    a.page.once("dialog", lambda dialog: dialog.accept())
    a.page.get_by_role("button", name="Withdraw this file").click()
    a.page.get_by_text("Withdrawn by the sender").wait_for()
    assert a.page.get_by_role("button", name="Withdraw this file").count() == 0
