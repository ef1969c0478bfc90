"""The OpenAPI document is generated from the code, committed, served, and fails CI when it drifts."""

from __future__ import annotations

import json

import pytest
from s2s_cli import openapi
from s2s_cli.local.template import http_routes
from support.flows import upload_api
from support.helpers import call

pytestmark = pytest.mark.functional


def test_committed_document_matches_the_code():
    assert openapi.DOCUMENT.read_text() == openapi.render(), "run `make openapi` and commit the result"


def test_every_template_route_is_documented_with_the_error_body():
    document = json.loads(openapi.DOCUMENT.read_text())
    for route in http_routes():
        if route.path == "/openapi.json":
            continue
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["x-lambda-function"] == route.function
        assert operation["responses"]["403"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert operation["security"] == [{"bearer": []}]


def test_document_is_served_without_a_token(aws):
    reply = call(upload_api(), "GET", "/openapi.json", claims=None)
    assert reply.status == 200
    assert reply.body["openapi"].startswith("3.")
    assert "/transfers" in reply.body["paths"]
