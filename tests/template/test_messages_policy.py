"""The messages function's IAM policy (docs/SERVICE.md §11): KMS may encrypt for it only with the
encryption context that names a message body, no function but it may encrypt with the key at all,
it never scans, and its routes sit behind the JWT authorizer like every other API route."""

from __future__ import annotations

from typing import Any

import pytest
from s2s_cli.local.template import load_template

pytestmark = pytest.mark.template

RESOURCES = load_template()["Resources"]


def _statements(function: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in RESOURCES[function]["Properties"].get("Policies", []):
        out.extend(policy["Statement"])
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_kms_encrypt_is_granted_only_with_the_message_body_context() -> None:
    encrypting = [s for s in _statements("MessagesApiFunction") if "kms:Encrypt" in _actions(s)]

    assert len(encrypting) == 1
    assert _actions(encrypting[0]) == ["kms:Encrypt"]
    assert encrypting[0]["Condition"] == {"StringEquals": {"kms:EncryptionContext:s2s:purpose": "message-body"}}


def test_no_other_function_may_encrypt_with_the_key() -> None:
    functions = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]
    others = {
        name
        for name in functions
        if name != "MessagesApiFunction"
        for statement in _statements(name)
        if any(a in ("kms:Encrypt", "kms:*") for a in _actions(statement))
    }
    assert others == set()


def test_the_messages_function_never_scans_and_its_routes_need_a_token() -> None:
    props = RESOURCES["MessagesApiFunction"]["Properties"]
    actions = {a for s in _statements("MessagesApiFunction") for a in _actions(s)}
    assert not any(a.endswith(":Scan") or a.endswith(":*") for a in actions)
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in props["Events"].values()}
    assert routes == {
        ("POST", "/messages"),
        ("GET", "/messages"),
        ("GET", "/messages/{id}"),
        ("DELETE", "/messages/{id}"),
        ("GET", "/transfers/{id}/messages"),
    }
    assert all("Auth" not in e["Properties"] for e in props["Events"].values())  # the API's default: DfESignIn
    assert props["Environment"]["Variables"]["MESSAGE_KEY_ID"] == {"Ref": "FilesKey"}
