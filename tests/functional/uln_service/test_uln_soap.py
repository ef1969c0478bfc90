"""What goes over the wire: the SOAP body of each operation, hostile input that must stay text,
and the logs of a full run, which must name no learner."""

from __future__ import annotations

import json
import logging

import pytest
from defusedxml.ElementTree import fromstring
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME, NS, SOAP_NS

from .support import uln_call

pytestmark = pytest.mark.functional


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


REGISTRATION = {
    "given_name": "Niamh",
    "family_name": "O'Connor",
    "date_of_birth": "2008-06-15",
    "gender": 2,
    "postcode": "sg18 8ab",
    "verification_type": 3,
    "ability_to_share": 1,
    "previous_family_name": "Byrne",
}


def test_register_sends_the_operation_namespace_credentials_and_fields(lrs):
    reply = uln_call("POST", "/uln/learners", body=REGISTRATION)

    assert reply.status == 201
    sent = lrs.last_request("registerSingleLearner")
    assert sent.soap_action == f'"{NS}/registerSingleLearner"'
    envelope = fromstring(sent.body)
    assert envelope.tag == f"{{{SOAP_NS}}}Envelope"
    [operation] = list(envelope.find(f"{{{SOAP_NS}}}Body"))
    assert operation.tag == q("registerSingleLearner")
    assert [child.tag for child in operation] == [q("UKPRN"), q("OrgPassword"), q("UserName"), q("Learner")]
    assert operation.findtext(q("UKPRN")) == DEFAULT_UKPRN
    assert operation.findtext(q("UserName")) == DEFAULT_USERNAME
    assert operation.findtext(q("OrgPassword")) == DEFAULT_PASSWORD
    learner = {child.tag.removeprefix(f"{{{NS}}}"): child.text for child in operation.find(q("Learner"))}
    assert learner == {
        "GivenName": "Niamh",
        "FamilyName": "O'Connor",
        "DateOfBirth": "2008-06-15",
        "Gender": "2",
        "LastKnownPostCode": "SG18 8AB",
        "PreviousFamilyName": "Byrne",
        "VerificationType": "3",
        "AbilityToShare": "1",
    }


def test_finds_and_updates_carry_their_own_fields(lrs):
    uln_call(
        "GET",
        "/uln/learners/{uln}",
        path_params={"uln": "9276308686"},
        query={"given_name": "Amelia", "family_name": "Hart"},
    )
    uln_call(
        "POST",
        "/uln/learners/search",
        body={
            "given_name": "Oliver",
            "family_name": "Brook",
            "date_of_birth": "2009-11-03",
            "gender": 1,
            "postcode": "MK45 2DD",
        },
    )
    uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": "1026893096"}, body={"ability_to_share": 2})

    assert lrs.last_request("learnerByULN").fields == {
        "FindType": "FUL",
        "UKPRN": DEFAULT_UKPRN,
        "OrgPassword": DEFAULT_PASSWORD,
        "UserName": DEFAULT_USERNAME,
        "ULN": "9276308686",
        "FamilyName": "Hart",
        "GivenName": "Amelia",
    }
    search = lrs.last_request("learnerByDemographics").fields
    assert {k: search[k] for k in ("DateOfBirth", "Gender", "LastKnownPostCode")} == {
        "DateOfBirth": "2009-11-03",
        "Gender": "1",
        "LastKnownPostCode": "MK45 2DD",
    }
    update = fromstring(lrs.last_request("updateSingleLearner").body).find(f".//{q('Learner')}")
    assert [(c.tag, c.text) for c in update] == [(q("ULN"), "1026893096"), (q("AbilityToShare"), "2")]


HOSTILE_EMAILS = [
    "a<b>c@example.org",
    "tom&jerry@example.org",
    "x]]>y@example.org",
    "</EmailAddress><ULN>9276308686</ULN>@example.org",
    "&xxe;&lt;@example.org",
    '"q"\'s@example.org',
]


@pytest.mark.parametrize("email", HOSTILE_EMAILS)
def test_hostile_text_stays_text_in_the_soap_body(lrs, email):
    reply = uln_call("POST", "/uln/learners", body={**REGISTRATION, "email_address": email})

    assert reply.status == 201
    envelope = fromstring(lrs.last_request("registerSingleLearner").body, forbid_dtd=True)
    learner = envelope.find(f".//{q('Learner')}")
    assert len(list(envelope.iter())) == 1 + 1 + 1 + 1 + 3 + 1 + 9  # envelope, header, body, op, creds, learner, fields
    assert learner.findtext(q("EmailAddress")) == email
    assert learner.find(q("ULN")) is None


def test_a_full_run_logs_no_learner_details(lrs, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="s2s")
    caplog.set_level(logging.INFO)
    secrets_in_play = [
        "Niamh",
        "O'Connor",
        "O\\u2019Connor",
        "Byrne",
        "2008-06-15",
        "SG18 8AB",
        "sg18 8ab",
        "Amelia",
        "Hart",
        "2010-04-12",
        "LU5 4QA",
        "Oliver",
        "Brook",
        "2009-11-03",
        "MK45 2DD",
        DEFAULT_PASSWORD,
    ]

    replies = [
        uln_call("POST", "/uln/learners", body=REGISTRATION),
        uln_call(
            "GET",
            "/uln/learners/{uln}",
            path_params={"uln": "9276308686"},
            query={"given_name": "Amelia", "family_name": "Hart"},
        ),
        uln_call(
            "POST",
            "/uln/learners/search",
            body={
                "given_name": "Oliver",
                "family_name": "Brook",
                "date_of_birth": "2009-11-03",
                "gender": 1,
                "postcode": "MK45 2DD",
            },
        ),
        uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": "1026893096"}, body={"postcode": "LU5 4QA"}),
        uln_call("POST", "/uln/learners", body={**REGISTRATION, "postcode": "not a postcode"}),
    ]
    lrs.set_scenario("no_match")
    replies.append(
        uln_call(
            "POST",
            "/uln/learners/search",
            body={
                "given_name": "Amelia",
                "family_name": "Hart",
                "date_of_birth": "2010-04-12",
                "gender": 2,
                "postcode": "LU5 4QA",
            },
        )
    )
    lrs.set_scenario("http_500")
    replies.append(
        uln_call(
            "GET",
            "/uln/learners/{uln}",
            path_params={"uln": "1026893096"},
            query={"given_name": "Oliver", "family_name": "Brook"},
        )
    )

    assert [r.status for r in replies] == [201, 200, 200, 200, 422, 404, 502]
    logs = (
        capsys.readouterr().out
        + capsys.readouterr().err
        + "\n".join(f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records)
    )
    for operation in (
        "registerSingleLearner",
        "learnerByULN",
        "learnerByDemographics",
        "updateSingleLearner",
    ):
        assert operation in logs  # the capture works: every call left a line
    assert "9276308686" in logs  # a ULN may be logged
    for secret in secrets_in_play:
        assert secret not in logs, secret
