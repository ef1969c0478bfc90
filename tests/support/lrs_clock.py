"""Prove the LRS client's time limits without timing anything (a wall-clock budget fails on a
loaded machine). The client keeps its deadline against an injected clock; here that clock moves
only when the client waits: by the whole time limit of an attempt that timed out (the most it
could have taken), and by every backoff pause. The real transport still runs, against real
sockets, so the timeouts the client passes are the ones the sockets honour; the tests count the
attempts and read the timeouts, never a stopwatch."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from s2s.adapters import lrs


def _timed_out(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    return isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError)


@dataclass
class LrsTimeline:
    """What the client asked of the transport and of the clock during one or more calls."""

    now: float = 0.0
    timeouts: list[float] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    transport: Callable[[str, str, bytes, float], tuple[int, bytes]] = lrs.post_soap

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def send(self, endpoint: str, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        self.timeouts.append(timeout)
        try:
            return self.transport(endpoint, operation, body, timeout)
        except BaseException as exc:
            if _timed_out(exc):
                self.now += timeout
            raise

    @property
    def attempts(self) -> int:
        return len(self.timeouts)

    @property
    def worst_case_seconds(self) -> float:
        """The longest the call could have taken: every attempt its whole time limit, and the pauses."""
        return sum(self.timeouts) + sum(self.sleeps)


def install(monkeypatch: pytest.MonkeyPatch, module: Any) -> LrsTimeline:
    """Make `module.lrs_client()` (the ULN service's factory, s2s.services.uln) build clients on one timeline."""
    timeline = LrsTimeline()
    monkeypatch.setattr(
        module,
        "lrs_client",
        lambda credentials: lrs.lrs_client(
            credentials, transport=timeline.send, sleep=timeline.sleep, clock=timeline.clock
        ),
    )
    return timeline
