"""The shared layer installs from a lock: every package of the closure at an exact version with
its wheel's hash, generated from requirements.in's compatible-release pins, so that a later
`sam build` cannot change behaviour silently."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.template

ROOT = Path(__file__).resolve().parents[2]
LOCKED = re.compile(r"^([a-z0-9-]+)==([0-9][^ ]*) \\\n    --hash=sha256:[0-9a-f]{64}$", re.MULTILINE)


def _name(value: str) -> str:
    return value.lower().replace("_", "-").replace(".", "-")


def _source() -> list[Requirement]:
    lines = (ROOT / "layers" / "requirements.in").read_text().splitlines()
    return [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]


def _lock() -> dict[str, str]:
    text = (ROOT / "layers" / "requirements.txt").read_text()
    body = "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))
    pins = {_name(m[0]): m[1] for m in LOCKED.findall(body)}
    assert len(pins) == body.count("=="), "every line of the lock is `name==version` with a sha256"
    return pins


def test_every_requirement_is_locked_at_a_version_its_pin_allows() -> None:
    pins = _lock()
    for requirement in _source():
        assert requirement.specifier, f"{requirement.name} needs a compatible-release or lower-bound pin"
        assert requirement.specifier.contains(pins[_name(requirement.name)]), requirement


def test_the_lock_holds_the_closure_and_not_what_the_runtime_provides() -> None:
    pins = _lock()
    assert {"pydantic-core", "typing-extensions", "annotated-types"} <= set(pins)
    assert not {"boto3", "botocore", "s3transfer"} & set(pins)


def test_the_build_installs_only_the_lock_with_hashes() -> None:
    makefile = (ROOT / "layers" / "Makefile").read_text()
    assert "--require-hashes" in makefile and "--no-deps" in makefile and "-r requirements.txt" in makefile


def test_the_packages_runtime_dependencies_agree_with_the_layer() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(Requirement(d).name): Requirement(d).specifier for d in project["dependencies"]}
    for requirement in _source():
        name = _name(requirement.name)
        if name in declared:
            assert declared[name] == requirement.specifier, name
