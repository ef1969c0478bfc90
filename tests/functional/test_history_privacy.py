"""Privacy inside a transfer's history (docs/SERVICE.md §4), through the real handlers against moto.

Each organisation sees its own people's user, email address, source IP and user agent; another
organisation's actions appear only as that organisation, the action and the time; an email shows
the organisation it went to, never the address; an LA sees its own schools' people as those schools
see them. The personal fields are left out of the answer (not blanked) for those who may not see
them, in the audit list and in the download receipts alike."""

from __future__ import annotations

from typing import Any

import pytest
import subscriptions_api
from s2s.domain.principal import principal_from_claims
from s2s.domain.transfers import audit_view, receipt_view
from support.flows import drain, send, upload_api
from support.helpers import call, la_claims, school_claims
from support.zipfactory import make_aes_zip

pytestmark = pytest.mark.functional

A, C = "8231234", "3301111"  # a school in LA 823 sends to a school in LA 330
CTF = f"{A}_CTF_{C}_001.zip"
PERSONAL = {"actor_user", "actor_email", "source_ip", "user_agent"}
A_USER = school_claims(A, email="head@oakfield.example", sub="head-of-oakfield")
C_USER = school_claims(C, email="office@riverside.example", sub="office-riverside")


def detail(claims: dict[str, Any], transfer_id: str) -> dict[str, Any]:
    reply = call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


def by_action(body: dict[str, Any], action: str) -> dict[str, Any]:
    [event] = [a for a in body["audit"] if a["action"] == action]
    return event


@pytest.fixture
def downloaded(aws: Any) -> str:
    """A sends to C (C's office is subscribed, so an email goes out); C downloads it once."""
    import notify_events

    assert call(subscriptions_api.lambda_handler, "PUT", "/subscriptions/me", claims=C_USER).status == 200
    data = make_aes_zip({f"{A}_CTF_{C}_001.XML": b"<CTfile/>"})
    t = send(aws, A_USER, CTF, data)
    assert drain(aws.queue_urls["NotifyQueue"], notify_events.lambda_handler) == []
    reply = call(
        upload_api(),
        "POST",
        "/transfers/{id}/download",
        claims=C_USER,
        path_params={"id": t["transfer_id"]},
        source_ip="203.0.113.9",
        user_agent="SIMS/7.210",
    )
    assert reply.status == 200, reply.body
    return str(t["transfer_id"])


def test_the_sender_sees_its_own_people_and_only_the_organisation_of_the_recipients(downloaded: str) -> None:
    body = detail(A_USER, downloaded)

    created = by_action(body, "created")
    assert (created["actor_org"], created["actor_user"], created["actor_email"]) == (
        A,
        "head-of-oakfield",
        "head@oakfield.example",
    )
    assert (created["source_ip"], created["user_agent"]) == ("198.51.100.7", "pytest")
    # The recipient's download: who, at what time; not who there, from where, with what.
    download = by_action(body, "downloaded")
    assert download == {"action": "downloaded", "at": download["at"], "actor_org": C, "details": {}}
    assert body["downloads"] == [{"at": download["at"], "organisation": C}]
    # Nothing personal of C's anywhere in the answer.
    text = repr(body)
    for private in ("office-riverside", "office@riverside.example", "203.0.113.9", "SIMS/7.210"):
        assert private not in text


def test_the_recipient_sees_its_own_download_in_full(downloaded: str) -> None:
    body = detail(C_USER, downloaded)

    download = by_action(body, "downloaded")
    assert (download["actor_user"], download["actor_email"]) == ("office-riverside", "office@riverside.example")
    assert (download["source_ip"], download["user_agent"]) == ("203.0.113.9", "SIMS/7.210")
    [receipt] = body["downloads"]
    assert receipt == {
        "at": download["at"],
        "organisation": C,
        "user": "office-riverside",
        "email": "office@riverside.example",
        "source_ip": "203.0.113.9",
        "user_agent": "SIMS/7.210",
    }
    assert "head-of-oakfield" not in repr(body) and "head@oakfield.example" not in repr(body)


@pytest.mark.parametrize(("la", "own_school"), [("823", A), ("330", C)])
def test_an_la_sees_its_own_schools_people_as_those_schools_see_them(downloaded: str, la: str, own_school: str) -> None:
    body = detail(la_claims(la), downloaded)
    school_view = detail(A_USER if own_school == A else C_USER, downloaded)

    for action in ("downloaded", *(("created",) if own_school == A else ())):
        mine = by_action(body, action)
        if mine["actor_org"] == own_school:
            assert mine == by_action(school_view, action)
            assert set(mine) >= PERSONAL
        else:
            assert not PERSONAL & set(mine) and mine["details"] == {}
    other = C if own_school == A else A
    for event in body["audit"]:
        if event["actor_org"] == other:
            assert not PERSONAL & set(event) and event["details"] == {}


@pytest.mark.parametrize("viewer", [A_USER, C_USER, la_claims("823"), la_claims("330")], ids=["A", "C", "823", "330"])
def test_an_email_in_the_history_names_the_organisation_never_the_address(downloaded: str, viewer: Any) -> None:
    body = detail(viewer, downloaded)

    [email] = [a for a in body["audit"] if a["action"] == "email_sent"]
    assert email["actor_org"] == "S2S"
    assert email["details"] == {"type": "transfer.available", "org": C}
    assert "office@riverside.example" not in repr(email)
    assert not {"actor_email", "source_ip", "user_agent"} & set(email)


def test_the_rule_is_one_function_of_viewer_and_event() -> None:
    event = {
        "action": "downloaded",
        "at": "2026-06-01T10:02:00.000000Z",
        "actor_user": "u1",
        "actor_org": "8232345",
        "actor_email": "a@b.example",
        "source_ip": "192.0.2.1",
        "user_agent": "Edge",
        "details": {"source_ip": "192.0.2.1", "user_agent": "Edge"},
    }
    same_school = principal_from_claims(school_claims("8232345", sub="u2"))
    its_la = principal_from_claims(la_claims("823"))
    other_la = principal_from_claims(la_claims("330"))
    sender = principal_from_claims(school_claims("8231234"))

    assert audit_view(same_school, event) == event
    assert audit_view(its_la, event) == event
    for outsider in (sender, other_la):
        assert audit_view(outsider, event) == {
            "action": "downloaded",
            "at": event["at"],
            "actor_org": "8232345",
            "details": {},
        }
        assert receipt_view(outsider, event) == {"at": event["at"], "organisation": "8232345"}
    # An LA's own people are not its schools' business.
    la_event = {**event, "actor_org": "823LLLL"}
    assert audit_view(same_school, la_event)["details"] == {}
    assert "actor_user" not in audit_view(same_school, la_event)


def test_the_page_names_every_organisation_it_mentions_as_their_sign_in_named_them(downloaded: str) -> None:
    """Given C subscribed under its own name and downloaded A's file, when A and C read the page,
    then the recipient and every organisation in the history come with their names (so the history
    can say "Downloaded by Riverside School"), and nothing but names is added."""
    c_named = school_claims(C, email="office@riverside.example", sub="office-riverside", name="Riverside School")
    assert call(subscriptions_api.lambda_handler, "PUT", "/subscriptions/me", claims=c_named).status == 200
    for viewer in (A_USER, C_USER):
        body = detail(viewer, downloaded)
        assert body["recipient_name"] == "Riverside School"
        assert body["names"] == {A: f"School {A}", C: "Riverside School"}
        assert by_action(body, "downloaded")["actor_org"] == C


def test_an_organisation_nobody_has_signed_in_from_has_no_name(aws: Any) -> None:
    t = send(aws, A_USER, CTF, make_aes_zip({f"{A}_CTF_{C}_001.XML": b"<CTfile/>"}))
    body = detail(A_USER, str(t["transfer_id"]))
    assert body["recipient_name"] is None
    assert body["names"] == {A: f"School {A}"}
