"""Emails of the local stack: moto's SES keeps what the notify function sent; this writes each
message once as an `.eml` file under the mail folder and prints one line (to, subject) per email.
No body on the console: the emails carry portal links only, but the console is for people."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any


def _ses_backend(region: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][region]


class MailFolder:
    """Writes moto's sent SES messages to `folder` as `.eml` files, each exactly once."""

    def __init__(self, folder: Path, region: str, announce: Callable[[str], None] = print) -> None:
        self.folder = folder
        self.region = region
        self._announce = announce
        self._written = 0
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def collect(self) -> list[Path]:
        """Write the messages sent since the last call; returns their files."""
        with self._lock:
            sent = list(_ses_backend(self.region).sent_messages)
            new = sent[self._written :]
            self._written = len(sent)
            return [self._write(self._written - len(new) + i + 1, m) for i, m in enumerate(new)]

    def _write(self, number: int, message: Any) -> Path:
        to = _recipients(message)
        subject = getattr(message, "subject", "") or ""
        if hasattr(message, "raw_data"):
            data = message.raw_data.encode() if isinstance(message.raw_data, str) else bytes(message.raw_data)
        else:
            eml = EmailMessage()
            eml["From"] = message.source
            eml["To"] = ", ".join(to)
            eml["Subject"] = subject
            eml["Date"] = formatdate(localtime=False)
            eml["Message-ID"] = f"<{message.id}@s2s.local>"
            body = message.body or ""
            # moto keeps one body: the HTML part when the email had both.
            eml.set_content(body, subtype="html" if "<" in body and ">" in body else "plain")
            data = bytes(eml)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", to[0] if to else "nobody").strip("-")[:60]
        path = self.folder / f"{number:04d}-{slug}.eml"
        # Whole files only: whoever watches the folder never reads half an email.
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(data)
        partial.replace(path)
        self._announce(f"email to {', '.join(to) or '(nobody)'}: {subject}")
        return path


def _recipients(message: Any) -> list[str]:
    destinations = message.destinations
    if isinstance(destinations, dict):
        return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
    return list(destinations or [])
