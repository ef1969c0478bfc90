"""The base of every API model, and the one way input becomes a model.

Models are msgspec Structs: one declaration gives the validation (types, `Meta` constraints,
unknown fields refused), the encoding and the JSON Schema of the OpenAPI document. msgspec costs a
few milliseconds to import and nothing to define a model, where pydantic cost about 100 ms of every
API function's cold start (issue 10, docs/BENCHMARKS.md).

`parse` turns any refusal into `errors.InvalidRequest` (422 `validation_error`) whose details name
the field: `{"field", "reason", "message"}`. Rules a type cannot express live in a model's
`__post_init__`, which raises `Invalid` for the field it checks (not a ValueError: msgspec would
wrap that and lose the field name)."""

from __future__ import annotations

import re
from typing import Any, Self, TypeVar

import msgspec

from s2s.errors import InvalidRequest

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"field `(?P<name>[^`]+)`")


class Invalid(Exception):
    """One or more fields broke a rule `__post_init__` checks: `[(field, reason, message)]`."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, _, message in problems))
        self.problems = problems


class Model(msgspec.Struct, kw_only=True):
    """An API model: keyword-only fields, so defaults may come before required ones."""

    @classmethod
    def parse(cls, data: Any) -> Self:
        """`data` (a dict, or anything JSON-like) as this model, or 422 naming the fields."""
        return convert(data, cls)

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The model as builtins (dates stay `date`); None fields left out on request."""
        values = {name: getattr(self, name) for name in self.__struct_fields__}
        return {k: v for k, v in values.items() if v is not None} if exclude_none else values


def _reason(message: str) -> str:
    if message.startswith("Object missing required field"):
        return "missing"
    if message.startswith("Object contains unknown field"):
        return "extra_forbidden"
    if message.startswith("Invalid enum value"):
        return "enum"
    if message.startswith("Invalid"):  # e.g. "Invalid RFC3339 encoded date"
        return "invalid_format"
    if " got `" in message:
        return "type"
    if message.startswith("Expected"):
        return "constraint"
    return "invalid"


def _field(path: str, message: str) -> str:
    parts = [p for p in re.split(r"\.|\[|\]", path or "") if p]
    named = _NAMED.search(message)
    if named and _reason(message) in ("missing", "extra_forbidden"):
        parts.append(named.group("name"))
    return ".".join(parts) or "body"


def refusal(exc: msgspec.MsgspecError | Invalid | UnicodeDecodeError) -> InvalidRequest:
    """The 422 for a refused input, with one detail per problem."""
    if isinstance(exc, Invalid):
        details = [{"field": f, "reason": r, "message": m} for f, r, m in exc.problems]
    elif not isinstance(exc, msgspec.ValidationError):  # not JSON at all, or not UTF-8
        details = [{"field": "body", "reason": "json_invalid", "message": "is not valid JSON"}]
    else:
        match = _AT.match(str(exc))
        message = match.group("message") if match else str(exc)
        path = (match.group("path") if match else None) or ""
        details = [{"field": _field(path, message), "reason": _reason(message), "message": message}]
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return InvalidRequest(f"The request is not valid: {text}", details=details)


def convert(data: Any, kind: type[T], *, strict: bool = True) -> T:
    """`data` as `kind`, or 422. `strict=False` reads numbers and booleans from strings (query and
    path parameters arrive as strings)."""
    try:
        return msgspec.convert(data, kind, strict=strict)
    except (msgspec.ValidationError, Invalid) as exc:
        raise refusal(exc) from None


def decode_json(raw: bytes | str, kind: type[T]) -> T:
    """A JSON body as `kind` in one pass, or 422 (`json_invalid` for text that is not JSON)."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.MsgspecError, Invalid, UnicodeDecodeError) as exc:
        raise refusal(exc) from None


__all__ = ["Invalid", "Model", "convert", "decode_json", "refusal"]
