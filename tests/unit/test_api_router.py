"""s2s.runtime.http.Api, Powertools' resolver as every API function uses it, on its own: typed parameters and
bodies, the one error map, and what an answer looks like on the wire."""

from __future__ import annotations

import base64
import json
import logging
from typing import Annotated, Any

import pytest
from pydantic import Field
from s2s.contracts.base import IsoDate, Model, RequestModel
from s2s.domain import errors
from s2s.runtime.http import MAX_BODY_BYTES, Api, Body, Path, Query, Response
from support.helpers import FakeContext, http_event, school_claims

pytestmark = pytest.mark.unit


class Item(RequestModel):
    name: Annotated[str, Field(min_length=1)]
    size: Annotated[int, Field(strict=True, ge=1)] = 1


class Answer(Model):
    id: str
    size: int


ItemId = Annotated[str, Field(max_length=8)]
app = Api()


@app.get("/items")
def list_items(
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    day: Annotated[IsoDate | None, Query(alias="from")] = None,
) -> dict[str, Any]:
    return {"limit": limit, "from": str(day)}


@app.post("/items/<id>")
def put_item(id: Annotated[ItemId, Path()], item: Annotated[Item, Body()]) -> Response[Answer]:
    answer = Answer.model_validate({"id": id, "size": item.size, "extra": "dropped"})
    return Response(status_code=201, content_type="application/json", body=answer)


@app.get("/broken/<id>")
def broken(id: Annotated[ItemId, Path()]) -> Answer:
    return {"id": id}  # type: ignore[return-value]  # breaks its model on purpose


@app.get("/unencodable")
def unencodable() -> dict[str, Any]:
    return {"value": object()}


@app.delete("/items/<id>")
def remove(id: Annotated[ItemId, Path()]) -> Response[None]:
    if id == "busy":
        raise errors.Throttled("Slow down.", retry_after=30)
    if id == "boom":
        raise RuntimeError("secret internals")
    return Response(status_code=204)


@app.get("/me")
def me() -> dict[str, Any]:
    return {"org": app.principal.org, **app.origin}


def invoke(method: str, path: str, *, base64_body: bool = False, **kwargs: Any) -> tuple[int, dict[str, str], str]:
    kwargs.setdefault("claims", school_claims("8231234"))
    event = http_event(method, path, **kwargs)
    event["isBase64Encoded"] = base64_body
    response = app.resolve(event, FakeContext())
    return response["statusCode"], response.get("headers") or {}, response["body"]


def test_query_parameters_are_converted_from_strings_and_renamed() -> None:
    status, _, body = invoke("GET", "/items", query={"limit": "7", "from": "2026-03-01"})
    assert status == 200
    assert json.loads(body) == {"limit": 7, "from": "2026-03-01"}


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"limit": "0"}, "limit", "greater_than_equal"),
        ({"limit": "x"}, "limit", "int_parsing"),
        ({"from": "0"}, "from", "value_error"),  # not a Unix time
        ({"from": "2026-02-30"}, "from", "date_from_datetime_parsing"),
        ({"from": "null"}, "from", "value_error"),  # the text null is not "not given"
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(query: dict[str, str], field: str, reason: str) -> None:
    status, _, body = invoke("GET", "/items", query=query)
    reply = json.loads(body)
    assert (status, reply["error"]) == (422, "validation_error")
    assert [(d["field"], d["reason"]) for d in reply["details"]] == [(field, reason)]


def test_every_bad_parameter_is_named_at_once() -> None:
    status, _, body = invoke("GET", "/items", query={"limit": "x", "from": "y"})
    assert status == 422
    assert [d["field"] for d in json.loads(body)["details"]] == ["limit", "from"]


def test_a_path_parameter_and_body_are_typed_and_the_answer_is_checked_against_its_model() -> None:
    status, headers, body = invoke("POST", "/items/{id}", path_params={"id": "a1"}, body={"name": "n", "size": 3})
    assert status == 201 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"id": "a1", "size": 3}  # keys outside the model are not sent


def test_an_unknown_route_is_a_404_in_the_error_shape() -> None:
    status, _, body = invoke("GET", "/nowhere")
    assert (status, json.loads(body)) == (
        404,
        {"error": "not_found", "message": "There is no such route.", "details": []},
    )


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"size": 3}, "name", "missing"),
        ({"name": "n", "colour": "red"}, "colour", "extra_forbidden"),
        ({"name": "n", "size": "3"}, "size", "int_type"),  # JSON types are strict: "3" is not 3
        ({"name": ""}, "name", "string_too_short"),
        ([None, None], "body", "model_attributes_type"),
        ([{"name": "n"}], "body", "model_attributes_type"),  # not read as its first item
    ],
)
def test_bad_bodies_are_422_naming_the_field(body: Any, field: str, reason: str) -> None:
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"}, body=body)
    reply = json.loads(text)
    assert (status, reply["error"]) == (422, "validation_error")
    assert (reply["details"][0]["field"], reply["details"][0]["reason"]) == (field, reason)
    assert field in reply["message"]


def test_every_bad_field_of_a_body_and_its_path_is_named() -> None:
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "much-too-long"}, body={"name": 1, "size": 0})
    assert status == 422
    assert sorted(d["field"] for d in json.loads(text)["details"]) == ["id", "name", "size"]


@pytest.mark.parametrize("raw", ["{", b"\xff\xfe".decode("latin-1"), "not json"])
def test_text_that_is_not_json_is_a_422_json_invalid(raw: str) -> None:
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=raw)
    assert status == 422
    assert json.loads(text)["details"] == [{"field": "body", "reason": "json_invalid", "message": "is not valid JSON"}]


def test_a_base64_body_is_decoded_and_bytes_that_are_not_utf8_are_refused() -> None:
    good = base64.b64encode(b'{"name": "n", "size": 2}').decode()
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=good, base64_body=True)
    assert (status, json.loads(text)) == (201, {"id": "a1", "size": 2})
    bad = base64.b64encode(b'{"name": "\xff"}').decode()
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=bad, base64_body=True)
    assert (status, json.loads(text)["details"][0]["reason"]) == (422, "json_invalid")


def test_a_missing_body_is_a_422() -> None:
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"})
    assert status == 422
    assert [(d["field"], d["reason"]) for d in json.loads(text)["details"]] == [("body", "missing")]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_in_another_media_type_is_a_415(content_type: str) -> None:
    event = http_event("POST", "/items/{id}", claims=school_claims("8231234"), path_params={"id": "a1"}, body={})
    event["headers"]["content-type"] = content_type
    response = app.resolve(event, FakeContext())
    assert response["statusCode"] == 415
    assert json.loads(response["body"])["error"] == "unsupported_media_type"


def test_json_media_types_with_parameters_or_suffixes_are_read() -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        event = http_event(
            "POST", "/items/{id}", claims=school_claims("8231234"), path_params={"id": "a1"}, body={"name": "n"}
        )
        event["headers"]["Content-Type"] = content_type
        assert app.resolve(event, FakeContext())["statusCode"] == 201


def test_bodies_over_the_limit_are_413_counted_in_bytes_before_parsing() -> None:
    at_limit = "é" * (MAX_BODY_BYTES // 2)  # two bytes each: exactly the limit
    status, _, _ = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=at_limit)
    assert status == 422  # read (and refused as not JSON), not 413
    status, _, text = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=at_limit + "é")
    assert (status, json.loads(text)["error"]) == (413, "body_too_large")
    encoded = base64.b64encode(b"x" * (MAX_BODY_BYTES + 3)).decode()
    status, _, _ = invoke("POST", "/items/{id}", path_params={"id": "a1"}, raw_body=encoded, base64_body=True)
    assert status == 413


def test_a_204_has_no_body_and_no_media_type() -> None:
    status, headers, body = invoke("DELETE", "/items/{id}", path_params={"id": "a1"})
    assert (status, body) == (204, "")
    assert "content-type" not in {k.lower() for k in headers}


def test_domain_errors_carry_their_status_code_and_retry_after() -> None:
    status, headers, body = invoke("DELETE", "/items/{id}", path_params={"id": "busy"})
    assert (status, headers["Retry-After"], json.loads(body)["error"]) == (429, "30", "throttled")


def test_unexpected_errors_are_a_fixed_500_logged_with_the_stack(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="s2s"):
        status, _, body = invoke("DELETE", "/items/{id}", path_params={"id": "boom"})
    assert status == 500
    assert "secret internals" not in body and json.loads(body)["error"] == "internal_error"
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_an_answer_that_breaks_its_model_is_a_500_not_a_malformed_200() -> None:
    status, _, body = invoke("GET", "/broken/{id}", path_params={"id": "a1"})
    assert (status, json.loads(body)["error"]) == (500, "internal_error")


def test_an_answer_that_cannot_be_encoded_is_a_500_not_a_lambda_error() -> None:
    status, _, body = invoke("GET", "/unencodable")
    assert (status, json.loads(body)["error"]) == (500, "internal_error")


def test_the_caller_comes_from_the_authorizer_claims_and_no_claims_is_a_401() -> None:
    status, _, body = invoke("GET", "/me")
    assert status == 200 and json.loads(body)["org"] == "8231234"
    assert "source_ip" in json.loads(body)
    status, _, body = invoke("GET", "/me", claims=None)
    assert (status, json.loads(body)["error"]) == (401, "unauthorized")
