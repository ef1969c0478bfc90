"""Fixtures for the report and Lost Pupils Database tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s2s.domain import clock


@pytest.fixture(autouse=True)
def _clock_reset() -> Iterator[None]:
    """Tests move the service's clock; no test may leave it moved for the next."""
    clock.reset()
    yield
    clock.reset()
