"""LRS registration per organisation (docs/SERVICE.md §7) through the real handler, against the fake
LRS over HTTP: PUT/GET/DELETE /uln/registration, `lrs_not_registered` on every ULN route without
one, `lrs_credentials_refused` marking it for attention, and the password in no answer and no log."""

from __future__ import annotations

import json
import logging

import pytest
from defusedxml.ElementTree import fromstring
from s2s.domain.lrs import ACCOUNT_CHECK_ULN, LrsCredentials
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME, NS
from support.helpers import dfe_claims, la_claims, school_claims
from support.lrs import register_with_lrs, registered_value

from .support import audit_items, uln_call

pytestmark = pytest.mark.functional

NEW_SCHOOL = "8232345"  # not registered by the `lrs` fixture
NEW = school_claims(NEW_SCHOOL)
ACCOUNT = {"ukprn": DEFAULT_UKPRN, "username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
OLIVER = {
    "given_name": "Oliver",
    "family_name": "Brook",
    "date_of_birth": "2009-11-03",
    "gender": 1,
    "postcode": "MK45 2DD",
}
ROUTES = {
    "find": (
        "GET",
        "/uln/learners/{uln}",
        {"path_params": {"uln": "9276308686"}, "query": {"given_name": "Amelia", "family_name": "Hart"}},
    ),
    "search": ("POST", "/uln/learners/search", {"body": OLIVER}),
    "register": (
        "POST",
        "/uln/learners",
        {"body": {**OLIVER, "date_of_birth": "2008-06-15", "verification_type": 1, "ability_to_share": 1}},
    ),
    "update": ("PATCH", "/uln/learners/{uln}", {"path_params": {"uln": "1026893096"}, "body": {"gender": 9}}),
}


def put(body: dict[str, object], claims: dict[str, object] = NEW):
    return uln_call("PUT", "/uln/registration", body=body, claims=claims)


def get(claims: dict[str, object] = NEW):
    return uln_call("GET", "/uln/registration", claims=claims)


def route(name: str, claims: dict[str, object] = NEW):
    method, path, kwargs = ROUTES[name]
    return uln_call(method, path, claims=claims, **json.loads(json.dumps(kwargs)))


# ---------------------------------------------------------------- without a registration


@pytest.mark.parametrize("name", sorted(ROUTES))
@pytest.mark.parametrize("claims", [NEW, la_claims("330")], ids=["school", "la"])
def test_every_uln_route_of_an_unregistered_organisation_is_403_lrs_not_registered(lrs, name, claims):
    reply = route(name, claims)

    assert (reply.status, reply.error) == (403, "lrs_not_registered")
    assert "LRS Organisation Portal" in reply.body["message"]
    assert "LRS registration page" in reply.body["message"]
    assert lrs.request_count() == 0


def test_get_without_a_registration_says_so(lrs):
    reply = get()
    assert (reply.status, reply.body) == (
        200,
        {
            "registered": False,
            "ukprn": None,
            "organisation_ref": None,
            "username": None,
            "checked_at": None,
            "needs_attention": False,
        },
    )


def test_an_incomplete_kept_registration_counts_as_none(lrs):
    register_with_lrs(NEW_SCHOOL, LrsCredentials("", DEFAULT_USERNAME, DEFAULT_PASSWORD))

    assert route("search").error == "lrs_not_registered"
    assert get().body["registered"] is False
    assert lrs.request_count() == 0


# ---------------------------------------------------------------- registering


def test_a_registration_is_checked_with_the_lrs_kept_and_then_used_for_that_organisation(lrs):
    reply = put(ACCOUNT)

    assert (reply.status, reply.body) == (204, "")
    [check] = lrs.requests
    assert check.operation == "learnerByULN" and check.fields["ULN"] == ACCOUNT_CHECK_ULN
    shown = get()
    assert shown.status == 200
    assert shown.body["registered"] is True
    assert (shown.body["ukprn"], shown.body["username"]) == (DEFAULT_UKPRN, DEFAULT_USERNAME)
    assert shown.body["checked_at"].endswith("Z") and shown.body["needs_attention"] is False
    assert "password" not in shown.body

    assert route("search").status == 200
    sent = lrs.last_request("learnerByDemographics").fields
    assert (sent["UKPRN"], sent["UserName"], sent["OrgPassword"]) == (DEFAULT_UKPRN, DEFAULT_USERNAME, DEFAULT_PASSWORD)
    assert [item["operation"] for item in audit_items(NEW_SCHOOL)] == ["checkRegistration", "learnerByDemographics"]


def test_each_organisation_sends_its_own_account(lrs):
    register_with_lrs(NEW_SCHOOL, LrsCredentials("10000002", "other-school", "their-password"))

    reply = route("search")

    assert (reply.status, reply.error) == (502, "lrs_credentials_refused")  # the fake knows only its own
    sent = lrs.last_request().fields
    assert (sent["UKPRN"], sent["UserName"]) == ("10000002", "other-school")
    assert route("search", school_claims("8231234")).status == 200  # the fixture's school is unaffected


def test_a_refused_account_is_422_and_nothing_is_kept(lrs):
    reply = put({**ACCOUNT, "password": "not-the-password"})

    assert (reply.status, reply.error) == (422, "lrs_credentials_refused")
    assert {"field": "password", "reason": "lrs_refused"} in reply.body["details"]
    assert {"response_code": "WSEC0005"} in reply.body["details"]
    assert get().body["registered"] is False
    assert registered_value(NEW_SCHOOL) is None


def test_an_organisation_reference_is_sent_instead_of_a_ukprn(lrs):
    reply = put({"organisation_ref": "LRS-ORG-42", "username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD})

    # The fake's development account has a UKPRN, so it refuses an unknown organisation (WSEC0003).
    assert (reply.status, reply.error) == (422, "lrs_credentials_refused")
    operation = fromstring(lrs.last_request().body).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    names = [child.tag.removeprefix(f"{{{NS}}}") for child in operation]
    assert names[:4] == ["FindType", "OrganisationRef", "OrgPassword", "UserName"]
    assert "UKPRN" not in names


def test_the_lrs_out_of_hours_keeps_nothing_and_says_when_to_retry(lrs):
    lrs.set_scenario("out_of_hours")

    reply = put(ACCOUNT)

    assert (reply.status, reply.error) == (503, "lrs_out_of_hours")
    assert "retry-after" in reply.headers
    assert registered_value(NEW_SCHOOL) is None


def test_a_password_the_lrs_later_refuses_is_502_and_marks_the_registration(lrs):
    assert put(ACCOUNT).status == 204
    lrs.set_scenario("bad_password")

    reply = route("find")

    assert (reply.status, reply.error) == (502, "lrs_credentials_refused")
    assert "LRS registration page" in reply.body["message"]
    assert get().body["needs_attention"] is True
    lrs.set_scenario("auto")
    assert put(ACCOUNT).status == 204  # entered again: attention no longer needed
    assert get().body["needs_attention"] is False


def test_delete_forgets_the_registration(lrs):
    assert put(ACCOUNT).status == 204

    first = uln_call("DELETE", "/uln/registration", claims=NEW)
    again = uln_call("DELETE", "/uln/registration", claims=NEW)

    assert (first.status, first.body, again.status) == (204, "", 204)
    assert get().body["registered"] is False
    assert registered_value(NEW_SCHOOL) is None
    assert route("search").error == "lrs_not_registered"
    assert "forgetRegistration" in [item["operation"] for item in audit_items(NEW_SCHOOL)]


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", ACCOUNT), ("GET", None), ("DELETE", None)], ids=["put", "get", "delete"]
)
def test_registration_is_for_schools_and_las_only(lrs, method, body):
    reply = uln_call(method, "/uln/registration", body=body, claims=dfe_claims())
    assert (reply.status, reply.error) == (403, "role_not_allowed")
    assert lrs.request_count() == 0


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"username": "u", "password": "p"}, {"ukprn"}),
        ({**ACCOUNT, "organisation_ref": "LRS-1"}, {"ukprn"}),
        ({**ACCOUNT, "ukprn": "20000001"}, {"ukprn"}),
        ({**ACCOUNT, "ukprn": "1000001"}, {"ukprn"}),
        ({"organisation_ref": "not a ref!", "username": "u", "password": "p"}, {"organisation_ref"}),
        ({"ukprn": DEFAULT_UKPRN, "password": "p"}, {"username"}),
        ({"ukprn": DEFAULT_UKPRN, "username": "u"}, {"password"}),
        ({**ACCOUNT, "username": "two words"}, {"username"}),
        ({**ACCOUNT, "username": "x" * 101}, {"username"}),
        ({**ACCOUNT, "password": ""}, {"password"}),
        ({**ACCOUNT, "password": "x" * 129}, {"password"}),
        ({**ACCOUNT, "password": "tab\there"}, {"password"}),
        ({**ACCOUNT, "pasword": "typo"}, {"pasword"}),
        ({"ukprn": 10000001, "username": "", "password": None}, {"ukprn", "username", "password"}),
    ],
)
def test_a_bad_registration_is_422_naming_every_field_and_reaches_no_lrs(lrs, body, fields):
    reply = put(body)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert {d["field"] for d in reply.body["details"]} == fields
    assert lrs.request_count() == 0
    assert registered_value(NEW_SCHOOL) is None


# ---------------------------------------------------------------- the password stays secret


def test_the_password_is_in_no_answer_and_no_log_line(lrs, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="s2s")
    caplog.set_level(logging.INFO)
    wrong = "wrong-Pa55word-x"
    replies = [
        put({**ACCOUNT, "password": wrong}),
        put({**ACCOUNT, "password": DEFAULT_PASSWORD + "\x00"}),
        put(ACCOUNT),
        get(),
        route("search"),
    ]
    lrs.set_scenario("bad_password")
    replies += [route("find"), get()]
    lrs.set_scenario("http_500")
    replies += [put(ACCOUNT), uln_call("DELETE", "/uln/registration", claims=NEW), get()]

    assert [r.status for r in replies] == [422, 422, 204, 200, 200, 502, 200, 502, 204, 200]
    answers = json.dumps([[r.body, r.headers] for r in replies])
    logs = (
        capsys.readouterr().out
        + capsys.readouterr().err
        + "\n".join(f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records)
    )
    assert "lrs registration kept" in logs  # the logs were captured
    for password in (DEFAULT_PASSWORD, wrong):
        assert password not in answers
        assert password not in logs
