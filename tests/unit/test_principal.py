"""Who is calling, from DfE Sign-in claims (docs/SERVICE.md §1): schools, LAs and the DfE are recognised,
`organisation` may be a JSON string or an object, and anything unusable is a 403, never a
default organisation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from s2s.domain.errors import Forbidden
from s2s.domain.principal import principal_from_claims
from support.helpers import dfe_claims, la_claims, school_claims

pytestmark = pytest.mark.unit

_DROP = object()  # a key to leave out of the organisation


def _claims_with(organisation: Any, **extra: Any) -> dict[str, Any]:
    return {"sub": "user-1", "email": "office@school.example", "organisation": organisation, **extra}


def _school_org(**changes: Any) -> dict[str, Any]:
    org: dict[str, Any] = {
        "id": "org-1",
        "name": "Sandy Upper School",
        "category": {"id": "001", "name": "Establishment"},
        "establishmentNumber": "1234",
        "localAuthority": {"id": "la-823", "name": "Central Bedfordshire", "code": "823"},
    }
    org.update(changes)
    return {k: v for k, v in org.items() if v is not _DROP}


def _la_org(**changes: Any) -> dict[str, Any]:
    org: dict[str, Any] = {
        "id": "org-la",
        "name": "Central Bedfordshire",
        "category": {"id": "002", "name": "Local Authority"},
        "localAuthority": {"id": "la-823", "name": "Central Bedfordshire", "code": "823"},
    }
    org.update(changes)
    return {k: v for k, v in org.items() if v is not _DROP}


def test_a_school_acts_as_its_laestab() -> None:
    principal = principal_from_claims(school_claims("8231234", email="Office@Sandy.Example"))

    assert principal.kind == "school"
    assert principal.la == "823"
    assert principal.laestab == "8231234"
    assert principal.org == "8231234"
    assert principal.email == "office@sandy.example"
    assert principal.user_id == "user-8231234"
    assert principal.org_name == "School 8231234"


def test_an_la_acts_as_la_llll() -> None:
    principal = principal_from_claims(la_claims("873"))

    assert principal.kind == "la"
    assert principal.la == "873"
    assert principal.laestab is None
    assert principal.org == "873LLLL"
    assert principal.org_name == "Cambridgeshire"


def test_the_dfe_has_no_la_and_no_laestab() -> None:
    principal = principal_from_claims(dfe_claims())

    assert principal.kind == "dfe"
    assert principal.la is None
    assert principal.laestab is None
    assert principal.org == "DFE"


@pytest.mark.parametrize("as_json_string", [True, False], ids=["json-string", "object"])
def test_organisation_may_be_a_json_string_or_an_object(as_json_string: bool) -> None:
    org = _school_org()
    claims = _claims_with(json.dumps(org) if as_json_string else org)

    principal = principal_from_claims(claims)

    assert (principal.kind, principal.org, principal.org_name) == ("school", "8231234", "Sandy Upper School")


@pytest.mark.parametrize(
    ("org", "expected_org"),
    [
        (_school_org(category="001"), "8231234"),  # category as a bare id
        (_school_org(establishmentNumber=4001), "8234001"),  # a number, not a string
        (_school_org(establishmentNumber=" 1234 "), "8231234"),
        (_school_org(localAuthority={"code": " 823 "}), "8231234"),
        (_la_org(localAuthority={"code": 823}), "823LLLL"),
        (_la_org(establishmentNumber=None), "823LLLL"),
        (_la_org(category="002"), "823LLLL"),
    ],
)
def test_claims_in_slightly_different_shapes_still_work(org: dict[str, Any], expected_org: str) -> None:
    assert principal_from_claims(_claims_with(org)).org == expected_org


def test_a_missing_name_gets_a_plain_description() -> None:
    school = principal_from_claims(_claims_with(_school_org(name=_DROP)))
    la = principal_from_claims(_claims_with(_la_org(name="")))

    assert school.org_name == "School 8231234"
    assert la.org_name == "Local authority 823"


@pytest.mark.parametrize(
    "organisation",
    [
        "{not json",
        '{"category": {"id": "001"}',  # truncated
        "[1, 2]",
        "42",
        '"a string"',
        "null",
        "",
        None,
        ["001"],
        12,
    ],
)
def test_an_unusable_organisation_claim_is_forbidden(organisation: Any) -> None:
    with pytest.raises(Forbidden) as caught:
        principal_from_claims(_claims_with(organisation))

    assert caught.value.code == "no_organisation"


def test_a_token_without_an_organisation_claim_is_forbidden() -> None:
    claims = school_claims("8231234")
    del claims["organisation"]

    with pytest.raises(Forbidden) as caught:
        principal_from_claims(claims)

    assert caught.value.code == "no_organisation"


@pytest.mark.parametrize("sub", [None, "", "   "])
def test_a_token_without_a_user_id_is_forbidden(sub: str | None) -> None:
    claims = school_claims("8231234")
    claims["sub"] = sub

    with pytest.raises(Forbidden) as caught:
        principal_from_claims(claims)

    assert caught.value.code == "no_organisation"


@pytest.mark.parametrize(
    "org",
    [
        _school_org(localAuthority=_DROP),
        _school_org(localAuthority=None),
        _school_org(localAuthority="823"),
        _school_org(localAuthority={"name": "Central Bedfordshire"}),
        _school_org(localAuthority={"code": "82"}),
        _school_org(localAuthority={"code": "8234"}),
        _school_org(localAuthority={"code": "82a"}),
        _school_org(localAuthority={"code": None}),
        _school_org(establishmentNumber=_DROP),
        _school_org(establishmentNumber=None),
        _school_org(establishmentNumber=""),
        _school_org(establishmentNumber="123"),
        _school_org(establishmentNumber="12345"),
        _school_org(establishmentNumber="12a4"),
        _school_org(establishmentNumber=12),
        _la_org(localAuthority=_DROP),
        _la_org(localAuthority={"code": ""}),
        _la_org(localAuthority={"code": "LLL"}),
    ],
)
def test_a_school_or_la_without_usable_codes_is_forbidden(org: dict[str, Any]) -> None:
    with pytest.raises(Forbidden) as caught:
        principal_from_claims(_claims_with(json.dumps(org)))

    assert caught.value.code == "no_organisation"


@pytest.mark.parametrize(
    "category",
    [
        {"id": "010", "name": "Multi-Academy Trust"},
        {"id": "013", "name": "Single-Academy Trust"},
        {"id": "999", "name": "Something new"},
        {"name": "Establishment"},  # no id
        "1",  # an id without its leading zeros is not 001
        None,
        _DROP,
    ],
)
def test_other_organisation_types_are_forbidden_never_defaulted(category: Any) -> None:
    with pytest.raises(Forbidden) as caught:
        principal_from_claims(_claims_with(_school_org(category=category)))

    assert caught.value.code == "organisation_not_allowed"


@pytest.mark.parametrize(
    "org",
    [
        _school_org(establishmentNumber="\u0661\u0662\u0663\u0664"),  # Arabic-Indic digits
        _school_org(localAuthority={"code": "\uff18\uff12\uff13"}),  # full-width digits
    ],
)
def test_non_ascii_digits_are_not_an_organisation(org: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        principal_from_claims(_claims_with(org))


@pytest.mark.parametrize("email", ["not-an-address", "two@@at.example", "spaces in@school.example", ""])
def test_an_unusable_email_is_dropped_not_trusted(email: str) -> None:
    principal = principal_from_claims(school_claims("8231234") | {"email": email})

    assert principal.email is None
    assert principal.org == "8231234"


def test_log_fields_name_the_caller_without_personal_data() -> None:
    principal = principal_from_claims(school_claims("8231234", email="head@sandy.example", name="Sandy Upper"))

    fields = principal.log_fields()

    assert fields == {"user": "user-8231234", "org": "8231234", "role": "school"}
    assert "head@sandy.example" not in json.dumps(fields)
