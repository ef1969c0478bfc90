"""The validation matrix: every bad request is a 422 `validation_error` naming the field, and none
reaches the LRS. Good input is normalised before it is sent."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from s2s_cli.fake_lrs import NS

from .support import uln_call

pytestmark = pytest.mark.functional

TODAY = date.today()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
TWELVE = (TODAY - timedelta(days=12 * 365 + 100)).isoformat()
HUNDRED_AND_ELEVEN = (TODAY - timedelta(days=112 * 365)).isoformat()

REGISTRATION: dict[str, Any] = {
    "given_name": "Niamh",
    "family_name": "O'Connor",
    "date_of_birth": "2008-06-15",
    "gender": 2,
    "postcode": "SG18 8AB",
    "verification_type": 1,
    "ability_to_share": 1,
}
SEARCH: dict[str, Any] = {
    "given_name": "Oliver",
    "family_name": "Brook",
    "date_of_birth": "2009-11-03",
    "gender": 1,
    "postcode": "MK45 2DD",
}
GOOD_ULN = "9276308686"


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = dict(base)
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return body


# (case id, body, the field named in details)
REGISTER_CASES = [
    ("given-empty", _with(REGISTRATION, given_name=""), "given_name"),
    ("given-spaces", _with(REGISTRATION, given_name="   "), "given_name"),
    ("given-36", _with(REGISTRATION, given_name="A" * 36), "given_name"),
    ("given-digit", _with(REGISTRATION, given_name="Niamh2"), "given_name"),
    ("given-lt", _with(REGISTRATION, given_name="<Niamh>"), "given_name"),
    ("given-amp", _with(REGISTRATION, given_name="Tom & Jerry"), "given_name"),
    ("given-leading-hyphen", _with(REGISTRATION, given_name="-Niamh"), "given_name"),
    ("given-number", _with(REGISTRATION, given_name=42), "given_name"),
    ("given-missing", _with(REGISTRATION, given_name=...), "given_name"),
    ("family-empty", _with(REGISTRATION, family_name=""), "family_name"),
    ("family-36", _with(REGISTRATION, family_name="B" * 36), "family_name"),
    ("family-entity", _with(REGISTRATION, family_name="<!DOCTYPE x [<!ENTITY e 'x'>]>"), "family_name"),
    ("family-semicolon", _with(REGISTRATION, family_name="Brook;DROP"), "family_name"),
    ("family-missing", _with(REGISTRATION, family_name=...), "family_name"),
    ("dob-future", _with(REGISTRATION, date_of_birth=TOMORROW), "date_of_birth"),
    ("dob-not-a-date", _with(REGISTRATION, date_of_birth="15/06/2008"), "date_of_birth"),
    ("dob-impossible", _with(REGISTRATION, date_of_birth="2008-02-30"), "date_of_birth"),
    ("dob-age-12", _with(REGISTRATION, date_of_birth=TWELVE), "date_of_birth"),
    ("dob-age-111", _with(REGISTRATION, date_of_birth=HUNDRED_AND_ELEVEN), "date_of_birth"),
    ("dob-missing", _with(REGISTRATION, date_of_birth=...), "date_of_birth"),
    ("gender-3", _with(REGISTRATION, gender=3), "gender"),
    ("gender-text", _with(REGISTRATION, gender="male"), "gender"),
    ("gender-missing", _with(REGISTRATION, gender=...), "gender"),
    ("postcode-nonsense", _with(REGISTRATION, postcode="NOT A POSTCODE"), "postcode"),
    ("postcode-zip", _with(REGISTRATION, postcode="90210"), "postcode"),
    ("postcode-outward-only", _with(REGISTRATION, postcode="SG18"), "postcode"),
    ("postcode-bad-inward", _with(REGISTRATION, postcode="SG18 8AC"), "postcode"),
    ("postcode-q-first", _with(REGISTRATION, postcode="QG18 8AB"), "postcode"),
    ("postcode-missing", _with(REGISTRATION, postcode=...), "postcode"),
    ("verification-8", _with(REGISTRATION, verification_type=8), "verification_type"),
    ("verification-998", _with(REGISTRATION, verification_type=998), "verification_type"),
    ("verification-missing", _with(REGISTRATION, verification_type=...), "verification_type"),
    ("share-3", _with(REGISTRATION, ability_to_share=3), "ability_to_share"),
    ("share-missing", _with(REGISTRATION, ability_to_share=...), "ability_to_share"),
    ("previous-family-digits", _with(REGISTRATION, previous_family_name="X1"), "previous_family_name"),
    ("email-not-an-address", _with(REGISTRATION, email_address="niamh at school"), "email_address"),
    ("unknown-field", _with(REGISTRATION, upn="A123"), "upn"),
]

SEARCH_CASES = [
    ("search-given-36", _with(SEARCH, given_name="C" * 36), "given_name"),
    ("search-dob-future", _with(SEARCH, date_of_birth=TOMORROW), "date_of_birth"),
    ("search-gender-5", _with(SEARCH, gender=5), "gender"),
    ("search-postcode-bad", _with(SEARCH, postcode="12345"), "postcode"),
    ("search-postcode-missing", _with(SEARCH, postcode=...), "postcode"),
    ("search-family-missing", _with(SEARCH, family_name=...), "family_name"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in REGISTER_CASES], ids=[c[0] for c in REGISTER_CASES])
def test_bad_registrations_are_422_and_never_reach_the_lrs(lrs, body, field):
    reply = uln_call("POST", "/uln/learners", body=body)

    assert reply.status == 422
    assert reply.error == "validation_error"
    assert field in {d["field"] for d in reply.body["details"]}
    assert lrs.request_count() == 0


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in SEARCH_CASES], ids=[c[0] for c in SEARCH_CASES])
def test_bad_searches_are_422_and_never_reach_the_lrs(lrs, body, field):
    reply = uln_call("POST", "/uln/learners/search", body=body)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert field in {d["field"] for d in reply.body["details"]}
    assert lrs.request_count() == 0


FIND_CASES = [
    ("uln-check-digit", "9276308687", {"given_name": "A", "family_name": "B"}, "uln"),
    ("uln-nine-digits", "927630868", {"given_name": "A", "family_name": "B"}, "uln"),
    ("uln-letters", "92763O8686", {"given_name": "A", "family_name": "B"}, "uln"),
    ("uln-placeholder", "9999999999", {"given_name": "A", "family_name": "B"}, "uln"),
    ("find-given-missing", GOOD_ULN, {"family_name": "Hart"}, "given_name"),
    ("find-family-missing", GOOD_ULN, {"given_name": "Amelia"}, "family_name"),
    ("find-given-markup", GOOD_ULN, {"given_name": "<b>", "family_name": "Hart"}, "given_name"),
]


@pytest.mark.parametrize(("uln", "query", "field"), [c[1:] for c in FIND_CASES], ids=[c[0] for c in FIND_CASES])
def test_bad_finds_by_uln_are_422_and_never_reach_the_lrs(lrs, uln, query, field):
    reply = uln_call("GET", "/uln/learners/{uln}", path_params={"uln": uln}, query=query)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert field in {d["field"] for d in reply.body["details"]}
    assert lrs.request_count() == 0


UPDATE_CASES = [
    ("update-nothing", GOOD_ULN, {}, "body"),
    ("update-only-nulls", GOOD_ULN, {"given_name": None}, "body"),
    ("update-bad-uln", "1111111111", {"gender": 1}, "uln"),
    ("update-gender-4", GOOD_ULN, {"gender": 4}, "gender"),
    ("update-share-9", GOOD_ULN, {"ability_to_share": 9}, "ability_to_share"),
    ("update-postcode-bad", GOOD_ULN, {"postcode": "XX"}, "postcode"),
    ("update-unknown-field", GOOD_ULN, {"uln": "1026893096"}, "uln"),
]


@pytest.mark.parametrize(("uln", "body", "field"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES])
def test_bad_updates_are_422_and_never_reach_the_lrs(lrs, uln, body, field):
    reply = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": uln}, body=body)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert field in {d["field"] for d in reply.body["details"]}
    assert lrs.request_count() == 0


def test_a_body_that_is_not_json_is_422(lrs):
    reply = uln_call("POST", "/uln/learners", raw_body="{not json")

    assert (reply.status, reply.error) == (422, "validation_error")
    assert lrs.request_count() == 0


@pytest.mark.parametrize(
    ("given", "family", "postcode", "sent_given", "sent_family", "sent_postcode"),
    [
        ("  Zoë  ", "Smith-Jones", "sg188ab", "Zoë", "Smith-Jones", "SG18 8AB"),
        ("Mary  Ann", "O\u2019Neil", " sw1a  1aa ", "Mary Ann", "O'Neil", "SW1A 1AA"),
        ("Siân", "ap Rhys", "zz99 3wz", "Siân", "ap Rhys", "ZZ99 3WZ"),
        ("Jo", "Lee", "EC1A1BB", "Jo", "Lee", "EC1A 1BB"),
    ],
)
def test_good_input_is_normalised_before_it_is_sent(
    lrs, given, family, postcode, sent_given, sent_family, sent_postcode
):
    reply = uln_call(
        "POST",
        "/uln/learners",
        body=_with(REGISTRATION, given_name=given, family_name=family, postcode=postcode),
    )

    assert reply.status == 201
    sent = fromstring(lrs.last_request("registerSingleLearner").body)
    learner = sent.find(f".//{{{NS}}}Learner")
    assert learner.findtext(f"{{{NS}}}GivenName") == sent_given
    assert learner.findtext(f"{{{NS}}}FamilyName") == sent_family
    assert learner.findtext(f"{{{NS}}}LastKnownPostCode") == sent_postcode


@pytest.mark.parametrize("age_days", [13 * 365 + 10, 110 * 365])
def test_registration_ages_at_the_edges_are_accepted(lrs, age_days):
    born = (TODAY - timedelta(days=age_days)).isoformat()

    reply = uln_call("POST", "/uln/learners", body=_with(REGISTRATION, date_of_birth=born))

    assert reply.status == 201
