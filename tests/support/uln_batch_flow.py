"""Drive a ULN batch the way AWS would, in-process against moto: start it through the API, POST
the file with the presigned form, and deliver UlnBatchQueue's messages (the S3 event, then the
worker's own steps) to the worker until the queue is empty."""

from __future__ import annotations

import csv
import io
from typing import Any

import requests
from support.flows import drain, post_file
from support.helpers import Reply, call, school_claims

SCHOOL = "8231234"


def batches_api() -> Any:
    import uln_batches_api

    return uln_batches_api.lambda_handler


def worker() -> Any:
    import uln_batch_worker

    return uln_batch_worker.lambda_handler


def api(method: str, path: str, *, claims: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
    return call(batches_api(), method, path, claims=claims or school_claims(SCHOOL), **kwargs)


def start(data: bytes, filename: str = "ULN_request.xml", claims: dict[str, Any] | None = None) -> Reply:
    return api("POST", "/uln/batches", claims=claims, body={"filename": filename, "size_bytes": len(data)})


def run_worker(aws: Any, rounds: int = 60) -> list[str]:
    """The worker runs in a Lambda of its own: nothing the API's process cached (the organisation's
    LRS account) is there, so it reads the account itself, through the access role."""
    from s2s.adapters.lrs_registry import forget_cache

    forget_cache()
    return drain(aws.queue_urls["UlnBatchQueue"], worker(), rounds=rounds)


def send_batch(aws: Any, data: bytes, claims: dict[str, Any] | None = None) -> str:
    """Start, upload and process a batch; its id."""
    reply = start(data, claims=claims)
    assert reply.status == 201, reply.body
    assert post_file(reply.body, data, "ULN_request.xml") == 204
    assert run_worker(aws) == []
    return str(reply.body["batch_id"])


def batch(batch_id: str, claims: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = api("GET", "/uln/batches/{id}", claims=claims, path_params={"id": batch_id})
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


def all_outcomes(batch_id: str, limit: int = 50) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        reply = api("GET", "/uln/batches/{id}", path_params={"id": batch_id}, query=query)
        assert reply.status == 200, reply.body
        outcomes.extend(reply.body["outcomes"])
        cursor = reply.body.get("next_cursor")
        if not cursor:
            return outcomes


def result(batch_id: str, fmt: str) -> bytes:
    reply = api("POST", "/uln/batches/{id}/result", path_params={"id": batch_id}, body={"format": fmt})
    assert reply.status == 200, reply.body
    response = requests.get(reply.body["url"], timeout=30)
    assert response.status_code == 200
    return response.content


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
