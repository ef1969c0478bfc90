"""Fixtures for the ULN service tests: moto (the shared `aws` fixture) plus a fake LRS over real HTTP
on 127.0.0.1, with short time limits so the timeout tests stay quick."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from s2s.adapters.lrs import retry_policy
from s2s.adapters.lrs_registry import forget_cache
from s2s.runtime.settings import get_settings
from s2s_cli.fake_lrs import FakeLrs, start_fake_lrs
from support.lrs import register_with_lrs

ATTEMPT_SECONDS = 1.0
DEADLINE_SECONDS = 3.0


def _reset_lrs_caches() -> None:
    get_settings.cache_clear()
    retry_policy.cache_clear()
    forget_cache()


@pytest.fixture(scope="session")
def fake_lrs_server() -> Iterator[FakeLrs]:
    # Slow answers take longer than the client's 1-second attempt limit.
    fake = start_fake_lrs(slow_seconds=2.5)
    yield fake
    fake.stop()


@pytest.fixture
def lrs(aws: Any, fake_lrs_server: FakeLrs, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLrs]:
    """The fake LRS, reset to `auto` and its seed register, with the handler pointed at it; the
    school and LA the tests call as are registered with its development account."""
    fake_lrs_server.reset()
    monkeypatch.setenv("LRS_ENDPOINT", fake_lrs_server.url)
    monkeypatch.setenv("LRS_TIMEOUT_SECONDS", str(ATTEMPT_SECONDS))
    monkeypatch.setenv("LRS_DEADLINE_SECONDS", str(DEADLINE_SECONDS))
    monkeypatch.setenv("LRS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("LRS_BACKOFF_SECONDS", "0.05")
    _reset_lrs_caches()
    for org in ("8231234", "823LLLL"):
        register_with_lrs(org)
    yield fake_lrs_server
    _reset_lrs_caches()
