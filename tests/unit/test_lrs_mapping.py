"""What the LRS's answers mean (s2s.domain.lrs), with no SOAP and no HTTP: every response code and
fault mapped to a domain outcome or error, the idempotent operations, the gender codes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from s2s.domain import errors
from s2s.domain.lrs import (
    LrsAnswer,
    error_response_code,
    fault_error,
    is_credentials_refused,
    is_retryable_operation,
    lrs_gender,
    map_find,
    map_register,
    map_update,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Person:
    """Any learner with a ULN will do: the mapping never looks further."""

    uln: str
    given_name: str = ""


AMELIA = Person(uln="9276308686", given_name="Amelia")
OLIVER = Person(uln="1026893096", given_name="Oliver")


def test_find_answers_map_to_matches():
    assert map_find(LrsAnswer("WSRC0004", learners=[AMELIA])).learner == AMELIA
    possible = map_find(LrsAnswer("WSRC0003", learners=[AMELIA, OLIVER]))
    assert (possible.match, list(possible.candidates), possible.learner) == ("possible", [AMELIA, OLIVER], None)
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
    assert map_register(LrsAnswer("WSRC0005", uln="9276308686")).created is True
    assert map_register(LrsAnswer("WSRC0021", uln="9276308686")).created is False
    assert map_register(LrsAnswer("WSRC0021", learners=[AMELIA])).uln == "9276308686"
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


def test_only_a_credentials_fault_counts_as_refused_credentials():
    assert is_credentials_refused(fault_error("WSEC0005"))
    assert not is_credentials_refused(fault_error("WSEC0004"))
    assert not is_credentials_refused(fault_error("WSEC0001"))


def test_only_the_reads_may_be_retried():
    assert is_retryable_operation("learnerByULN") and is_retryable_operation("learnerByDemographics")
    assert not is_retryable_operation("registerSingleLearner")
    assert not is_retryable_operation("updateSingleLearner")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("M", 1),
        ("f", 2),
        (" Female ", 2),
        ("U", 0),
        ("0", 0),
        ("9", 9),
        (1, 1),
        (9, 9),
        ("X", None),
        ("3", None),
        (3, None),
        (True, None),
        (None, None),
        ("", None),
    ],
)
def test_a_schools_sex_or_gender_maps_to_the_lrs_codes(value, code):
    assert lrs_gender(value) == code
