"""Lost Pupils Database API (SPEC §5): LA users search LPD files by UPN and claim one for one of
their schools."""

from __future__ import annotations

from typing import Any

from s2s import lost_pupils
from s2s.api import App, Request
from s2s.report_models import ClaimPath, ClaimRequest, LostPupilList, LostPupilQuery
from s2s.transfer_models import TransferSummary

app = App()


@app.get(
    "/lost-pupils",
    summary="Lost Pupils Database files for one pupil",
    tags=("lost pupils",),
    query=LostPupilQuery,
    response=LostPupilList,
)
def search_lost_pupils(request: Request) -> dict[str, Any]:
    value, items = lost_pupils.search(request.principal, request.query.upn)
    return {"upn": value, "items": items}


@app.post(
    "/lost-pupils/{id}/claim",
    summary="Claim a Lost Pupils Database file for one of your schools",
    tags=("lost pupils",),
    params=ClaimPath,
    body=ClaimRequest,
    response=TransferSummary,
)
def claim_lost_pupil(request: Request) -> dict[str, Any]:
    body: ClaimRequest = request.body
    return lost_pupils.claim(request.principal, request.origin, request.params.id, body.destination)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
