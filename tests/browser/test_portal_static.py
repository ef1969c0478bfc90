"""The portal in Chromium without the API: the naming checker in the browser agrees with
s2s.domain.naming name by name (reason, message and suggested name), the upload page shows the
suggested fix, and the sign-in button starts a PKCE authorization request.

The portal is served by a small static server with the local stack's CSP; no CSP violation or
uncaught error may appear in the console (checked by the `new_page` fixture)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from portal_harness import StaticPortal, WatchedPage, fake_token, school_token_claims
from s2s.domain.errors import Forbidden, NamingError
from s2s.domain.naming import check_upload_name, parse_filename

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

GOOD = [
    "8231234_CTF_8232345_001.zip",
    "8231234_CTF_823LLLL_999.ZIP",
    "8231234_CTF_330XXXX_010.Zip",
    "8231234_CTF_XXXXXXX_001.zip",
    "8231234_CTF_MMMMMMM_002.zip",
    "823LLLL_ATF_8234001_001.zip",
    "823LLLL_ATF_8234001_26001.zip",
    "823LLLL_ADT_8234001_26001.zip",
    "823LLLL_ASL_8234001_26002.zip",
    "8231234_8232345_SENreport.zip",
    "8231234_823LLLL_a-b-c.zip",
]
HAND_PICKED_BAD = [
    "",
    ".zip",
    "a.zip",
    "8231234_CTF_8232345_001",
    "8231234_CTF_8232345_001.xml",
    "8231234_CTF_8232345_001.XML",
    "8231234_CTF_8232345_001.xml.zip",
    "8231234_CTF_8232345_001.zip ",
    " 8231234_CTF_8232345_001.zip",
    "8231234_ctf_8232345_001.zip",
    "8231234_CTF_823llll_001.zip",
    "823llll_CTF_8232345_001.zip",
    "8231234_CTF_xxxxxxx_001.zip",
    "8231234_CTF_8232345_001 (1).zip",
    "8231234_CTF_8232345_001(2).zip",
    "8231234_CTF_8232345_001 - Copy.zip",
    "8231234_CTF_8232345_001 - Copy (3).zip",
    "8231234_CTF_8232345_000.zip",
    "8231234_CTF_8232345_26001.zip",
    "823LLLL_ADT_8234001_001.zip",
    "823LLLL_ATF_XXXXXXX_001.zip",
    "8231234_8232345_XXXXXXX_001.zip",
    "9991234_CTF_8232345_001.zip",
    "8231234_CTF_9992345_001.zip",
    "823XXXX_CTF_8232345_001.zip",
    "XXXXXXX_CTF_8232345_001.zip",
    "12345_CTF_8232345_001.zip",
    "8231234_CTF_12345_001.zip",
    "8231234__CTF_8232345_001.zip",
    "8231234_CTF_8232345_001_x.zip",
    "8231234_8232345.zip",
    "8231234_8232345_SEN_report.zip",
    "8231234_8232345_ThisIsMuchTooLongText.zip",
    "8231234_8232345_CTF.zip",
    "8231234_CTF_8232345_0a1.zip",
    "8231234 CTF 8232345 001.zip",
    "8231234_CTF_8232345_001.zip.zip",
    "8231234.CTF.8232345.001.zip",
    "8231234_FOO_8232345_001.zip",
    "8231234_CTF_8232345_é01.zip",
    "8231234_CTF_8232345_00\u0661.zip",
    "8231234_CTF_8232345_001\t.zip",
    "A" * 120 + ".zip",
    "8231234_CTF_8232345_001.zi",
    "8231234_ctf_823llll_001.xml",
]
MUTATIONS: list[Callable[[str, random.Random], str]] = [
    lambda n, r: n.lower(),
    lambda n, r: n.upper(),
    lambda n, r: n[:-4] + r.choice([" (1)", "(2)", " - Copy", " - copy (12)"]) + n[-4:],
    lambda n, r: n[:-4] + r.choice([".XML", ".xml", ".xml.zip", "", ".Zip", ".ZIP "]),
    lambda n, r: r.choice([" ", "  ", "\t"]) + n,
    lambda n, r: n.replace("_", r.choice(["__", "-", " ", "_x_"]), 1),
    lambda n, r: n.replace("823", r.choice(["999", "000", "8a3", "82"]), 1),
    lambda n, r: n.replace("1", r.choice(["0", "\u0661", "\uff11", "l"]), 1),
    lambda n, r: n.replace("CTF", r.choice(["ctf", "Ctf", "ATF", "ADT", "GEN"]), 1),
    lambda n, r: n.replace("LLLL", r.choice(["llll", "XXXX", "LLL"]), 1),
    lambda n, r: n[: r.randrange(len(n))] + n[r.randrange(len(n)) :],
]


def mutated_names(count: int = 400, seed: int = 20260) -> list[str]:
    rng = random.Random(seed)
    names = []
    for _ in range(count):
        name = rng.choice(GOOD)
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(MUTATIONS)(name, rng)
        names.append(name)
    return names


def python_verdict(name: str) -> dict[str, object]:
    try:
        parsed = parse_filename(name)
    except NamingError as error:
        return {"ok": False, "code": error.code, "message": error.message, "suggestion": error.suggestion}
    return {
        "ok": True,
        "family": parsed.family,
        "source": parsed.source,
        "destination": parsed.destination,
        "destKind": parsed.dest_kind,
        "sequence": parsed.sequence,
        "isLpd": parsed.is_lpd,
    }


JS_VERDICTS = """async (names) => {
  const { makeNaming, NamingError } = await import('/naming.js');
  const rules = await (await fetch('/naming-rules.json')).json();
  const naming = makeNaming(rules);
  return names.map((name) => {
    try {
      const p = naming.parseFilename(name);
      return { ok: true, family: p.family, source: p.source, destination: p.destination, destKind: p.destKind,
               sequence: p.sequence, isLpd: p.isLpd };
    } catch (error) {
      if (!(error instanceof NamingError)) throw error;
      return { ok: false, code: error.code, message: error.message, suggestion: error.suggestion };
    }
  });
}"""


@pytest.fixture
def portal_page(new_page: Callable[[], WatchedPage], static_portal: StaticPortal) -> WatchedPage:
    watched = new_page()
    watched.page.goto(static_portal.url + "/")
    watched.page.get_by_role("button", name="Sign in").wait_for()
    return watched


def test_browser_naming_agrees_with_the_python_rules(portal_page: WatchedPage) -> None:
    # Given hand-picked names, the good ones, and 400 seeded mutations of good names
    names = GOOD + HAND_PICKED_BAD + mutated_names()
    # When the browser's checker and the API's checker judge each
    verdicts = portal_page.page.evaluate(JS_VERDICTS, names)
    # Then they agree on acceptance, what the name says, the reason, the message and the fix
    disagreements = [
        (name, js, python_verdict(name)) for name, js in zip(names, verdicts, strict=True) if js != python_verdict(name)
    ]
    assert not disagreements, json.dumps(disagreements[:5], indent=1, ensure_ascii=False)
    refused = [v for v in verdicts if not v["ok"]]
    assert {v["code"] for v in refused} >= {
        "bad_extension",
        "bad_pattern",
        "bad_source",
        "unknown_la",
        "bad_destination",
        "bad_sequence",
    }
    assert sum(1 for v in refused if v["suggestion"]) >= 20


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("8231234_CTF_8232345_001.zip", "8231235"),
        ("8231234_CTF_8232345_001.zip", "823LLLL"),
        ("8231234_CTF_XXXXXXX_001.zip", "8231234"),
        ("823LLLL_CTF_MMMMMMM_001.zip", "823LLLL"),
        ("823LLLL_CTF_8232345_001.zip", "823LLLL"),
    ],
)
def test_browser_upload_check_agrees_on_sender_and_lost_pupil_upn(
    portal_page: WatchedPage, name: str, sender: str
) -> None:
    js = portal_page.page.evaluate(
        """async ([name, sender]) => {
          const { makeNaming } = await import('/naming.js');
          const naming = makeNaming(await (await fetch('/naming-rules.json')).json());
          try { naming.checkUploadName(name, sender, ''); return null; } catch (error) { return error.code; }
        }""",
        [name, sender],
    )
    try:
        check_upload_name(name, sender, None)
        expected = None
    except (NamingError, Forbidden) as error:
        expected = error.code
    assert js == expected


EMPTY_ZIP = b"PK\x05\x06" + bytes(18)


def choose(page: Page, name: str) -> None:
    """Choose a file in the upload page's file input (GOV.UK Frontend hides the input behind
    its own button, so the input is addressed directly)."""
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": "application/zip", "buffer": EMPTY_ZIP})


@pytest.fixture
def school_page(new_page: Callable[[], WatchedPage], static_portal: StaticPortal) -> WatchedPage:
    """A school signed in (a token in session storage, as after sign-in), on the upload page."""
    watched = new_page()
    watched.page.goto(static_portal.url + "/")
    watched.page.evaluate(
        "token => sessionStorage.setItem('s2s.token', token)", fake_token(school_token_claims("8231234"))
    )
    watched.page.goto(static_portal.url + "/upload")
    watched.page.get_by_role("heading", name="Send a file", level=1).wait_for()
    return watched


def test_upload_page_shows_the_reason_and_the_suggested_name(school_page: WatchedPage) -> None:
    page = school_page.page
    school_page.check("upload")
    # When the school chooses a file whose type is in lower case
    choose(page, "8231234_ctf_8232345_001.zip")
    # Then the field says why, in GOV.UK's error message, and offers the corrected name
    error = page.get_by_test_id("name-error")
    error.wait_for()
    assert error.get_attribute("data-reason") == "bad_pattern"
    assert "must be written in capitals: CTF" in error.inner_text()
    assert error.inner_text().startswith("Error:")
    assert page.locator("#file-group").get_attribute("class") == "govuk-form-group govuk-form-group--error"
    assert page.get_by_test_id("suggestion").inner_text() == "8231234_CTF_8232345_001.zip"
    assert page.get_by_test_id("org-name").inner_text() == "Test School 8231234"
    school_page.check("upload-error-bad-name")
    # And pressing Send shows the error summary, which takes focus and links to the field
    page.get_by_role("button", name="Send file").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert summary.evaluate("element => element === document.activeElement")
    assert "must be written in capitals" in summary.inner_text()
    school_page.check("upload-error-summary-bad-name")
    # And a correct name to the Lost Pupils Database asks for the pupil's UPN
    choose(page, "8231234_CTF_XXXXXXX_001.zip")
    page.get_by_label("Pupil's UPN").wait_for()
    assert page.get_by_test_id("name-error").is_hidden()
    assert page.locator(".govuk-error-summary").count() == 0


@pytest.mark.parametrize(
    ("name", "state", "needle", "field"),
    [
        (None, "no-file", "Choose the file to send", "#file"),
        ("9991234_CTF_8232345_001.zip", "unknown-la", "999", "#file"),
        ("8231235_CTF_8232345_001.zip", "not-your-laestab", "you are signed in for 8231234", "#file"),
        ("8231234_CTF_8232345_000.zip", "bad-sequence", "001", "#file"),
        ("8231234_CTF_8232345_001.xml", "not-a-zip", ".zip", "#file"),
        ("8231234_CTF_XXXXXXX_001.zip", "lpd-without-upn", "Enter the pupil's UPN", "#upn"),
    ],
)
def test_each_upload_error_is_summarised_linked_to_its_field_and_accessible(
    school_page: WatchedPage, name: str | None, state: str, needle: str, field: str
) -> None:
    page = school_page.page
    if name:
        choose(page, name)
    page.get_by_role("button", name="Send file").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert needle in summary.inner_text()
    assert summary.evaluate("element => element === document.activeElement")
    link = summary.get_by_role("link").first
    assert link.get_attribute("href") == field
    school_page.check(f"upload-error-{state}")
    # The summary's link takes the keyboard to the field to fix
    link.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == field[1:]


def test_sign_in_starts_an_authorization_code_request_with_pkce(
    new_page: Callable[[], WatchedPage], static_portal: StaticPortal
) -> None:
    # Given someone opening an email's link while signed out
    watched = new_page()
    page = watched.page
    page.goto(static_portal.url + "/transfers/abc123")
    page.get_by_role("button", name="Sign in").wait_for()
    watched.check("signed-out")
    # When they press Sign in
    with page.expect_request(lambda request: request.url.startswith(static_portal.url + "/authorize")) as request:
        page.get_by_role("button", name="Sign in").click()
    # Then the browser goes to the authorize URL with an S256 challenge of the stored verifier
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.value.url).query).items()}
    pending = json.loads(page.evaluate("sessionStorage.getItem('s2s.pending-sign-in')"))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest()).rstrip(b"=").decode()
    assert query == {
        "response_type": "code",
        "client_id": "s2s-portal",
        "redirect_uri": static_portal.url + "/callback",
        "state": pending["state"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "openid email profile organisation",
    }
    assert len(pending["verifier"]) >= 43
    assert pending["returnTo"] == "/transfers/abc123"


def test_a_callback_with_a_wrong_state_is_refused_and_the_code_leaves_the_address_bar(
    new_page: Callable[[], WatchedPage], static_portal: StaticPortal
) -> None:
    watched = new_page()
    page = watched.page
    page.goto(static_portal.url + "/callback?code=secret-code&state=not-mine")
    page.get_by_role("heading", name="Sign-in did not work").wait_for()
    watched.check("sign-in-failed")
    assert page.url == static_portal.url + "/callback"
    assert page.evaluate("sessionStorage.getItem('s2s.token')") is None


def test_the_console_watch_catches_a_csp_violation(browser: Browser, static_portal: StaticPortal) -> None:
    # The CSP assertions of every other test rely on this: an inline style is refused and logged.
    context = browser.new_context()
    try:
        watched = WatchedPage.watch(context.new_page())
        watched.page.goto(static_portal.url + "/")
        watched.page.get_by_role("button", name="Sign in").wait_for()
        assert watched.csp_violations == []
        watched.page.evaluate("document.body.setAttribute('style', 'color: red')")
        watched.page.wait_for_timeout(200)
        assert watched.csp_violations, watched.console_errors
    finally:
        context.close()


def test_the_skip_link_is_the_first_thing_the_keyboard_reaches(
    new_page: Callable[[], WatchedPage], static_portal: StaticPortal
) -> None:
    watched = new_page()
    page = watched.page
    page.goto(static_portal.url + "/")
    page.get_by_role("button", name="Sign in").wait_for()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


OTHER_ORGS_DETAILS = {
    "transfer_id": "t1",
    "source": "8231234",
    "source_name": "Alpha Primary",
    "recipient": "8232345",
    "reason_message": None,
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
            "action": "available",
            "at": "2026-12-03T09:00:05Z",
            "actor_org": "S2S",
            "actor_user": "landing-check",
            "source_ip": "",
            "user_agent": "",
            "details": {},
        },
        {
            "action": "email_sent",
            "at": "2026-12-03T09:00:06Z",
            "actor_org": "S2S",
            "actor_user": "notify",
            "source_ip": "",
            "user_agent": "",
            "details": {"type": "transfer.available", "org": "8232345", "to": "head@school-b.example"},
        },
        {
            "action": "downloaded",
            "at": "2026-12-03T09:58:00Z",
            "actor_org": "8232345",
            "actor_user": "user-b",
            "source_ip": "10.2.2.2",
            "user_agent": "B-Browser/2",
            "details": {"source_ip": "10.2.2.2", "user_agent": "B-Browser/2"},
        },
    ],
}


@pytest.mark.parametrize(
    ("viewer", "shown", "hidden_text"),
    [
        # The sender sees its own person and address, and B only as B
        (
            {"kind": "school", "org": "8231234", "la": "823", "sub": "user-a"},
            ["You, Alpha Primary (from 10.1.1.1, A-Browser/1)", "Downloaded by School 8232345"],
            ["user-b", "10.2.2.2", "B-Browser/2"],
        ),
        # The recipient sees its own people, and A only as A
        (
            {"kind": "school", "org": "8232345", "la": "823", "sub": "user-b"},
            ["You, School 8232345 (from 10.2.2.2, B-Browser/2)"],
            ["user-a", "10.1.1.1", "A-Browser/1"],
        ),
        # Their LA sees its schools' people as the schools do
        ({"kind": "la", "org": "823LLLL", "la": "823", "sub": "la-user"}, ["user-a", "user-b", "B-Browser/2"], []),
        # Another LA's officer sees organisations only
        (
            {"kind": "la", "org": "330LLLL", "la": "330", "sub": "other"},
            ["Downloaded by School 8232345"],
            ["user-a", "user-b", "10.1.1.1", "B-Browser/2"],
        ),
    ],
)
def test_the_history_shows_people_only_to_their_own_organisation_whatever_the_api_sends(
    portal_page: WatchedPage, viewer: dict[str, str], shown: list[str], hidden_text: list[str]
) -> None:
    # Given an API answer that (wrongly) carries every organisation's people and an email address
    rows = portal_page.page.evaluate(
        """async ([transfer, viewer]) => {
          const { historyRows } = await import('/history.js');
          return historyRows(transfer, viewer, { [transfer.source]: transfer.source_name }).map((r) => `${r.what} | ${r.who}`);
        }""",
        [OTHER_ORGS_DETAILS, viewer],
    )
    text = "\n".join(rows)
    # Then the history is in words, the email names the organisation, never the address
    assert rows[1] == "Checked and accepted | S2S"
    assert rows[2] == "Email sent to School 8232345: a file is ready | S2S"
    assert "head@school-b.example" not in text and "landing-check" not in text
    # And each viewer sees the people of its own organisation (and an LA its schools') only
    for needle in shown:
        assert needle in text, (needle, text)
    for needle in hidden_text:
        assert needle not in text, (needle, text)
