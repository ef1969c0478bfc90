"""The expiry sweep as the schedule runs it: through `expiry_sweep.lambda_handler`, so that the
calls it makes are the ExpirySweepFunction's and the IAM check (tests/support/iam.py) holds its
policy to them: the expiry's transaction with its audit Put, the objects it deletes, the
reminder and the events it republishes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import expiry_sweep
import pytest
from botocore.exceptions import ClientError
from s2s.adapters import aws as aws_clients
from s2s.adapters import transfers
from s2s.domain import clock
from support.flows import drain_landing, post_file, queued_events, send, start_upload, upload_api
from support.helpers import FakeContext, call, school_claims
from support.zipfactory import make_aes_zip

pytestmark = pytest.mark.functional

A, B = "8231234", "8232345"
CTF = f"{A}_CTF_{B}_001.zip"
ZIP = make_aes_zip({f"{A}_CTF_{B}_001.XML": b"1"})


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


def scheduled_sweep() -> dict[str, int]:
    return expiry_sweep.lambda_handler({"source": "aws.scheduler", "detail-type": "Scheduled Event"}, FakeContext())  # type: ignore[no-any-return]


def keys(aws: Any) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=aws.bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


def detail(transfer_id: str) -> dict[str, Any]:
    reply = call(upload_api(), "GET", "/transfers/{id}", claims=school_claims(A), path_params={"id": transfer_id})
    return reply.body  # type: ignore[no-any-return]


def test_the_scheduled_sweep_expires_files_and_tickets_and_deletes_their_objects(aws):
    sent = send(aws, school_claims(A), CTF, ZIP)["transfer_id"]
    ticket = start_upload(school_claims(A), f"{A}_CTF_{B}_002.zip", len(ZIP))
    assert post_file(ticket.body, ZIP) == 204  # posted, but never checked: it waits in incoming/
    queued_events(aws)
    clock.travel(timedelta(days=61))

    assert scheduled_sweep() == {"expired": 2, "reminded": 0, "republished": 0}

    assert keys(aws) == []
    assert detail(sent)["status"] == "expired"
    assert detail(ticket.body["transfer_id"])["status"] == "expired"
    assert [a["action"] for a in detail(sent)["audit"]].count("expired") == 1
    assert scheduled_sweep()["expired"] == 0


def test_the_scheduled_sweep_reminds_the_recipient_once(aws):
    sent = send(aws, school_claims(A), CTF, ZIP)["transfer_id"]
    queued_events(aws)
    clock.travel(timedelta(days=55))

    assert scheduled_sweep()["reminded"] == 1
    assert scheduled_sweep()["reminded"] == 0

    events = queued_events(aws)
    assert [(e["type"], e["transfer_id"], e["recipients"]) for e in events] == [("transfer.expiring", sent, [B])]
    assert "expiring_reminder" in [a["action"] for a in detail(sent)["audit"]]


def test_the_scheduled_sweep_publishes_an_event_the_landing_check_could_not(aws, monkeypatch):
    ticket = start_upload(school_claims(A), CTF, len(ZIP))
    assert post_file(ticket.body, ZIP) == 204
    sns = aws_clients.sns()
    failure = ClientError({"Error": {"Code": "InternalError", "Message": "down"}}, "Publish")

    def down(**_: Any) -> None:
        raise failure

    monkeypatch.setattr(sns, "publish", down)
    drain_landing(aws)
    monkeypatch.undo()
    transfer_id = ticket.body["transfer_id"]
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available"
    assert queued_events(aws) == []
    clock.travel(timedelta(minutes=2))

    assert scheduled_sweep()["republished"] == 1

    assert [(e["type"], e["transfer_id"]) for e in queued_events(aws)] == [("transfer.available", transfer_id)]
