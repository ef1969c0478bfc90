"""A small client for the S2S API: bearer token, JSON in and out, the service's error body turned
into one exception, uploads to the presigned form and downloads with progress bars.

Never logs or prints presigned URLs or tokens: they are secrets for as long as they are valid."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

TIMEOUT = 30
CHUNK = 64 * 1024


class ClientError(Exception):
    """Something to tell the user in one line; `exit_code` is what the command exits with."""

    exit_code = 1


class ServiceRefused(ClientError):
    """The service answered with an error body."""

    def __init__(self, status: int, code: str, message: str, suggestion: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.suggestion = suggestion
        text = f"{code}: {message}"
        if suggestion and suggestion not in message:
            text += f" (suggestion: {suggestion})"
        super().__init__(text)


class CannotConnect(ClientError):
    exit_code = 3


class UsageError(ClientError):
    exit_code = 2


@dataclass
class S2SClient:
    api: str
    token: str | None
    show_progress: bool = True

    def __post_init__(self) -> None:
        import requests

        self.api = self.api.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "s2s-cli"
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"

    # -- plumbing
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        text: bool = False,
    ) -> Any:
        """The decoded JSON answer (or the text, with `text=True`); ServiceRefused for an error body."""
        import requests

        try:
            response = self.session.request(method, self.api + path, json=json_body, params=params, timeout=TIMEOUT)
        except requests.ConnectionError:
            raise CannotConnect(f"cannot connect to {self.api}: is the service running (s2s local serve)?") from None
        except requests.Timeout:
            raise CannotConnect(f"{self.api} did not answer within {TIMEOUT} seconds") from None
        if response.status_code == 401:
            raise token_refused(self.token, self.api)
        if text and response.ok:
            return response.text
        return _decode(response)

    # -- secure messages
    def send_message(self, to: str, subject: str, body: str, **extra: str | None) -> dict[str, Any]:
        message = {"to": to, "subject": subject, "body": body, **{k: v for k, v in extra.items() if v}}
        answer: dict[str, Any] = self.request("POST", "/messages", json_body=message)
        return answer

    def messages(self, *, box: str, unread: bool = False) -> dict[str, Any]:
        """Every page of a message box, and the unread count."""
        params: dict[str, Any] = {"box": box, **({"unread": "true"} if unread else {})}
        found: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", "/messages", params=params)
            found += page["messages"]
            if not page.get("next_cursor"):
                return {"messages": found, "unread_count": page["unread_count"]}
            params["cursor"] = page["next_cursor"]

    def read_message(self, message_id: str) -> dict[str, Any]:
        from urllib.parse import quote

        answer: dict[str, Any] = self.request("GET", f"/messages/{quote(message_id, safe='')}")
        return answer

    # -- transfers
    def create_transfer(self, filename: str, size: int, sha256: str, upn: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"filename": filename, "size_bytes": size, "sha256": sha256}
        if upn:
            body["upn"] = upn
        ticket: dict[str, Any] = self.request("POST", "/transfers", json_body=body)
        return ticket

    def upload(self, form: dict[str, Any], path: Path) -> None:
        """POST the file to the presigned form (fields first, then the file), with a progress bar."""
        import requests

        size = path.stat().st_size
        with path.open("rb") as handle, _bar(size, f"upload {path.name}", self.show_progress) as bar:
            body = MultipartBody(form["fields"], path.name, handle, size, bar)
            try:
                response = requests.post(
                    form["url"], data=body, headers={"Content-Type": body.content_type}, timeout=TIMEOUT * 10
                )
            except requests.ConnectionError:
                raise CannotConnect("cannot connect to the file store to upload") from None
        if response.status_code not in (200, 201, 204):
            raise ServiceRefused(
                response.status_code,
                "upload_failed",
                f"the file store refused the upload (HTTP {response.status_code}); ask for a new upload with s2s send",
            )

    def download(self, transfer_id: str, directory: Path, expected_sha256: str | None, filename: str) -> Path:
        import requests

        link = self.request("POST", f"/transfers/{transfer_id}/download")
        target = directory / Path(filename).name
        digest = hashlib.sha256()
        try:
            with requests.get(link["url"], stream=True, timeout=TIMEOUT) as response:
                if response.status_code != 200:
                    raise ServiceRefused(
                        response.status_code,
                        "download_failed",
                        f"the file store refused the download (HTTP {response.status_code})",
                    )
                size = int(response.headers.get("Content-Length") or 0)
                partial = target.with_name(target.name + ".part")
                with (
                    partial.open("wb") as out,
                    _bar(size, f"download {target.name}", self.show_progress) as bar,
                ):
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except requests.ConnectionError:
            raise CannotConnect("cannot connect to the file store to download") from None
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            partial.unlink(missing_ok=True)
            raise ServiceRefused(
                0,
                "checksum_mismatch",
                "the downloaded file's SHA-256 differs from the sender's; it was not saved",
            )
        partial.replace(target)
        return target


class MultipartBody:
    """multipart/form-data streamed from the open file, with a known length (S3 wants
    Content-Length, not chunked encoding) and the progress bar advanced as requests reads it."""

    def __init__(self, fields: dict[str, str], filename: str, handle: IO[bytes], size: int, bar: Any) -> None:
        import secrets

        boundary = "s2s-" + secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        safe_name = filename.replace('"', "")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        self._parts: list[bytes | IO[bytes]] = [head, handle, f"\r\n--{boundary}--\r\n".encode()]
        self._length = len(head) + size + len(self._parts[2])  # type: ignore[arg-type]
        self._bar = bar
        self._buffer = b""

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        want = CHUNK if n is None or n < 0 else n
        while len(out) < want and self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                take = part[: want - len(out)]
                out += take
                rest = part[len(take) :]
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                chunk = part.read(want - len(out))
                if chunk:
                    out += chunk
                    self._bar.update(len(chunk))
                else:
                    self._parts.pop(0)
        return bytes(out)


def _decode(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        if response.status_code >= 400:
            raise ServiceRefused(response.status_code, f"http_{response.status_code}", response.reason or "error")
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        if isinstance(body, dict) and "error" in body:
            raise ServiceRefused(
                response.status_code,
                str(body["error"]),
                str(body.get("message", "")),
                body.get("suggestion") or _detail_suggestion(body),
            )
        if isinstance(body, dict) and "message" in body:
            code = {404: "not_found"}.get(response.status_code, f"http_{response.status_code}")
            raise ServiceRefused(response.status_code, code, str(body["message"]))
        raise ServiceRefused(response.status_code, f"http_{response.status_code}", response.reason or "error")
    if body is None:
        raise ClientError(f"the service answered HTTP {response.status_code} without JSON")
    return body


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local(url: str) -> bool:
    """Is `url` on this machine (the local stack), where `s2s local token` makes tokens?"""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def token_refused(token: str | None, api: str) -> ServiceRefused:
    """A 401 explained: an expired token (when, and how to get another) or one the service does
    not accept. The `s2s local token` hint is given only against a local stack."""
    import time
    from datetime import UTC, datetime

    from s2s_cli.display import token_claims, when

    if is_local(api):
        hint = "get a new one with `s2s local token --school LAESTAB` (or --la CODE, --dfe) and set S2S_TOKEN"
    else:
        hint = "get a new token for your organisation's S2S client from DfE Sign-in (see `s2s --help`)"
    claims = token_claims(token)
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        at = when(datetime.fromtimestamp(expires, UTC).isoformat())
        return ServiceRefused(401, "token_expired", f"your token expired at {at}", hint)
    if not claims:
        message = "the service did not accept your token: it is not a token at all (check you copied all of it)"
    else:
        message = (
            "the service did not accept your token: it was not issued for this service (another stack, "
            "signing key or sign-in client) or it has been changed"
        )
    return ServiceRefused(401, "token_invalid", message, hint)


def _detail_suggestion(body: dict[str, Any]) -> str | None:
    for detail in body.get("details") or []:
        if isinstance(detail, dict) and detail.get("suggestion"):
            return str(detail["suggestion"])
    return None


class _NoBar:
    def update(self, n: int) -> None:
        """No progress bar: nothing to draw."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _bar(total: int, desc: str, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total or None, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in _chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk
