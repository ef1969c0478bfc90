"""Time in one place, so tests can move it. Timestamps are ISO 8601 UTC strings that sort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def iso(moment: datetime) -> str:
    # isoformat is C code; strftime was a fifth of an upload ticket's own time.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_iso() -> str:
    return iso(now())


def parse(value: str) -> datetime:
    if not value.endswith("Z"):
        raise ValueError(f"not a UTC timestamp: {value!r}")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def travel(delta: timedelta) -> None:
    """Move the service's clock (tests and the local stack's time-travel only)."""
    global _offset  # noqa: PLW0603 - one process-wide offset is the point
    _offset += delta


def reset() -> None:
    global _offset  # noqa: PLW0603
    _offset = timedelta(0)
