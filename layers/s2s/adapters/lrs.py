"""SOAP transport for the Learning Records Service learner web service: envelopes, HTTP, retries, faults.

SOAP 1.1, document/literal, namespace `http://learner.webservice.miap.gov.uk` (docs/SERVICE.md §7).
Requests are built with an element tree, so no caller-supplied value can change the XML's shape;
answers are parsed with defusedxml, so DTDs and entities in an answer are refused. The transport is
the standard library's `urllib.request`: nothing to add to the Lambda layer.

What an answer *means* (a match, a registration, the domain error a code or fault stands for) is
`s2s.domain.lrs`, pure and tested without HTTP; this module turns bytes into an `LrsAnswer` or a
fault code and hands them over, then shapes the outcome as the API's contract models.

Only idempotent reads are retried (`s2s.domain.lrs.READ_OPERATIONS`); register and update are sent
once. Retries happen only after transport failures (timeout, refused connection, HTTP 5xx without a
SOAP fault), with exponential backoff, and never start after the overall deadline, which sits well
inside API Gateway's 29 seconds.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError

from s2s.contracts.uln import (
    DemographicSearch,
    Learner,
    LearnerRegistered,
    LearnerRegistration,
    LearnerSearchResult,
    LearnerUpdate,
    LearnerUpdated,
)
from s2s.domain import errors
from s2s.domain.lrs import (
    ACCOUNT_CHECK_NAMES,
    ACCOUNT_CHECK_ULN,
    READ_OPERATIONS,
    LrsAnswer,
    LrsCredentials,
    Match,
    fault_error,
    is_retryable_operation,
    map_find,
    map_register,
    map_update,
)
from s2s.runtime.log import logger
from s2s.runtime.settings import get_settings

NS = "http://learner.webservice.miap.gov.uk"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"

Operation = Literal["registerSingleLearner", "learnerByULN", "learnerByDemographics", "updateSingleLearner"]
# Never start an attempt with less than this left: it could not finish usefully.
MIN_ATTEMPT_SECONDS = 0.5

# An LRS learner element's children, and the field each one fills.
_LEARNER_FIELDS = {
    "ULN": "uln",
    "GivenName": "given_name",
    "FamilyName": "family_name",
    "DateOfBirth": "date_of_birth",
    "Gender": "gender",
    "LastKnownPostCode": "postcode",
    "PreviousFamilyName": "previous_family_name",
}
# Request fields, in the order the LRS schema lists them.
_REQUEST_FIELDS = [
    ("given_name", "GivenName"),
    ("family_name", "FamilyName"),
    ("date_of_birth", "DateOfBirth"),
    ("gender", "Gender"),
    ("postcode", "LastKnownPostCode"),
    ("previous_family_name", "PreviousFamilyName"),
    ("email_address", "EmailAddress"),
    ("verification_type", "VerificationType"),
    ("ability_to_share", "AbilityToShare"),
]


# ---------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Time limits for one LRS call. `attempt_seconds` bounds each connect and each read;
    `deadline_seconds` bounds the whole call with its retries."""

    attempt_seconds: float = 8.0
    deadline_seconds: float = 20.0
    max_attempts: int = 3
    backoff_seconds: float = 0.25

    def backoff(self, attempt: int) -> float:
        return float(self.backoff_seconds * (2 ** (attempt - 1)))


def _float_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@cache
def retry_policy() -> RetryPolicy:
    """The policy from `LRS_TIMEOUT_SECONDS`, `LRS_DEADLINE_SECONDS`, `LRS_MAX_ATTEMPTS`; the
    deadline is capped at 25 s so an answer always beats API Gateway's 29 s."""
    attempt = _float_env("LRS_TIMEOUT_SECONDS", 8.0)
    deadline = min(_float_env("LRS_DEADLINE_SECONDS", 20.0), 25.0)
    return RetryPolicy(
        attempt_seconds=min(attempt, deadline),
        deadline_seconds=deadline,
        max_attempts=max(1, int(_float_env("LRS_MAX_ATTEMPTS", 3))),
        backoff_seconds=_float_env("LRS_BACKOFF_SECONDS", 0.25),
    )


# ---------------------------------------------------------------- SOAP messages

Fields = Mapping[str, "str | Fields"]


def _add_fields(parent: ET.Element, fields: Fields) -> None:
    for name, value in fields.items():
        child = ET.SubElement(parent, f"{{{NS}}}{name}")
        if isinstance(value, str):
            child.text = value  # escaped by the serializer: text can never become markup
        else:
            _add_fields(child, value)


def build_envelope(operation: Operation, credentials: LrsCredentials, fields: Fields) -> bytes:
    """A SOAP 1.1 envelope for one operation: the credentials first, then the operation's fields."""
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    ET.SubElement(envelope, f"{{{SOAP_NS}}}Header")
    body = ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    request = ET.SubElement(body, f"{{{NS}}}{operation}")
    head: dict[str, str | Fields] = {}
    if operation in READ_OPERATIONS:  # the find operations carry a find type
        head["FindType"] = "FUL"
    # The organisation is named by its UKPRN, or by its LRS organisation reference when it has none.
    if credentials.ukprn:
        head["UKPRN"] = credentials.ukprn
    else:
        head["OrganisationRef"] = credentials.organisation_ref
    head.update({"OrgPassword": credentials.password, "UserName": credentials.username})
    _add_fields(request, {**head, **fields})
    return bytes(ET.tostring(envelope, encoding="utf-8", xml_declaration=True))


def _value(raw: object) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw)


def learner_fields(values: Mapping[str, object]) -> dict[str, str]:
    """LRS element names and text for the request fields that are set."""
    return {element: _value(values[name]) for name, element in _REQUEST_FIELDS if values.get(name) is not None}


def register_fields(registration: LearnerRegistration) -> Fields:
    return {"Learner": learner_fields(registration.to_dict())}


def update_fields(uln: str, update: LearnerUpdate) -> Fields:
    return {"Learner": {"ULN": uln, **learner_fields(update.to_dict())}}


def find_by_uln_fields(uln: str, given_name: str, family_name: str) -> Fields:
    return {"ULN": uln, "FamilyName": family_name, "GivenName": given_name}


def find_by_demographics_fields(search: DemographicSearch) -> Fields:
    values = search.to_dict()
    fields = {
        "FamilyName": values["family_name"],
        "GivenName": values["given_name"],
        "DateOfBirth": _value(values["date_of_birth"]),
        "Gender": _value(values["gender"]),
        "LastKnownPostCode": values["postcode"],
    }
    if values.get("previous_family_name"):
        fields["PreviousFamilyName"] = values["previous_family_name"]
    return fields


class LrsFault(Exception):
    """A SOAP fault carrying an `MIAPAPIException` (or none: `code` is then empty)."""

    def __init__(self, code: str) -> None:
        super().__init__(code or "fault")
        self.code = code


class MalformedAnswer(Exception):
    """An answer that is not the SOAP we expect."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _learner(element: ET.Element) -> Learner | None:
    values: dict[str, object] = {}
    for child in element:
        name = _LEARNER_FIELDS.get(_local(child.tag))
        if name and child.text and child.text.strip():
            values[name] = child.text.strip()
    if not values.get("uln"):
        return None
    try:
        return Learner.model_validate(values)
    except ValidationError:
        # A date or gender we cannot read: keep the ULN, which is what the caller needs most.
        return Learner(uln=str(values["uln"]))


def parse_answer(body: bytes) -> LrsAnswer[Learner]:
    """Read an LRS answer. Raises `LrsFault` for a SOAP fault and `MalformedAnswer` for anything
    that is not well-formed SOAP with a response code (including any DTD or entity)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedAnswer("not well-formed XML") from exc
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise MalformedAnswer("not a SOAP 1.1 envelope")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        raise MalformedAnswer("no SOAP body")
    payload = soap_body[0]
    if payload.tag == f"{{{SOAP_NS}}}Fault":
        code = next(((el.text or "").strip() for el in payload.iter() if _local(el.tag) == "ErrorCode"), "")
        raise LrsFault(code)
    code = _child_text(payload, "ResponseCode")
    if not code:
        raise MalformedAnswer("no response code")
    learners = [lrn for el in payload if _local(el.tag) == "Learner" and (lrn := _learner(el))]
    return LrsAnswer(code, _child_text(payload, "ULN") or None, tuple(learners))


# ---------------------------------------------------------------- transport

Transport = Callable[[str, str, bytes, float], tuple[int, bytes]]


class _Retryable(Exception):
    """A transport failure worth another attempt (for reads): timeout, refused, 5xx without a fault."""

    def __init__(self, error: errors.S2SError) -> None:
        super().__init__(error.code)
        self.error = error


def post_soap(endpoint: str, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    """POST one envelope; the status and body of the answer (HTTP errors included)."""
    request = urllib.request.Request(  # noqa: S310 - the endpoint is deployment configuration, https in AWS
        endpoint,
        data=body,
        method="POST",
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}/{operation}"'},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), bytes(exc.read())


def _attempt(transport: Transport, endpoint: str, operation: str, body: bytes, timeout: float) -> LrsAnswer[Learner]:
    try:
        status, answer = transport(endpoint, operation, body, timeout)
    except TimeoutError as exc:
        raise _Retryable(
            errors.UpstreamTimeout("The Learning Records Service did not answer in time. Please try again.")
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _Retryable(
                errors.UpstreamTimeout("The Learning Records Service did not answer in time. Please try again.")
            ) from exc
        raise _Retryable(
            errors.UpstreamError("The Learning Records Service could not be reached.", code="lrs_unreachable")
        ) from exc
    except (ConnectionError, OSError) as exc:
        raise _Retryable(
            errors.UpstreamError("The Learning Records Service could not be reached.", code="lrs_unreachable")
        ) from exc
    try:
        parsed = parse_answer(answer)
    except LrsFault as fault:
        # SOAP 1.1 sends faults with HTTP 500: the fault, not the status, is the answer.
        raise fault_error(fault.code) from None
    except MalformedAnswer as exc:
        if status >= 500:
            raise _Retryable(
                errors.UpstreamError(f"The Learning Records Service failed (HTTP {status}).", code="lrs_http_error")
            ) from exc
        raise errors.UpstreamError(
            "The Learning Records Service sent an answer S2S cannot read.", code="lrs_malformed_answer"
        ) from exc
    if status != 200:
        raise errors.UpstreamError(f"The Learning Records Service failed (HTTP {status}).", code="lrs_http_error")
    return parsed


@dataclass
class CallRecord:
    """What happened on the wire, for logging and tests (never learner details)."""

    operation: str
    attempts: int = 0
    elapsed_ms: int = 0


class LrsClient:
    """The four learner operations. Credentials come from `credentials()` on each call (the
    organisation's registration, cached there); `transport` is swappable for tests."""

    def __init__(
        self,
        endpoint: str,
        credentials: Callable[[], LrsCredentials],
        policy: RetryPolicy | None = None,
        *,
        transport: Transport = post_soap,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.policy = policy or RetryPolicy()
        self.transport = transport
        self.sleep = sleep
        # Seconds on a monotonic clock: the deadline is kept against it, so a test can hand in a
        # clock that the transport and `sleep` move, and prove the deadline without timing anything.
        self.clock = clock
        self.last_call: CallRecord | None = None

    def call(self, operation: Operation, fields: Fields) -> LrsAnswer[Learner]:
        """Send one operation, retrying reads after transport failures within the deadline."""
        if not self.endpoint:
            raise errors.UpstreamError("The LRS endpoint is not configured.", code="lrs_not_configured")
        body = build_envelope(operation, self.credentials(), fields)
        policy = self.policy
        attempts = policy.max_attempts if is_retryable_operation(operation) else 1
        record = CallRecord(operation)
        self.last_call = record
        started = self.clock()
        deadline = started + policy.deadline_seconds
        try:
            for attempt in range(1, attempts + 1):
                record.attempts = attempt
                remaining = deadline - self.clock()
                try:
                    return _attempt(
                        self.transport,
                        self.endpoint,
                        operation,
                        body,
                        max(min(policy.attempt_seconds, remaining), 0.01),
                    )
                except _Retryable as failure:
                    pause = policy.backoff(attempt)
                    left = deadline - self.clock() - pause
                    if attempt == attempts or left < MIN_ATTEMPT_SECONDS:
                        raise failure.error from None
                    logger.info(
                        "lrs retry",
                        extra={"operation": operation, "attempt": attempt, "error": failure.error.code},
                    )
                    self.sleep(pause)
            raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
        finally:
            record.elapsed_ms = int((self.clock() - started) * 1000)

    def check_account(self) -> str:
        """Send the account check (`s2s.domain.lrs.ACCOUNT_CHECK_ULN`); the response code when the
        LRS accepted the account, else the domain error of its fault."""
        given, family = ACCOUNT_CHECK_NAMES
        return self.call("learnerByULN", find_by_uln_fields(ACCOUNT_CHECK_ULN, given, family)).response_code

    def find_by_uln(self, uln: str, given_name: str, family_name: str) -> LearnerSearchResult:
        return _search_result(map_find(self.call("learnerByULN", find_by_uln_fields(uln, given_name, family_name))))

    def find_by_demographics(self, search: DemographicSearch) -> LearnerSearchResult:
        return _search_result(map_find(self.call("learnerByDemographics", find_by_demographics_fields(search))))

    def register(self, registration: LearnerRegistration) -> tuple[LearnerRegistered, bool]:
        """The learner's ULN, and whether the LRS created the record now."""
        outcome = map_register(self.call("registerSingleLearner", register_fields(registration)))
        return LearnerRegistered(uln=outcome.uln, response_code=outcome.response_code), outcome.created

    def update(self, uln: str, update: LearnerUpdate) -> LearnerUpdated:
        outcome = map_update(uln, self.call("updateSingleLearner", update_fields(uln, update)))
        return LearnerUpdated(uln=outcome.uln, response_code=outcome.response_code, changed=outcome.changed)


def _search_result(match: Match[Learner]) -> LearnerSearchResult:
    return LearnerSearchResult(
        response_code=match.response_code,
        match=match.match,
        learner=match.learner,
        candidates=list(match.candidates),
        master_uln=match.master_uln,
    )


def lrs_client(credentials: Callable[[], LrsCredentials], **seams: Any) -> LrsClient:
    """A client for the configured endpoint, sending the organisation's `credentials` (called on
    each call, so they load only when the LRS is actually called). `seams` (transport, sleep,
    clock) are for tests."""
    return LrsClient(get_settings().lrs_endpoint, credentials, retry_policy(), **seams)


__all__ = ["LrsClient", "LrsCredentials", "RetryPolicy", "build_envelope", "lrs_client", "parse_answer"]
