"""The report function's IAM policy (docs/SERVICE.md §5, issue 6): it may Query and GetItem on the table and
its indexes, and nothing else on DynamoDB: no Scan, no batch reads, no writes. The LPD function,
which claims files, writes only through conditional transactions (authorised item by item, so
PutItem and UpdateItem) and never scans."""

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
    assert dynamo and all(s["Effect"] == "Allow" for s in dynamo)
    assert {a for s in dynamo for a in _actions(s)} == {"dynamodb:GetItem", "dynamodb:Query"}
    resources = [
        str(r) for s in dynamo for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert any("/index/" in r for r in resources) and any("/index/" not in r for r in resources)
    every_action = [a for s in statements for a in _actions(s)]
    assert not any("*" in a for a in every_action)
    assert not any(a.startswith(("sns:", "ses:")) for a in every_action)
    # S3: only reading the establishment directory's load objects (school names in the report).
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    assert [(_actions(s), s["Resource"]) for s in s3] == [
        (["s3:GetObject"], {"Fn::Sub": "${FilesBucket.Arn}/directory-index/*"})
    ]


def test_lost_pupils_function_never_scans() -> None:
    actions = [a for s in _statements("LostPupilsApiFunction") for a in _actions(s)]
    assert "dynamodb:Query" in actions and "dynamodb:PutItem" in actions and "dynamodb:UpdateItem" in actions
    assert not any(a in ("dynamodb:Scan", "dynamodb:*", "*") for a in actions)
