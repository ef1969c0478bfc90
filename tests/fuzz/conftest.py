"""One local stack per fuzz session (`s2s local serve` as a subprocess on free loopback ports with a
temporary data dir) and a bearer token per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local.localstack import LA, SCHOOL_A, Stack, free_port, start_stack, stop_stack

# role -> (token kind, organisation) as issued by `s2s local token --school/--la/--dfe`.
ROLES: dict[str, tuple[Any, str | None]] = {"school": ("school", SCHOOL_A), "la": ("la", LA), "dfe": ("dfe", None)}


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("s2s-fuzz"), free_port(), free_port())
    yield running
    assert stop_stack(running) == 0, "\n".join(running.output)


@pytest.fixture(scope="session")
def role_headers(fuzz_stack: Stack) -> dict[str, dict[str, str]]:
    """role -> Authorization header with a valid token (an hour, so a long run does not outlive it)."""
    return {
        role: {"Authorization": f"Bearer {fuzz_stack.token(kind, org, ttl=3600)}"}
        for role, (kind, org) in ROLES.items()
    }
