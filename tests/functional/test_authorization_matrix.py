"""Who may do what to a transfer from school A (LA 823) to school C (LA 330): every route, every
kind of caller. Nobody ever lists or reads a transfer they may not see."""

from __future__ import annotations

import pytest
from support.flows import send, upload_api
from support.helpers import call, dfe_claims, la_claims, school_claims
from support.zipfactory import make_aes_zip

pytestmark = pytest.mark.functional

A, C, OTHER_SCHOOL = "8231234", "3301111", "8232345"
NAME = f"{A}_CTF_{C}_001.zip"
CALLERS = {
    "sender": school_claims(A),
    "recipient": school_claims(C),
    "sender_la": la_claims("823"),
    "recipient_la": la_claims("330"),
    "other_la": la_claims("201"),
    "other_school": school_claims(OTHER_SCHOOL),
    "dfe": dfe_claims(),
}


@pytest.fixture
def transfer_id(aws) -> str:
    t = send(aws, school_claims(A), NAME, make_aes_zip({f"{A}_CTF_{C}_001.XML": b"<CTfile/>"}))
    return t["transfer_id"]  # type: ignore[no-any-return]


EXPECTED = {
    #                 GET  download DELETE
    "sender": (200, 403, 204),
    "recipient": (200, 200, 204),
    "sender_la": (200, 403, 403),
    "recipient_la": (200, 403, 204),
    "other_la": (404, 404, 404),
    "other_school": (404, 404, 404),
    "dfe": (403, 403, 403),
}


@pytest.mark.parametrize("caller", list(EXPECTED))
def test_read_download_remove(aws, transfer_id, caller):
    claims = CALLERS[caller]
    get_status, download_status, delete_status = EXPECTED[caller]
    ids = {"id": transfer_id}
    got = call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params=ids)
    assert got.status == get_status
    if got.status != 200:
        assert transfer_id not in str(got.body)
    dl = call(upload_api(), "POST", "/transfers/{id}/download", claims=claims, path_params=ids)
    assert dl.status == download_status
    if dl.status != 200:
        assert "url" not in dl.body
    assert call(upload_api(), "DELETE", "/transfers/{id}", claims=claims, path_params=ids).status == delete_status


LISTED_IN = {
    "sender": {"outbox"},
    "recipient": {"inbox"},
    "sender_la": {"la"},
    "recipient_la": {"la"},
    "other_la": set(),
    "other_school": set(),
    "dfe": set(),
}


@pytest.mark.parametrize("caller", list(LISTED_IN))
def test_lists_show_only_what_the_caller_may_see(aws, transfer_id, caller):
    claims = CALLERS[caller]
    for box in ("inbox", "outbox", "la"):
        reply = call(upload_api(), "GET", "/transfers", claims=claims, query={"box": box})
        if caller == "dfe" or (box == "la" and claims is not None and "002" not in claims["organisation"]):
            assert reply.status == 403
            continue
        assert reply.status == 200
        listed = {t["transfer_id"] for t in reply.body["items"]}
        assert (transfer_id in listed) == (box in LISTED_IN[caller]), (caller, box)


@pytest.mark.parametrize(
    ("claims", "filename", "status"),
    [
        (school_claims(A), NAME, 201),
        (la_claims("823"), f"823LLLL_CTF_{C}_001.zip", 201),
        (la_claims("823"), NAME, 403),
        (school_claims(C), NAME, 403),
        (dfe_claims(), NAME, 403),
        (None, NAME, 401),
    ],
)
def test_who_may_start_an_upload(aws, claims, filename, status):
    reply = call(upload_api(), "POST", "/transfers", claims=claims, body={"filename": filename, "size_bytes": 100})
    assert reply.status == status


def test_unknown_ids_and_hidden_ids_look_the_same(aws, transfer_id):
    hidden = call(
        upload_api(), "GET", "/transfers/{id}", claims=school_claims(OTHER_SCHOOL), path_params={"id": transfer_id}
    )
    unknown = call(
        upload_api(),
        "GET",
        "/transfers/{id}",
        claims=school_claims(OTHER_SCHOOL),
        path_params={"id": "00000000-0000-4000-8000-000000000000"},
    )
    assert (hidden.status, hidden.body) == (unknown.status, unknown.body)
