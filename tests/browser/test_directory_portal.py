"""Find a school in the portal (docs/SERVICE.md §12), in headless Chromium against a real
`s2s local serve` (which starts with the fictional sample directory): a school finds another by
name as it types, copies its LAESTAB, and the upload page refuses a file named for a closed school
with the name for its successor, warns of a school the directory does not know, and names an open
one. Every state passes axe-core (WCAG 2.2 AA)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from browser.test_portal_stack import ctf_zip, signed_in
from portal_harness import LocalStack, WatchedPage
from support.directory import CLOSED, SUCCESSOR, UNKNOWN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCHOOL_A = "8231234"


def test_find_a_school_by_name_copy_its_laestab_and_the_upload_page_refuses_its_old_number(
    new_page: Callable[[], WatchedPage], local_stack: LocalStack, tmp_path: Path
) -> None:
    # Given school A on the Find a school page
    a = signed_in(new_page, local_stack, "school", SCHOOL_A, "/find-a-school")
    page = a.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=local_stack.portal)
    page.get_by_role("heading", name="Find a school", level=1).wait_for()
    a.check("find-a-school")
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/directory/establishments" in r.url else None)

    # When it types the start of the name (search as you type, once typing pauses)
    words = "hillside prim"
    page.get_by_label("School name, LAESTAB or URN").press_sequentially(words)
    page.get_by_label("Local authority code (optional)").fill("823")
    table = page.get_by_test_id("directory-table")
    table.wait_for()

    # Then the open academy comes first, and the closed school says which school took it over
    page.wait_for_function("document.querySelectorAll('[data-testid=school-laestab]').length >= 2")
    codes = page.get_by_test_id("school-laestab").all_inner_texts()
    assert codes[:2] == [SUCCESSOR, CLOSED]
    closed_row = table.get_by_role("row").filter(has_text=CLOSED)
    assert f"Now Hillside Primary Academy ({SUCCESSOR})" in closed_row.inner_text()
    assert 1 <= len(searches) < len(words), searches  # debounced: not one request per key
    a.check("find-a-school-results")

    # When it copies the academy's LAESTAB
    button = table.locator(f"[data-testid=copy-laestab][data-laestab='{SUCCESSOR}']")
    button.click()
    page.wait_for_function(
        "code => document.querySelector(`[data-laestab='${code}']`).textContent.startsWith('Copied')", arg=SUCCESSOR
    )
    assert page.evaluate("navigator.clipboard.readText()") == SUCCESSOR
    assert page.locator("#directory-announcer").inner_text() == f"LAESTAB {SUCCESSOR} copied"
    a.check("find-a-school-copied")

    # And then chooses a file named for the closed school on the upload page
    page.get_by_role("link", name="Send a file").click()
    page.get_by_role("heading", name="Send a file", level=1).wait_for()
    old, _ = ctf_zip(tmp_path / "old", f"{SCHOOL_A}_CTF_{CLOSED}_001.zip")
    page.locator("#file").set_input_files(str(old))

    # Then the page refuses it and gives the name for the successor
    page.get_by_test_id("suggestion").wait_for()
    assert page.get_by_test_id("suggestion").inner_text() == f"{SCHOOL_A}_CTF_{SUCCESSOR}_001.zip"
    error = page.get_by_test_id("name-error")
    assert "Hillside Primary School (8233001) has closed" in error.inner_text()
    assert error.get_attribute("data-reason") == "closed_destination"
    a.check("upload-closed-school")
    page.get_by_role("button", name="Send file").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "has closed" in summary.inner_text()
    assert page.locator("#upload-progress").is_hidden()  # nothing was uploaded
    a.check("upload-closed-school-refused")

    # And a school the directory does not know is a warning; an open one is named
    unknown, _ = ctf_zip(tmp_path / "unknown", f"{SCHOOL_A}_CTF_{UNKNOWN}_001.zip")
    page.locator("#file").set_input_files(str(unknown))
    page.get_by_test_id("destination-warning").wait_for()
    assert f"does not know {UNKNOWN}" in page.get_by_test_id("destination-warning").inner_text()
    a.check("upload-unknown-school")
    renamed, _ = ctf_zip(tmp_path / "new", f"{SCHOOL_A}_CTF_{SUCCESSOR}_001.zip")
    page.locator("#file").set_input_files(str(renamed))
    page.get_by_test_id("destination-name").wait_for()
    assert page.get_by_test_id("destination-name").inner_text() == "Hillside Primary Academy"
    a.check("upload-open-school")
