"""The layout is the architecture (README, "Architecture"): arrows point one way. The handlers in
functions/ call services; services use the domain, the contracts and the adapters; the domain
imports nothing of the others and nothing of AWS; no botocore error reaches a service, because no
service imports botocore. Data access lives only in adapters: services use the repositories,
never a client, and the repositories reach DynamoDB through the one codec, `s2s.adapters.dynamo`."""

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
    "services": {
        "boto3",
        "botocore",
        "aws_lambda_powertools.event_handler",
        "s2s.runtime.http",
        "s2s.runtime.batch",
        "s2s.adapters.aws",  # the raw clients: services use the repositories
        "s2s.adapters.dynamo",  # the codec: services use the repositories
    },
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


def test_only_the_codec_module_talks_to_dynamodb() -> None:
    """One codec, one paginator: no other adapter takes the DynamoDB client, encodes attribute
    values with boto3's serializer or follows `LastEvaluatedKey` itself."""
    for path in sorted((LAYER / "adapters").glob("*.py")):
        if path.name in {"dynamo.py", "aws.py"}:
            continue
        imports = _imports(path)
        assert "s2s.adapters.aws.dynamodb" not in imports, path.name
        assert not any(name.startswith("boto3.dynamodb") for name in imports), path.name
        assert "LastEvaluatedKey" not in path.read_text(), path.name
    for package in ("services", "domain", "contracts", "runtime"):
        for path in sorted((LAYER / package).glob("*.py")):
            assert "LastEvaluatedKey" not in path.read_text(), path.name


def test_every_status_change_goes_through_the_state_machine() -> None:
    """Services never set a status by hand: `move` (which checks TRANSITIONS) or `in_place` (which
    checks IN_PLACE) does it, and the store takes the statuses a change may be written over from
    the same tables."""
    for path in sorted((LAYER / "services").glob("*.py")):
        text = path.read_text()
        assert "allowed_from=" not in text, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "replace":
                assert "status" not in {kw.arg for kw in node.keywords}, path.name


def test_the_rule_catches_a_wrong_arrow(tmp_path: Path) -> None:
    wrong = tmp_path / "naming.py"
    wrong.write_text("from s2s.adapters.transfers import get_transfer\nimport boto3\n")
    assert {"s2s.adapters.transfers", "boto3"} <= _imports(wrong)
