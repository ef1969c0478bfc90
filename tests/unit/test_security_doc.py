"""docs/SECURITY.md names, for every threat, the test that proves its protection: every
`file::test` it cites must exist, so the page cannot drift from the suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.hardening]

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "SECURITY.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)?)`")
CONTINUATION = re.compile(r"`::(\w+)`")


def cited() -> list[tuple[str, str | None]]:
    refs: list[tuple[str, str | None]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = REFERENCE.findall(line)
        for path, test in found:
            refs.append((path, test.removeprefix("::") or None))
        if found:
            refs += [(found[-1][0], name) for name in CONTINUATION.findall(line)]
    return refs


def test_security_doc_cites_tests_that_exist() -> None:
    refs = cited()
    assert len(refs) >= 30
    missing = []
    for path, test in refs:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif test and not re.search(rf"^def {test}\(", source.read_text(encoding="utf-8"), re.MULTILINE):
            missing.append(f"{path}::{test}")
    assert missing == []


def test_every_threat_has_a_test() -> None:
    sections = re.split(r"^### ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    assert len(sections) >= 8
    for section in sections:
        assert "**Tests.**" in section and REFERENCE.search(section), section.splitlines()[0]
