"""What the Learning Records Service's answers mean: pure rules, no SOAP, no HTTP, no AWS.

`s2s.adapters.lrs` carries the messages (envelopes, HTTP, retries, parsing with defusedxml) and
hands this module an `LrsAnswer` (the response code, the ULN it named, the learners in it) or a
fault code; this module says what that is for S2S: a match, a registration, an update, or the
domain error it stands for. The HTTP status follows from the error's class in `s2s.runtime.http`
(docs/SERVICE.md §7):

| LRS answer | operation | outcome |
|---|---|---|
| WSRC0004 exact match | find | `Match("exact")` (200) |
| WSRC0003 possible matches | find | `Match("possible")` with candidates (200) |
| WSRC0022 linked learner | find | `Match("linked")`, `master_uln` (200) |
| WSRC0002 too many matches | find | `InvalidRequest` `too_many_matches` (422) |
| WSRC0001 no match | find | `NotFound` `learner_not_found` (404) |
| WSRC0015 insufficient data | any | `InvalidRequest` `insufficient_data` (422) |
| WSRC0005 registered | register | `Registered`, created (201) |
| WSRC0021 already registered, same fields | register | `Registered`, not created (200) |
| WSRC0006 updated / WSRC0020 no changes | update | `Updated` changed true / false (200) |
| WSRC0019 ULN not found for update | update | `NotFound` `learner_not_found` (404) |
| WSRC0013 ULN changed since you got it | update | `Conflict` `uln_changed` (409): find the learner again |
| WSRC0014 bad ability-to-share change | update | `InvalidRequest` `invalid_ability_to_share_change` (422) |
| any other code for the operation | any | `UpstreamError` `lrs_unexpected_answer` (502) |
| fault WSEC0004 out of hours | any | `UpstreamUnavailable` `lrs_out_of_hours` (503, Retry-After) |
| fault WSEC0003/0005/0006 (org, password, access) | any | `UpstreamError` `lrs_credentials_refused` |
| fault WSEC0001/0002 (request not understood) | any | `UpstreamError` `lrs_rejected_request` (502) |
| any other fault | any | `UpstreamError` `lrs_fault` (502) |

Every error names the LRS code in `details` as `{"response_code": ...}` when there is one.

Also here: which operations are idempotent reads (the only ones the transport may retry: a
retried register after a lost answer could allocate a second ULN for the same learner), and the
mapping of a pupil's sex or gender as schools record it to the LRS's gender codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from s2s.domain import errors

READ_OPERATIONS: frozenset[str] = frozenset({"learnerByULN", "learnerByDemographics"})

# The LRS publishes no machine-readable opening hours; half an hour is a polite first retry.
OUT_OF_HOURS_RETRY_AFTER = 1800

OUT_OF_HOURS_FAULT = "WSEC0004"
# Unknown organisation, wrong password, account without access to the operation.
CREDENTIAL_FAULTS: frozenset[str] = frozenset({"WSEC0003", "WSEC0005", "WSEC0006"})
_REQUEST_FAULTS = frozenset({"WSEC0001", "WSEC0002"})

# The LRS's gender codes (the same in every learner operation).
GENDERS: dict[int, str] = {0: "not known", 1: "male", 2: "female", 9: "not specified"}
# How schools record sex or gender (the CTF's `Sex`, older files `Gender`: M or F; U where a MIS
# has "unknown"), and the LRS code for each. The digits themselves are accepted as they are.
_SCHOOL_GENDERS: dict[str, int] = {"M": 1, "MALE": 1, "F": 2, "FEMALE": 2, "U": 0, "UNKNOWN": 0}


def lrs_gender(value: object) -> int | None:
    """The LRS gender code (0, 1, 2 or 9) for a school's value, or None when it is not one of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in GENDERS else None
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if text.isdigit():
        number = int(text)
        return number if number in GENDERS else None
    return _SCHOOL_GENDERS.get(text)


@dataclass(frozen=True, slots=True)
class LrsCredentials:
    """An organisation's LRS account: its UKPRN or, for organisations without one, the LRS's
    organisation reference; a user name and password. `repr` leaves the password out, so it
    cannot leak into logs."""

    ukprn: str
    username: str
    password: str = field(repr=False)
    organisation_ref: str = ""


def is_retryable_operation(operation: str) -> bool:
    """Only idempotent reads may be sent again after a transport failure."""
    return operation in READ_OPERATIONS


class _HasUln(Protocol):
    @property
    def uln(self) -> str: ...


L = TypeVar("L", bound=_HasUln)


@dataclass(frozen=True, slots=True)
class LrsAnswer(Generic[L]):
    """What an LRS answer said: its response code, the ULN it named, and any learners in it."""

    response_code: str
    uln: str | None = None
    learners: Sequence[L] = ()


@dataclass(frozen=True, slots=True)
class Match(Generic[L]):
    """A find answered with a match: `exact` (the learner), `possible` (candidates to choose from)
    or `linked` (the LRS substituted the master record; `master_uln` is the ULN to use)."""

    response_code: str
    match: Literal["exact", "possible", "linked"]
    learner: L | None = None
    candidates: Sequence[L] = ()
    master_uln: str | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    """The ULN the LRS allocated (`created`) or already held for the same details."""

    uln: str
    response_code: str
    created: bool


@dataclass(frozen=True, slots=True)
class Updated:
    """The LRS accepted the update (`changed`) or found nothing to change."""

    uln: str
    response_code: str
    changed: bool


def _details(code: str) -> list[dict[str, str]]:
    return [{"response_code": code}] if code else []


def is_credentials_refused(exc: errors.S2SError) -> bool:
    return isinstance(exc, errors.UpstreamError) and exc.code == "lrs_credentials_refused"


# Checking an account before it is kept: the LRS offers no "is this password right" operation, so
# S2S sends a find by ULN that matches nobody (a well-formed ULN, names no learner has). Any answer
# with a response code means the LRS accepted the account; a credentials fault means it did not.
# [U]: if the LRS interface specification offers a verification call, it belongs here instead.
ACCOUNT_CHECK_ULN = "1000000000"
ACCOUNT_CHECK_NAMES = ("Check", "Registration")  # given name, family name

CREDENTIALS_REFUSED_MESSAGE = (
    "The Learning Records Service refused your organisation's LRS user name or password. "
    "Check them in the LRS Organisation Portal, then enter them again on the LRS registration page."
)


def fault_error(code: str) -> errors.S2SError:
    """The domain error for an LRS fault code (WSEC...)."""
    if code == OUT_OF_HOURS_FAULT:
        closed = errors.UpstreamUnavailable(
            "The Learning Records Service is closed at the moment. Please try again later.",
            retry_after=OUT_OF_HOURS_RETRY_AFTER,
            code="lrs_out_of_hours",
        )
        closed.details = _details(code)
        return closed
    if code in CREDENTIAL_FAULTS:
        return errors.UpstreamError(
            CREDENTIALS_REFUSED_MESSAGE,
            code="lrs_credentials_refused",
            details=_details(code),
        )
    if code in _REQUEST_FAULTS:
        return errors.UpstreamError(
            "The Learning Records Service could not read the request.",
            code="lrs_rejected_request",
            details=_details(code),
        )
    return errors.UpstreamError(
        "The Learning Records Service reported an error.", code="lrs_fault", details=_details(code)
    )


def _unexpected(code: str) -> errors.UpstreamError:
    return errors.UpstreamError(
        "The Learning Records Service gave an answer S2S does not understand.",
        code="lrs_unexpected_answer",
        details=_details(code),
    )


def _shared_error(code: str) -> errors.S2SError | None:
    if code == "WSRC0015":
        return errors.InvalidRequest(
            "The LRS needs more details to process this learner.",
            code="insufficient_data",
            details=_details(code),
        )
    return None


def map_find(answer: LrsAnswer[L]) -> Match[L]:
    """A find answer as a match, or the domain error it stands for."""
    code = answer.response_code
    learners = list(answer.learners)
    if code == "WSRC0004" and learners:
        return Match(response_code=code, match="exact", learner=learners[0])
    if code == "WSRC0003" and learners:
        return Match(response_code=code, match="possible", candidates=learners)
    if code == "WSRC0022" and learners:
        master = learners[0]
        return Match(response_code=code, match="linked", learner=master, master_uln=master.uln)
    if code == "WSRC0002":
        raise errors.InvalidRequest(
            "Too many learners match these details. Add details, such as the postcode, and search again.",
            code="too_many_matches",
            details=_details(code),
        )
    if code == "WSRC0001":
        raise errors.NotFound(
            "The LRS has no learner matching these details.", code="learner_not_found", details=_details(code)
        )
    raise _shared_error(code) or _unexpected(code)


def map_register(answer: LrsAnswer[L]) -> Registered:
    """The registered learner's ULN and whether the LRS created a new record."""
    code = answer.response_code
    uln = answer.uln or (answer.learners[0].uln if answer.learners else None)
    if code in {"WSRC0005", "WSRC0021"} and uln:
        return Registered(uln=uln, response_code=code, created=code == "WSRC0005")
    raise _shared_error(code) or _unexpected(code)


def map_update(uln: str, answer: LrsAnswer[L]) -> Updated:
    code = answer.response_code
    if code in {"WSRC0006", "WSRC0020"}:
        return Updated(uln=uln, response_code=code, changed=code == "WSRC0006")
    if code == "WSRC0019":
        raise errors.NotFound("The LRS has no learner with this ULN.", code="learner_not_found", details=_details(code))
    if code == "WSRC0013":
        raise errors.Conflict(
            "This learner's ULN has changed at the LRS. Find the learner again first.",
            code="uln_changed",
            details=_details(code),
        )
    if code == "WSRC0014":
        raise errors.InvalidRequest(
            "The LRS does not allow this change of ability to share.",
            code="invalid_ability_to_share_change",
            details=_details(code),
        )
    raise _shared_error(code) or _unexpected(code)


def error_response_code(exc: errors.S2SError) -> str | None:
    """The LRS code an error carries, for the audit trail."""
    for detail in exc.details:
        if isinstance(detail, dict) and "response_code" in detail:
            return str(detail["response_code"])
    return None
