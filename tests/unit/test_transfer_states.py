"""The transfer state machine as a table, without AWS: which status may follow which, what each
change does to the report counters, and who may see, download and remove a file in each state
(docs/SERVICE.md §4, §8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from s2s.domain.transfers import (
    IN_PLACE,
    STATUSES,
    TRANSITIONS,
    IllegalTransition,
    Status,
    allowed_from,
    can_download,
    can_see,
    claimed_for,
    counter_deltas,
    in_place,
    may_move,
    move,
    removal_status,
)
from support.factories import SCHOOL_A, SCHOOL_B, dfe, la, school, transfer

pytestmark = pytest.mark.unit

AT = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
TODAY, RECEIPT_DAY = "2026-06-03", "2026-06-01"

# (from, to): allowed? Every pair not listed is refused.
ALLOWED = {
    ("pending_upload", "available"),
    ("pending_upload", "rejected"),
    ("pending_upload", "withdrawn"),
    ("pending_upload", "expired"),
    ("available", "downloaded"),
    ("available", "withdrawn"),
    ("available", "removed"),
    ("available", "expired"),
    ("downloaded", "removed"),
    ("downloaded", "expired"),
}


@pytest.mark.parametrize("old", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_which_status_may_follow_which(old: Status, new: Status) -> None:
    assert may_move(old, new) == ((old, new) in ALLOWED)


def test_terminal_states_are_final_and_every_status_is_reachable() -> None:
    for terminal in ("withdrawn", "removed", "rejected", "expired"):
        assert not any(terminal in sources for sources in TRANSITIONS.values()), terminal
    assert set(TRANSITIONS) | {"pending_upload"} == set(STATUSES)


@pytest.mark.parametrize("old", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_a_move_the_table_does_not_have_cannot_be_made(old: Status, new: Status) -> None:
    t = transfer(status=old)
    if (old, new) in ALLOWED:
        after = move(t, new, ended_at="2026-06-03T10:00:00.000000Z")
        assert (after.status, after.ended_at, t.status) == (new, "2026-06-03T10:00:00.000000Z", old)
    else:
        with pytest.raises(IllegalTransition):
            move(t, new)


@pytest.mark.parametrize("new", STATUSES)
def test_the_store_writes_a_move_only_over_the_statuses_the_table_allows(new: Status) -> None:
    if new in TRANSITIONS:
        assert set(allowed_from(new, new)) == {old for old, to in ALLOWED if to == new}
    else:
        with pytest.raises(IllegalTransition):
            allowed_from(new, new)
    with pytest.raises(IllegalTransition):
        allowed_from("test_backdate", new)  # an action that is neither a move nor an in-place change


def test_changes_that_are_not_moves_are_made_only_in_their_own_states() -> None:
    assert IN_PLACE == {"expiring_reminder": ("available",), "claimed": ("available", "downloaded")}
    for change, statuses in IN_PLACE.items():
        assert allowed_from(change, "available") == statuses
        for status in STATUSES:
            if status in statuses:
                assert in_place(transfer(status=status), change).status == status
            else:
                with pytest.raises(IllegalTransition):
                    in_place(transfer(status=status), change)


def test_a_claim_readdresses_a_live_lost_pupils_file_and_makes_it_available_again() -> None:
    lpd = transfer(
        status="downloaded", destination="XXXXXXX", dest_kind="lpd_unknown", dest_la=None, recipient_org="LPD"
    )
    after = claimed_for(lpd, "8234001", la="823", by="823LA", at="2026-06-03T10:00:00.000000Z")
    assert (after.status, after.recipient_org, after.claimed_from, after.claimed_by) == (
        "available",
        "8234001",
        "LPD",
        "823LA",
    )
    assert after.downloaded_at is None and after.available_at == "2026-06-03T10:00:00.000000Z"
    with pytest.raises(IllegalTransition):
        claimed_for(transfer(status="expired"), "8234001", la="823", by="823LA", at="2026-06-03T10:00:00.000000Z")


def _national(old: Status, new: Status) -> dict[tuple[str, str], int]:
    t = transfer(status=old, available_at=None if old == "pending_upload" else "2026-06-01T09:01:00.000000Z")
    deltas = counter_deltas(t, new, AT).deltas
    return {
        (day, metric): n for (scope, day), metrics in deltas.items() if scope == "ALL" for metric, n in metrics.items()
    }


# (from, to) -> the national counters it moves: (day, metric) -> delta.
COUNTERS: dict[tuple[Status, Status], dict[tuple[str, str], int]] = {
    ("pending_upload", "available"): {(TODAY, "sent"): 1, (TODAY, "received"): 1, (TODAY, "not_downloaded"): 1},
    ("pending_upload", "rejected"): {(TODAY, "rejected"): 1},
    ("pending_upload", "withdrawn"): {},
    ("pending_upload", "expired"): {},
    ("available", "downloaded"): {(RECEIPT_DAY, "not_downloaded"): -1, (TODAY, "downloaded"): 1},
    ("available", "withdrawn"): {(RECEIPT_DAY, "not_downloaded"): -1},
    ("available", "removed"): {(RECEIPT_DAY, "not_downloaded"): -1},
    ("available", "expired"): {(RECEIPT_DAY, "not_downloaded"): -1, (TODAY, "expired"): 1},
    ("downloaded", "removed"): {},  # it was counted downloaded once and for all
    ("downloaded", "expired"): {},  # a downloaded file that expires was not "expired undownloaded"
}


@pytest.mark.parametrize(("old", "new"), sorted(COUNTERS))
def test_what_each_change_does_to_the_counters(old: Status, new: Status) -> None:
    assert _national(old, new) == COUNTERS[(old, new)]


def test_every_allowed_change_has_its_counters_in_the_table() -> None:
    assert set(COUNTERS) == ALLOWED


def test_counters_go_to_the_sending_and_receiving_school_and_their_las() -> None:
    deltas = counter_deltas(transfer(status="pending_upload", available_at=None), "available", AT).deltas
    scopes = {scope for scope, _ in deltas}
    assert scopes == {"ALL", "LA#823", f"SCHOOL#823#{SCHOOL_A}", f"SCHOOL#823#{SCHOOL_B}"}
    assert deltas[(f"SCHOOL#823#{SCHOOL_A}", TODAY)] == {"sent": 1}
    assert deltas[(f"SCHOOL#823#{SCHOOL_B}", TODAY)] == {"received": 1, "not_downloaded": 1}


def test_a_lost_pupils_file_counts_as_sent_and_lost_pupils_but_is_received_by_nobody() -> None:
    lpd = transfer(
        status="pending_upload",
        available_at=None,
        destination="MMMMMMM",
        dest_kind="lpd_unknown",
        dest_la=None,
        recipient_org="LPD",
    )
    national = {
        m: n
        for (scope, _), ms in counter_deltas(lpd, "available", AT).deltas.items()
        if scope == "ALL"
        for m, n in ms.items()
    }
    assert national == {"sent": 1, "lost_pupils": 1}


# Who: the sending school, the receiving school, their LA (823), another school, another LA, the DfE.
WHO = {
    "sender": school(SCHOOL_A),
    "recipient": school(SCHOOL_B),
    "their LA": la("823"),
    "other school": school("3302001"),
    "other LA": la("330"),
    "DfE": dfe(),
}
# status -> who may see it, who may download it, and what removing it would make it.
WHO_MAY: dict[Status, tuple[set[str], set[str], dict[str, Status]]] = {
    "pending_upload": ({"sender", "their LA"}, set(), {"sender": "withdrawn"}),
    "available": (
        {"sender", "recipient", "their LA"},
        {"recipient"},
        {"sender": "withdrawn", "recipient": "removed", "their LA": "removed"},
    ),
    "downloaded": (
        {"sender", "recipient", "their LA"},
        {"recipient"},
        {"sender": "withdrawn", "recipient": "removed", "their LA": "removed"},
    ),
}


@pytest.mark.parametrize("status", sorted(WHO_MAY))
@pytest.mark.parametrize("who", sorted(WHO))
def test_who_may_see_download_and_remove_a_file_in_each_state(status: Status, who: str) -> None:
    t = transfer(status=status, available_at=None if status == "pending_upload" else "2026-06-01T09:01:00.000000Z")
    seers, downloaders, removals = WHO_MAY[status]
    principal = WHO[who]
    assert can_see(principal, t) == (who in seers)
    assert can_download(principal, t) == (who in downloaders)
    assert removal_status(principal, t) == removals.get(who)


def test_the_table_of_removals_agrees_with_the_state_machine() -> None:
    # removal_status says what a caller's removal would make a file; the state machine must allow it
    # from every state in which the file is shown to that caller (withdrawing a downloaded file is
    # refused by the service with its own message, docs/SERVICE.md §5).
    for status, (_, _, removals) in WHO_MAY.items():
        for who, new in removals.items():
            if (status, new) != ("downloaded", "withdrawn"):
                assert may_move(status, new), (who, status, new)
