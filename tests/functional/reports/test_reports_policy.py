"""The report function's IAM policy (SPEC §5, issue 6): it may Query and GetItem on the table and
its indexes, and nothing else on DynamoDB: no Scan, no batch reads, no writes. The LPD function,
which claims files, writes only through conditional transactions and never scans."""

from __future__ import annotations

from typing import Any

import pytest
from s2s_cli.local.template import load_template

pytestmark = pytest.mark.template


def _statements(function: str) -> list[dict[str, Any]]:
    props = load_template()["Resources"][function]["Properties"]
    out: list[dict[str, Any]] = []
    for policy in props.get("Policies", []):
        assert isinstance(policy, dict), f"{function} uses a managed policy template: {policy!r}"
        out.extend(policy["Statement"])
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_report_function_reads_the_table_with_query_and_getitem_only() -> None:
    statements = _statements("ReportApiFunction")
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(dynamo) == 1
    assert sorted(_actions(dynamo[0])) == ["dynamodb:GetItem", "dynamodb:Query"]
    assert dynamo[0]["Effect"] == "Allow"
    resources = [str(r) for r in dynamo[0]["Resource"]]
    assert len(resources) == 2 and any("/index/*" in r for r in resources)
    every_action = [a for s in statements for a in _actions(s)]
    assert not any("*" in a for a in every_action)
    assert not any(a.startswith(("sns:", "s3:", "ses:")) for a in every_action)


def test_lost_pupils_function_never_scans() -> None:
    actions = [a for s in _statements("LostPupilsApiFunction") for a in _actions(s)]
    assert "dynamodb:Query" in actions and "dynamodb:TransactWriteItems" in actions
    assert not any(a in ("dynamodb:Scan", "dynamodb:*", "*") for a in actions)
