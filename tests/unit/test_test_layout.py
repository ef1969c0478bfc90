"""The tests follow the layout: tiers are folders (unit, functional, template, local, browser,
fuzz), themes are markers (hardening, slow), and shared code is one package, tests/support."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]
TIERS = {"unit", "functional", "template", "local", "browser", "fuzz"}
THEMES = {"hardening", "slow"}


def test_the_tests_folder_holds_the_tiers_the_support_package_and_sample_events_only() -> None:
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders == TIERS | {"support", "events"}
    assert sorted(p.name for p in TESTS.glob("*.py")) == ["__init__.py", "conftest.py"]


def test_every_tier_and_theme_is_a_declared_marker() -> None:
    markers = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    declared = {m.split(":", 1)[0] for m in markers}
    assert declared >= TIERS | THEMES


@pytest.mark.parametrize("tier", sorted(TIERS - {"browser"}))
def test_every_test_module_is_marked_with_the_tier_of_its_folder(tier: str) -> None:
    for path in sorted((TESTS / tier).rglob("test_*.py")):
        text = path.read_text()
        conftest = (path.parent / "conftest.py").read_text() if (path.parent / "conftest.py").exists() else ""
        assert re.search(rf"pytest\.mark\.{tier}\b", text + conftest), (
            f"{path.relative_to(TESTS)} lacks its tier marker"
        )
