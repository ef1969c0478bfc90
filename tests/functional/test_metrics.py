"""The metrics the functions write (CloudWatch embedded metric format on stdout, namespace S2S):
what the template's alarms and dashboard read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.flows import drain_landing, post_file, send, start_upload, upload_api
from support.helpers import call, school_claims
from support.zipfactory import make_aes_zip

pytestmark = pytest.mark.functional

A, B = "8231234", "8232345"
CTF = f"{A}_CTF_{B}_001.zip"
ENTRY = f"{A}_CTF_{B}_001.XML"


def emitted(out: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric name, dimensions, value) of every EMF line in `out`."""
    found = []
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document: dict[str, Any] = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "S2S"
            dimensions = {d: document[d] for group in directive["Dimensions"] for d in group}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found.append((metric["Name"], dimensions, sum(value) if isinstance(value, list) else value))
    return found


def test_an_upload_a_landing_and_a_download_are_counted(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    detail = send(aws, school_claims(A), CTF, make_aes_zip({ENTRY: b"<CTfile/>"}))
    reply = call(
        upload_api(),
        "POST",
        "/transfers/{id}/download",
        claims=school_claims(B),
        path_params={"id": detail["transfer_id"]},
    )
    assert reply.status == 200
    names = [(name, value) for name, _, value in emitted(capsys.readouterr().out)]
    assert ("UploadsStarted", 1) in names and ("FilesAccepted", 1) in names and ("Downloads", 1) in names
    assert "presigned" not in json.dumps(names).lower()


def test_rejections_are_counted_by_reason(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = b"PK\x03\x04 this is not really a zip file at all"
    ticket = start_upload(school_claims(A), CTF, len(data)).body
    assert post_file(ticket, data) == 204
    assert drain_landing(aws) == []
    rejected = [(dims, value) for name, dims, value in emitted(capsys.readouterr().out) if name == "FilesRejected"]
    assert rejected == [({"service": "s2s", "reason": "not_zip"}, 1)]
