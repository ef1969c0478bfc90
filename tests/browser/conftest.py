"""Fixtures for the portal's browser tests: Debian's Chromium driven by Playwright for Python, the
portal served either by a tiny static server (tests that need no API) or by a real
`s2s local serve` on free ports, and pages that record console errors and CSP violations.

Everything skips with a message saying what to install when the browser or Playwright is
missing (scripts/install-browser.sh installs both)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest
import requests
from portal_harness import AXE, LocalStack, StaticPortal, WatchedPage
from s2s_cli.portal_publish import content_type

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
CHROMIUM = Path(os.environ.get("S2S_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
S2S = ROOT / ".venv" / "bin" / "s2s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: run scripts/install-browser.sh (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: run scripts/install-browser.sh")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], WatchedPage]]:
    """Fresh browser contexts (separate session storage, so separate sign-ins) on demand. At the
    end, no page may have logged a CSP violation or an uncaught JavaScript error, or requested a
    URL with a token in it."""
    contexts = []
    watched: list[WatchedPage] = []

    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci) first")
    axe_source = AXE.read_text(encoding="utf-8")

    def make() -> WatchedPage:
        context = browser.new_context(accept_downloads=True, locale="en-GB", timezone_id="Europe/London")
        context.set_default_timeout(30000)  # a loaded 2-core machine is slow, not wrong
        # Injected before the page's own scripts, outside its CSP (which forbids inline scripts).
        context.add_init_script(axe_source)
        contexts.append(context)
        result = WatchedPage.watch(context.new_page())
        watched.append(result)
        return result

    yield make
    for context in contexts:
        context.close()
    violations = [v for w in watched for v in w.csp_violations]
    errors = [e for w in watched for e in w.page_errors]
    token_urls = [u for w in watched for u in w.token_urls]
    govuk = [e for w in watched for e in w.govuk_errors]
    assert not govuk, f"GOV.UK Frontend components failed to start: {govuk}"
    assert not token_urls, f"a token was put in a URL: {[u.split('?')[0] for u in token_urls]}"
    assert not violations, f"CSP violations in the console: {violations}"
    assert not errors, f"uncaught JavaScript errors: {errors}"


# ---------------------------------------------------------------------------- a static portal


STATIC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@pytest.fixture(scope="session")
def static_portal() -> Iterator[StaticPortal]:
    """portal/ on a free port with the local stack's CSP and a config.json pointing at itself, for
    tests of what the browser does before it talks to the API."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    config = {
        "api_url": origin,
        "issuer": origin,
        "client_id": "s2s-portal",
        "authorize_url": f"{origin}/authorize",
        "token_url": f"{origin}/token",
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path == "/config.json":
                body, kind = json.dumps(config).encode(), "application/json"
            else:
                file = (PORTAL / path.lstrip("/")).resolve()
                if "." not in Path(path).name:
                    file = PORTAL / "index.html"
                if not file.is_file() or PORTAL.resolve() not in file.resolve().parents:
                    self.send_error(404)
                    return
                body, kind = file.read_bytes(), content_type(file)
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", STATIC_CSP)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield StaticPortal(origin)
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------- the local stack


def _serve_available() -> bool:
    if not S2S.exists():
        return False
    result = subprocess.run(
        [str(S2S), "local", "serve", "--help"], check=False, capture_output=True, text=True, timeout=60
    )
    return result.returncode == 0 and "--portal-port" in result.stdout


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """`s2s local serve` on free ports with its own data folder, stopped at the end."""
    if not _serve_available():
        pytest.skip("`s2s local serve` is not available in this checkout yet (cli/s2s_cli/local)")
    data_dir = tmp_path_factory.mktemp("s2s-local")
    port, portal_port = free_port(), free_port()
    log = (data_dir / "serve.log").open("w")
    process = subprocess.Popen(
        [
            str(S2S),
            "local",
            "serve",
            "--port",
            str(port),
            "--portal-port",
            str(portal_port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        # The stack records itself in a per-user state file: keep the tests' out of the developer's.
        env={**os.environ, "XDG_STATE_HOME": str(data_dir / "state")},
    )
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"s2s local serve exited with {process.returncode}: {(data_dir / 'serve.log').read_text()}")
            try:
                if requests.get(f"{api}/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"s2s local serve did not answer within 90 s: {(data_dir / 'serve.log').read_text()}")
            time.sleep(0.3)
        yield LocalStack(api, f"http://127.0.0.1:{portal_port}", data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
