"""The local stack's parts on their own: SQS pollers with Lambda's partial-failure semantics and
redrive to the dead-letter queue, the mail folder, route matching and the API Gateway payload."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from s2s_cli.local.mail import MailFolder
from s2s_cli.local.plumbing import QueuePoller
from s2s_cli.local.server import compile_routes, http_event, match_route
from s2s_cli.local.template import http_routes

pytestmark = pytest.mark.local

REGION = "eu-west-2"


@pytest.fixture
def sqs() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def queue_with_dlq(sqs: Any, max_receive: int = 2) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
        },
    )["QueueUrl"]
    return url, dlq


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_a_partial_failure_deletes_the_rest_and_the_failed_one_ends_in_the_dlq(sqs: Any) -> None:
    # Given three messages, one of which the function always reports as failed
    url, dlq = queue_with_dlq(sqs)
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    seen: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append([r["body"] for r in event["Records"]])
        assert context.function_name == "Consumer"
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
        }

    poller = QueuePoller(sqs, url, "Consumer", handler, batch_size=10, region=REGION)

    # When the poller delivers until the queue is empty
    for _ in range(5):
        poller.poll_once()

    # Then the good ones went once, the bad one was retried up to maxReceiveCount, then dead-lettered
    assert sorted(seen[0]) == ["bad", "good-1", "good-2"]
    assert [batch for batch in seen[1:] if batch] == [["bad"]]
    assert bodies(sqs, url) == []
    assert bodies(sqs, dlq) == ["bad"]


def test_a_function_that_raises_fails_the_whole_batch(sqs: Any) -> None:
    url, dlq = queue_with_dlq(sqs, max_receive=1)
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    calls = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(len(event["Records"]))
        raise RuntimeError("boom")

    after: list[int] = []
    poller = QueuePoller(sqs, url, "Consumer", handler, after_batch=lambda: after.append(1))
    assert poller.poll_once() == 2
    assert poller.poll_once() == 0
    assert calls == [2] and after == [1]
    assert bodies(sqs, dlq) == ["a", "b"]


def test_the_mail_folder_writes_each_sent_email_once(tmp_path: Path) -> None:
    from moto import mock_aws

    lines: list[str] = []
    with mock_aws():
        ses = boto3.client("ses", region_name=REGION)
        ses.verify_email_identity(EmailAddress="no-reply@s2s.test")
        folder = MailFolder(tmp_path / "mail", REGION, announce=lines.append)
        ses.send_email(
            Source="no-reply@s2s.test",
            Destination={"ToAddresses": ["office@8232345.school.example"]},
            Message={
                "Subject": {"Data": "A file is waiting"},
                "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<p>See the portal</p>"}},
            },
        )
        first = folder.collect()
        assert folder.collect() == []
    (path,) = first
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == "office@8232345.school.example" and message["Subject"] == "A file is waiting"
    assert "See the portal" in message.get_payload(decode=True).decode()
    assert lines == ["email to office@8232345.school.example: A file is waiting"]


@pytest.mark.parametrize(
    ("method", "path", "route_path", "params"),
    [
        ("GET", "/transfers", "/transfers", {}),
        ("GET", "/transfers/abc-123", "/transfers/{id}", {"id": "abc-123"}),
        ("POST", "/transfers/abc/download", "/transfers/{id}/download", {"id": "abc"}),
        ("POST", "/uln/learners/search", "/uln/learners/search", {}),
        ("PATCH", "/uln/learners/9276308686", "/uln/learners/{uln}", {"uln": "9276308686"}),
    ],
)
def test_routes_from_the_template_match_like_api_gateway(
    method: str, path: str, route_path: str, params: dict[str, str]
) -> None:
    found = match_route(compile_routes(http_routes()), method, path)
    assert found is not None
    route, got = found
    assert (route.path, got) == (route_path, params)


@pytest.mark.parametrize(("method", "path"), [("GET", "/transfers/a/b"), ("PUT", "/transfers"), ("GET", "/")])
def test_unknown_routes_do_not_match(method: str, path: str) -> None:
    assert match_route(compile_routes(http_routes()), method, path) is None


def test_the_event_has_the_http_api_payload_shape() -> None:
    route, params = match_route(compile_routes(http_routes()), "GET", "/transfers/t-1")  # type: ignore[misc]
    event = http_event(
        route,
        path="/transfers/t-1",
        query="box=inbox&x=",
        headers={"User-Agent": "ua", "X-A": "1"},
        body=b"",
        path_params=params,
        claims={"sub": "s"},
        source_ip="127.0.0.1",
    )
    sample = json.loads((Path(__file__).parents[1] / "events" / "http_api_request.json").read_text())
    assert set(sample) <= set(event) | {"body"}
    assert event["routeKey"] == "GET /transfers/{id}" and event["pathParameters"] == {"id": "t-1"}
    assert event["queryStringParameters"] == {"box": "inbox", "x": ""}
    assert event["headers"] == {"user-agent": "ua", "x-a": "1"}
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "s"}
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1" and "body" not in event
    binary = http_event(
        route, path="/x", query="", headers={}, body=b"\xff\xfe", path_params={}, claims=None, source_ip="127.0.0.1"
    )
    assert binary["isBase64Encoded"] is True and "authorizer" not in binary["requestContext"]


def test_serve_and_token_creating_the_key_at_once_agree_on_one_key(tmp_path: Path) -> None:
    import threading

    from s2s_cli.local import auth

    numbers: list[int] = []

    def create() -> None:
        numbers.append(auth.load_or_create_key(tmp_path).private_numbers().d)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 6 and len(set(numbers)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]
    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600


def _nodelay_after_setup(handler_class: type) -> int:
    """TCP_NODELAY on a real accepted connection after the handler class's own `setup()`."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()):
        connection, address = listener.accept()
        with connection:
            handler = handler_class.__new__(handler_class)
            handler.request, handler.client_address = connection, address
            handler.setup()
            value = connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            handler.rfile.close()
            handler.wfile.close()
            return value


def test_every_keep_alive_server_of_the_stack_sends_without_nagle_delay() -> None:
    """Each keep-alive HTTP server of the stack writes headers and body separately; with Nagle's
    algorithm on, the body waits for the peer's delayed ACK (40 ms) on every request: the API front,
    moto (every AWS call of a handler) and the fake LRS must all set TCP_NODELAY."""
    from moto.server import MotoRequestHandler
    from s2s_cli import fake_lrs
    from s2s_cli.local.server import _api_handler, no_nagle_in_moto

    no_nagle_in_moto()
    for handler_class in (_api_handler(None), MotoRequestHandler, fake_lrs._Handler):  # type: ignore[arg-type]
        assert _nodelay_after_setup(handler_class) == 1, handler_class
