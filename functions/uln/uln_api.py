"""ULN routes (SPEC §5, §7): validate a learner call and forward it to the Learning Records Service.

Schools and local authorities only. The request models refuse bad input before the LRS is
called; `s2s.lrs` speaks SOAP and maps the LRS's answers; every call, answered or failed, leaves
an audit item. Logs carry the operation, the LRS response code, the ULN and the caller, never a
learner's name, date of birth or postcode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from s2s import errors
from s2s.api import App, Reply, Request, status_for
from s2s.log import logger
from s2s.lrs import LrsClient, error_response_code, lrs_client
from s2s.lrs_audit import LrsAuditEntry, record_lrs_call
from s2s.principal import Principal
from s2s.uln_models import (
    DemographicSearch,
    LearnerRegistered,
    LearnerRegistration,
    LearnerSearchResult,
    LearnerUpdate,
    LearnerUpdated,
    NameQuery,
    UlnPath,
)

app = App()

T = TypeVar("T")


def _caller(request: Request) -> Principal:
    principal = request.principal
    if principal.kind not in ("school", "la"):
        raise errors.Forbidden("Only schools and local authorities can use the ULN service.", code="role_not_allowed")
    return principal


def _record(
    request: Request,
    principal: Principal,
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
    entry = LrsAuditEntry(
        organisation=principal.org,
        user=principal.user_id,
        operation=operation,
        uln=uln,
        response_code=response_code,
        http_status=http_status,
        source_ip=request.origin["source_ip"],
    )
    try:
        record_lrs_call(entry)
    except Exception:
        # The LRS has already acted (a register cannot be taken back): losing the answer would make
        # the user register twice, so a failed audit write is logged loudly, not returned.
        logger.exception("uln audit write failed", extra={"operation": operation, "org": principal.org})


def _forward(
    request: Request,
    operation: str,
    uln: str | None,
    send: Callable[[LrsClient], T],
    outcome: Callable[[T], tuple[str | None, str, int]],
) -> T:
    """Call the LRS and audit the call, answered or failed. `outcome` names the ULN, the LRS
    response code and the HTTP status of an answer; errors re-raise so `s2s.api` answers them."""
    principal = request.principal  # its role already checked by _caller
    client = lrs_client()
    try:
        result = send(client)
    except errors.S2SError as exc:
        _record(
            request,
            principal,
            operation,
            uln=uln,
            response_code=error_response_code(exc) or exc.code,
            http_status=status_for(exc),
            client=client,
        )
        raise
    answered_uln, response_code, status = outcome(result)
    _record(
        request,
        principal,
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


@app.post(
    "/uln/learners",
    summary="Register a learner with the LRS",
    tags=("uln",),
    status=201,
    body=LearnerRegistration,
    response=LearnerRegistered,
    responses={201: "Registered: the new ULN", 200: "Already registered with the same details: the existing ULN"},
)
def register_learner(request: Request) -> Reply:
    _caller(request)
    registration: LearnerRegistration = request.body
    registered, created = _forward(
        request,
        "registerSingleLearner",
        None,
        lambda client: client.register(registration),
        lambda answer: (answer[0].uln, answer[0].response_code, 201 if answer[1] else 200),
    )
    return Reply(201 if created else 200, registered)


@app.get(
    "/uln/learners/{uln}",
    summary="Find a learner by ULN",
    tags=("uln",),
    params=UlnPath,
    query=NameQuery,
    response=LearnerSearchResult,
)
def find_learner(request: Request) -> LearnerSearchResult:
    _caller(request)
    uln: str = request.params.uln
    names: NameQuery = request.query
    return _forward(
        request,
        "learnerByULN",
        uln,
        lambda client: client.find_by_uln(uln, names.given_name, names.family_name),
        _search_outcome,
    )


@app.post(
    "/uln/learners/search",
    summary="Find a learner by demographics",
    tags=("uln",),
    body=DemographicSearch,
    response=LearnerSearchResult,
)
def search_learners(request: Request) -> LearnerSearchResult:
    _caller(request)
    search: DemographicSearch = request.body
    return _forward(
        request,
        "learnerByDemographics",
        None,
        lambda client: client.find_by_demographics(search),
        _search_outcome,
    )


@app.patch(
    "/uln/learners/{uln}",
    summary="Update a learner at the LRS",
    tags=("uln",),
    params=UlnPath,
    body=LearnerUpdate,
    response=LearnerUpdated,
)
def update_learner(request: Request) -> LearnerUpdated:
    _caller(request)
    uln: str = request.params.uln
    update: LearnerUpdate = request.body
    return _forward(
        request,
        "updateSingleLearner",
        uln,
        lambda client: client.update(uln, update),
        lambda answer: (answer.uln, answer.response_code, 200),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
