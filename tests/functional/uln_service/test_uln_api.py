"""Every ULN route through the real handler, against the fake LRS over real HTTP on 127.0.0.1:
the LRS answers as HTTP (docs/SERVICE.md §7), the audit trail, roles, timeouts and retries."""

from __future__ import annotations

import json
import socket
from datetime import date, timedelta

import pytest
import uln_api
from s2s.domain.identifiers import is_valid_uln
from s2s.runtime.settings import get_settings
from s2s.services import uln as uln_service
from s2s_cli.fake_lrs import LINKED_MASTER, LINKED_ULN, make_uln
from s2s_cli.openapi import build_document
from support.helpers import call, dfe_claims, la_claims
from support.lrs_clock import install

from .conftest import ATTEMPT_SECONDS, DEADLINE_SECONDS
from .support import SCHOOL, audit_items, uln_call

pytestmark = pytest.mark.functional

AMELIA = {"uln": "9276308686", "given_name": "Amelia", "family_name": "Hart"}
OLIVER = {
    "given_name": "Oliver",
    "family_name": "Brook",
    "date_of_birth": "2009-11-03",
    "gender": 1,
    "postcode": "MK45 2DD",
}
UNKNOWN_VALID_ULN = make_uln("444555666")  # valid check digit, not in the register


def new_learner(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "given_name": "Niamh",
        "family_name": "O'Connor",
        "date_of_birth": "2008-06-15",
        "gender": 2,
        "postcode": "sg18 8ab",
        "verification_type": 1,
        "ability_to_share": 1,
    }
    body.update(overrides)
    return body


def find_amelia(**query: str):
    return uln_call(
        "GET",
        "/uln/learners/{uln}",
        path_params={"uln": AMELIA["uln"]},
        query=query or {"given_name": "Amelia", "family_name": "Hart"},
    )


# ---------------------------------------------------------------- the register, answered by the fake


def test_register_allocates_a_new_uln_with_201_and_audits_it(lrs):
    reply = uln_call("POST", "/uln/learners", body=new_learner())

    assert reply.status == 201
    assert reply.body["response_code"] == "WSRC0005"
    assert is_valid_uln(reply.body["uln"])
    assert lrs.learners[reply.body["uln"]]["postcode"] == "SG18 8AB"
    [item] = audit_items()
    assert item["operation"] == "registerSingleLearner"
    assert item["uln"] == reply.body["uln"]
    assert item["response_code"] == "WSRC0005"
    assert int(item["http_status"]) == 201
    assert item["organisation"] == SCHOOL and item["user"] == f"user-{SCHOOL}"
    assert item["SK"].startswith(item["at"])
    assert not {"given_name", "family_name", "date_of_birth", "postcode"} & set(item)


def test_registering_the_same_learner_again_returns_the_existing_uln_with_200(lrs):
    first = uln_call("POST", "/uln/learners", body=new_learner())
    again = uln_call("POST", "/uln/learners", body=new_learner(given_name="niamh"))

    assert again.status == 200
    assert again.body == {"uln": first.body["uln"], "response_code": "WSRC0021"}


def test_find_by_uln_exact_match_returns_the_learner(lrs):
    reply = find_amelia()

    assert reply.status == 200
    assert reply.body["match"] == "exact"
    assert reply.body["response_code"] == "WSRC0004"
    assert reply.body["learner"] == {
        "uln": "9276308686",
        "given_name": "Amelia",
        "family_name": "Hart",
        "date_of_birth": "2010-04-12",
        "gender": 2,
        "postcode": "LU5 4QA",
        "previous_family_name": None,
    }
    assert reply.body["candidates"] == []


def test_find_by_uln_with_other_names_is_404(lrs):
    reply = find_amelia(given_name="Amy", family_name="Hart")

    assert reply.status == 404
    assert reply.error == "learner_not_found"
    assert reply.body["details"] == [{"response_code": "WSRC0001"}]
    assert audit_items()[0]["response_code"] == "WSRC0001"


def test_find_a_linked_uln_returns_the_master_record(lrs):
    reply = uln_call(
        "GET",
        "/uln/learners/{uln}",
        path_params={"uln": LINKED_ULN},
        query={"given_name": "Amelia", "family_name": "Hart"},
    )

    assert reply.status == 200
    assert reply.body["match"] == "linked"
    assert reply.body["response_code"] == "WSRC0022"
    assert reply.body["master_uln"] == LINKED_MASTER
    assert reply.body["learner"]["uln"] == LINKED_MASTER


def test_search_by_demographics_exact_match(lrs):
    reply = uln_call("POST", "/uln/learners/search", body={**OLIVER, "postcode": "mk452dd"})

    assert reply.status == 200
    assert reply.body["match"] == "exact"
    assert reply.body["learner"]["uln"] == "1026893096"


def test_search_by_demographics_possible_matches_lists_candidates(lrs):
    reply = uln_call("POST", "/uln/learners/search", body={**OLIVER, "given_name": "Olly", "gender": 0})

    assert reply.status == 200
    assert reply.body["match"] == "possible"
    assert reply.body["response_code"] == "WSRC0003"
    assert {c["given_name"] for c in reply.body["candidates"]} == {"Oliver", "Olivia"}
    assert reply.body["learner"] is None


def test_search_with_no_match_is_404(lrs):
    reply = uln_call("POST", "/uln/learners/search", body={**OLIVER, "family_name": "Nobody", "given_name": "Nemo"})

    assert reply.status == 404
    assert reply.error == "learner_not_found"


def test_update_changes_the_learner_then_reports_no_changes(lrs):
    first = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": "1026893096"}, body={"postcode": "LU5 4QA"})
    second = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": "1026893096"}, body={"postcode": "lu5 4qa"})

    assert first.status == 200
    assert first.body == {"uln": "1026893096", "response_code": "WSRC0006", "changed": True}
    assert (second.status, second.body["response_code"], second.body["changed"]) == (200, "WSRC0020", False)
    assert lrs.learners["1026893096"]["postcode"] == "LU5 4QA"


def test_update_of_an_unknown_uln_is_404_and_of_a_replaced_uln_is_409(lrs):
    unknown = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": UNKNOWN_VALID_ULN}, body={"gender": 9})
    replaced = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": LINKED_ULN}, body={"gender": 9})

    assert (unknown.status, unknown.error) == (404, "learner_not_found")
    assert unknown.body["details"] == [{"response_code": "WSRC0019"}]
    assert (replaced.status, replaced.error) == (409, "uln_changed")


def test_an_la_user_may_use_the_service_and_is_audited_under_its_la(lrs):
    reply = uln_call(
        "GET",
        "/uln/learners/{uln}",
        path_params={"uln": AMELIA["uln"]},
        query={"given_name": "Amelia", "family_name": "Hart"},
        claims=la_claims("823"),
    )

    assert reply.status == 200
    assert audit_items("823LLLL")[0]["operation"] == "learnerByULN"


def test_dfe_users_are_refused_before_the_lrs(lrs):
    reply = uln_call("POST", "/uln/learners/search", body=OLIVER, claims=dfe_claims())

    assert (reply.status, reply.error) == (403, "role_not_allowed")
    assert lrs.request_count() == 0


def test_no_token_is_401(lrs):
    reply = call(uln_api.lambda_handler, "POST", "/uln/learners/search", body=OLIVER)
    assert reply.status == 401
    assert lrs.request_count() == 0


# ---------------------------------------------------------------- every LRS answer, on demand

FIND_BY_ULN = (
    "GET",
    "/uln/learners/{uln}",
    {"path_params": {"uln": AMELIA["uln"]}, "query": {"given_name": "Amelia", "family_name": "Hart"}},
)
SEARCH = ("POST", "/uln/learners/search", {"body": OLIVER})
REGISTER = ("POST", "/uln/learners", {"body": new_learner()})
UPDATE = ("PATCH", "/uln/learners/{uln}", {"path_params": {"uln": "1026893096"}, "body": {"gender": 9}})

MAPPINGS = [
    # route, scenario, status, error code or LRS response code
    (FIND_BY_ULN, "exact", 200, "WSRC0004"),
    (SEARCH, "exact", 200, "WSRC0004"),
    (FIND_BY_ULN, "possible", 200, "WSRC0003"),
    (SEARCH, "possible", 200, "WSRC0003"),
    (SEARCH, "too_many", 422, "too_many_matches"),
    (FIND_BY_ULN, "too_many", 422, "too_many_matches"),
    (SEARCH, "no_match", 404, "learner_not_found"),
    (FIND_BY_ULN, "no_match", 404, "learner_not_found"),
    (FIND_BY_ULN, "linked", 200, "WSRC0022"),
    (SEARCH, "linked", 200, "WSRC0022"),
    (REGISTER, "registered", 201, "WSRC0005"),
    (REGISTER, "WSRC0021", 200, "WSRC0021"),
    (REGISTER, "WSRC0015", 422, "insufficient_data"),
    (SEARCH, "WSRC0015", 422, "insufficient_data"),
    (UPDATE, "updated", 200, "WSRC0006"),
    (UPDATE, "WSRC0020", 200, "WSRC0020"),
    (UPDATE, "WSRC0019", 404, "learner_not_found"),
    (UPDATE, "WSRC0013", 409, "uln_changed"),
    (UPDATE, "WSRC0014", 422, "invalid_ability_to_share_change"),
    (REGISTER, "WSRC0004", 502, "lrs_unexpected_answer"),
    (SEARCH, "WSRC0099", 502, "lrs_unexpected_answer"),
    (SEARCH, "out_of_hours", 503, "lrs_out_of_hours"),
    (REGISTER, "out_of_hours", 503, "lrs_out_of_hours"),
    (SEARCH, "bad_password", 502, "lrs_credentials_refused"),
    (UPDATE, "WSEC0006", 502, "lrs_credentials_refused"),
    (REGISTER, "WSEC0001", 502, "lrs_rejected_request"),
    (SEARCH, "WSEC0999", 502, "lrs_fault"),
    (SEARCH, "http_500", 502, "lrs_http_error"),
    (REGISTER, "http_500", 502, "lrs_http_error"),
    (SEARCH, "malformed_xml", 502, "lrs_malformed_answer"),
    (UPDATE, "malformed_xml", 502, "lrs_malformed_answer"),
]


@pytest.mark.parametrize(
    ("route", "scenario", "status", "code"), MAPPINGS, ids=[f"{r[0]}-{r[1]}-{s}" for r, s, _, _ in MAPPINGS]
)
def test_lrs_answers_map_to_http(lrs, route, scenario, status, code):
    method, path, kwargs = route
    lrs.set_scenario(scenario)

    reply = uln_call(method, path, **json.loads(json.dumps(kwargs)))

    assert reply.status == status, reply.body
    if status < 300:
        assert reply.body["response_code"] == code
    else:
        assert reply.error == code
        assert set(reply.body) == {"error", "message", "details"}
        assert "Traceback" not in reply.body["message"]
    [item] = audit_items()
    assert int(item["http_status"]) == status


def test_possible_matches_carry_candidates_and_linked_answers_the_master_uln(lrs):
    lrs.next_scenario("possible")
    possible = uln_call("POST", "/uln/learners/search", body=OLIVER)
    lrs.next_scenario("linked")
    linked = uln_call("POST", "/uln/learners/search", body=OLIVER)

    assert len(possible.body["candidates"]) == 2
    assert all(is_valid_uln(c["uln"]) for c in possible.body["candidates"])
    assert linked.body["master_uln"] == LINKED_MASTER


def test_out_of_hours_is_503_with_retry_after_and_is_not_retried(lrs):
    lrs.set_scenario("out_of_hours")

    reply = uln_call("POST", "/uln/learners/search", body=OLIVER)

    assert reply.status == 503
    assert int(reply.headers["retry-after"]) > 0
    assert reply.body["details"] == [{"response_code": "WSEC0004"}]
    assert lrs.request_count() == 1


def test_an_unreachable_lrs_is_502_not_500(lrs, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("LRS_ENDPOINT", f"http://127.0.0.1:{closed_port}/LearnerService.svc")
    get_settings.cache_clear()

    reply = uln_call("POST", "/uln/learners", body=new_learner())

    assert (reply.status, reply.error) == (502, "lrs_unreachable")


# ---------------------------------------------------------------- time limits and retries


def test_a_slow_register_is_504_within_its_budget_and_sent_once(lrs, monkeypatch):
    timeline = install(monkeypatch, uln_service)  # counts attempts and reads timeouts; times nothing
    lrs.set_scenario("slow")

    reply = uln_call("POST", "/uln/learners", body=new_learner())

    assert (reply.status, reply.error) == (504, "lrs_timeout")
    assert lrs.request_count("registerSingleLearner") == 1
    # One attempt with the attempt's own limit, no retry.
    assert (timeline.timeouts, timeline.sleeps) == ([ATTEMPT_SECONDS], [])


def test_a_slow_find_retries_then_is_504_within_the_deadline(lrs, monkeypatch):
    timeline = install(monkeypatch, uln_service)
    lrs.set_scenario("slow")

    reply = find_amelia()

    assert (reply.status, reply.error) == (504, "lrs_timeout")
    assert lrs.request_count("learnerByULN") == 3 == timeline.attempts
    # The last attempt gets only what is left of the deadline, so even if every attempt used all of
    # its limit, the call with its pauses ends on the deadline, not after it.
    assert timeline.timeouts[:2] == [ATTEMPT_SECONDS, ATTEMPT_SECONDS]
    assert timeline.timeouts[2] < ATTEMPT_SECONDS
    assert timeline.worst_case_seconds == pytest.approx(DEADLINE_SECONDS)


def test_a_find_is_retried_after_a_timeout_and_succeeds(lrs):
    lrs.next_scenario("slow")

    reply = uln_call("POST", "/uln/learners/search", body=OLIVER)

    assert reply.status == 200
    assert reply.body["match"] == "exact"
    assert lrs.request_count("learnerByDemographics") == 2


def test_a_find_is_retried_after_an_http_500_and_succeeds(lrs):
    lrs.next_scenario("http_500")

    reply = find_amelia()

    assert reply.status == 200
    assert lrs.request_count("learnerByULN") == 2
    [item] = audit_items()
    assert item["response_code"] == "WSRC0004"


@pytest.mark.parametrize("scenario", ["http_500", "slow"])
def test_writes_are_never_retried(lrs, scenario):
    lrs.set_scenario(scenario)

    register = uln_call("POST", "/uln/learners", body=new_learner())
    update = uln_call("PATCH", "/uln/learners/{uln}", path_params={"uln": "1026893096"}, body={"gender": 9})

    assert register.status in (502, 504) and update.status in (502, 504)
    assert lrs.request_count("registerSingleLearner") == 1
    assert lrs.request_count("updateSingleLearner") == 1


def test_a_find_that_keeps_failing_stops_after_three_attempts(lrs):
    lrs.set_scenario("http_500")

    reply = uln_call("POST", "/uln/learners/search", body=OLIVER)

    assert (reply.status, reply.error) == (502, "lrs_http_error")
    assert lrs.request_count("learnerByDemographics") == 3


# ---------------------------------------------------------------- the contract document


def test_openapi_document_describes_the_uln_routes():
    schema = build_document()

    assert {"/uln/learners", "/uln/learners/{uln}", "/uln/learners/search"} <= set(schema["paths"])
    assert "201" in schema["paths"]["/uln/learners"]["post"]["responses"]
    assert "patch" in schema["paths"]["/uln/learners/{uln}"]
    components = schema["components"]["schemas"]
    expected = {"LearnerRegistration", "DemographicSearch", "LearnerUpdate", "LearnerSearchResult"}
    assert expected <= set(components)


def test_registration_age_uses_today(lrs):
    # Born a little under 13 years ago: 12 on every calendar.
    too_young = (date.today() - timedelta(days=13 * 365)).isoformat()

    reply = uln_call("POST", "/uln/learners", body=new_learner(date_of_birth=too_young))

    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "date_of_birth"
