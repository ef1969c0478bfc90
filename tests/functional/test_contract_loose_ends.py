"""Loose ends of the contract found when the service was tried against its contract, docs/SERVICE.md (issue 15), through the
real handlers against moto: downloads asked too early by the addressee, UPN and sha256 forms,
Lost Pupils claims to unknown LAs, a withdrawal racing the landing copy, and audit keys written by
two containers in the same microsecond."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from functional.reports.support import claim, send_file, upn
from s2s.adapters import aws as aws_clients
from s2s.adapters import files, transfers
from s2s.domain import clock
from s2s.services import landing
from support.flows import drain_landing, post_file, start_upload, upload_api
from support.helpers import call, la_claims, school_claims
from support.zipfactory import make_aes_zip, make_plain_zip

pytestmark = pytest.mark.functional

A, B = "8231234", "8232345"  # two schools of LA 823
PUPIL = upn(7)


def download(claims: dict[str, Any], transfer_id: str) -> Any:
    return call(upload_api(), "POST", "/transfers/{id}/download", claims=claims, path_params={"id": transfer_id})


def ticket(claims: dict[str, Any], stem: str, data: bytes, **extra: Any) -> dict[str, Any]:
    reply = start_upload(claims, f"{stem}.zip", len(data), **extra)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def ctf(stem: str) -> bytes:
    return make_aes_zip({f"{stem}.XML": b"<CTfile/>"})


def stored_objects(aws: Any) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=aws.bucket, Prefix="stored/")
    return [o["Key"] for o in listed.get("Contents", [])]


# ---------------------------------------------------------------- a download asked too early


@pytest.mark.parametrize(
    ("stem", "addressee", "extra"),
    [
        (f"{A}_CTF_823LLLL_001", la_claims("823"), {}),  # addressed to the school's own LA
        (f"{A}_CTF_823XXXX_001", la_claims("823"), {}),  # the LA finds the school
        (f"{A}_CTF_XXXXXXX_001", la_claims("823"), {"upn": PUPIL}),  # Lost Pupils: every LA
        (f"{A}_CTF_{A}_001", school_claims(A), {}),  # a school sending to itself
    ],
    ids=["LLLL", "XXXX", "LPD", "to-itself"],
)
def test_the_addressee_asking_before_the_file_is_available_gets_409(
    aws: Any, stem: str, addressee: dict[str, Any], extra: dict[str, Any]
) -> None:
    # Given an upload the addressee can already see (it is the sender's LA, or the sender itself)
    t = ticket(school_claims(A), stem, ctf(stem), **extra)

    # When the addressee asks for it before it has landed
    reply = download(addressee, t["transfer_id"])

    # Then it is not available yet (409), not a refusal (403)
    assert (reply.status, reply.error) == (409, "not_available"), reply.body


def test_the_addressee_of_a_rejected_upload_gets_409(aws: Any) -> None:
    stem = f"{A}_CTF_823LLLL_001"
    t = ticket(school_claims(A), stem, make_plain_zip({f"{stem}.XML": b"<CTfile/>"}))
    assert post_file(t, make_plain_zip({f"{stem}.XML": b"<CTfile/>"})) == 204
    assert drain_landing(aws) == []

    assert (
        download(la_claims("823"), t["transfer_id"]).error,
        download(la_claims("823"), t["transfer_id"]).status,
    ) == (
        "not_available",
        409,
    )


def test_others_keep_their_404_and_403(aws: Any) -> None:
    stem = f"{A}_CTF_{B}_001"
    pending = ticket(school_claims(A), stem, ctf(stem))
    lpd = ticket(school_claims(A), f"{A}_CTF_XXXXXXX_002", ctf(f"{A}_CTF_XXXXXXX_002"), upn=PUPIL)

    # The recipient does not see an upload before it lands; nor does another LA see an LPD upload.
    assert download(school_claims(B), pending["transfer_id"]).status == 404
    assert download(la_claims("330"), lpd["transfer_id"]).status == 404
    # The sender, and the LA of a school-to-school file, are not the addressee: 403 as before.
    assert (download(school_claims(A), pending["transfer_id"]).error) == "not_recipient"
    assert (download(la_claims("823"), pending["transfer_id"]).error) == "not_recipient"
    # Once it has landed, the addressee downloads it.
    lpd_stem = f"{A}_CTF_XXXXXXX_003"
    landed = send_file(aws, school_claims(A), lpd_stem, pupil=PUPIL)
    assert download(la_claims("823"), landed).status == 200


# ---------------------------------------------------------------- UPNs and sha256 of any form


@pytest.mark.parametrize(
    "given",
    [
        PUPIL + "1",  # 14 characters: was a generic max_length error
        PUPIL[:-1],  # 12
        PUPIL.lower(),
        f" {PUPIL}",
        PUPIL[:5] + "-" + PUPIL[6:],
        "H" * 300,
        "Ｈ801200001001",  # a full-width look-alike
    ],
    ids=["14-chars", "12-chars", "lower-case", "padded", "hyphen", "very-long", "full-width"],
)
@pytest.mark.parametrize("destination", ["XXXXXXX", B])
def test_a_upn_of_any_wrong_form_is_bad_upn(aws: Any, given: str, destination: str) -> None:
    reply = start_upload(school_claims(A), f"{A}_CTF_{destination}_001.zip", 1000, upn=given)

    assert (reply.status, reply.error) == (422, "bad_upn"), reply.body
    assert given.strip() not in reply.body["message"]  # a UPN identifies a child: never echoed


@pytest.mark.parametrize(
    "sha",
    ["a" * 64 + "\n", "A" * 64, "a" * 63, "a" * 65, "g" * 64, " " + "a" * 63, "a" * 32 + "\n" + "a" * 31],
    ids=["trailing-newline", "upper-case", "63", "65", "not-hex", "leading-space", "inner-newline"],
)
def test_sha256_is_exactly_64_lower_case_hex(aws: Any, sha: str) -> None:
    reply = start_upload(school_claims(A), f"{A}_CTF_{B}_001.zip", 1000, sha256=sha)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert [d["field"] for d in reply.body["details"]] == ["sha256"]
    assert start_upload(school_claims(A), f"{A}_CTF_{B}_001.zip", 1000, sha256="0a" * 32).status == 201


# ---------------------------------------------------------------- claims


@pytest.fixture
def lpd_file(aws: Any) -> str:
    return send_file(aws, school_claims(A), f"{A}_CTF_XXXXXXX_001", pupil=PUPIL)


@pytest.mark.parametrize(
    ("destination", "status", "error"),
    [
        ("9991234", 422, "unknown_la"),  # 999 is no LA
        ("0001234", 422, "unknown_la"),
        ("3" * 50, 422, "bad_destination"),  # was a generic max_length error
        ("", 422, "bad_destination"),
        ("330LLLL", 422, "bad_destination"),
        ("8232001", 403, "not_your_school"),
    ],
)
def test_a_claim_destination_is_checked_in_the_specs_order(
    aws: Any, lpd_file: str, destination: str, status: int, error: str
) -> None:
    reply = claim(la_claims("330"), lpd_file, destination)

    assert (reply.status, reply.error) == (status, error), reply.body


def test_after_a_claim_the_destination_is_the_school(aws: Any, lpd_file: str) -> None:
    reply = claim(la_claims("330"), lpd_file, "3302001")

    assert reply.status == 200, reply.body
    assert (reply.body["destination"], reply.body["recipient"]) == ("3302001", "3302001")
    assert reply.body["filename"] == f"{A}_CTF_XXXXXXX_001.zip"
    school = call(upload_api(), "GET", "/transfers", claims=school_claims("3302001"), query={"box": "inbox"})
    assert [(i["destination"], i["filename"]) for i in school.body["items"]] == [
        ("3302001", f"{A}_CTF_XXXXXXX_001.zip")
    ]


# ---------------------------------------------------------------- a withdrawal racing the landing copy


def test_a_withdrawal_between_the_checks_and_the_copy_leaves_nothing_stored(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stem = f"{A}_CTF_{B}_001"
    data = ctf(stem)
    t = ticket(school_claims(A), stem, data)
    assert post_file(t, data) == 204
    s3 = aws_clients.s3()
    real_copy, real_delete = s3.copy_object, files.delete

    def copy_with_a_withdrawal_in_between(**kwargs: Any) -> Any:
        # The sender withdraws while the landing check is copying: the withdrawal commits and
        # deletes stored/ (nothing there yet), our copy lands, then it deletes incoming/.
        deletes: list[tuple[str, str]] = []
        with monkeypatch.context() as inner:
            inner.setattr(files, "delete", lambda bucket, key: deletes.append((bucket, key)))
            withdrawn = call(
                upload_api(), "DELETE", "/transfers/{id}", claims=school_claims(A), path_params={"id": t["transfer_id"]}
            )
        assert withdrawn.status == 204, withdrawn.body
        assert [key.split("/")[0] for _, key in deletes] == ["stored", "incoming"]
        real_delete(*deletes[0])
        answer = real_copy(**kwargs)
        real_delete(*deletes[1])
        return answer

    monkeypatch.setattr(s3, "copy_object", copy_with_a_withdrawal_in_between)

    assert drain_landing(aws) == []

    record = transfers.get_transfer(t["transfer_id"])
    assert record is not None and record.status == "withdrawn"
    assert stored_objects(aws) == []


def test_a_second_delivery_racing_the_first_keeps_the_stored_file(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The re-check deletes the copy only when the transfer is not live: when the other delivery of
    # the same S3 event made it available first, the file stays for the recipient.
    stem = f"{A}_CTF_{B}_001"
    data = ctf(stem)
    t = ticket(school_claims(A), stem, data)
    assert post_file(t, data) == 204
    bucket, key = aws.bucket, f"incoming/{t['transfer_id']}/{stem}.zip"
    s3 = aws_clients.s3()
    real_copy = s3.copy_object
    real_delete = files.delete
    nested: list[str] = []

    def copy_while_another_delivery_runs(**kwargs: Any) -> Any:
        answer = real_copy(**kwargs)
        if not nested:
            nested.append("running")
            with monkeypatch.context() as inner:
                inner.setattr(files, "delete", lambda b, k: None)  # the first still reads it
                assert landing.handle_landed_object(bucket, key) == "available"
        return answer

    monkeypatch.setattr(s3, "copy_object", copy_while_another_delivery_runs)

    assert landing.handle_landed_object(bucket, key) == "duplicate"
    monkeypatch.setattr(files, "delete", real_delete)

    record = transfers.get_transfer(t["transfer_id"])
    assert record is not None and record.status == "available"
    assert stored_objects(aws) == [f"stored/{t['transfer_id']}/{stem}.zip"]
    assert download(school_claims(B), t["transfer_id"]).status == 200


# ---------------------------------------------------------------- audit keys


def test_two_containers_writing_in_the_same_microsecond_keep_both_audit_events(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stem = f"{A}_CTF_{B}_001"
    t = ticket(school_claims(A), stem, ctf(stem))
    frozen = datetime(2026, 6, 1, 10, 2, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: frozen)

    # Two containers: each has its own counter, both start from the same value.
    for _container in ("one", "two"):
        monkeypatch.setattr(transfers, "_counter", itertools.count())
        transfers.write_audit(t["transfer_id"], "email_sent", transfers.Actor.system("notify"), {"org": B})

    events = [e for e in transfers.audit_events(t["transfer_id"]) if e["action"] == "email_sent"]
    assert len(events) == 2
    assert {e["at"] for e in events} == {clock.iso(frozen)}
