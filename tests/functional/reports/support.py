"""Helpers shared by the report and Lost Pupils Database tests: send files through the real
upload handlers and call the report and LPD routes."""

from __future__ import annotations

from functools import cache
from typing import Any

from s2s.domain.identifiers import upn_check_letter
from support.flows import drain_landing, post_file, start_upload, upload_api
from support.helpers import Reply, call
from support.zipfactory import make_aes_zip, make_plain_zip


def upn(n: int) -> str:
    """A valid permanent UPN, different for each `n`."""
    body = f"82312{n:07d}"[-12:]
    return upn_check_letter(body) + body


@cache
def _zip(stem: str, encrypted: bool) -> bytes:
    entries = {f"{stem}.XML": b"<CTfile>test</CTfile>"}
    return make_aes_zip(entries) if encrypted else make_plain_zip(entries)


def send_file(aws: Any, claims: dict[str, Any], stem: str, *, encrypted: bool = True, pupil: str | None = None) -> str:
    """Upload `<stem>.zip` through the API and run the landing check; returns the transfer id."""
    data = _zip(stem, encrypted)
    extra = {"upn": pupil} if pupil else {}
    reply = start_upload(claims, f"{stem}.zip", len(data), **extra)
    assert reply.status == 201, reply.body
    assert post_file(reply.body, data) == 204
    assert drain_landing(aws) == []
    return str(reply.body["transfer_id"])


def transfer(claims: dict[str, Any], transfer_id: str) -> Reply:
    return call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})


def download(claims: dict[str, Any], transfer_id: str) -> Reply:
    return call(upload_api(), "POST", "/transfers/{id}/download", claims=claims, path_params={"id": transfer_id})


def remove(claims: dict[str, Any], transfer_id: str) -> Reply:
    return call(upload_api(), "DELETE", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})


def inbox(claims: dict[str, Any]) -> Reply:
    return call(upload_api(), "GET", "/transfers", claims=claims, query={"box": "inbox"})


def report_handler() -> Any:
    import report_api

    return report_api.lambda_handler


def lpd_handler() -> Any:
    import lost_pupils_api

    return lost_pupils_api.lambda_handler


def transfers_report(claims: dict[str, Any], **query: str) -> Reply:
    return call(report_handler(), "GET", "/reports/transfers", claims=claims, query=query)


def undownloaded(claims: dict[str, Any], **query: str) -> Reply:
    return call(report_handler(), "GET", "/reports/undownloaded", claims=claims, query=query)


def search(claims: dict[str, Any], pupil: str) -> Reply:
    return call(lpd_handler(), "GET", "/lost-pupils", claims=claims, query={"upn": pupil})


def claim(claims: dict[str, Any], transfer_id: str, destination: str) -> Reply:
    return call(
        lpd_handler(),
        "POST",
        "/lost-pupils/{id}/claim",
        claims=claims,
        path_params={"id": transfer_id},
        body={"destination": destination},
    )
