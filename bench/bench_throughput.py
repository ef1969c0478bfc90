"""Local stack throughput: requests per second for GET /transfers over HTTP with 8 concurrent
clients for a few seconds, against a bare Python HTTP server answering a fixed JSON body on the
same machine. Both servers are `ThreadingHTTPServer`s speaking HTTP/1.1 in their own process; the
clients are threads here with a keep-alive `requests.Session` each. The ratio is the local stack's
overhead: the API Gateway stand-in, token check, handler, Powertools, and moto over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.common import Row

CLIENTS = 8
TARGET = 0.5  # the local stack at least half a bare http.server's rate
SECONDS = 5.0
SCHOOL = "8234001"

BARE_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"items": [], "next_cursor": None}).encode()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
server.serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        try:
            requests.get(url, timeout=10)  # the first request loads the handler: give it time
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url} within {timeout:.0f} s")


@contextmanager
def _process(command: list[str], url: str) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(url: str, headers: dict[str, str]) -> float:
    """Successful requests per second of CLIENTS threads over SECONDS; any other answer fails."""
    done = [0] * CLIENTS
    errors: list[str] = []
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        with requests.Session() as session:
            session.get(url, headers=headers, timeout=30)  # connect and warm before the clock
            start.wait()
            while time.perf_counter() < stop_at[0]:
                response = session.get(url, headers=headers, timeout=30)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                done[index] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + SECONDS + 0.5
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{url} answered {errors[0]}")
    return sum(done) / elapsed


def run() -> list[Row]:
    s2s = Path(sys.executable).with_name("s2s")
    with tempfile.TemporaryDirectory(prefix="s2s-bench-local-") as tmp:
        port, portal = _free_port(), _free_port()
        api = f"http://127.0.0.1:{port}"
        env_command = [
            str(s2s),
            "local",
            "serve",
            "--port",
            str(port),
            "--portal-port",
            str(portal),
            "--data-dir",
            tmp,
            "--sweep-seconds",
            "3600",
        ]
        with _process(env_command, f"{api}/transfers"):
            token = subprocess.run(
                [str(s2s), "local", "token", "--school", SCHOOL, "--data-dir", tmp],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout.strip()
            ours = load(f"{api}/transfers", {"Authorization": f"Bearer {token}"})
        bare_port = _free_port()
        bare_url = f"http://127.0.0.1:{bare_port}/transfers"
        with _process([sys.executable, "-c", BARE_SERVER, str(bare_port)], bare_url):
            bare = load(bare_url, {})
    ratio = ours / bare
    return [
        Row(
            f"local GET /transfers, {CLIENTS} clients (req/s, ours vs bare http.server)",
            f"{ours:.0f} req/s",
            f"{bare:.0f} req/s",
            ratio,
            f">= {TARGET}",
            ratio >= TARGET,
        )
    ]


if __name__ == "__main__":  # pragma: no cover - handy when tuning the local stack
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    for row in run():
        print(row)
