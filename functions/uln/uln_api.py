"""ULN routes (docs/SERVICE.md §5, §7): validate a learner call and forward it to the Learning Records Service.

Schools and local authorities only. The request models refuse bad input before the LRS is
called; `s2s.domain.lrs` says what the LRS's answers mean and `s2s.adapters.lrs` carries them over
SOAP; every call, answered or failed, leaves an audit item. Logs carry the operation, the LRS
response code, the ULN and the caller, never a learner's name, date of birth or postcode.
"""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.uln import (
    DemographicSearch,
    LearnerRegistered,
    LearnerRegistration,
    LearnerSearchResult,
    LearnerUpdate,
    LearnerUpdated,
    LrsRegistrationRequest,
    LrsRegistrationView,
    PersonName,
    Uln,
)
from s2s.runtime.http import JSON, Api, Body, Path, Query, Response
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import registration
from s2s.services import uln as service

app = Api()


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
    registered, created = service.register(app.principal, app.origin, registration)
    return Response(status_code=201 if created else 200, content_type=JSON, body=registered)


@app.get("/uln/learners/<uln>", summary="Find a learner by ULN", tags=["uln"])
def find_learner(
    uln: Annotated[Uln, Path()],
    given_name: Annotated[PersonName, Query()],
    family_name: Annotated[PersonName, Query()],
) -> LearnerSearchResult:
    return service.find_by_uln(app.principal, app.origin, uln, given_name, family_name)


@app.post("/uln/learners/search", summary="Find a learner by demographics", tags=["uln"])
def search_learners(search: Annotated[DemographicSearch, Body()]) -> LearnerSearchResult:
    return service.find_by_demographics(app.principal, app.origin, search)


@app.patch("/uln/learners/<uln>", summary="Update a learner at the LRS", tags=["uln"])
def update_learner(uln: Annotated[Uln, Path()], update: Annotated[LearnerUpdate, Body()]) -> LearnerUpdated:
    return service.update(app.principal, app.origin, uln, update)


@app.put(
    "/uln/registration",
    summary="Register your organisation's LRS account",
    description="Checked once with the LRS, then kept; the password is never returned.",
    tags=["uln"],
    responses={204: {"description": "Checked with the LRS and kept"}},
)
def put_registration(request: Annotated[LrsRegistrationRequest, Body()]) -> Response[None]:
    registration.register(app.principal, app.origin, request)
    return Response(status_code=204)


@app.get("/uln/registration", summary="Your organisation's LRS registration (never the password)", tags=["uln"])
def get_registration() -> LrsRegistrationView:
    return registration.show(app.principal)


@app.delete(
    "/uln/registration",
    summary="Forget your organisation's LRS account",
    tags=["uln"],
    responses={204: {"description": "Forgotten"}},
)
def delete_registration() -> Response[None]:
    registration.forget(app.principal, app.origin)
    return Response(status_code=204)


prepare_snapstart(("dynamodb", "sts"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
