"""POST/GET/DELETE /transfers and downloads, in-process against moto (docs/SERVICE.md §4, §5)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from s2s.domain import clock
from support.flows import post_file, queued_events, send, start_upload, upload_api
from support.helpers import call, dfe_claims, la_claims, school_claims
from support.zipfactory import make_aes_zip

pytestmark = pytest.mark.functional

A, B, C = "8231234", "8232345", "3301111"  # two schools in LA 823, one in LA 330
CTF = f"{A}_CTF_{B}_001.zip"


def ctf_zip(stem: str = f"{A}_CTF_{B}_001") -> bytes:
    return make_aes_zip({f"{stem}.XML": b"<CTfile><Header/></CTfile>"})


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


def objects(aws, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix=prefix).get("Contents", [])]


def get(claims, transfer_id):
    return call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})


def download(claims, transfer_id, **kw):
    return call(upload_api(), "POST", "/transfers/{id}/download", claims=claims, path_params={"id": transfer_id}, **kw)


def delete(claims, transfer_id):
    return call(upload_api(), "DELETE", "/transfers/{id}", claims=claims, path_params={"id": transfer_id})


def listing(claims, **query):
    return call(upload_api(), "GET", "/transfers", claims=claims, query={k: str(v) for k, v in query.items()})


# ---------------------------------------------------------------- POST /transfers


def test_create_returns_a_presigned_post_pinned_to_key_size_and_15_minutes(aws):
    data = ctf_zip()
    before = clock.now()
    reply = start_upload(school_claims(A), CTF, len(data), sha256="a" * 64)
    after = clock.now()

    assert reply.status == 201
    body = reply.body
    assert body["status"] == "pending_upload"
    assert (body["family"], body["source"], body["destination"]) == ("ctf", A, B)
    fields = body["upload"]["fields"]
    assert fields["key"] == f"incoming/{body['transfer_id']}/{CTF}"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", len(data), len(data)] in conditions
    assert {"key": fields["key"]} in conditions
    assert {"bucket": aws.bucket} in conditions
    expiration = clock.parse(
        policy["expiration"].replace("Z", ".000000Z") if "." not in policy["expiration"] else policy["expiration"]
    )
    # Bounded by the moments before and after the call, so a slow machine cannot fail it (no timing).
    assert before < expiration <= after + timedelta(minutes=15)
    assert before < clock.parse(body["upload_expires_at"]) <= after + timedelta(minutes=15)


def test_transfer_ids_are_unguessable_uuids(aws):
    ids = {start_upload(school_claims(A), CTF, 100).body["transfer_id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(len(i) == 36 and i.count("-") == 4 for i in ids)


@pytest.mark.parametrize(
    ("filename", "status", "code", "suggestion"),
    [
        (f"{A}_ctf_{B}_001.zip", 422, "bad_pattern", CTF),
        (f"{A}_CTF_{B}_001 (1).zip", 422, "bad_pattern", CTF),
        (f"{A}_CTF_{B}_001", 422, "bad_extension", CTF),
        (f"{A}_CTF_{B}_000.zip", 422, "bad_sequence", None),
        (f"9991234_CTF_{B}_001.zip", 422, "unknown_la", None),
        (f"{B}_CTF_{A}_001.zip", 403, "source_not_sender", None),
    ],
)
def test_create_refuses_bad_names_with_reason_and_suggestion(aws, filename, status, code, suggestion):
    reply = start_upload(school_claims(A), filename, 1000)
    assert reply.status == status
    assert reply.error == code
    assert reply.body["message"]
    if suggestion:
        assert reply.body["suggestion"] == suggestion
    assert objects(aws) == []


def test_lost_pupil_files_need_a_valid_upn(aws):
    name = f"{A}_CTF_XXXXXXX_001.zip"
    assert start_upload(school_claims(A), name, 1000).error == "lpd_needs_upn"
    assert start_upload(school_claims(A), name, 1000, upn="Q207000016049").error == "bad_upn"
    ok = start_upload(school_claims(A), name, 1000, upn="H801200001001")
    assert ok.status == 201


def test_create_refuses_too_large_files_with_413(aws, monkeypatch):
    reply = start_upload(school_claims(A), CTF, 50 * 1024 * 1024 + 1)
    assert reply.status == 413
    assert reply.error == "too_large"


@pytest.mark.parametrize(
    "body",
    [
        {"filename": CTF},
        {"filename": CTF, "size_bytes": "many"},
        {"filename": CTF, "size_bytes": 100, "sha256": "XYZ"},
        {"filename": CTF, "size_bytes": 100, "surprise": 1},
    ],
)
def test_create_validation_errors_name_each_field(aws, body):
    reply = call(upload_api(), "POST", "/transfers", claims=school_claims(A), body=body)
    assert reply.status == 422
    assert reply.error == "validation_error"
    assert reply.body["details"] and all("field" in d for d in reply.body["details"])


def test_a_422_names_every_bad_field_not_only_the_first(aws):
    reply = call(
        upload_api(), "POST", "/transfers", claims=school_claims(A), body={"filename": 123, "size_bytes": "big"}
    )
    assert (reply.status, reply.error) == (422, "validation_error")
    assert [d["field"] for d in reply.body["details"]] == ["filename", "size_bytes"]
    assert "filename" in reply.body["message"] and "size_bytes" in reply.body["message"]


def test_body_that_is_not_json_is_422_and_oversized_body_is_413(aws):
    reply = call(upload_api(), "POST", "/transfers", claims=school_claims(A), raw_body="{not json")
    assert (reply.status, reply.error) == (422, "validation_error")
    big = call(upload_api(), "POST", "/transfers", claims=school_claims(A), raw_body="x" * 20_000)
    assert (big.status, big.error) == (413, "body_too_large")


def test_no_token_is_401_and_dfe_is_403_and_no_organisation_is_403(aws):
    assert start_upload(None, CTF, 100).status == 401  # type: ignore[arg-type]
    assert start_upload(dfe_claims(), CTF, 100).status == 403
    claims = school_claims(A)
    claims.pop("organisation")
    assert start_upload(claims, CTF, 100).error == "no_organisation"


def test_daily_quota_gives_429_with_retry_after(aws, monkeypatch):
    from s2s.runtime.settings import get_settings

    monkeypatch.setenv("DAILY_UPLOAD_COUNT", "2")
    get_settings.cache_clear()
    for _ in range(2):
        assert start_upload(school_claims(A), CTF, 100).status == 201
    reply = start_upload(school_claims(A), CTF, 100)
    assert (reply.status, reply.error) == (429, "quota_exceeded")
    assert int(reply.headers["retry-after"]) > 0
    assert start_upload(school_claims(B), f"{B}_CTF_{A}_001.zip", 100).status == 201  # per organisation


# ---------------------------------------------------------------- lists


def test_inbox_outbox_and_la_views(aws):
    sent = send(aws, school_claims(A), CTF, ctf_zip())
    cross = send(aws, school_claims(C), f"{C}_CTF_{B}_001.zip", ctf_zip(f"{C}_CTF_{B}_001"))
    pending = start_upload(school_claims(A), f"{A}_CTF_{B}_002.zip", 100).body["transfer_id"]

    inbox = listing(school_claims(B), box="inbox").body
    assert {t["transfer_id"] for t in inbox["items"]} == {sent["transfer_id"], cross["transfer_id"]}
    assert inbox["next_cursor"] is None
    outbox = listing(school_claims(A), box="outbox").body
    assert {t["transfer_id"] for t in outbox["items"]} == {sent["transfer_id"], pending}
    la823 = listing(la_claims("823"), box="la").body
    assert {t["transfer_id"] for t in la823["items"]} == {sent["transfer_id"], cross["transfer_id"], pending}
    la330 = listing(la_claims("330"), box="la").body
    assert {t["transfer_id"] for t in la330["items"]} == {cross["transfer_id"]}
    assert listing(school_claims(A), box="la").status == 403
    assert listing(dfe_claims(), box="inbox").status == 403


def test_status_filter_and_cursor_pagination(aws):
    ids = [start_upload(school_claims(A), f"{A}_CTF_{B}_{n:03d}.zip", 100).body["transfer_id"] for n in range(1, 6)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"box": "outbox", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = listing(school_claims(A), **query).body
        seen.extend(t["transfer_id"] for t in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    assert pages == 3
    assert listing(school_claims(A), box="outbox", status="available").body["items"] == []
    assert len(listing(school_claims(A), box="outbox", status="pending_upload").body["items"]) == 5
    assert listing(school_claims(A), box="outbox", cursor="garbage!").status == 422
    assert listing(school_claims(A), box="outbox", limit=0).status == 422


def test_la_view_pages_through_both_sides(aws):
    for n in range(1, 4):
        send(aws, school_claims(C), f"{C}_CTF_{B}_{n:03d}.zip", ctf_zip(f"{C}_CTF_{B}_{n:03d}"))
        start_upload(school_claims(A), f"{A}_CTF_{C}_{n:03d}.zip", 100)
    seen: list[str] = []
    cursor = None
    while True:
        page = listing(la_claims("823"), box="la", limit=2, **({"cursor": cursor} if cursor else {})).body
        seen.extend(t["transfer_id"] for t in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6


# ---------------------------------------------------------------- one transfer


def test_recipient_sees_nothing_before_available_and_nothing_of_a_rejected_upload(aws):
    pending = start_upload(school_claims(A), CTF, 100).body["transfer_id"]
    assert get(school_claims(A), pending).status == 200
    assert get(school_claims(B), pending).status == 404
    assert get(la_claims("823"), pending).status == 200  # the sender's LA
    assert listing(school_claims(B), box="inbox").body["items"] == []


def test_detail_has_audit_trail_and_download_receipts(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip(), sha256="b" * 64)
    assert download(school_claims(B), t["transfer_id"], source_ip="203.0.113.9", user_agent="SIMS/7").status == 200
    detail = get(school_claims(A), t["transfer_id"]).body
    assert detail["status"] == "downloaded"
    assert detail["sha256"] == "b" * 64
    assert [a["action"] for a in detail["audit"]] == ["created", "available", "downloaded"]
    # The sender's receipt says that B downloaded it and when; who at B, from where and with which
    # program is B's own business (docs/SERVICE.md §4, privacy inside the history).
    (receipt,) = detail["downloads"]
    assert receipt == {"at": detail["downloaded_at"], "organisation": B}
    (own,) = get(school_claims(B), t["transfer_id"]).body["downloads"]
    assert (own["organisation"], own["source_ip"], own["user_agent"]) == (B, "203.0.113.9", "SIMS/7")
    assert get(school_claims(C), t["transfer_id"]).status == 404
    assert get(school_claims(A), "not-a-real-id").status == 404


# ---------------------------------------------------------------- downloads


def test_download_is_a_short_presigned_get_with_attachment_name(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    reply = download(school_claims(B), t["transfer_id"])
    assert reply.status == 200
    url = urlparse(reply.body["url"])
    query = parse_qs(url.query)
    assert url.path.endswith(f"/stored/{t['transfer_id']}/{CTF}")
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert query["response-content-disposition"] == [f'attachment; filename="{CTF}"']
    assert clock.parse(reply.body["expires_at"]) - clock.now() <= timedelta(minutes=5)


def test_first_download_marks_downloaded_and_notifies_once(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    queued_events(aws)
    for _ in range(3):
        assert download(school_claims(B), t["transfer_id"]).status == 200
    assert get(school_claims(B), t["transfer_id"]).body["status"] == "downloaded"
    downloaded = [e for e in queued_events(aws) if e["type"] == "transfer.downloaded"]
    assert len(downloaded) == 1
    assert downloaded[0]["recipients"] == [A]
    assert len(get(school_claims(A), t["transfer_id"]).body["downloads"]) == 3


def test_download_status_codes(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    pending = start_upload(school_claims(A), f"{A}_CTF_{B}_002.zip", 100).body["transfer_id"]
    assert download(school_claims(A), pending).status == 403  # the sender
    assert download(school_claims(A), t["transfer_id"]).status == 403  # the sender cannot download
    assert download(la_claims("823"), t["transfer_id"]).status == 403  # the LA sees, not downloads
    assert download(school_claims(C), t["transfer_id"]).status == 404
    assert download(dfe_claims(), t["transfer_id"]).status == 403
    clock.travel(timedelta(days=61))
    gone = download(school_claims(B), t["transfer_id"])
    assert (gone.status, gone.error) == (410, "expired")


def test_download_of_a_pending_file_is_409_for_the_recipient_la(aws):
    """An LA-addressed pending file is not visible to the LA yet (404); once rejected, never."""
    name = f"{A}_CTF_823LLLL_001.zip"
    ticket = start_upload(school_claims(A), name, 100).body["transfer_id"]
    assert download(la_claims("823"), ticket).status in (403, 404, 409)


def test_la_downloads_files_addressed_to_the_la(aws):
    name = f"{A}_CTF_823XXXX_001.zip"
    t = send(aws, school_claims(A), name, ctf_zip(f"{A}_CTF_823XXXX_001"))
    assert t["recipient"] == "823LLLL"
    assert download(la_claims("823"), t["transfer_id"]).status == 200
    assert download(la_claims("330"), t["transfer_id"]).status == 404


def test_expiry_is_enforced_at_read_time_before_any_sweep(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    clock.travel(timedelta(days=60, minutes=1))
    assert get(school_claims(B), t["transfer_id"]).body["status"] == "expired"
    assert listing(school_claims(B), box="inbox", status="available").body["items"] == []
    assert download(school_claims(B), t["transfer_id"]).status == 410


# ---------------------------------------------------------------- removal


def test_sender_withdraws_before_download(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    assert delete(school_claims(A), t["transfer_id"]).status == 204
    assert objects(aws, "stored/") == []
    detail = get(school_claims(A), t["transfer_id"]).body
    assert detail["status"] == "withdrawn"
    assert detail["audit"][-1]["action"] == "withdrawn"
    assert download(school_claims(B), t["transfer_id"]).status == 410
    assert delete(school_claims(A), t["transfer_id"]).status == 410


def test_sender_cannot_withdraw_after_download_but_recipient_and_its_la_can_remove(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    download(school_claims(B), t["transfer_id"])
    refused = delete(school_claims(A), t["transfer_id"])
    assert (refused.status, refused.error) == (409, "already_downloaded")
    assert delete(school_claims(C), t["transfer_id"]).status == 404
    assert delete(dfe_claims(), t["transfer_id"]).status == 403
    assert delete(la_claims("823"), t["transfer_id"]).status == 204
    assert get(school_claims(B), t["transfer_id"]).body["status"] == "removed"
    assert objects(aws, "stored/") == []


def test_recipient_removes_a_misaddressed_file(aws):
    t = send(aws, school_claims(A), CTF, ctf_zip())
    assert delete(school_claims(B), t["transfer_id"]).status == 204
    assert get(school_claims(A), t["transfer_id"]).body["status"] == "removed"


def test_sender_withdraws_an_unused_ticket(aws):
    ticket = start_upload(school_claims(A), CTF, 100).body["transfer_id"]
    assert delete(school_claims(A), ticket).status == 204
    assert get(school_claims(A), ticket).body["status"] == "withdrawn"


def test_posting_to_a_withdrawn_ticket_is_discarded(aws):
    data = ctf_zip()
    ticket = start_upload(school_claims(A), CTF, len(data)).body
    delete(school_claims(A), ticket["transfer_id"])
    assert post_file(ticket, data) == 204
    from support.flows import drain_landing

    assert drain_landing(aws) == []
    assert objects(aws) == []
    assert get(school_claims(A), ticket["transfer_id"]).body["status"] == "withdrawn"
