"""The local stack shared by the tests of this folder: one subprocess per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localstack import Stack, free_port, start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("s2s-local"), free_port(), free_port())
    yield running
    assert stop_stack(running) == 0, "\n".join(running.output)
