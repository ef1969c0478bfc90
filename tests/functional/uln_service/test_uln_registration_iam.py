"""Least privilege per organisation, proved with the IAM check (tests/support/iam.py) on calls the
code really makes against moto: a session the ULN function assumes for one organisation may reach
that organisation's LRS secret and no other, and the function's own role reaches none.

moto hands any secret to anyone (it enforces no IAM), so each test records its calls apart from the
run's (`calls.capture`) and asks the check what AWS would have said."""

from __future__ import annotations

import boto3
import pytest
from s2s.adapters import lrs_registry
from s2s_cli.local import calls
from support import iam
from support.lrs import register_with_lrs

pytestmark = pytest.mark.functional

OURS, THEIRS = "8231234", "8232345"


def findings(rows: list[dict[str, object]]) -> list[tuple[str, str, str]]:
    return [(f.kind, f.action, f.resource) for f in iam.check(iam.records_of(rows), least_privilege=False)]


@pytest.fixture
def two_registered(lrs: object) -> None:
    register_with_lrs(OURS)
    register_with_lrs(THEIRS)
    lrs_registry.forget_cache()


def test_a_session_for_one_organisation_reads_its_own_secret_and_is_denied_anothers(two_registered):
    with calls.capture("UlnApiFunction") as rows:
        client = lrs_registry.scoped_client(OURS)
        own = client.get_secret_value(SecretId=f"s2s/lrs/{OURS}")
        other = client.get_secret_value(SecretId=f"s2s/lrs/{THEIRS}")  # moto answers: IAM would not

    assert own["Name"] == f"s2s/lrs/{OURS}" and other["Name"] == f"s2s/lrs/{THEIRS}"
    sessions = {
        (row.get("as"), tuple(sorted(row.get("tags", {}).items()))) for row in rows if row["api"] != "sts.AssumeRole"
    }
    assert sessions == {(calls.attribute("LrsOrgAccessRole", "Arn"), (("org", OURS),))}
    assert findings(rows) == [("denied", "secretsmanager:GetSecretValue", calls.secret_arn(f"s2s/lrs/{THEIRS}"))]


def test_a_session_may_not_create_another_organisations_secret_nor_tag_one_as_its_own(two_registered):
    with calls.capture("UlnApiFunction") as rows:
        client = lrs_registry.scoped_client(OURS)
        client.create_secret(Name="s2s/lrs/8239999", SecretString="{}", Tags=[{"Key": "org", "Value": "8239999"}])
        client.create_secret(Name=f"s2s/lrs/{OURS}x", SecretString="{}", Tags=[{"Key": "org", "Value": OURS}])
        client.delete_secret(SecretId=f"s2s/lrs/{THEIRS}", ForceDeleteWithoutRecovery=True)

    denied = {(action, resource.split(":secret:")[1]) for kind, action, resource in findings(rows) if kind == "denied"}
    assert denied == {
        ("secretsmanager:CreateSecret", "s2s/lrs/8239999-xxxxxx"),
        ("secretsmanager:TagResource", "s2s/lrs/8239999-xxxxxx"),
        ("secretsmanager:CreateSecret", f"s2s/lrs/{OURS}x-xxxxxx"),
        ("secretsmanager:TagResource", f"s2s/lrs/{OURS}x-xxxxxx"),
        ("secretsmanager:DeleteSecret", f"s2s/lrs/{THEIRS}-xxxxxx"),
    }


def test_the_functions_own_role_reaches_no_organisations_secret(two_registered):
    with calls.capture("UlnApiFunction") as rows:
        boto3.client("secretsmanager").get_secret_value(SecretId=f"s2s/lrs/{OURS}")

    assert findings(rows) == [("denied", "secretsmanager:GetSecretValue", calls.secret_arn(f"s2s/lrs/{OURS}"))]


def test_the_handlers_own_calls_are_all_allowed_as_the_callers_session(lrs):
    from .support import uln_call

    with calls.capture("UlnApiFunction") as rows:
        body = {"ukprn": "10000001", "username": "s2s-local", "password": "local-lrs-password"}
        assert uln_call("PUT", "/uln/registration", body=body).status == 204
        assert uln_call("GET", "/uln/registration").status == 200
        assert uln_call("DELETE", "/uln/registration").status == 204

    apis = [row["api"] for row in rows]
    assert {"sts.AssumeRole", "secretsmanager.CreateSecret", "secretsmanager.DeleteSecret"} <= set(apis)
    assert findings(rows) == []
