"""GET /lost-pupils and POST /lost-pupils/{id}/claim through the real handlers: search by UPN from
any LA, who may claim for which school, what a claim changes (inbox, download, counters, audit,
`transfer.claimed`), and two claims racing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from s2s.adapters import transfers
from s2s.domain import clock
from s2s.services import lost_pupils
from support.flows import queued_events
from support.helpers import dfe_claims, la_claims, school_claims

from .support import claim, download, inbox, remove, search, send_file, transfer, transfers_report, undownloaded, upn

pytestmark = pytest.mark.functional

PUPIL = upn(42)


@pytest.fixture
def lpd_file(aws: Any) -> str:
    """A CTF for a pupil whose new school is unknown, sent by a school in LA 823."""
    return send_file(aws, school_claims("8231001"), "8231001_CTF_XXXXXXX_001", pupil=PUPIL)


# ---------------------------------------------------------------------------- search


def test_any_la_finds_the_pupils_files_metadata_only(aws: Any, lpd_file: str) -> None:
    other = send_file(aws, school_claims("3302001"), "3302001_CTF_MMMMMMM_001", pupil=PUPIL)
    send_file(aws, school_claims("8231001"), "8231001_CTF_XXXXXXX_002", pupil=upn(43))  # another pupil
    reply = search(la_claims("873"), PUPIL)
    assert reply.status == 200, reply.body
    assert reply.body["upn"] == PUPIL
    items = reply.body["items"]
    assert [i["transfer_id"] for i in items] == [other, lpd_file]  # newest first
    assert all(i["upn"] == PUPIL and i["lost_pupil"] and i["claimable"] and i["can_download"] for i in items)
    assert all("url" not in i for i in items)


def test_search_shows_a_withdrawn_file_as_not_claimable(aws: Any, lpd_file: str) -> None:
    assert remove(school_claims("8231001"), lpd_file).status == 204
    items = search(la_claims("330"), PUPIL).body["items"]
    assert [(i["status"], i["claimable"]) for i in items] == [("withdrawn", False)]


def test_search_shows_expiry_at_read(aws: Any, lpd_file: str) -> None:
    clock.travel(timedelta(days=61))
    items = search(la_claims("330"), PUPIL).body["items"]
    assert [(i["status"], i["claimable"]) for i in items] == [("expired", False)]


@pytest.mark.parametrize(
    ("claims", "query", "status", "error"),
    [
        (school_claims("8231001"), PUPIL, 403, "forbidden_role"),
        (dfe_claims(), PUPIL, 403, "forbidden_role"),
        (la_claims("823"), PUPIL[:-1] + ("1" if PUPIL[-1] != "1" else "2"), 422, "bad_upn"),
        (la_claims("823"), "not a upn", 422, "bad_upn"),
        # Every wrong form is bad_upn (docs/SERVICE.md §2), not a generic validation error: case, length,
        # padding, empty, far too long.
        (la_claims("823"), PUPIL.lower(), 422, "bad_upn"),
        (la_claims("823"), PUPIL + "1", 422, "bad_upn"),
        (la_claims("823"), f" {PUPIL}", 422, "bad_upn"),
        (la_claims("823"), "", 422, "bad_upn"),
        (la_claims("823"), "H" * 500, 422, "bad_upn"),
    ],
)
def test_search_refusals(aws: Any, claims: dict[str, Any], query: str, status: int, error: str) -> None:
    reply = search(claims, query)
    assert (reply.status, reply.error) == (status, error), reply.body


def test_an_la_downloads_an_lpd_file_it_found(aws: Any, lpd_file: str) -> None:
    assert download(la_claims("330"), lpd_file).status == 200


# ---------------------------------------------------------------------------- claim


def test_claim_re_addresses_the_file_to_the_school(aws: Any, lpd_file: str) -> None:
    queued_events(aws)  # forget the upload's events
    reply = claim(la_claims("330"), lpd_file, "3302001")
    assert reply.status == 200, reply.body
    assert reply.body["recipient"] == "3302001" and reply.body["status"] == "available"
    assert reply.body["lost_pupil"] is False

    # The school sees it in its inbox and downloads it.
    school = school_claims("3302001")
    assert [i["transfer_id"] for i in inbox(school).body["items"]] == [lpd_file]
    assert download(school, lpd_file).status == 200

    # It has left the Lost Pupils Database.
    assert search(la_claims("873"), PUPIL).body["items"] == []
    assert transfer(la_claims("873"), lpd_file).status == 404

    # After the claim the transfer is addressed to the school; the name is as it was sent.
    detail = transfer(school_claims("8231001"), lpd_file).body
    assert (detail["destination"], detail["recipient"]) == ("3302001", "3302001")
    assert detail["filename"] == "8231001_CTF_XXXXXXX_001.zip"
    # The sender sees that LA 330 claimed it and when, not who there or from where (docs/SERVICE.md §4).
    claimed = [a for a in detail["audit"] if a["action"] == "claimed"]
    assert len(claimed) == 1 and claimed[0]["actor_org"] == "330LLLL"
    assert claimed[0]["details"] == {}
    assert not {"actor_user", "actor_email", "source_ip", "user_agent"} & set(claimed[0])
    # The claiming LA's history records the claim in full: who, when, from where, what.
    [own] = [a for a in transfer(la_claims("330"), lpd_file).body["audit"] if a["action"] == "claimed"]
    assert (own["actor_user"], own["actor_email"]) == ("user-la-330", "data@la330.gov.example")
    assert (own["source_ip"], own["user_agent"]) == ("198.51.100.7", "pytest")
    assert own["details"] == {
        "destination": "3302001",
        "previous_destination": "XXXXXXX",
        "claimed_from": "LPD",
        "claimed_by": "330LLLL",
    }
    events = [e for e in queued_events(aws) if e["type"] == "transfer.claimed"]
    assert len(events) == 1
    assert events[0]["recipients"] == ["3302001"] and events[0]["claimed_by"] == "330LLLL"
    assert events[0]["_attributes"] == {"type": "transfer.claimed", "recipient": "3302001"}


def test_a_claim_counts_as_received_by_the_school(aws: Any, lpd_file: str) -> None:
    assert claim(la_claims("330"), lpd_file, "3302001").status == 200
    today = clock.now().date().isoformat()
    rows = transfers_report(la_claims("330"), group_by="school", **{"from": today, "to": today}).body["rows"]
    assert [(r["school"], r["received"], r["not_downloaded"]) for r in rows] == [("3302001", 1, 1)]
    sender = transfers_report(la_claims("823"), **{"from": today, "to": today}).body["totals"]
    assert (sender["sent"], sender["lost_pupils"], sender["received"]) == (1, 1, 0)


def test_an_la_claims_only_for_its_own_schools(aws: Any, lpd_file: str) -> None:
    reply = claim(la_claims("330"), lpd_file, "8232001")
    assert (reply.status, reply.error) == (403, "not_your_school")
    assert search(la_claims("330"), PUPIL).body["items"][0]["claimable"] is True


@pytest.mark.parametrize(
    ("claims", "destination", "status", "error"),
    [
        (school_claims("3302001"), "3302001", 403, "forbidden_role"),
        (dfe_claims(), "3302001", 403, "forbidden_role"),
        (la_claims("330"), "330LLLL", 422, "bad_destination"),
        (la_claims("330"), "33020011", 422, "bad_destination"),
    ],
)
def test_claim_refusals(
    aws: Any, lpd_file: str, claims: dict[str, Any], destination: str, status: int, error: str
) -> None:
    reply = claim(claims, lpd_file, destination)
    assert (reply.status, reply.error) == (status, error), reply.body


def test_claim_states(aws: Any, lpd_file: str) -> None:
    assert claim(la_claims("330"), "no-such-id", "3302001").status == 404
    ordinary = send_file(aws, school_claims("8231001"), "8231001_CTF_8231002_001")
    assert claim(la_claims("330"), ordinary, "3302001").status == 404  # not visible to 330
    assert claim(la_claims("823"), ordinary, "8231002").error == "not_lost_pupil"
    assert claim(la_claims("330"), lpd_file, "3302001").status == 200
    again = claim(la_claims("330"), lpd_file, "3302002")
    assert (again.status, again.error) == (409, "already_claimed")
    assert claim(la_claims("873"), lpd_file, "8733001").status == 404  # now 330's school's file


def test_an_expired_or_withdrawn_file_cannot_be_claimed(aws: Any, lpd_file: str) -> None:
    later = send_file(aws, school_claims("8231001"), "8231001_CTF_XXXXXXX_002", pupil=PUPIL)
    assert remove(school_claims("8231001"), later).status == 204
    assert (claim(la_claims("330"), later, "3302001").status, claim(la_claims("330"), later, "3302001").error) == (
        410,
        "withdrawn",
    )
    clock.travel(timedelta(days=61))
    reply = claim(la_claims("330"), lpd_file, "3302001")
    assert (reply.status, reply.error) == (410, "expired")


def test_two_racing_claims_one_wins(aws: Any, lpd_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """LA 873 reads the file, then LA 330's claim completes, then 873 writes: 873 gets 409."""
    real_get = transfers.get_transfer
    raced: list[int] = []

    def get_then_lose_the_race(transfer_id: str, *, consistent: bool = True) -> Any:
        t = real_get(transfer_id, consistent=consistent)
        if not raced:
            raced.append(1)
            monkeypatch.setattr(lost_pupils.transfers, "get_transfer", real_get)
            assert claim(la_claims("330"), lpd_file, "3302001").status == 200
        return t

    monkeypatch.setattr(lost_pupils.transfers, "get_transfer", get_then_lose_the_race)
    reply = claim(la_claims("873"), lpd_file, "8733001")
    assert (reply.status, reply.error) == (409, "already_claimed"), reply.body
    final = real_get(lpd_file)
    assert final is not None and final.recipient_org == "3302001" and final.claimed_by == "330LLLL"
    claims = [a for a in transfers.audit_events(lpd_file) if a["action"] == "claimed"]
    assert len(claims) == 1


def test_a_claimed_file_waits_in_the_claiming_las_undownloaded_list(aws: Any, lpd_file: str) -> None:
    assert undownloaded(la_claims("330")).body["items"] == []  # an unclaimed LPD file is no LA's yet
    assert claim(la_claims("330"), lpd_file, "3302001").status == 200
    items = undownloaded(la_claims("330")).body["items"]
    assert [(i["transfer_id"], i["recipient"], i["sender"]) for i in items] == [(lpd_file, "3302001", "8231001")]
    assert download(school_claims("3302001"), lpd_file).status == 200
    assert undownloaded(la_claims("330")).body["items"] == []
