"""SOAP messages for the LRS: requests built as element trees, answers read safely, and the
mapping of every response code and fault to a domain outcome."""

from __future__ import annotations

import pytest
from defusedxml.ElementTree import fromstring
from s2s.adapters.lrs import (
    NS,
    SOAP_NS,
    LrsAnswer,
    LrsCredentials,
    LrsFault,
    MalformedAnswer,
    build_envelope,
    error_response_code,
    fault_error,
    map_find,
    map_register,
    map_update,
    parse_answer,
)
from s2s.contracts.uln import Learner
from s2s.domain import errors

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


AMELIA = Learner(uln="9276308686", given_name="Amelia")
OLIVER = Learner(uln="1026893096", given_name="Oliver")


def test_find_answers_map_to_matches():
    assert map_find(LrsAnswer("WSRC0004", learners=[AMELIA])).learner == AMELIA
    possible = map_find(LrsAnswer("WSRC0003", learners=[AMELIA, OLIVER]))
    assert (possible.match, possible.candidates, possible.learner) == ("possible", [AMELIA, OLIVER], None)
    linked = map_find(LrsAnswer("WSRC0022", uln="2223334449", learners=[AMELIA]))
    assert (linked.match, linked.master_uln) == ("linked", "9276308686")


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        (LrsAnswer("WSRC0002"), errors.InvalidRequest, "too_many_matches"),
        (LrsAnswer("WSRC0001"), errors.NotFound, "learner_not_found"),
        (LrsAnswer("WSRC0015"), errors.InvalidRequest, "insufficient_data"),
        (LrsAnswer("WSRC0004"), errors.UpstreamError, "lrs_unexpected_answer"),  # exact, but no learner
        (LrsAnswer("WSRC0005", uln="9276308686"), errors.UpstreamError, "lrs_unexpected_answer"),
    ],
)
def test_find_answers_map_to_errors(answer, error, code):
    with pytest.raises(error) as caught:
        map_find(answer)
    assert caught.value.code == code
    assert error_response_code(caught.value) == answer.response_code


def test_register_answers():
    assert map_register(LrsAnswer("WSRC0005", uln="9276308686"))[1] is True
    assert map_register(LrsAnswer("WSRC0021", uln="9276308686"))[1] is False
    for answer in (LrsAnswer("WSRC0005"), LrsAnswer("WSRC0006", uln="9276308686"), LrsAnswer("WSRC0003")):
        with pytest.raises(errors.UpstreamError):
            map_register(answer)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("WSRC0006", True),
        ("WSRC0020", False),
        ("WSRC0019", errors.NotFound),
        ("WSRC0013", errors.Conflict),
        ("WSRC0014", errors.InvalidRequest),
        ("WSRC0015", errors.InvalidRequest),
        ("WSRC0004", errors.UpstreamError),
    ],
)
def test_update_answers(code, outcome):
    if isinstance(outcome, bool):
        assert map_update("9276308686", LrsAnswer(code)).changed is outcome
    else:
        with pytest.raises(outcome):
            map_update("9276308686", LrsAnswer(code))


@pytest.mark.parametrize(
    ("code", "error", "name"),
    [
        ("WSEC0004", errors.UpstreamUnavailable, "lrs_out_of_hours"),
        ("WSEC0005", errors.UpstreamError, "lrs_credentials_refused"),
        ("WSEC0003", errors.UpstreamError, "lrs_credentials_refused"),
        ("WSEC0006", errors.UpstreamError, "lrs_credentials_refused"),
        ("WSEC0001", errors.UpstreamError, "lrs_rejected_request"),
        ("WSEC0002", errors.UpstreamError, "lrs_rejected_request"),
        ("WSEC0999", errors.UpstreamError, "lrs_fault"),
        ("", errors.UpstreamError, "lrs_fault"),
    ],
)
def test_faults_map_to_upstream_errors(code, error, name):
    exc = fault_error(code)
    assert type(exc) is error
    assert exc.code == name
    assert error_response_code(exc) == (code or None)
    if isinstance(exc, errors.UpstreamUnavailable):
        assert exc.retry_after > 0
