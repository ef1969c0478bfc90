"""Lost Pupils Database API (docs/SERVICE.md §5): LA users search LPD files by UPN and claim one for
one of their schools."""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.reports import ClaimedFile, ClaimRequest, LostPupilList
from s2s.contracts.transfers import TransferId
from s2s.runtime.http import Api, Body, Path, Query
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import lost_pupils

app = Api()


@app.get("/lost-pupils", summary="Lost Pupils Database files for one pupil", tags=["lost pupils"])
def search_lost_pupils(
    # Any malformed UPN is `bad_upn` (docs/SERVICE.md §2), checked by the service: no length bounds here.
    upn: Annotated[str, Query(description="The pupil's UPN: 13 characters, capital letters and digits")],
) -> LostPupilList:
    value, items = lost_pupils.search(app.principal, upn)
    return LostPupilList.model_validate({"upn": value, "items": items})


@app.post(
    "/lost-pupils/<id>/claim",
    summary="Claim a Lost Pupils Database file for one of your schools",
    tags=["lost pupils"],
)
def claim_lost_pupil(id: Annotated[TransferId, Path()], body: Annotated[ClaimRequest, Body()]) -> ClaimedFile:
    return ClaimedFile.model_validate(lost_pupils.claim(app.principal, app.origin, id, body.destination))


prepare_snapstart(("dynamodb", "sns", "s3"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
