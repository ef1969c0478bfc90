"""Small factories shared by the tests: API Gateway v2 events, DfE Sign-in claims, handler calls."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parents[1] / "events"

LA_NAMES = {"823": "Central Bedfordshire", "201": "City of London", "330": "Birmingham", "873": "Cambridgeshire"}


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())  # type: ignore[no-any-return]


def sample_event(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event from tests/events/."""
    return copy.deepcopy(_sample(name))


def school_claims(
    laestab: str, *, email: str | None = None, sub: str | None = None, name: str | None = None
) -> dict[str, Any]:
    la, estab = laestab[:3], laestab[3:]
    org = {
        "id": f"org-{laestab}",
        "name": name or f"School {laestab}",
        "category": {"id": "001", "name": "Establishment"},
        "urn": "100000",
        "establishmentNumber": estab,
        "localAuthority": {"id": f"la-{la}", "name": LA_NAMES.get(la, f"LA {la}"), "code": la},
        "status": {"id": 1, "name": "Open"},
    }
    return {
        "sub": sub or f"user-{laestab}",
        "email": email or f"office@{laestab}.school.example",
        "organisation": json.dumps(org),
    }


def la_claims(la: str, *, email: str | None = None, sub: str | None = None) -> dict[str, Any]:
    org = {
        "id": f"org-la-{la}",
        "name": LA_NAMES.get(la, f"LA {la}"),
        "category": {"id": "002", "name": "Local Authority"},
        "establishmentNumber": None,
        "localAuthority": {"id": f"la-{la}", "name": LA_NAMES.get(la, f"LA {la}"), "code": la},
    }
    return {
        "sub": sub or f"user-la-{la}",
        "email": email or f"data@la{la}.gov.example",
        "organisation": json.dumps(org),
    }


def dfe_claims() -> dict[str, Any]:
    org = {"id": "org-dfe", "name": "Department for Education", "category": {"id": "011", "name": "Government"}}
    return {"sub": "user-dfe", "email": "analyst@education.gov.example", "organisation": json.dumps(org)}


def http_event(
    method: str,
    path: str,
    *,
    claims: dict[str, Any] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    raw_body: str | None = None,
    source_ip: str = "198.51.100.7",
    user_agent: str = "pytest",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event as the JWT authorizer passes it on."""
    event = sample_event("http_api_request.json")
    route_path = path
    if path_params:
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", value)
    event["routeKey"] = f"{method} {route_path}"
    event["rawPath"] = path
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event["queryStringParameters"] = query or None
    event["pathParameters"] = path_params or None
    event["requestContext"]["http"].update(
        {"method": method, "path": path, "sourceIp": source_ip, "userAgent": user_agent}
    )
    event["requestContext"]["routeKey"] = event["routeKey"]
    if claims is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    else:
        event.pop("body", None)
    event["headers"]["user-agent"] = user_agent
    return event


class FakeContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


def call(handler: Any, method: str, path: str, **kwargs: Any) -> Reply:
    """Invoke a Lambda handler with an HTTP API event and decode the answer."""
    response = handler(http_event(method, path, **kwargs), FakeContext())
    assert isinstance(response.get("body", ""), str), "a Lambda proxy answer's body is text"
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    body: Any = response.get("body")
    if body and headers.get("content-type", "").startswith("application/json"):
        body = json.loads(body)
    return Reply(response["statusCode"], body, headers)
