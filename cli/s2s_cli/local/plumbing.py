"""The event plumbing of the local stack, as AWS runs it: SQS pollers that invoke the queue
consumers in batches with Lambda's partial-failure semantics, and a timer for the scheduled
functions.

Lambda's SQS integration deletes the messages of a batch that succeeded and leaves the ones
reported in `batchItemFailures` (or the whole batch, when the function raises) to become visible
again after the queue's visibility timeout; SQS then moves a message to the dead-letter queue
once it has been received `maxReceiveCount` times. moto implements the redrive, so the pollers
only have to delete what succeeded."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s2s_cli.local.functions import Handler

log = logging.getLogger("local_stack")


@dataclass
class LambdaContext:
    """What the Powertools decorators read from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = ""

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-2:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class Workers:
    """Up to `size` execution environments of one function, as Lambda runs concurrent ones: each
    handles one event at a time, and a request that finds them all busy gets a new one (created
    by `load(index)`) until there are `size`, then waits for the first to come free."""

    def __init__(self, load: Callable[[int], Handler], size: int) -> None:
        if size < 1:
            raise ValueError("a function needs at least one worker")
        self._load = load
        self._size = size
        self._idle: queue.SimpleQueue[Handler] = queue.SimpleQueue()
        self._created = 0
        self._lock = threading.Lock()

    @property
    def created(self) -> int:
        return self._created

    def _take(self) -> Handler:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            index = self._created if self._created < self._size else None
            if index is not None:
                self._created += 1
        if index is None:
            return self._idle.get()
        try:
            return self._load(index)
        except BaseException:
            with self._lock:
                self._created -= 1
            raise

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        handler = self._take()
        try:
            return handler(event, context)
        finally:
            self._idle.put(handler)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS integration builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
                "messageAttributes": {
                    k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType", "String")}
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class Stoppable(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()


class QueuePoller(Stoppable):
    """Receives up to `batch_size` messages at a time and hands them to `invoke` as one event."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        function: str,
        invoke: Callable[[dict[str, Any], Any], Any],
        *,
        batch_size: int = 10,
        after_batch: Callable[[], object] | None = None,
        region: str = "eu-west-2",
    ) -> None:
        super().__init__(f"poller-{function}")
        self.sqs = sqs
        self.queue_url = queue_url
        self.function = function
        self.invoke = invoke
        self.batch_size = min(batch_size, 10)
        self.after_batch = after_batch
        self.region = region
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # a poller must outlive one bad batch, as the event source mapping does
                log.exception("poller %s failed", self.function)
                self.stopping.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Deliver one batch; returns how many messages it held."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            result = self.invoke(event, LambdaContext(self.function)) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("%s raised: the whole batch will be retried", self.function)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        if failed:
            log.warning("%s: %d of %d messages failed and will be retried", self.function, len(failed), len(messages))
        if self.after_batch:
            self.after_batch()
        return len(messages)


class ScheduleTimer(Stoppable):
    """Invokes a scheduled function every `seconds` with an EventBridge Scheduled Event."""

    def __init__(self, function: str, invoke: Handler, seconds: float) -> None:
        super().__init__(f"schedule-{function}")
        self.function = function
        self.invoke = invoke
        self.seconds = seconds

    def run(self) -> None:
        while not self.stopping.wait(self.seconds):
            try:
                self.invoke(scheduled_event(), LambdaContext(self.function))
            except Exception:
                log.exception("scheduled %s failed", self.function)


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-2",
        "resources": [],
        "detail": {},
    }
