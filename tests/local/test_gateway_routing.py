"""The local API front answers a method and path the template does not declare as API Gateway HTTP
API does: 404 with the JSON body {"message": "Not Found"} before any authorizer or Lambda runs,
whatever the method (TRACE, CONNECT, HEAD, a made-up verb, or a real verb on the wrong path)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from localstack import SCHOOL_A, Stack

pytestmark = pytest.mark.local


def raw_request(stack: Stack, method: str, target: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """One request with the exact method and request target, which requests would normalise."""
    parts = urlsplit(stack.api)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    connection.request(method, target, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("TRACE", "/transfers"),
        ("TRACE", "/transfers/abc"),
        ("CONNECT", "/transfers"),
        ("PROPFIND", "/transfers"),
        # Declared paths, undeclared methods for them.
        ("PATCH", "/transfers"),
        ("PUT", "/transfers/abc"),
        ("DELETE", "/openapi.json"),
        ("POST", "/openapi.json"),
    ],
)
@pytest.mark.parametrize("signed_in", [False, True], ids=["no-token", "token"])
def test_an_undeclared_route_is_the_gateways_json_404(stack: Stack, method: str, path: str, signed_in: bool) -> None:
    # With or without a valid token: the gateway matches the route before it runs the authorizer.
    token = stack.school(SCHOOL_A) if signed_in else None
    reply = stack.call(method, path, token)
    assert reply.status_code == 404, (reply.status_code, reply.text)
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"message": "Not Found"}


def test_connect_in_authority_form_is_a_json_404(stack: Stack) -> None:
    # A proxy-style CONNECT (host:port as the target) is not a route either; it is not tunnelled.
    response = raw_request(stack, "CONNECT", "example.com:443", {})
    assert response.status == 404
    assert response.getheader("Content-Type") == "application/json"


def test_head_of_a_get_route_is_a_404_without_a_body(stack: Stack) -> None:
    # HTTP API routes match their declared method only; HEAD is not derived from GET.
    reply = stack.call("HEAD", "/transfers", stack.school(SCHOOL_A))
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(b'{"message": "Not Found"}')
    assert reply.content == b""


def test_declared_routes_still_reach_their_handlers(stack: Stack) -> None:
    assert stack.call("GET", "/transfers", stack.school(SCHOOL_A)).status_code == 200
    assert stack.call("GET", "/openapi.json").status_code == 200


def test_a_repeated_query_parameter_reaches_the_handler_joined_with_commas(stack: Stack) -> None:
    # API Gateway (payload 2.0) joins repeated values with commas; the last one must not win.
    token = stack.school(SCHOOL_A)
    assert stack.call("GET", "/transfers?box=outbox", token).status_code == 200
    reply = stack.call("GET", "/transfers?box=inbox&box=outbox", token)
    assert reply.status_code == 422
    assert reply.json()["details"][0]["field"] == "box"
