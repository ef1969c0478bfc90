"""Find a school (docs/SERVICE.md §12): search the establishment directory, and one establishment
with its predecessors and successors. For anyone signed in; answered from the load the last
import built, never by scanning the table."""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.directory import (
    EstablishmentDetail,
    EstablishmentList,
    LaCode,
    Laestab,
    PostcodeText,
    SearchLimit,
    SearchText,
    StatusFilter,
)
from s2s.contracts.transfers import Cursor
from s2s.runtime.http import Api, Path, Query
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import directory

app = Api()


@app.get("/directory/establishments", summary="Find a school or other establishment", tags=["directory"])
def search_establishments(  # noqa: PLR0917 - one parameter per query string field
    q: Annotated[SearchText | None, Query()] = None,
    la: Annotated[LaCode | None, Query()] = None,
    postcode: Annotated[PostcodeText | None, Query()] = None,
    status: Annotated[StatusFilter, Query(description="open, closed or any")] = "any",
    limit: Annotated[SearchLimit, Query()] = 20,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> EstablishmentList:
    answer = directory.search(app.principal, q=q, la=la, postcode=postcode, status=status, limit=limit, cursor=cursor)
    return EstablishmentList.model_validate(answer)


@app.get(
    "/directory/establishments/<laestab>",
    summary="One establishment, with its predecessors and successors",
    tags=["directory"],
)
def get_establishment(laestab: Annotated[Laestab, Path()]) -> EstablishmentDetail:
    return EstablishmentDetail.model_validate(directory.establishment(app.principal, laestab))


prepare_snapstart(("dynamodb", "s3"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
