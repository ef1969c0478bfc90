"""A secure message's email is never lost: its `message.received` event goes into the outbox in the
transaction that stores the message, is published at send time when SNS takes it, and otherwise by
the hourly sweep (ExpirySweepFunction), through the same outbox and lease as transfers' events
(docs/SERVICE.md §11). Notify emails once per event and address however often the event arrives.

Everything runs through the handlers (messages_api, expiry_sweep, notify_events) against moto, so
the IAM check holds the three functions' policies to the calls made here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import expiry_sweep
import messages_api
import notify_events
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from s2s.adapters import aws as aws_clients
from s2s.adapters import dynamo, subscriptions
from s2s.adapters import events as outbox
from s2s.adapters import messages as repo
from s2s.domain import clock
from s2s_cli.local import calls
from support import iam
from support.flows import drain, queued_events
from support.helpers import FakeContext, Reply, call, school_claims
from support.records import table_items

pytestmark = pytest.mark.functional

A, B = "8231234", "8232345"
SUBJECT = "Password for 8231234_CTF_8232345_001.zip"
BODY = "The password is tangerine-walrus-42."
B_ADDRESSES = ["head@b.school.example", "office@b.school.example"]


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def subscribed(aws: Any) -> None:
    for n, address in enumerate(B_ADDRESSES):
        subscriptions.subscribe(B, address, f"user-b-{n}", "Riverside Academy")
    subscriptions.subscribe(A, "office@a.school.example", "user-a", "Oakfield Primary")


def send(**extra: Any) -> Reply:
    body = {"to": B, "subject": SUBJECT, "body": BODY, **extra}
    return call(messages_api.lambda_handler, "POST", "/messages", claims=school_claims(A, name="Oakfield"), body=body)


def sent_id(reply: Reply) -> str:
    assert reply.status == 201, reply.body
    return str(reply.body["message_id"])


def scheduled_sweep() -> dict[str, int]:
    event = {"source": "aws.scheduler", "detail-type": "Scheduled Event"}
    return expiry_sweep.lambda_handler(event, FakeContext())  # type: ignore[no-any-return]


def outbox_items(aws: Any) -> list[tuple[str, str]]:
    return sorted((i["PK"]["S"], i["SK"]["S"]) for i in table_items(aws) if i["SK"]["S"].startswith("OUTBOX#"))


def emailed() -> list[str]:
    """Every address SES sent to, one entry per email."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    return sorted(address for email in sent for address in email.destinations["ToAddresses"])


def notify(aws: Any) -> list[str]:
    return drain(aws.queue_urls["NotifyQueue"], notify_events.lambda_handler)


class Sns:
    """The cached SNS client's publish, failing while `down`, and running `during` (once) inside
    the first publish that goes through: a publisher that is still talking to SNS."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, down: bool = False) -> None:
        client = aws_clients.sns()
        self.real = client.publish
        self.down = down
        self.during: Callable[[], None] | None = None
        self.attempts = 0
        monkeypatch.setattr(client, "publish", self)

    def __call__(self, **kwargs: Any) -> Any:
        self.attempts += 1
        if self.down:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected failure"}}, "Publish")
        during, self.during = self.during, None
        if during is not None:
            during()
        return self.real(**kwargs)


# ---------------------------------------------------------------------------- 1. one transaction


def test_the_message_and_its_event_are_written_in_one_transaction(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[list[tuple[str, str]]] = []
    real = dynamo.transact

    def spy(items: Any, **kwargs: Any) -> Any:
        written.append([(op["Put"]["Item"]["PK"]["S"], op["Put"]["Item"]["SK"]["S"]) for op in items if "Put" in op])
        return real(items, **kwargs)

    monkeypatch.setattr(dynamo, "transact", spy)
    Sns(monkeypatch, down=True)

    message_id = sent_id(send())

    assert written == [[(f"MSG#{message_id}", "MSG"), (f"MSG#{message_id}", "OUTBOX#message.received")]]
    assert outbox_items(aws) == [(f"MSG#{message_id}", "OUTBOX#message.received")]
    (event,) = outbox.pending_older_than(clock.iso(clock.now() + timedelta(days=1)))
    assert event == {
        "event_id": f"{message_id}:message.received",
        "type": "message.received",
        "message_id": message_id,
        "recipients": [B],
        "source": A,
        "source_name": "Oakfield",
        "occurred_at": event["occurred_at"],
    }
    stored = json.dumps([i for i in table_items(aws) if i["SK"]["S"].startswith("OUTBOX#")])
    assert SUBJECT not in stored and "tangerine" not in stored  # no subject, no body in the outbox


def test_a_message_refused_by_the_quota_leaves_no_event(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILY_MESSAGE_COUNT", "1")
    from s2s.runtime import settings

    settings.get_settings.cache_clear()
    Sns(monkeypatch, down=True)
    first = sent_id(send())

    assert send().status == 429

    assert outbox_items(aws) == [(f"MSG#{first}", "OUTBOX#message.received")]  # the first one's only


# ---------------------------------------------------------------------------- 2. SNS down at send time


def test_with_sns_down_at_send_the_sweep_publishes_the_event_and_each_subscriber_gets_one_email(
    aws: Any, subscribed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns = Sns(monkeypatch, down=True)

    message_id = sent_id(send())  # still 201: the message is stored, its event waits

    assert sns.attempts == 1
    assert outbox_items(aws) == [(f"MSG#{message_id}", "OUTBOX#message.received")]
    assert notify(aws) == [] and emailed() == []  # nothing reached the topic
    sns.down = False
    assert scheduled_sweep()["republished"] == 0  # younger than a minute: the sender may still publish it

    clock.travel(timedelta(minutes=2))
    assert scheduled_sweep() == {"expired": 0, "reminded": 0, "republished": 1}

    assert outbox_items(aws) == []
    assert notify(aws) == []
    assert emailed() == B_ADDRESSES  # each of B's subscribers once; A's none
    assert scheduled_sweep()["republished"] == 0
    assert notify(aws) == [] and emailed() == B_ADDRESSES


def test_an_event_published_but_not_deleted_is_published_again_and_emailed_once(
    aws: Any, subscribed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send-time publisher dies between SNS and the outbox delete: the sweep publishes the event
    a second time once the lease has run out, and notify's record per event and address sends once."""
    real_delete = outbox.delete

    def crash(subject: str, event_type: str) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "DeleteItem")

    monkeypatch.setattr(outbox, "delete", crash)
    message_id = sent_id(send())
    monkeypatch.setattr(outbox, "delete", real_delete)
    assert outbox_items(aws) == [(f"MSG#{message_id}", "OUTBOX#message.received")]
    assert notify(aws) == [] and emailed() == B_ADDRESSES

    clock.travel(timedelta(minutes=2))
    assert scheduled_sweep()["republished"] == 1

    assert outbox_items(aws) == []
    assert notify(aws) == []
    assert emailed() == B_ADDRESSES  # the second delivery sent nothing


# ---------------------------------------------------------------------------- 3. deleted once published; the lease


def test_a_published_event_leaves_the_outbox_and_the_sweep_has_nothing_to_send(aws: Any) -> None:
    message_id = sent_id(send())

    assert outbox_items(aws) == []
    assert [(e["type"], e["message_id"]) for e in queued_events(aws)] == [("message.received", message_id)]
    clock.travel(timedelta(minutes=2))
    assert scheduled_sweep()["republished"] == 0
    assert queued_events(aws) == []


def test_a_sweep_while_the_sender_is_still_publishing_publishes_nothing(
    aws: Any, subscribed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow send: 30 s pass between storing the message and publishing its event, and SNS takes
    45 s more. The sweep that runs meanwhile finds the event over a minute old, but the sender's
    lease holds it: the event is published once, and its outbox item deleted once."""
    real_create = repo.create

    def slow_create(*args: Any, **kwargs: Any) -> None:
        real_create(*args, **kwargs)
        clock.travel(timedelta(seconds=30))

    monkeypatch.setattr(repo, "create", slow_create)
    sns = Sns(monkeypatch)
    swept: list[dict[str, int]] = []

    def sweep_meanwhile() -> None:
        clock.travel(timedelta(seconds=45))
        assert len(outbox.pending_older_than(clock.iso(clock.now() - timedelta(minutes=1)))) == 1  # it is due
        swept.append(scheduled_sweep())

    sns.during = sweep_meanwhile

    message_id = sent_id(send())

    assert swept == [{"expired": 0, "reminded": 0, "republished": 0}]
    assert sns.attempts == 1
    assert outbox_items(aws) == []
    events = queued_events(aws)
    assert [e["event_id"] for e in events] == [f"{message_id}:message.received"]


def test_a_publisher_gone_before_sns_leaves_the_event_to_the_sweep_after_its_lease(
    aws: Any, subscribed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender took the lease and never published (its function stopped): the lease runs out
    and the sweep publishes the event; before then it leaves it alone."""
    sns = Sns(monkeypatch)

    def stopped() -> None:
        raise SystemExit  # not an Exception: nothing in the sender runs after it

    sns.during = stopped
    with pytest.raises(SystemExit):
        send()
    assert sns.attempts == 1
    (pk, sk) = outbox_items(aws)[0]
    message_id = pk.removeprefix("MSG#")
    assert sk == "OUTBOX#message.received"

    clock.travel(timedelta(seconds=59))
    assert outbox.lease(pk, "message.received") is False  # the stopped sender's lease still holds
    clock.travel(timedelta(seconds=62))
    assert scheduled_sweep()["republished"] == 1

    assert outbox_items(aws) == []
    assert notify(aws) == []
    assert emailed() == B_ADDRESSES
    assert repo.get(message_id) is not None


# ---------------------------------------------------------------------------- 4. the sweep never reads a body


def test_the_sweep_publishes_a_messages_event_without_decrypting_and_may_not_decrypt_a_body(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns = Sns(monkeypatch, down=True)
    message_id = sent_id(send())
    sns.down = False
    clock.travel(timedelta(minutes=2))

    with calls.capture("ExpirySweepFunction") as rows:
        assert scheduled_sweep()["republished"] == 1
    kms_calls = [row["api"] for row in rows if row["api"].startswith("kms.")]
    assert kms_calls == []  # no KMS call of its own: only what DynamoDB and SNS need for their keys
    assert iam.check(iam.records_of(rows), least_privilege=False) == []

    found = repo.get(message_id)
    assert found is not None
    with calls.capture("ExpirySweepFunction") as rows:
        assert repo.decrypt_body(*found) == BODY  # moto answers: IAM would not
    denied = [(f.kind, f.action) for f in iam.check(iam.records_of(rows), least_privilege=False)]
    assert denied == [("denied", "kms:Decrypt")]
