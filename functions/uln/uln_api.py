"""ULN routes (SPEC §5, §7): validate a learner call and forward it to the Learning Records Service.

Schools and local authorities only. The request models refuse bad input before the LRS is
called; `s2s.lrs` speaks SOAP and maps the LRS's answers; every call, answered or failed, leaves
an audit item. Logs carry the operation, the LRS response code, the ULN and the caller, never a
learner's name, date of birth or postcode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from s2s import errors
from s2s.api import JSON, Api, Body, Path, Query, Response, status_for
from s2s.log import Metric, MetricUnit, correlation_paths, count_by, logger, metrics, trace_handler
from s2s.lrs import LrsClient, error_response_code, lrs_client
from s2s.lrs_audit import LrsAuditEntry, record_lrs_call
from s2s.principal import Principal
from s2s.snapstart import prepare as prepare_snapstart
from s2s.uln_models import (
    DemographicSearch,
    LearnerRegistered,
    LearnerRegistration,
    LearnerSearchResult,
    LearnerUpdate,
    LearnerUpdated,
    PersonName,
    Uln,
)

app = Api()

T = TypeVar("T")


def _caller() -> Principal:
    principal = app.principal
    if principal.kind not in ("school", "la"):
        raise errors.Forbidden("Only schools and local authorities can use the ULN service.", code="role_not_allowed")
    return principal


def _record(
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
        source_ip=app.origin["source_ip"],
    )
    try:
        record_lrs_call(entry)
    except Exception:
        # The LRS has already acted (a register cannot be taken back): losing the answer would make
        # the user register twice, so a failed audit write is logged loudly, not returned.
        logger.exception("uln audit write failed", extra={"operation": operation, "org": principal.org})


def _forward(
    operation: str,
    uln: str | None,
    send: Callable[[LrsClient], T],
    outcome: Callable[[T], tuple[str | None, str, int]],
) -> T:
    """Call the LRS and audit the call, answered or failed. `outcome` names the ULN, the LRS
    response code and the HTTP status of an answer; errors re-raise so `s2s.api` answers them."""
    principal = _caller()
    client = lrs_client()
    try:
        result = send(client)
    except errors.S2SError as exc:
        _record(
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
    tags=["uln"],
    responses={
        201: {"description": "Registered: the new ULN", "content": {"application/json": {"model": LearnerRegistered}}},
        200: {
            "description": "Already registered with the same details: the existing ULN",
            "content": {"application/json": {"model": LearnerRegistered}},
        },
    },
)
def register_learner(registration: Annotated[LearnerRegistration, Body()]) -> Response[LearnerRegistered]:
    registered, created = _forward(
        "registerSingleLearner",
        None,
        lambda client: client.register(registration),
        lambda answer: (answer[0].uln, answer[0].response_code, 201 if answer[1] else 200),
    )
    return Response(status_code=201 if created else 200, content_type=JSON, body=registered)


@app.get("/uln/learners/<uln>", summary="Find a learner by ULN", tags=["uln"])
def find_learner(
    uln: Annotated[Uln, Path()],
    given_name: Annotated[PersonName, Query()],
    family_name: Annotated[PersonName, Query()],
) -> LearnerSearchResult:
    return _forward(
        "learnerByULN",
        uln,
        lambda client: client.find_by_uln(uln, given_name, family_name),
        _search_outcome,
    )


@app.post("/uln/learners/search", summary="Find a learner by demographics", tags=["uln"])
def search_learners(search: Annotated[DemographicSearch, Body()]) -> LearnerSearchResult:
    return _forward(
        "learnerByDemographics",
        None,
        lambda client: client.find_by_demographics(search),
        _search_outcome,
    )


@app.patch("/uln/learners/<uln>", summary="Update a learner at the LRS", tags=["uln"])
def update_learner(uln: Annotated[Uln, Path()], update: Annotated[LearnerUpdate, Body()]) -> LearnerUpdated:
    return _forward(
        "updateSingleLearner",
        uln,
        lambda client: client.update(uln, update),
        lambda answer: (answer.uln, answer.response_code, 200),
    )


prepare_snapstart(("dynamodb", "secrets"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
