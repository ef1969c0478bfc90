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

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


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
