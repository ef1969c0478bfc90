"""The bases of every contract (pydantic v2), and the one way a refusal becomes a 422.

- `Model`: an answer or an event. Keys outside the model are dropped, so an answer never carries
  more than the OpenAPI document shows.
- `RequestModel`: a request body. Unknown fields are refused rather than dropped, so a typo never
  silently loses data.

pydantic reports every field that breaks a rule at once; `problems()` turns its errors into the
details of docs/SERVICE.md §5, `{"field", "reason", "message"}`, one per bad field, where `reason`
is pydantic's error type (`missing`, `extra_forbidden`, `int_parsing`, `string_too_long`,
`value_error`, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from s2s.domain.errors import InvalidRequest

# Where a request's value came from, as Powertools' validation names it; not part of a field's name.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    # pydantic reads a number (or "0") as a Unix time; a day is written YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date), Field(description="YYYY-MM-DD")]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """`data` (a dict, or anything JSON-like) as this model, or 422 naming every bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise refusal(exc.errors()) from None

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The model as builtins (dates stay `date`); None fields left out on request."""
        return self.model_dump(exclude_none=exclude_none)


class RequestModel(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts) or "body"


def problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One detail per problem pydantic found, in its order; a JSON syntax error is one detail."""
    details: list[dict[str, str]] = []
    for error in errors:
        reason = str(error.get("type") or "invalid")
        if reason == "json_invalid":
            return [{"field": "body", "reason": "json_invalid", "message": "is not valid JSON"}]
        message = str(error.get("msg") or "is not valid")
        if reason == "value_error":
            message = message.removeprefix("Value error, ")
        details.append({"field": _field(error.get("loc") or ()), "reason": reason, "message": message})
    return details


def refusal(errors: Iterable[Mapping[str, Any]]) -> InvalidRequest:
    """The 422 for a refused input, naming every bad field in `details` and the first few in the sentence."""
    details = problems(errors)
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return InvalidRequest(f"The request is not valid: {text}", details=details)


__all__ = ["IsoDate", "Model", "RequestModel", "problems", "refusal"]
