"""The ULN use cases (docs/SERVICE.md §7): a learner call checked, forwarded to the Learning Records
Service with the caller's own LRS registration (`s2s.services.registration`; 403
`lrs_not_registered` without one) and audited, answered or failed. Schools and local authorities only. Logs carry the
operation, the LRS response code, the ULN and the caller, never a learner's name, date of birth or
postcode."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from s2s.adapters.lrs import LrsClient, lrs_client
from s2s.adapters.lrs_audit import LrsAuditEntry, record_lrs_call
from s2s.contracts.uln import (
    DemographicSearch,
    LearnerRegistered,
    LearnerRegistration,
    LearnerSearchResult,
    LearnerUpdate,
    LearnerUpdated,
)
from s2s.domain import errors
from s2s.domain.errors import status_for
from s2s.domain.lrs import error_response_code, is_credentials_refused
from s2s.domain.principal import Principal
from s2s.runtime.log import Metric, MetricUnit, count_by, logger
from s2s.services import registration

T = TypeVar("T")


def _check_role(principal: Principal) -> Principal:
    if principal.kind not in ("school", "la"):
        raise errors.Forbidden("Only schools and local authorities can use the ULN service.", code="role_not_allowed")
    return principal


def _record(
    principal: Principal,
    origin: dict[str, str],
    operation: str,
    *,
    uln: str | None,
    response_code: str | None,
    http_status: int,
    client: LrsClient,
) -> None:
    call = client.last_call
    logger.info(
        "lrs call",
        extra={
            **principal.log_fields(),
            "operation": operation,
            "uln": uln,
            "response_code": response_code,
            "http_status": http_status,
            "attempts": call.attempts if call else 0,
            "elapsed_ms": call.elapsed_ms if call else 0,
        },
    )
    outcome = "answered" if http_status < 400 else ("refused" if http_status < 500 else "failed")
    count_by(Metric.ULN_CALLS, operation=operation, outcome=outcome)
    if call:
        count_by(Metric.LRS_LATENCY, call.elapsed_ms, MetricUnit.Milliseconds, operation=operation)
    entry = LrsAuditEntry(
        organisation=principal.org,
        user=principal.user_id,
        operation=operation,
        uln=uln,
        response_code=response_code,
        http_status=http_status,
        source_ip=origin["source_ip"],
    )
    try:
        record_lrs_call(entry)
    except Exception:
        # The LRS has already acted (a register cannot be taken back): losing the answer would make
        # the user register twice, so a failed audit write is logged loudly, not returned.
        logger.exception("uln audit write failed", extra={"operation": operation, "org": principal.org})


def _forward(
    principal: Principal,
    origin: dict[str, str],
    operation: str,
    *,
    uln: str | None,
    send: Callable[[LrsClient], T],
    outcome: Callable[[T], tuple[str | None, str, int]],
) -> T:
    """Call the LRS and audit the call, answered or failed. `outcome` names the ULN, the LRS
    response code and the HTTP status of an answer; errors re-raise so `s2s.runtime.http` answers them."""
    _check_role(principal)
    credentials = registration.credentials_for(principal)  # 403 lrs_not_registered before any LRS call
    client = lrs_client(lambda: credentials)
    try:
        result = send(client)
    except errors.S2SError as exc:
        if is_credentials_refused(exc):
            registration.mark_refused(principal)
        _record(
            principal,
            origin,
            operation,
            uln=uln,
            response_code=error_response_code(exc) or exc.code,
            http_status=status_for(exc),
            client=client,
        )
        raise
    answered_uln, response_code, status = outcome(result)
    _record(
        principal,
        origin,
        operation,
        uln=answered_uln or uln,
        response_code=response_code,
        http_status=status,
        client=client,
    )
    return result


def _search_outcome(result: LearnerSearchResult) -> tuple[str | None, str, int]:
    found = result.master_uln or (result.learner.uln if result.learner else None)
    return found, result.response_code, 200


def register(
    principal: Principal, origin: dict[str, str], registration: LearnerRegistration
) -> tuple[LearnerRegistered, bool]:
    """The learner's ULN, and whether the LRS created it now (False: it already held these details)."""
    return _forward(
        principal,
        origin,
        "registerSingleLearner",
        uln=None,
        send=lambda client: client.register(registration),
        outcome=lambda answer: (answer[0].uln, answer[0].response_code, 201 if answer[1] else 200),
    )


def find_by_uln(
    principal: Principal, origin: dict[str, str], uln: str, given_name: str, family_name: str
) -> LearnerSearchResult:
    return _forward(
        principal,
        origin,
        "learnerByULN",
        uln=uln,
        send=lambda client: client.find_by_uln(uln, given_name, family_name),
        outcome=_search_outcome,
    )


def find_by_demographics(
    principal: Principal, origin: dict[str, str], search: DemographicSearch
) -> LearnerSearchResult:
    return _forward(
        principal,
        origin,
        "learnerByDemographics",
        uln=None,
        send=lambda client: client.find_by_demographics(search),
        outcome=_search_outcome,
    )


def update(principal: Principal, origin: dict[str, str], uln: str, change: LearnerUpdate) -> LearnerUpdated:
    return _forward(
        principal,
        origin,
        "updateSingleLearner",
        uln=uln,
        send=lambda client: client.update(uln, change),
        outcome=lambda answer: (answer.uln, answer.response_code, 200),
    )
