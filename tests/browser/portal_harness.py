"""Shared pieces of the portal's browser tests: watched pages (console errors, CSP violations,
screenshots), the stack handles, and unsigned tokens for pages that never reach the API."""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

ROOT = Path(__file__).resolve().parents[2]
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA: every level A and AA rule of WCAG 2.0, 2.1 and 2.2 that axe-core has.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Each (page, state) that passed axe, for the coverage line the session prints.
AXE_CHECKED: list[str] = []
AXE_REPORTS = ROOT / "test-artifacts" / "axe"


@dataclass
class WatchedPage:
    """A page and what its console said: CSP violations and JavaScript errors fail the test."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    request_urls: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]

    @classmethod
    def watch(cls, page: Page) -> WatchedPage:
        """Start recording `page`'s console errors and uncaught exceptions."""
        result = cls(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                result.console_errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: result.page_errors.append(str(error)))
        page.on("request", lambda request: result.request_urls.append(request.url))
        return result

    @property
    def token_urls(self) -> list[str]:
        """Requests whose URL carries a JWT (two dot-joined base64url parts, the first starting
        with eyJ, base64url of '{"'): tokens belong in the Authorization header and session
        storage only."""
        return [url for url in self.request_urls if JWT.search(url)]

    @property
    def govuk_errors(self) -> list[str]:
        """GOV.UK Frontend components that failed to start (they log instead of throwing)."""
        return [text for text in self.console_errors if text.startswith("GOV.UK Frontend")]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check(self, name: str) -> None:
        """axe-core on the page as it is now, at WCAG 2.2 AA: no violation may remain. Also
        writes the page's screenshot as `name`.png."""
        self.page.wait_for_load_state("load")
        headings = self.page.evaluate(
            """() => [...document.querySelectorAll("h1, h2, h3, caption")].filter((el) => el.getClientRects().length || el.tagName === "CAPTION")
                 .map((el) => [el.tagName.toLowerCase(), el.textContent.trim().replace(/\\s+/g, " ")])"""
        )
        h1s = [text for tag, text in headings if tag == "h1"]
        assert len(h1s) == 1, f"{name}: a page has one h1, this one has {h1s}"
        repeats = [text for tag, text in headings if tag != "h1" and text and text in h1s[0]]
        assert not repeats, f"{name}: the heading {h1s[0]!r} is printed again as {repeats}"
        violations = axe_violations(self.page)
        self.screenshot(name)
        assert not violations, f"{name}: axe found {len(violations)} WCAG 2.2 AA violations:\n" + "\n".join(violations)
        AXE_CHECKED.append(name)
        AXE_REPORTS.mkdir(parents=True, exist_ok=True)
        (AXE_REPORTS / f"{name}.txt").write_text(f"{self.page.url}\n0 violations of {', '.join(WCAG_TAGS)}\n")


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on `page` as readable lines (rule, impact, what it means, where).
    axe is injected by an init script (see the `new_page` fixture): the CSP forbids inline ones."""
    result = page.evaluate(
        """async (tags) => {
          if (!window.axe) throw new Error("axe-core was not injected");
          const outcome = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
          return outcome.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\\s+/g, " ")) }));
        }""",
        WCAG_TAGS,
    )
    return [f"- {v['id']} ({v['impact']}): {v['help']}; " + " | ".join(v["targets"]) for v in result]


YELLOW = "rgb(255, 221, 0)"  # GOV.UK's focus colour


def focus_is_visible(page: Page) -> bool:
    """The focused element looks different when focused, in GOV.UK's focus yellow (outline,
    background, border or box shadow)."""
    return bool(
        page.evaluate(
            """(yellow) => {
              const el = document.activeElement;
              if (!el || el === document.body) return false;
              const props = ["outline-color", "outline-style", "background-color", "box-shadow", "border-color"];
              const styleOf = () => { const cs = getComputedStyle(el); return props.map((p) => cs.getPropertyValue(p)); };
              const focused = styleOf();
              const yellowNow = focused.some((value) => value.includes(yellow));
              el.blur();
              const blurred = styleOf();
              el.focus();
              return yellowNow && focused.join("|") !== blurred.join("|");
            }""",
            YELLOW,
        )
    )


def active(page: Page) -> str:
    """The focused element, described: its tag, id, role and text."""
    return str(
        page.evaluate(
            """() => { const el = document.activeElement; if (!el) return "";
              return [el.tagName.toLowerCase(), el.id ? "#" + el.id : "", (el.getAttribute("class") || "").split(" ")[0],
                      (el.innerText || el.value || "").trim().split("\\n")[0].slice(0, 60)].filter(Boolean).join(" "); }"""
        )
    )


def fake_token(claims: dict[str, Any]) -> str:
    """An unsigned JWT-shaped token: the portal only decodes the payload to show who is signed in."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


def school_token_claims(laestab: str = "8231234") -> dict[str, Any]:
    organisation = {
        "name": f"Test School {laestab}",
        "category": {"id": "001"},
        "establishmentNumber": laestab[3:],
        "localAuthority": {"code": laestab[:3]},
    }
    return {
        "sub": "user-1",
        "email": "office@example.org",
        "organisation": json.dumps(organisation),
        "exp": int(time.time()) + 3600,
    }


@dataclass(frozen=True)
class StaticPortal:
    url: str


@dataclass(frozen=True)
class LocalStack:
    api: str
    portal: str
    data_dir: Path

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"
