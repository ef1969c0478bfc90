"""Serves the web portal's static files (the `portal/` folder) for the local stack, with the
portal's security headers and a `/config.json` that points it at the local API and sign-in.

Paths without a file extension get `index.html`, so links such as `/transfers/<id>` load the
single-page app, which routes on the client."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from s2s_cli.local.auth import CLIENT_ID, ISSUER
from s2s_cli.local.template import ROOT

PORTAL_DIR = ROOT / "portal"


@dataclass(frozen=True)
class PortalConfig:
    api_origin: str
    moto_origin: str
    directory: Path = PORTAL_DIR

    def config_json(self) -> dict[str, str]:
        return {
            "api_url": self.api_origin,
            "issuer": ISSUER,
            "client_id": CLIENT_ID,
            "authorize_url": f"{self.api_origin}/dev/authorize",
            "token_url": f"{self.api_origin}/dev/token",
        }

    def security_headers(self) -> dict[str, str]:
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {self.api_origin} {self.moto_origin}; frame-ancestors 'none'; "
            f"form-action 'self' {self.api_origin}; base-uri 'none'"
        )
        return {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }


def content_type(path: Path) -> str:
    """The same types `s2s portal publish` gives S3 (fonts and modules need the right one under
    `X-Content-Type-Options: nosniff`)."""
    from s2s_cli.portal_publish import content_type as published_type

    return published_type(path)


def missing_assets(directory: Path = PORTAL_DIR) -> list[str]:
    """What index.html links to that the folder lacks: GOV.UK Frontend's files before `make setup`."""
    from s2s_cli.portal_publish import missing_references

    if not (directory / "index.html").is_file():
        return []
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    return missing_references(directory, present)


def make_portal_handler(get_config: Callable[[], PortalConfig]) -> type[BaseHTTPRequestHandler]:
    """`get_config` is read per request: the server binds its port before the API's addresses are known."""

    class PortalHandler(BaseHTTPRequestHandler):
        server_version = "s2s-local-portal"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the console is for emails and errors."""

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            for name, value in get_config().security_headers().items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            config = get_config()
            path = unquote(urlsplit(self.path).path)
            if path == "/config.json":
                self._send(200, json.dumps(config.config_json()).encode(), "application/json")
                return
            root = config.directory.resolve()
            if not root.is_dir():
                self._send(
                    200,
                    b"<!doctype html><title>S2S</title><p>The portal is not built: there is no "
                    b"portal/ folder in this checkout.</p>\n",
                    "text/html; charset=utf-8",
                )
                return
            relative = path.lstrip("/")
            if not Path(relative).suffix:
                relative = "index.html"
            target = (root / relative).resolve()
            # Never serve anything outside the portal folder, whatever `..` the path holds.
            if not target.is_relative_to(root) or not target.is_file():
                self._send(404, b"Not found\n", "text/plain; charset=utf-8")
                return
            self._send(200, target.read_bytes(), content_type(target))

    return PortalHandler


def make_portal_server(host: str, port: int, get_config: Callable[[], PortalConfig]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_portal_handler(get_config))
    server.daemon_threads = True
    return server
