"""Fixtures for the functional tests (the records a request left behind: tests/support/records.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s2s.domain import clock


@pytest.fixture(autouse=True)
def _clock_reset() -> Iterator[None]:
    """Tests that travel in time must not move the clock of the next test."""
    clock.reset()
    yield
    clock.reset()
