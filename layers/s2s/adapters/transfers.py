"""The transfers repository: each transfer's item, its audit trail, and the indexes that list
transfers. Every change of state is one TransactWriteItems: the conditional write of the transfer,
its audit event, its outbox event (`s2s.adapters.events`) and its report counters
(`s2s.adapters.counters`), so a change is never half done and never counted twice.

The one DynamoDB table holds every aggregate (PK / SK):
- `T#<id>` / `META`: the transfer (here). Indexes:
  GSI1 `TO#<recipient org>` (inbox, from `available` on; `TO#LPD` for unclaimed LPD files),
  GSI2 `FROM#<sender org>` (outbox, from creation),
  GSI3 `LA#<sender's LA>` (LA view, from creation),
  GSI4 `LA#<recipient's LA>` when it differs from the sender's (from `available` on), or
       `UPN#<upn>` for an LPD file (the Lost Pupils Database search),
  GSI5 `EXPDAY#<yyyy-mm-dd>` while the transfer can still expire (the expiry sweep's work list),
  GSI6 `UNDL#<recipient's LA>` while a received file is `available` (the undownloaded report).
- `T#<id>` / `A#<at>#<n>-<random>`: audit events (state changes, downloads, emails), here too.
  They outlive the file.
- `T#<id>` / `OUTBOX#<type>`: unsent events (`s2s.adapters.events`).
- `CNT#<scope>` / `D#<yyyy-mm-dd>`: report counters (`s2s.adapters.counters`).
- `ORG#<org>` / `PROFILE`: organisation names (`s2s.adapters.organisations`); `ORG#<org>` /
  `SUB#<email>` and `SENT#<event>` / `<email>`: subscribers and sent emails
  (`s2s.adapters.subscriptions`).
- `QUOTA#<org>` / `D#<day>`: uploads started per organisation per day (`s2s.adapters.quotas`),
  and secure messages sent (`s2s.adapters.messages`).
- `MSG#<id>` / `MSG`: a secure message (`s2s.adapters.messages`), listed under partitions of its
  own in GSI1-GSI5 (`MSGTO#`, `MSGFROM#`, `MSGTHREAD#`, `MSGXFER#`, `MSGUNREAD#`).
- `SWEEP` / `STATE`: the day of the last completed expiry sweep (here).
- `LRS#...`: the LRS call audit (`s2s.adapters.lrs_audit`).

Which statuses a change may be written over is never the caller's to say: `commit_change` takes
it from the state machine (`s2s.domain.transfers.allowed_from`), so an illegal move cannot be
written.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s2s.adapters import counters, dynamo
from s2s.adapters.events import outbox_put
from s2s.domain import clock
from s2s.domain.principal import Principal
from s2s.domain.transfers import PENDING_EXPIRY_GRACE, TERMINAL, CounterDeltas, Transfer, allowed_from

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_counter = itertools.count()
META = "META"


class TransitionConflict(Exception):
    """The transfer was not in a state that allows this change (someone else got there first)."""


class ExtraConditionFailed(Exception):
    """One of the extra items of a transaction (for example the daily quota) refused it."""


def key(transfer_id: str) -> dynamo.RawItem:
    return dynamo.key(f"T#{transfer_id}", META)


# ---------------------------------------------------------------------------- the item


def index_keys(t: Transfer) -> dict[str, str | None]:
    """The GSI attributes this transfer should carry in its current state (None = absent)."""
    keys: dict[str, str | None] = {
        "GSI1PK": None,
        "GSI1SK": None,
        "GSI2PK": f"FROM#{t.source}",
        "GSI2SK": f"{t.created_at}#{t.transfer_id}",
        "GSI3PK": f"LA#{t.source_la}",
        "GSI3SK": f"{t.created_at}#{t.transfer_id}",
        "GSI4PK": None,
        "GSI4SK": None,
        "GSI5PK": None,
        "GSI5SK": None,
        "GSI6PK": None,
        "GSI6SK": None,
    }
    if t.available_at is not None:
        keys["GSI1PK"] = "TO#LPD" if t.is_lpd else f"TO#{t.recipient_org}"
        keys["GSI1SK"] = f"{t.available_at}#{t.transfer_id}"
        if t.dest_la and t.dest_la != t.source_la and not t.is_lpd:
            keys["GSI4PK"] = f"LA#{t.dest_la}"
            keys["GSI4SK"] = f"{t.available_at}#{t.transfer_id}"
    if t.status == "available" and t.available_at is not None and t.dest_la and not t.is_lpd:
        keys["GSI6PK"] = f"UNDL#{t.dest_la}"
        keys["GSI6SK"] = f"{t.available_at}#{t.transfer_id}"
    if t.is_lpd and t.upn and t.status not in ("pending_upload", "rejected"):
        keys["GSI4PK"] = f"UPN#{t.upn}"
        keys["GSI4SK"] = f"{t.available_at or t.created_at}#{t.transfer_id}"
    if t.status not in TERMINAL:
        due = (
            clock.parse(t.upload_expires_at) + PENDING_EXPIRY_GRACE
            if t.status == "pending_upload"
            else clock.parse(t.expires_at)
        )
        keys["GSI5PK"] = f"EXPDAY#{clock.day(due)}"
        keys["GSI5SK"] = f"{clock.iso(due)}#{t.transfer_id}"
    return keys


def transfer_item(t: Transfer) -> dict[str, Any]:
    """The item of `t` as plain values (None attributes are left out when it is written)."""
    data = t.to_dict()
    data.update({k: v for k, v in index_keys(t).items() if v is not None})
    data.update({"PK": f"T#{t.transfer_id}", "SK": META, "kind": "transfer"})
    return data


def get_transfer(transfer_id: str, *, consistent: bool = True) -> Transfer | None:
    if not transfer_id or len(transfer_id) > 64:
        return None
    item = dynamo.get(key(transfer_id), consistent=consistent)
    return Transfer.from_dict(item) if item else None


# ---------------------------------------------------------------------------- audit


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit trail. `system` for the landing check and the sweep."""

    user: str
    org: str
    source_ip: str = ""
    user_agent: str = ""
    email: str = ""

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(user=name, org="S2S")

    @classmethod
    def of(cls, principal: Principal, origin: dict[str, str]) -> Actor:
        """A signed-in caller, from the address and browser the request came from."""
        return cls(
            user=principal.user_id,
            org=principal.org,
            email=principal.email or "",
            source_ip=origin.get("source_ip", ""),
            user_agent=origin.get("user_agent", ""),
        )


def _audit_item(transfer_id: str, action: str, actor: Actor, at: str, details: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "PK": f"T#{transfer_id}",
        # Sorted by time, then by this container's counter; the random part keeps two containers
        # that write for the same transfer in the same microsecond from overwriting each other.
        "SK": f"A#{at}#{next(_counter) % 1_000_000:06d}-{secrets.token_hex(8)}",
        "kind": "audit",
        "action": action,
        "at": at,
        "actor_user": actor.user,
        "actor_org": actor.org,
        "actor_email": actor.email,
        "source_ip": actor.source_ip,
        "user_agent": actor.user_agent,
        "details": json.dumps(details or {}, sort_keys=True),
    }


def audit_put(
    transfer_id: str, action: str, actor: Actor, at: str, details: dict[str, Any] | None = None
) -> TransactWriteItemTypeDef:
    """An audit event, for a transaction."""
    return dynamo.put_op(_audit_item(transfer_id, action, actor, at, details))


def write_audit(transfer_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> None:
    """An audit event outside a state change (for example an email sent)."""
    dynamo.put(_audit_item(transfer_id, action, actor, clock.now_iso(), details))


def audit_events(transfer_id: str) -> list[dict[str, Any]]:
    """The transfer's audit trail, oldest first."""
    items = dynamo.query("PK = :pk AND begins_with(SK, :a)", {":pk": f"T#{transfer_id}", ":a": "A#"})
    return [
        {
            "action": data["action"],
            "at": data["at"],
            "actor_user": data["actor_user"],
            "actor_org": data["actor_org"],
            "actor_email": data.get("actor_email", ""),
            "source_ip": data.get("source_ip", ""),
            "user_agent": data.get("user_agent", ""),
            "details": json.loads(data.get("details") or "{}"),
        }
        for data in items
    ]


# ---------------------------------------------------------------------------- changes


def create_transfer(
    t: Transfer, actor: Actor, details: dict[str, Any] | None = None, extra: Iterable[TransactWriteItemTypeDef] = ()
) -> None:
    """Put a new transfer with its first audit event and any `extra` conditional items."""
    try:
        dynamo.transact(
            [
                dynamo.put_op(transfer_item(t), condition="attribute_not_exists(PK)"),
                audit_put(t.transfer_id, "created", actor, t.created_at, details),
                *extra,
            ]
        )
    except dynamo.TransactionCancelled as exc:
        if exc.failed_after(2):
            raise ExtraConditionFailed(t.transfer_id) from exc
        raise


def commit_change(
    before: Transfer,
    after: Transfer,
    *,
    action: str,
    actor: Actor,
    at: str,
    deltas: CounterDeltas | None = None,
    event: dict[str, Any] | None = None,
    audit_details: dict[str, Any] | None = None,
    extra_condition: str | None = None,
    extra_values: dict[str, Any] | None = None,
) -> None:
    """Write `after` over `before` in one transaction with its audit event, outbox event and
    counters, on condition that the stored status is one the state machine allows this change
    from and the version is the one we read (so two racing changes cannot both win). Raises
    TransitionConflict otherwise, IllegalTransition for a change the state machine does not have."""
    statuses = allowed_from(action, after.status)
    after.version = before.version + 1
    values: dict[str, Any] = {f":s{i}": s for i, s in enumerate(statuses)}
    placeholders = ", ".join(values)
    values[":v"] = before.version
    condition = f"#status IN ({placeholders}) AND (attribute_not_exists(version) OR version = :v)"
    if extra_condition:
        condition += f" AND ({extra_condition})"
        values.update(extra_values or {})
    items: list[TransactWriteItemTypeDef] = [
        dynamo.put_op(transfer_item(after), condition=condition, names={"#status": "status"}, values=values),
        audit_put(after.transfer_id, action, actor, at, audit_details),
    ]
    if event is not None:
        items.append(outbox_put(event))
    if deltas is not None:
        items.extend(counters.updates(deltas))
    try:
        dynamo.transact(items)
    except dynamo.TransactionCancelled as exc:
        if exc.failed(0):
            raise TransitionConflict(after.transfer_id) from exc
        raise


def record_download(t: Transfer, actor: Actor, at: str) -> None:
    """A download receipt (audit event), on condition that the file is still live and unexpired.
    Receipts are audit events only, so parallel downloads never contend on the transfer item.
    Raises TransitionConflict when the file is no longer live."""
    try:
        dynamo.transact(
            [
                dynamo.check_op(
                    key(t.transfer_id),
                    "#status IN (:a, :d) AND expires_at > :now",
                    names={"#status": "status"},
                    values={":a": "available", ":d": "downloaded", ":now": at},
                ),
                audit_put(
                    t.transfer_id,
                    "downloaded",
                    actor,
                    at,
                    {"source_ip": actor.source_ip, "user_agent": actor.user_agent},
                ),
            ]
        )
    except dynamo.TransactionCancelled as exc:
        raise TransitionConflict(t.transfer_id) from exc


# ---------------------------------------------------------------------------- lists


@dataclass(frozen=True, slots=True)
class Listed:
    """A transfer met in an index, with its sort key there and the position just after it."""

    transfer: Transfer
    sort_key: str
    position: dynamo.RawItem


def box_partitions(box: str, org: str, la: str | None) -> list[tuple[str, str]]:
    """The index partitions that make up a list: (index, partition key)."""
    if box == "inbox":
        return [("GSI1", f"TO#{org}")]
    if box == "outbox":
        return [("GSI2", f"FROM#{org}")]
    return [("GSI3", f"LA#{la}"), ("GSI4", f"LA#{la}")]


def is_position(position: Any, index: str, pk: str) -> bool:
    """A cursor position is one we wrote: nothing yet, the end, or a start key in this partition."""
    if position is None or position == "done":
        return True
    names = {"PK", "SK", f"{index}PK", f"{index}SK"}
    if not isinstance(position, dict) or set(position) != names:
        return False
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in position.values()):
        return False
    return bool(position[f"{index}PK"]["S"] == pk)


def newest_first(index: str, pk: str, start: dynamo.RawItem | None, page: int) -> Iterator[Listed]:
    """Every transfer under one index partition, newest first, from just after `start`, read a
    page of `page` at a time as the caller goes."""
    for item in dynamo.query(
        "#pk = :pk",
        {":pk": pk},
        index=index,
        names={"#pk": f"{index}PK"},
        newest_first=True,
        page_size=page,
        start=start,
    ):
        yield Listed(Transfer.from_dict(item), str(item[f"{index}SK"]), dynamo.start_key(item, index))


def _in_index(index: str, pk: str, *, sk_to: str | None = None, newest: bool = False) -> Iterator[Transfer]:
    names = {"#pk": f"{index}PK"}
    values = {":pk": pk}
    condition = "#pk = :pk"
    if sk_to is not None:
        names["#sk"] = f"{index}SK"
        values[":b"] = sk_to
        condition += " AND #sk <= :b"
    for item in dynamo.query(condition, values, index=index, names=names, newest_first=newest, page_size=100):
        yield Transfer.from_dict(item)


def due_on(day: str, until: str | None = None) -> Iterator[Transfer]:
    """The transfers that fall due (expire) on `day`, up to the moment `until` when given."""
    return _in_index("GSI5", f"EXPDAY#{day}", sk_to=until + "\uffff" if until is not None else None)


def lost_pupil_files(upn: str) -> Iterator[Transfer]:
    """Lost Pupils Database files for this UPN, newest first."""
    return _in_index("GSI4", f"UPN#{upn}", newest=True)


def undownloaded(la: str, received_by: str, start: dynamo.RawItem | None, page: int) -> Iterator[tuple[Listed, bool]]:
    """Files addressed to the LA and its schools that are `available` and were received up to
    `received_by`, oldest first, each with whether anything may follow it."""
    pages = dynamo.query_pages(
        "GSI6PK = :pk AND GSI6SK <= :cut",
        {":pk": f"UNDL#{la}", ":cut": received_by + counters.SK_END},
        index="GSI6",
        page_size=page,
        start=start,
    )
    for current in pages:
        for n, item in enumerate(current.items):
            more = n < len(current.items) - 1 or current.last_key is not None
            listed = Listed(Transfer.from_dict(item), str(item["GSI6SK"]), dynamo.start_key(item, "GSI6"))
            yield listed, more


# ---------------------------------------------------------------------------- the sweep's watermark


def last_sweep_day() -> str | None:
    item = dynamo.get(dynamo.key("SWEEP", "STATE"), consistent=False)
    return str(item["day"]) if item and "day" in item else None


def record_sweep_day(day: str) -> None:
    dynamo.update(dynamo.key("SWEEP", "STATE"), "SET #d = :d", names={"#d": "day"}, values={":d": day})
