"""The notify function against moto: TransferEvents in, SES emails out (docs/SERVICE.md §6).

Events are built with s2s.services.outbox.build_event from real Transfer records, so these tests follow the
publisher's schema. SES's own record of sent messages (moto keeps the HTML part) and a recording
wrapper around the SES client (for the plain-text part) are both inspected."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import notify_events
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from s2s.adapters import aws as aws_clients
from s2s.adapters import organisations, subscriptions, transfers
from s2s.adapters.events import outbox_put
from s2s.domain import clock
from s2s.domain.transfers import Transfer
from s2s.services import outbox as events
from s2s.services.outbox import build_event
from support import events as support_events
from support.factories import transfer
from support.helpers import FakeContext

pytestmark = pytest.mark.functional

PORTAL = "http://portal.test"
SENDER = "no-reply@s2s.test"
SIGNED_URL_MARKERS = ("X-Amz-", "amazonaws", "Signature=", "AWSAccessKeyId", "s3://")

SCHOOL_A, SCHOOL_B, LA = "8231234", "8232345", "823LLLL"
A_STAFF = ["head@8231234.school.example", "office@8231234.school.example"]
B_STAFF = ["admissions@8232345.school.example", "office@8232345.school.example"]
LA_STAFF = ["data@la823.gov.example"]


# ---------------------------------------------------------------------------- factories


def make_transfer(**overrides: Any) -> Transfer:
    """A CTF from Oakfield (8231234) to Riverside (8232345), available, expiring in 60 days."""
    return transfer(**overrides)


OCCURRED = "2026-06-01T09:01:00.000000Z"


def event_for(kind: str, t: Transfer | None = None, **extra: Any) -> dict[str, Any]:
    return build_event(kind, t or make_transfer(), OCCURRED, **extra)  # type: ignore[arg-type]


def sqs_event(*events: dict[str, Any] | str, ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS batch as Lambda receives it (raw SNS delivery: the body is the event JSON)."""
    return support_events.sqs_event(
        *(
            support_events.sqs_record(
                ev if isinstance(ev, str) else json.dumps(ev, sort_keys=True),
                message_id=ids[n] if ids else f"msg-{n}",
                message_attributes=(
                    {"type": ev["type"], "recipient": ",".join(ev["recipients"]) or "none"}
                    if isinstance(ev, dict)
                    else {"type": "transfer.available", "recipient": "8232345"}
                ),
            )
            for n, ev in enumerate(events)
        )
    )


def invoke(batch: dict[str, Any]) -> list[str]:
    """Run the handler; the message ids it reports as failed."""
    response = notify_events.lambda_handler(batch, FakeContext())
    return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]


@dataclass
class SentEmail:
    to: list[str]
    source: str
    subject: str
    text: str
    html: str


@dataclass
class SesRecorder:
    """Wraps the real (moto) SES client: records what was sent, and can fail for chosen addresses."""

    real: Any
    sent: list[SentEmail] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)
    calls: int = 0

    def send_email(self, **kwargs: Any) -> Any:
        self.calls += 1
        to = kwargs["Destination"]["ToAddresses"]
        if self.fail_for & set(to):
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "SendEmail"
            )
        response = self.real.send_email(**kwargs)
        body = kwargs["Message"]["Body"]
        self.sent.append(
            SentEmail(
                to=list(to),
                source=kwargs["Source"],
                subject=kwargs["Message"]["Subject"]["Data"],
                text=body["Text"]["Data"],
                html=body["Html"]["Data"],
            )
        )
        return response


@pytest.fixture
def ses(aws: Any, monkeypatch: pytest.MonkeyPatch) -> SesRecorder:
    recorder = SesRecorder(real=aws_clients.ses())
    monkeypatch.setattr(aws_clients, "ses", lambda: recorder)
    return recorder


@pytest.fixture
def subscribed(aws: Any) -> None:
    """Staff of both schools and the LA have subscribed; the organisations' names are known."""
    at = clock.now()
    for org, name, staff in (
        (SCHOOL_A, "Oakfield Primary", A_STAFF),
        (SCHOOL_B, "Riverside Academy", B_STAFF),
        (LA, "Central Bedfordshire", LA_STAFF),
    ):
        organisations.remember_name(org, name, at)
        for n, email in enumerate(staff):
            subscriptions.subscribe(org, email, f"user-{org}-{n}", name)


def moto_sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)


def assert_no_signed_url(*texts: str) -> None:
    for text in texts:
        for marker in SIGNED_URL_MARKERS:
            assert marker.lower() not in text.lower(), f"{marker!r} in an email"
        for url in re.findall(r"https?://[^\s\"'<>]+", text):
            assert url.startswith(PORTAL + "/"), f"unexpected link {url}"


def email_audits(transfer_id: str) -> list[dict[str, Any]]:
    return [a for a in transfers.audit_events(transfer_id) if a["action"] == "email_sent"]


# ---------------------------------------------------------------------------- every event type


CLAIMED = make_transfer(
    transfer_id="1a2b3c4d5e6f40718293a4b5c6d7e8f9",
    filename="8231234_CTF_XXXXXXX_002.zip",
    destination=SCHOOL_B,
    dest_kind="school",
    recipient_org=SCHOOL_B,
    claimed_from="XXXXXXX",
    claimed_by=LA,
)

CASES = {
    "transfer.available": (
        event_for("transfer.available"),
        B_STAFF,
        ["A file is waiting for you", "8231234_CTF_8232345_001.zip", "Oakfield Primary"],
        ["Riverside Academy (8232345)", "2:05pm on Friday 31 July 2026 (UK time)"],
    ),
    "transfer.rejected": (
        event_for(
            "transfer.rejected",
            make_transfer(
                status="rejected",
                reason="weak_encryption",
                available_at=None,
                reason_message="This zip archive uses an old or weaker kind of encryption.",
            ),
        ),
        A_STAFF,
        ["not accepted", "8231234_CTF_8232345_001.zip"],
        ["weak kind of encryption", "AES-256", "How to fix it"],
    ),
    "transfer.downloaded": (
        event_for("transfer.downloaded", make_transfer(status="downloaded"), downloaded_by=SCHOOL_B),
        A_STAFF,
        ["downloaded", "8231234_CTF_8232345_001.zip"],
        ["downloaded by Riverside Academy (8232345)", "10:01am on Monday 1 June 2026"],
    ),
    "transfer.expiring": (
        event_for("transfer.expiring"),
        B_STAFF,
        ["Reminder", "8231234_CTF_8232345_001.zip", "Friday 31 July 2026"],
        ["has not been downloaded yet", "2:05pm on Friday 31 July 2026"],
    ),
    "transfer.claimed": (
        event_for("transfer.claimed", CLAIMED, claimed_by=LA),
        B_STAFF,
        ["A file is waiting for you", "Lost Pupils Database"],
        ["Central Bedfordshire (823LLLL) has matched", "Oakfield Primary (8231234)"],
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_event_type_emails_the_right_people_with_a_portal_link_only(
    kind: str, subscribed: None, ses: SesRecorder
) -> None:
    event, expected_to, subject_words, text_words = CASES[kind]

    failed = invoke(sqs_event(event))

    assert failed == []
    assert sorted(addr for e in ses.sent for addr in e.to) == sorted(expected_to)
    link = f"{PORTAL}/transfers/{event['transfer_id']}"
    for email in ses.sent:
        assert len(email.to) == 1, "one email per address, so no one sees another's address"
        assert email.source == SENDER
        for word in subject_words:
            assert word in email.subject
        for word in text_words:
            assert word in email.text, word
        assert link in email.text
        assert f'href="{link}"' in email.html
        assert_no_signed_url(email.subject, email.text, email.html)
    # SES itself saw the same messages (moto keeps the HTML part as the body).
    seen = moto_sent()
    assert sorted(m.destinations["ToAddresses"][0] for m in seen) == sorted(expected_to)
    assert all(m.source == SENDER and link in m.body for m in seen)
    assert_no_signed_url(*(m.body for m in seen))
    # Every email is an audit event on the transfer, naming type, organisation and address.
    audits = email_audits(event["transfer_id"])
    assert sorted(a["details"]["to"] for a in audits) == sorted(expected_to)
    assert {a["details"]["type"] for a in audits} == {kind}
    assert {a["details"]["org"] for a in audits} == set(event["recipients"])
    assert {a["actor_user"] for a in audits} == {"notify"}


def test_rejected_name_shows_the_suggested_name(subscribed: None, ses: SesRecorder) -> None:
    t = make_transfer(
        status="rejected",
        reason="bad_pattern",
        suggestion="8231234_CTF_8232345_001.zip",
        filename="8231234_ctf_8232345_001.zip",
        available_at=None,
    )

    assert invoke(sqs_event(event_for("transfer.rejected", t))) == []

    assert len(ses.sent) == len(A_STAFF)
    assert all("Rename the file to 8231234_CTF_8232345_001.zip" in e.text for e in ses.sent)


def test_available_to_an_la_reaches_the_la_subscribers(subscribed: None, ses: SesRecorder) -> None:
    t = make_transfer(
        filename="8231234_8230000_SENreport.zip",
        family="generic",
        file_type="GEN",
        destination="823XXXX",
        dest_kind="la_unknown_school",
        recipient_org=LA,
    )

    assert invoke(sqs_event(event_for("transfer.available", t))) == []

    assert [e.to for e in ses.sent] == [[a] for a in LA_STAFF]
    assert "Central Bedfordshire (823LLLL)" in ses.sent[0].text


def test_no_email_when_nobody_subscribed_or_nobody_is_addressed(aws: Any, ses: SesRecorder) -> None:
    lpd = make_transfer(destination="XXXXXXX", dest_kind="lpd_unknown", recipient_org="LPD", upn="H801200001001")
    batch = sqs_event(event_for("transfer.available"), event_for("transfer.available", lpd))

    assert invoke(batch) == []

    assert ses.calls == 0
    assert moto_sent() == []


def test_names_fall_back_to_codes_when_unknown(aws: Any, ses: SesRecorder) -> None:
    subscriptions.subscribe(SCHOOL_B, B_STAFF[0], "user-b", None)

    assert invoke(sqs_event(event_for("transfer.available"))) == []

    assert "Oakfield Primary (8231234) has sent a Common Transfer File (CTF) to 8232345" in ses.sent[0].text


# ---------------------------------------------------------------------------- exactly once


def test_same_message_delivered_twice_sends_one_email_per_recipient(subscribed: None, ses: SesRecorder) -> None:
    event = event_for("transfer.available")

    assert invoke(sqs_event(event, ids=["m-1"])) == []
    assert invoke(sqs_event(event, ids=["m-1"])) == []
    # The publisher may also publish the same event again (a new message id).
    assert invoke(sqs_event(event, ids=["m-2"])) == []

    assert sorted(a for e in ses.sent for a in e.to) == sorted(B_STAFF)
    assert len(moto_sent()) == len(B_STAFF)
    assert len(email_audits(event["transfer_id"])) == len(B_STAFF)
    assert all(subscriptions.send_state(event["event_id"], a) == "sent" for a in B_STAFF)


def test_both_copies_in_one_batch_send_once(subscribed: None, ses: SesRecorder) -> None:
    event = event_for("transfer.expiring")

    assert invoke(sqs_event(event, event)) == []

    assert sorted(a for e in ses.sent for a in e.to) == sorted(B_STAFF)


def test_different_events_of_one_transfer_are_separate_emails(subscribed: None, ses: SesRecorder) -> None:
    assert invoke(sqs_event(event_for("transfer.available"), event_for("transfer.expiring"))) == []

    assert len(ses.sent) == 2 * len(B_STAFF)


# ---------------------------------------------------------------------------- failures


def test_ses_failure_for_one_record_of_three_fails_only_that_record(subscribed: None, ses: SesRecorder) -> None:
    available = event_for("transfer.available")  # to B_STAFF: one address fails
    rejected = event_for(
        "transfer.rejected",
        make_transfer(
            transfer_id="2b3c4d5e6f7a48190a1b2c3d4e5f6a7b",
            status="rejected",
            reason="not_encrypted",
            available_at=None,
        ),
    )
    downloaded = event_for(
        "transfer.downloaded",
        make_transfer(transfer_id="3c4d5e6f7a8b49201b2c3d4e5f6a7b8c", status="downloaded"),
    )
    ses.fail_for = {B_STAFF[1]}

    failed = invoke(sqs_event(rejected, available, downloaded, ids=["r", "a", "d"]))

    assert failed == ["a"]
    sent_to = sorted(a for e in ses.sent for a in e.to)
    assert sent_to == sorted([*A_STAFF, *A_STAFF, B_STAFF[0]])
    # The failure left no marker that would suppress the retry.
    assert subscriptions.send_state(available["event_id"], B_STAFF[1]) == "failed"

    # SQS delivers the failed record again once SES has recovered: only the missing email goes.
    ses.fail_for = set()
    ses.sent.clear()
    assert invoke(sqs_event(available, ids=["a"])) == []
    assert [e.to for e in ses.sent] == [[B_STAFF[1]]]
    assert sorted(a["details"]["to"] for a in email_audits(available["transfer_id"])) == sorted(B_STAFF)


def test_malformed_record_fails_alone(subscribed: None, ses: SesRecorder) -> None:
    good = event_for("transfer.available")
    batch = sqs_event(
        "this is not json",
        good,
        json.dumps({"type": "transfer.available"}),
        json.dumps({"type": "transfer.available", "transfer_id": "x", "recipients": [SCHOOL_B]}),
        ids=["bad-json", "good", "no-id", "no-fields"],
    )

    failed = invoke(batch)

    assert failed == ["bad-json", "no-id", "no-fields"]
    assert sorted(a for e in ses.sent for a in e.to) == sorted(B_STAFF)


def test_unknown_event_type_is_skipped_not_retried(subscribed: None, ses: SesRecorder) -> None:
    event = {
        **event_for("transfer.available"),
        "type": "transfer.archived",
        "event_id": "x:transfer.archived",
    }

    assert invoke(sqs_event(event)) == []
    assert ses.calls == 0


def test_a_fresh_sending_lease_makes_the_record_wait(subscribed: None, ses: SesRecorder) -> None:
    event = event_for("transfer.available")
    # Another delivery of the same message is sending to this address right now.
    assert subscriptions.claim_send(event["event_id"], B_STAFF[0]).outcome == "claimed"

    assert invoke(sqs_event(event, ids=["m"])) == ["m"]
    assert [e.to for e in ses.sent] == [[B_STAFF[1]]]


def test_a_stale_sending_lease_is_taken_over(subscribed: None, ses: SesRecorder) -> None:
    event = event_for("transfer.available")
    # An invocation claimed the send and then died (timeout) before sending.
    long_ago = clock.now() - subscriptions.SENDING_LEASE * 2
    assert subscriptions.claim_send(event["event_id"], B_STAFF[0], now=long_ago).outcome == "claimed"

    assert invoke(sqs_event(event)) == []
    assert sorted(a for e in ses.sent for a in e.to) == sorted(B_STAFF)


def test_logs_carry_no_addresses(subscribed: None, ses: SesRecorder, caplog: pytest.LogCaptureFixture) -> None:
    ses.fail_for = {B_STAFF[1]}

    with caplog.at_level(logging.INFO):
        invoke(sqs_event(event_for("transfer.available"), "{broken"))

    records = [r for r in caplog.records if r.name == "s2s"]
    assert {"notified", "email not sent", "malformed event"} <= {r.getMessage() for r in records}
    formatter = logging.Formatter()
    for record in records:
        everything = json.dumps(vars(record), default=str)
        if record.exc_info:
            everything += formatter.formatException(record.exc_info)
        assert "@" not in everything, record.getMessage()


# ---------------------------------------------------------------------------- the real queues


def _lambda_records(messages: list[dict[str, Any]]) -> dict[str, Any]:
    records = []
    for m in messages:
        attrs = {
            k: {
                "stringValue": v.get("StringValue"),
                "dataType": v.get("DataType", "String"),
                "stringListValues": [],
                "binaryListValues": [],
            }
            for k, v in m.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
                "messageAttributes": attrs,
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-2:123456789012:s2s-NotifyQueue",
                "awsRegion": "eu-west-2",
            }
        )
    return {"Records": records}


def _poll(aws: Any, queue: str) -> Iterator[list[str]]:
    """Act as the Lambda event source mapping: receive, invoke, delete what succeeded; failed
    messages become visible again at once (visibility timeout 0) so each pass is a new receive."""
    sqs = boto3.client("sqs", region_name="eu-west-2")
    url = aws.queue_urls[queue]
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        failed = invoke(_lambda_records(messages)) if messages else []
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        yield failed


def _queue_bodies(aws: Any, queue: str) -> list[str]:
    sqs = boto3.client("sqs", region_name="eu-west-2")
    messages = sqs.receive_message(QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    return [m["Body"] for m in messages]


def test_malformed_message_ends_in_the_dead_letter_queue(aws: Any, ses: SesRecorder) -> None:
    sqs = boto3.client("sqs", region_name="eu-west-2")
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=aws.queue_urls["NotifyQueue"], AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    limit = int(redrive["maxReceiveCount"])
    sqs.send_message(QueueUrl=aws.queue_urls["NotifyQueue"], MessageBody="{not json")

    attempts = 0
    for failed in _poll(aws, "NotifyQueue"):
        if not failed:
            break
        attempts += 1
        assert attempts <= limit + 1, "the message loops instead of going to the DLQ"

    assert attempts == limit
    assert _queue_bodies(aws, "NotifyDeadLetterQueue") == ["{not json"]
    assert _queue_bodies(aws, "NotifyQueue") == []
    assert ses.calls == 0


def test_event_published_through_sns_reaches_subscribers(subscribed: None, aws: Any, ses: SesRecorder) -> None:
    """The whole path: events.publish -> TransferEvents (raw delivery) -> NotifyQueue -> handler."""
    event = event_for("transfer.available")
    put = outbox_put(event)["Put"]  # as the transaction that made the change would
    boto3.client("dynamodb").put_item(TableName=put["TableName"], Item=put["Item"])
    assert events.publish(event) is True

    failed_passes = next(_poll(aws, "NotifyQueue"))

    assert failed_passes == []
    assert sorted(a for e in ses.sent for a in e.to) == sorted(B_STAFF)
    assert _queue_bodies(aws, "NotifyQueue") == []
