"""Start and stop the local stack as a subprocess (`python -m s2s_cli.main local serve`) on free
loopback ports with a temporary data dir; small HTTP helpers for the tests of this folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from s2s_cli.local import auth

SCHOOL_A, SCHOOL_B, LA = "8231234", "8232345", "823"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    process: subprocess.Popen[str]
    api: str
    portal: str
    data_dir: Path
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def token(
        self, kind: auth.Kind = "school", org: str | None = SCHOOL_A, *, email: str | None = None, ttl: int = 600
    ) -> str:
        key = auth.load_or_create_key(self.data_dir)
        return auth.issue_token(key, auth.organisation_claims(kind, org if kind != "dfe" else None, email), ttl=ttl)

    def school(self, laestab: str) -> str:
        return self.token("school", laestab)

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.api + path, headers=headers, timeout=30, **kwargs)


def start_stack(data_dir: Path, port: int, portal_port: int | None) -> Stack:
    """`portal_port` None leaves `--portal-port` out: the portal is then on `port + 1`."""
    env = {k: v for k, v in os.environ.items() if k != "LRS_ENDPOINT"}
    env["PYTHONUNBUFFERED"] = "1"
    portal_args = ["--portal-port", str(portal_port)] if portal_port is not None else []
    portal_port = portal_port if portal_port is not None else port + 1
    # The stack records itself in a per-user state file (s2s_cli.local.state): keep the tests'
    # stacks out of the developer's own.
    env["XDG_STATE_HOME"] = str(data_dir / "state")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s2s_cli.main",
            "local",
            "serve",
            "--port",
            str(port),
            *portal_args,
            "--data-dir",
            str(data_dir),
            "--sweep-seconds",
            "3600",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{portal_port}", data_dir, port)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line.rstrip("\n"))
            if line.strip().startswith("s2s outbox"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or process.poll() is not None:
        process.kill()
        raise RuntimeError("s2s local serve did not start:\n" + "\n".join(stack.output))
    return stack


def stop_stack(stack: Stack) -> int:
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        return -9


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Poll until `predicate()` returns something truthy; returns it, or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"gave up after {timeout} s waiting")
