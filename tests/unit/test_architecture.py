"""The layout is the architecture (README, "Architecture"): arrows point one way. The handlers in
functions/ call services; services use the domain, the contracts and the adapters; the domain
imports nothing of the others and nothing of AWS; no botocore error reaches a service, because no
service imports botocore."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "s2s"
PACKAGES = ("domain", "contracts", "services", "adapters", "runtime")

# package -> what it may never import (other s2s packages, and third-party roots)
FORBIDDEN: dict[str, set[str]] = {
    "domain": {
        "s2s.contracts",
        "s2s.services",
        "s2s.adapters",
        "s2s.runtime",
        "boto3",
        "botocore",
        "pydantic",
        "aws_lambda_powertools",
    },
    "contracts": {"s2s.services", "s2s.adapters", "s2s.runtime", "boto3", "botocore", "aws_lambda_powertools"},
    "services": {"boto3", "botocore", "aws_lambda_powertools.event_handler", "s2s.runtime.http", "s2s.runtime.batch"},
    "adapters": {"s2s.services", "s2s.runtime.http", "s2s.runtime.batch"},
    "runtime": {"s2s.services"},
}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (type-only imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _violations(package: str) -> list[str]:
    out = []
    for path in sorted((LAYER / package).glob("*.py")):
        for name in sorted(_imports(path)):
            for banned in FORBIDDEN[package]:
                if name == banned or name.startswith(banned + "."):
                    out.append(f"{path.relative_to(ROOT)} imports {name}")
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_each_layer_imports_only_what_the_arrows_allow(package: str) -> None:
    assert _violations(package) == []


def test_every_module_of_the_shared_package_lives_in_one_of_the_layers() -> None:
    loose = sorted(p.name for p in LAYER.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    assert {p.name for p in LAYER.iterdir() if p.is_dir() and p.name != "__pycache__"} == {*PACKAGES, "data"}


def test_handlers_reach_the_layer_through_services_contracts_and_runtime_only() -> None:
    for path in sorted((ROOT / "functions").rglob("*.py")):
        for name in _imports(path):
            if name.startswith("s2s."):
                assert name.split(".")[1] in {"services", "contracts", "runtime", "domain"}, f"{path.name}: {name}"
            assert not name.startswith("botocore"), f"{path.name}: {name}"


def test_the_rule_catches_a_wrong_arrow(tmp_path: Path) -> None:
    wrong = tmp_path / "naming.py"
    wrong.write_text("from s2s.adapters.store import get_transfer\nimport boto3\n")
    assert {"s2s.adapters.store", "boto3"} <= _imports(wrong)
