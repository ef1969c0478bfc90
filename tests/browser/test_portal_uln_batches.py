"""The portal's ULN batch pages against a real `s2s local serve` in headless Chromium: a school
uploads a batch CTF, follows it until the LRS (the stack's fake) has answered, and downloads the
return CTF and the CSV; a file for another school is refused with its reason; a missing file is an
error summary. Every state passes axe-core at WCAG 2.2 AA (`WatchedPage.check`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import requests
from portal_harness import LocalStack, WatchedPage
from s2s.domain.ctf_batch import CtfBatchReader, Sender
from support.ctf_batches import ctf_bytes, pupils
from test_portal_stack import signed_in as signed_in_as
from test_portal_stack import token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCHOOL = "8231234"


def school_token(stack: LocalStack) -> str:
    return token(stack, "school", SCHOOL, None)


def signed_in(new_page: Callable[[], WatchedPage], stack: LocalStack, path: str) -> WatchedPage:
    return signed_in_as(new_page, stack, "school", SCHOOL, path)


def test_a_school_runs_a_uln_batch_from_the_portal(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    made = pupils(25)
    source = tmp_path / "Spring_ULN_request.xml"
    source.write_bytes(ctf_bytes(made))
    watched = signed_in(new_page, local_stack, "/uln/batches")
    page = watched.page
    page.get_by_role("heading", name="ULN batches").wait_for()
    watched.check("uln-batches")

    # No file chosen: the error summary, linked to the field.
    page.get_by_role("button", name="Send to the LRS").click()
    page.locator(".govuk-error-summary").wait_for()
    assert "Choose the CTF file" in page.locator(".govuk-error-summary").inner_text()
    watched.check("uln-batches-no-file")

    page.set_input_files("#batch-file", str(source))
    page.get_by_role("button", name="Send to the LRS").click()
    page.wait_for_url(lambda url: "/uln/batches/" in url)
    page.locator("[data-status=complete]").wait_for(timeout=60_000)
    assert page.locator("[data-count=pupils]").inner_text() == "25"
    assert page.locator("[data-count=matched]").inner_text() == "25"
    assert page.locator("#batch-outcomes tbody tr").count() == 25
    watched.check("uln-batch-complete")

    with page.expect_download() as ctf_download:
        page.get_by_role("button", name="Download the return CTF").click()
    saved = tmp_path / "return.xml"
    ctf_download.value.save_as(saved)
    assert ctf_download.value.suggested_filename == "Spring_ULN_request_ULNs.xml"
    reader = CtfBatchReader(saved.open("rb"), Sender("school", "823", "1234"), today=date.today())
    returned = {p.upn: p.uln for p in reader.pupils()}
    assert set(returned) == {p.upn for p in made}
    assert all(uln and len(uln) == 10 for uln in returned.values())

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download every pupil's outcome (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    assert [r["upn"] for r in rows] == [p.upn for p in made]

    page.get_by_role("link", name="All ULN batches").click()
    page.locator("#batch-list").get_by_role("link", name="Spring_ULN_request.xml").first.wait_for()
    watched.check("uln-batches-with-one")


def test_a_file_for_another_school_is_refused_with_its_reason(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    source = tmp_path / "wrong.xml"
    source.write_bytes(ctf_bytes(pupils(2), estab="2345"))
    watched = signed_in(new_page, local_stack, "/uln/batches")
    page = watched.page
    page.set_input_files("#batch-file", str(source))
    page.get_by_role("button", name="Send to the LRS").click()
    page.locator("[data-status=rejected]").wait_for(timeout=60_000)
    assert page.locator("#batch-reason").get_attribute("data-reason") == "source_not_sender"
    assert page.get_by_role("button", name="Download the return CTF").count() == 0
    watched.check("uln-batch-refused")


def test_a_batch_in_progress_says_so_and_offers_no_download(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack
) -> None:
    """A batch whose file has not arrived yet: the page shows the status and that it updates itself."""
    started = requests.post(
        local_stack.api + "/uln/batches",
        json={"filename": "Later.xml", "size_bytes": 1000},
        headers={"Authorization": f"Bearer {school_token(local_stack)}"},
        timeout=30,
    )
    assert started.status_code == 201, started.text
    watched = signed_in(new_page, local_stack, f"/uln/batches/{started.json()['batch_id']}")
    page = watched.page
    page.locator("[data-status=pending_upload]").wait_for()
    page.locator("#batch-waiting").wait_for()
    assert page.get_by_role("button", name="Download the return CTF").count() == 0
    watched.check("uln-batch-in-progress")
