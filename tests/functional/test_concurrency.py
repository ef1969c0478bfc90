"""Concurrency (issue 9): racing requests against one transfer, in threads, in-process against
moto. States, counters, audit and events stay consistent because every change is a conditional
write (status and version), never read-then-write.

The domain functions are called directly from the threads: a Lambda process serves one request
at a time, and the Powertools resolver and batch processor keep the current event on a shared
object, so running the handlers themselves in parallel threads would test that artefact instead.
moto is not thread-safe inside one request (its TransactWriteItems deep-copies the tables for
rollback while another thread writes: "dictionary changed size during iteration"), so the
`one_request_at_a_time` fixture makes each mocked AWS request atomic, as the real services are.
Threads still interleave freely between requests, which is where the races of this service are:
read, decide, conditional write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import lost_pupils_api  # noqa: F401 - the claim route exists; its domain function is raced below
import pytest
from s2s.adapters import transfers
from s2s.domain import errors
from s2s.domain.principal import principal_from_claims
from s2s.services import actions as transfer_actions
from s2s.services import landing, lost_pupils
from support.flows import post_file, queued_events, start_upload
from support.helpers import la_claims, school_claims
from support.records import GOOD_NAME, RECIPIENT, SENDER, bucket_keys, deliver_landing, table_items
from support.zipfactory import make_aes_zip

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

GOOD_ZIP = make_aes_zip({GOOD_NAME.removesuffix(".zip") + ".XML": b"<CTfile/>"})
LPD_NAME = f"{SENDER}_CTF_XXXXXXX_001.zip"
LPD_ZIP = make_aes_zip({LPD_NAME.removesuffix(".zip") + ".XML": b"<CTfile/>"})
UPN = "H801200001001"
ORIGIN = {"source_ip": "198.51.100.7", "user_agent": "pytest-thread"}


@pytest.fixture(autouse=True)
def one_request_at_a_time(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    real = BotocoreStubber.__call__

    def atomic(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return real(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", atomic)


def race(functions: list[Callable[[], Any]]) -> list[Any]:
    """Run every function at the same moment; each result is its return value or its exception."""
    barrier = threading.Barrier(len(functions))

    def run(fn: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return fn()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(run, functions))


def available_transfer(aws: Any, filename: str = GOOD_NAME, **extra: Any) -> str:
    data = GOOD_ZIP if filename == GOOD_NAME else LPD_ZIP
    ticket = start_upload(school_claims(SENDER), filename, len(data), **extra)
    assert ticket.status == 201, ticket.body
    assert post_file(ticket.body, data) == 204
    assert deliver_landing(aws) == []
    transfer_id = str(ticket.body["transfer_id"])
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available"
    queued_events(aws)  # the transfer.available event is not what these tests count
    return transfer_id


def actions(transfer_id: str) -> list[str]:
    return [a["action"] for a in transfers.audit_events(transfer_id)]


def outbox_items(aws: Any) -> list[str]:
    return [i["SK"]["S"] for i in table_items(aws) if i["SK"]["S"].startswith("OUTBOX#")]


def national(aws: Any) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in table_items(aws):
        if item["PK"]["S"] == "CNT#ALL":
            for name, value in item.items():
                if "N" in value:
                    totals[name] = totals.get(name, 0) + int(value["N"])
    return totals


def test_ten_parallel_downloads_make_one_transition_one_event_and_ten_receipts(aws: Any) -> None:
    transfer_id = available_transfer(aws)
    recipient = principal_from_claims(school_claims(RECIPIENT))

    results = race([lambda: transfer_actions.request_download(recipient, ORIGIN, transfer_id)] * 10)

    assert [type(r).__name__ for r in results if not isinstance(r, dict)] == []
    assert all(r["url"] for r in results)
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "downloaded" and t.version == 2
    assert actions(transfer_id).count("downloaded") == 10
    assert [e["type"] for e in queued_events(aws)] == ["transfer.downloaded"]
    counters = national(aws)
    assert (counters["downloaded"], counters["not_downloaded"], counters["received"]) == (1, 0, 1)


@pytest.mark.parametrize("round_", range(3))
def test_a_download_racing_a_removal_ends_consistent(aws: Any, round_: int) -> None:
    transfer_id = available_transfer(aws)
    recipient = principal_from_claims(school_claims(RECIPIENT))

    download, removal = race(
        [
            lambda: transfer_actions.request_download(recipient, ORIGIN, transfer_id),
            lambda: transfer_actions.remove(recipient, ORIGIN, transfer_id),
        ]
    )

    assert removal == "removed"
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "removed"
    trail = actions(transfer_id)
    counters = national(aws)
    if isinstance(download, dict):
        # The download won: it was recorded before the removal, and counted once.
        assert trail.index("downloaded") < trail.index("removed")
        assert counters.get("downloaded", 0) in (0, 1)
    else:
        # The removal won: the download was refused as gone, and nothing was recorded for it.
        assert isinstance(download, errors.Gone | errors.Conflict), repr(download)
        assert "downloaded" not in trail
        assert counters.get("downloaded", 0) == 0
    # The file left the not-downloaded count exactly once, whichever won.
    assert counters["not_downloaded"] == 0
    assert trail.count("removed") == 1
    assert bucket_keys(aws) == []


def test_the_same_s3_event_five_times_in_parallel_decides_once(aws: Any) -> None:
    ticket = start_upload(school_claims(SENDER), GOOD_NAME, len(GOOD_ZIP))
    assert post_file(ticket.body, GOOD_ZIP) == 204
    transfer_id = ticket.body["transfer_id"]
    key = f"incoming/{transfer_id}/{GOOD_NAME}"
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])

    outcomes = race([lambda: landing.handle_landed_object(aws.bucket, key)] * 5)

    # A delivery that lost the race on S3 (object already copied and deleted) raises and would be
    # retried by the queue; its retry must find the decision made.
    retried = [landing.handle_landed_object(aws.bucket, key) for o in outcomes if isinstance(o, Exception)]
    decided = [o for o in outcomes if not isinstance(o, Exception)] + retried
    assert decided.count("available") == 1, outcomes
    assert set(decided) <= {"available", "duplicate", "missing"}, outcomes
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available" and t.version == 1
    assert actions(transfer_id) == ["created", "available"]
    counters = national(aws)
    assert (counters["sent"], counters["received"], counters["not_downloaded"]) == (1, 1, 1)
    # Only the delivery that leases the outbox event publishes it.
    published = queued_events(aws)
    assert [(e["type"], e["event_id"]) for e in published] == [
        ("transfer.available", f"{transfer_id}:transfer.available")
    ]
    assert bucket_keys(aws) == [f"stored/{transfer_id}/{GOOD_NAME}"]
    assert outbox_items(aws) == []


def test_a_lost_pupils_file_lands_and_can_be_read_back(aws: Any) -> None:
    """A Lost Pupils file has no destination LA, which the store leaves out of the item."""
    transfer_id = available_transfer(aws, LPD_NAME, upn=UPN)
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.dest_la is None and t.is_lpd


def test_two_las_claiming_one_lost_pupils_file_only_one_wins(aws: Any) -> None:
    transfer_id = available_transfer(aws, LPD_NAME, upn=UPN)
    la_823 = principal_from_claims(la_claims("823"))
    la_873 = principal_from_claims(la_claims("873"))

    results = race(
        [
            lambda: lost_pupils.claim(la_823, ORIGIN, transfer_id, "8234001"),
            lambda: lost_pupils.claim(la_873, ORIGIN, transfer_id, "8731234"),
        ]
    )

    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if not isinstance(r, dict)]
    assert len(winners) == 1, results
    # The loser either lost at the conditional write (409 already_claimed) or started after the
    # winner had finished, when the file is another LA's school's and no longer visible to it (404,
    # as tests/functional/reports/test_lost_pupils.py::test_claim_states asks).
    assert len(losers) == 1 and isinstance(losers[0], errors.Conflict | errors.NotFound), results
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.claimed_from == "LPD" and t.recipient_org in ("8234001", "8731234")
    assert actions(transfer_id).count("claimed") == 1
    assert [e["type"] for e in queued_events(aws)] == ["transfer.claimed"]
    assert national(aws).get("received", 0) == 1


def test_a_withdrawal_between_the_landing_copy_and_its_commit_leaves_no_stored_copy(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The landing check copies before it commits; if the sender withdraws in between, the
    withdrawal's own clean-up must take the copy with it."""
    from s2s.adapters import aws as aws_clients

    ticket = start_upload(school_claims(SENDER), GOOD_NAME, len(GOOD_ZIP))
    assert post_file(ticket.body, GOOD_ZIP) == 204
    transfer_id = ticket.body["transfer_id"]
    sender = principal_from_claims(school_claims(SENDER))
    s3 = aws_clients.s3()
    real_copy = s3.copy_object

    def copy_then_withdrawal(**kwargs: Any) -> Any:
        result = real_copy(**kwargs)
        # The sender withdraws at this moment: after the copy, before the landing commit.
        assert transfer_actions.remove(sender, ORIGIN, transfer_id) == "withdrawn"
        return result

    monkeypatch.setattr(s3, "copy_object", copy_then_withdrawal)

    assert landing.handle_landed_object(aws.bucket, f"incoming/{transfer_id}/{GOOD_NAME}") == "duplicate"

    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "withdrawn"
    assert bucket_keys(aws) == []
