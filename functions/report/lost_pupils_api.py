"""Lost Pupils Database API (SPEC §5): LA users search LPD files by UPN and claim one for one of
their schools."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from s2s import lost_pupils
from s2s.api import current_principal, make_resolver, request_origin
from s2s.report_models import ClaimRequest, LostPupilList
from s2s.transfer_models import TransferSummary

logger = Logger(service="s2s")
app = make_resolver()


@app.get("/lost-pupils", summary="Lost Pupils Database files for one pupil", tags=["lost pupils"])
def search_lost_pupils(
    upn: Annotated[str, Query(min_length=1, max_length=20, description="The pupil's UPN")],
) -> LostPupilList:
    principal = current_principal(app)
    value, items = lost_pupils.search(principal, upn)
    return LostPupilList.model_validate({"upn": value, "items": items})


@app.post(
    "/lost-pupils/<id>/claim",
    summary="Claim a Lost Pupils Database file for one of your schools",
    tags=["lost pupils"],
)
def claim_lost_pupil(
    id: Annotated[str, Path(max_length=64)],
    request: Annotated[ClaimRequest, Body()],
) -> TransferSummary:
    principal = current_principal(app)
    summary = lost_pupils.claim(principal, request_origin(app), id, request.destination)
    return TransferSummary.model_validate(summary)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
