"""SOAP messages for the LRS: requests built as element trees, answers read safely (the mapping
of what they mean is tests/unit/test_lrs_mapping.py)."""

from __future__ import annotations

import pytest
from defusedxml.ElementTree import fromstring
from s2s.adapters.lrs import (
    NS,
    SOAP_NS,
    LrsCredentials,
    LrsFault,
    MalformedAnswer,
    build_envelope,
    parse_answer,
)

pytestmark = pytest.mark.unit

CREDS = LrsCredentials("10000001", "s2s-local", "pa<ss&word")


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def envelope(payload: str) -> bytes:
    return (
        f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_NS}" xmlns:l="{NS}"><s:Body>{payload}</s:Body></s:Envelope>'
    ).encode()


HOSTILE = [
    "<",
    "&",
    "&amp;",
    "]]>",
    '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>&xxe;',
    "</l:GivenName><l:ULN>9276308686</l:ULN><l:GivenName>",
    "<?xml-stylesheet href='x'?>",
    "\"'",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_text_in_every_position(value):
    body = build_envelope(
        "learnerByULN",
        LrsCredentials(value, value, value),
        {"ULN": "9276308686", "FamilyName": value, "GivenName": value},
    )

    root = fromstring(body, forbid_dtd=True, forbid_entities=True)
    operation = root.find(f"{{{SOAP_NS}}}Body")[0]
    assert operation.tag == q("learnerByULN")
    assert [c.tag for c in operation] == [
        q(n) for n in ("FindType", "UKPRN", "OrgPassword", "UserName", "ULN", "FamilyName", "GivenName")
    ]
    assert len(list(root.iter())) == 3 + 1 + 7
    for name in ("UKPRN", "OrgPassword", "UserName", "FamilyName", "GivenName"):
        assert operation.findtext(q(name)) == value
    assert operation.findtext(q("ULN")) == "9276308686"
    assert b"<!DOCTYPE" not in body and b"<!ENTITY" not in body


def test_credentials_never_show_in_a_repr():
    assert "pa<ss&word" not in repr(CREDS)


def test_writes_have_no_find_type_and_nest_the_learner():
    body = build_envelope("updateSingleLearner", CREDS, {"Learner": {"ULN": "9276308686", "Gender": "9"}})

    operation = fromstring(body).find(f"{{{SOAP_NS}}}Body")[0]
    assert [c.tag for c in operation] == [q("UKPRN"), q("OrgPassword"), q("UserName"), q("Learner")]
    assert [(c.tag, c.text) for c in operation.find(q("Learner"))] == [
        (q("ULN"), "9276308686"),
        (q("Gender"), "9"),
    ]


def test_an_answer_with_learners_is_read():
    answer = parse_answer(
        envelope(
            "<l:learnerByDemographicsResponse><l:ResponseCode>WSRC0003</l:ResponseCode>"
            "<l:Learner><l:ULN>9276308686</l:ULN><l:GivenName>Amelia</l:GivenName><l:DateOfBirth>2010-04-12"
            "</l:DateOfBirth><l:Gender>2</l:Gender></l:Learner>"
            "<l:Learner><l:ULN>1026893096</l:ULN><l:DateOfBirth>not a date</l:DateOfBirth></l:Learner>"
            "<l:Learner><l:GivenName>No ULN</l:GivenName></l:Learner>"
            "</l:learnerByDemographicsResponse>"
        )
    )

    assert answer.response_code == "WSRC0003"
    assert [lrn.uln for lrn in answer.learners] == ["9276308686", "1026893096"]
    assert answer.learners[0].gender == 2 and answer.learners[0].given_name == "Amelia"
    assert answer.learners[1].date_of_birth is None  # unreadable date: the ULN is kept


def test_a_fault_names_its_code():
    body = envelope(
        "<s:Fault><faultcode>s:Server</faultcode><faultstring>closed</faultstring><detail>"
        "<l:MIAPAPIException><l:ErrorCode>WSEC0004</l:ErrorCode></l:MIAPAPIException></detail></s:Fault>"
    )
    with pytest.raises(LrsFault) as caught:
        parse_answer(body)
    assert caught.value.code == "WSEC0004"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>500</html>",
        b"<s:Envelope><unclosed>",
        envelope(""),
        envelope("<l:learnerByULNResponse><l:ULN>9276308686</l:ULN></l:learnerByULNResponse>"),
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r><ResponseCode>&lol2;'
        b"</ResponseCode></r></s:Body></s:Envelope>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',
    ],
)
def test_anything_else_is_malformed(body):
    with pytest.raises(MalformedAnswer):
        parse_answer(body)


def test_an_organisation_without_a_ukprn_is_named_by_its_lrs_reference():
    creds = LrsCredentials("", "s2s-local", "secret", organisation_ref="LRS-ORG-42")
    body = build_envelope("registerSingleLearner", creds, {"Learner": {"ULN": "9276308686"}})

    operation = fromstring(body).find(f"{{{SOAP_NS}}}Body")[0]
    assert [(c.tag, c.text) for c in operation][:3] == [
        (q("OrganisationRef"), "LRS-ORG-42"),
        (q("OrgPassword"), "secret"),
        (q("UserName"), "s2s-local"),
    ]
    assert operation.find(q("UKPRN")) is None


def test_the_password_is_not_in_the_credentials_repr():
    assert "pa<ss&word" not in repr(CREDS)
