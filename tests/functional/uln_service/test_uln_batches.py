"""ULN batches end to end, in-process against moto and the fake LRS over real HTTP
(docs/SERVICE.md "ULNs in bulk"): a file lands, is read and checked, ONE job per kind of pupil goes
to the LRS, polls follow through the queue, the outcomes, the CSV and the return CTF come back."""

from __future__ import annotations

import io
import json
import logging
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from s2s.adapters import subscriptions
from s2s.adapters import uln_batches as repo
from s2s.domain import clock
from s2s.domain.ctf_batch import CtfBatchReader, Sender
from s2s.domain.identifiers import is_valid_uln
from s2s.runtime.settings import get_settings
from s2s.services import uln_batch_jobs
from s2s_cli.fake_lrs import LINKED_MASTER, FakeLrs
from support.ctf_batches import BILLION_LAUGHS, EXTERNAL_ENTITY, ctf_bytes, pupils, with_fields
from support.flows import post_file
from support.helpers import la_claims, school_claims
from support.uln_batch_flow import SCHOOL, all_outcomes, api, batch, csv_rows, result, run_worker, send_batch, start

pytestmark = pytest.mark.functional

STAFF = "data.manager@8231234.school.example"


@pytest.fixture
def batches(lrs: FakeLrs, monkeypatch: pytest.MonkeyPatch) -> FakeLrs:
    """The fake LRS, polls without delay, and a subscriber at the school."""
    monkeypatch.setenv("ULN_BATCH_POLL_SECONDS", "0")
    get_settings.cache_clear()
    subscriptions.subscribe(SCHOOL, STAFF, "user-dm", "Alpha Academy")
    return lrs


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)


def expected_outcomes(made: list[Any], bad: set[int]) -> list[str]:
    """What `batch_mixed` answers, by each pupil's place in its own job (the fake's rule)."""
    positions = {"register": 0, "verify": 0}
    expected = []
    for i, p in enumerate(made):
        if i in bad:
            expected.append("data_error")
            continue
        kind = "verify" if p.uln else "register"
        slot = positions[kind] % 10
        positions[kind] += 1
        plain = "verified" if kind == "verify" else "registered"
        expected.append({3: "possible_matches", 5: "no_match", 7: "linked"}.get(slot, plain))
    return expected


def test_a_200_pupil_batch_with_mixed_outcomes_end_to_end(aws: Any, batches: FakeLrs) -> None:
    batches.set_scenario("batch_mixed")
    made = pupils(200, with_uln_every=4)
    made[10] = with_fields(made[10], postcode="NOWHERE")
    made[11] = with_fields(made[11], upn="Q207000016049")
    made[12] = with_fields(made[12], surname='=HYPERLINK("http://evil")')  # a formula, and a bad name
    bad = {10, 11, 12}

    batch_id = send_batch(aws, ctf_bytes(made))

    detail = batch(batch_id)
    assert detail["status"] == "complete", detail
    expected = expected_outcomes(made, bad)
    counts = detail["counts"]
    assert counts["pupils"] == 200
    assert counts["data_errors"] == 3
    for outcome, key in (
        ("registered", "registered"),
        ("verified", "verified"),
        ("possible_matches", "possible_matches"),
        ("no_match", "no_match"),
        ("linked", "linked"),
    ):
        assert counts[key] == expected.count(outcome), outcome
    assert counts["registered"] and counts["verified"] and counts["linked"] and counts["possible_matches"]

    # One job per kind of pupil, then polls: never one call per pupil.
    assert batches.request_count("submitBatchRegistration") == 1
    assert batches.request_count("submitVerifyBatch") == 1
    assert batches.request_count("getBatchRegistrationOutput") == 2  # incomplete once, then done
    assert batches.request_count("registerSingleLearner") == 0

    outcomes = all_outcomes(batch_id, limit=30)
    assert [o["seq"] for o in outcomes] == list(range(1, 201))
    assert [o["upn"] for o in outcomes] == [p.upn for p in made]
    assert [o["outcome"] for o in outcomes] == expected
    by_outcome = {o["outcome"]: o for o in outcomes}
    assert by_outcome["possible_matches"]["candidates"] == 2
    assert by_outcome["linked"]["uln"] == LINKED_MASTER and by_outcome["linked"]["master_uln"] == LINKED_MASTER
    assert outcomes[10]["fields"] == ["postcode"] and outcomes[11]["fields"] == ["upn"]
    assert outcomes[12]["fields"] == ["surname"]
    for o, p in zip(outcomes, made, strict=True):
        if o["outcome"] == "verified":
            assert o["uln"] == p.uln
        if o["outcome"] == "registered":
            assert is_valid_uln(o["uln"])
        if o["outcome"] in ("no_match", "possible_matches", "data_error"):
            assert o["uln"] is None
    # The API names pupils by UPN only.
    assert "Ashdown" not in json.dumps(outcomes) and made[0].dob not in json.dumps(outcomes)

    rows = csv_rows(result(batch_id, "csv"))
    assert [r["upn"] for r in rows] == [p.upn for p in made]
    assert [r["outcome"] for r in rows] == expected
    assert rows[12]["surname"].startswith("'=")  # made safe for a spreadsheet

    ctf = result(batch_id, "ctf")
    reader = CtfBatchReader(io.BytesIO(ctf), Sender("school", "823", "1234"), today=date.today())
    header = reader.header()
    assert header.qualifier == "partial"
    returned = {p.upn: p for p in reader.pupils()}
    matched = {o["upn"]: o["uln"] for o in outcomes if o["outcome"] in ("registered", "verified", "linked")}
    assert {upn: p.uln for upn, p in returned.items()} == matched
    # Each returned pupil's UPN and ULN pass their checks (the return file carries no address).
    assert all(not [x for x in p.problems if x.field in ("upn", "uln", "dob")] for p in returned.values())
    assert detail["counts"]["matched"] == len(matched)

    # One email to the subscriber, with a portal link and no pupil's details.
    emails = [m for m in sent_emails() if STAFF in m.destinations["ToAddresses"]]
    assert len(emails) == 1
    body = emails[0].body
    assert f"http://portal.test/uln/batches/{batch_id}" in body
    for p in made[:50]:
        assert p.surname not in body and p.dob not in body and p.postcode not in body
    actions = [a["action"] for a in repo.audit_events(batch_id)]
    for step in ("created", "validating", "validated", "job_submitted", "submitted", "job_output_read", "complete"):
        assert step in actions, step
    assert "email_sent" in actions


def test_the_message_delivered_twice_changes_nothing_and_emails_once(aws: Any, batches: FakeLrs) -> None:
    batch_id = send_batch(aws, ctf_bytes(pupils(5)))
    found = repo.get(batch_id)
    assert found is not None and found.status == "complete"
    assert uln_batch_jobs.handle_landed(get_settings().bucket_name, found.key) == "duplicate"
    assert uln_batch_jobs.handle_step({"step": "poll", "batch_id": batch_id, "attempt": 3}) == "duplicate"
    uln_batch_jobs.handle_step({"step": "notify", "batch_id": batch_id})
    assert len([m for m in sent_emails() if STAFF in m.destinations["ToAddresses"]]) == 1
    assert batches.request_count("submitBatchRegistration") == 1


def test_a_slow_job_is_polled_with_backoff_until_it_completes(aws: Any, batches: FakeLrs) -> None:
    batches.set_scenario("batch_slow")
    batch_id = send_batch(aws, ctf_bytes(pupils(4)))
    assert batch(batch_id)["status"] == "complete"
    assert batches.request_count("getBatchRegistrationOutput") == 4
    polled = [a for a in repo.audit_events(batch_id) if a["action"] == "polled"]
    assert [int(a["details"]["attempt"]) for a in polled] == [1, 2, 3]


def test_polls_back_off_and_a_deadline_fails_the_batch(aws: Any, batches: FakeLrs, monkeypatch: Any) -> None:
    """The injected clock passes the deadline between polls: the batch fails with its reason."""
    delays: list[int] = []
    real_enqueue = uln_batch_jobs.enqueue

    def record(step: str, batch_id: str, *, attempt: int = 0, delay: int = 0) -> None:
        delays.append(delay)
        real_enqueue(step, batch_id, attempt=attempt, delay=0)

    monkeypatch.setenv("ULN_BATCH_POLL_SECONDS", "30")
    get_settings.cache_clear()
    monkeypatch.setattr(uln_batch_jobs, "enqueue", record)
    batches.set_scenario("batch_slow")
    data = ctf_bytes(pupils(3))
    reply = start(data)
    assert post_file(reply.body, data) == 204
    batch_id = reply.body["batch_id"]
    from support.flows import drain
    from support.uln_batch_flow import worker

    drain(aws.queue_urls["UlnBatchQueue"], worker(), rounds=2)  # landed + submitted, first poll
    assert delays[:2] == [30, 60]
    clock.travel(timedelta(hours=49))
    run_worker(aws)
    detail = batch(batch_id)
    assert detail["status"] == "failed" and detail["reason"] == "lrs_deadline"
    assert "48 hours" in detail["reason_message"]


def test_a_failed_job_fails_the_batch_and_says_so(aws: Any, batches: FakeLrs) -> None:
    batches.set_scenario("batch_job_failed")
    batch_id = send_batch(aws, ctf_bytes(pupils(3)))
    detail = batch(batch_id)
    assert detail["status"] == "failed" and detail["reason"] == "lrs_job_failed"
    reply = api("POST", "/uln/batches/{id}/result", path_params={"id": batch_id}, body={"format": "csv"})
    assert reply.status == 409 and reply.error == "batch_not_complete"
    emails = [m for m in sent_emails() if STAFF in m.destinations["ToAddresses"]]
    assert len(emails) == 1 and "could not be completed" in emails[0].subject


def test_one_lrs_data_error_is_that_pupils_outcome(aws: Any, batches: FakeLrs) -> None:
    batches.set_scenario("batch_one_data_error")
    batch_id = send_batch(aws, ctf_bytes(pupils(4)))
    outcomes = all_outcomes(batch_id)
    assert [o["outcome"] for o in outcomes] == ["data_error", "registered", "registered", "registered"]
    assert outcomes[0]["lrs_code"] == "WSRC0015" and outcomes[0]["fields"] == ["lrs"]


def test_all_register_gives_every_pupil_a_uln(aws: Any, batches: FakeLrs) -> None:
    batches.set_scenario("batch_all_register")
    batch_id = send_batch(aws, ctf_bytes(pupils(6)))
    outcomes = all_outcomes(batch_id)
    assert {o["outcome"] for o in outcomes} == {"registered"}
    assert len({o["uln"] for o in outcomes}) == 6


def test_out_of_hours_waits_and_then_goes_on(aws: Any, batches: FakeLrs) -> None:
    batches.next_scenario("out_of_hours")
    data = ctf_bytes(pupils(3))
    reply = start(data)
    assert post_file(reply.body, data) == 204
    run_worker(aws)
    batch_id = reply.body["batch_id"]
    waiting = [a for a in repo.audit_events(batch_id) if a["action"] == "waiting"]
    assert waiting and waiting[0]["details"]["why"] == "lrs_out_of_hours"
    assert int(waiting[0]["details"]["delay_seconds"]) == 900
    assert batch(batch_id)["status"] == "validating"
    # The delayed message arrives (SQS holds it 15 minutes): the batch goes on.
    uln_batch_jobs.handle_step({"step": "submit", "batch_id": batch_id, "attempt": 0})
    run_worker(aws)
    assert batch(batch_id)["status"] == "complete"


HOSTILE = {
    "not_xml": (b"PK\x03\x04 a zip, not a CTF", "xml_invalid"),
    "billion_laughs": (BILLION_LAUGHS, "xml_invalid"),
    "external_entity": (EXTERNAL_ENTITY, "xml_invalid"),
    "wrong_header": (ctf_bytes(pupils(2), document_name="Admissions Transfer File"), "not_ctf"),
    "another_school": (ctf_bytes(pupils(2), estab="2345"), "source_not_sender"),
    "too_many_pupils": (ctf_bytes(pupils(5001), extra_section=False), "too_many_pupils"),
}


@pytest.mark.hardening
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_with_their_reason_and_nothing_reaches_the_lrs(
    aws: Any, batches: FakeLrs, case: str
) -> None:
    data, reason = HOSTILE[case]
    batch_id = send_batch(aws, data)
    detail = batch(batch_id)
    assert detail["status"] == "rejected" and detail["reason"] == reason, detail
    assert detail["reason_message"] and detail["outcomes"] == []
    assert batches.request_count() == 0
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=get_settings().bucket_name, Prefix=f"uln-batches/{batch_id}/")
    assert listed.get("KeyCount", 0) == 0  # the refused file is not kept
    emails = [m for m in sent_emails() if STAFF in m.destinations["ToAddresses"]]
    assert len(emails) == 1 and "refused" in emails[0].subject


@pytest.mark.hardening
def test_a_file_over_20_mib_is_refused_before_any_upload(aws: Any, batches: FakeLrs) -> None:
    reply = api("POST", "/uln/batches", body={"filename": "big.xml", "size_bytes": 20 * 1024 * 1024 + 1})
    assert reply.status == 413 and reply.error == "too_large"
    assert batches.request_count() == 0


@pytest.mark.hardening
def test_a_file_bigger_than_its_ticket_is_refused_and_deleted(aws: Any, batches: FakeLrs) -> None:
    data = ctf_bytes(pupils(2))
    reply = start(data)
    post_file(reply.body, data + b"<!-- more -->")  # moto does not enforce the size condition
    run_worker(aws)
    detail = batch(reply.body["batch_id"])
    assert detail["status"] == "rejected" and detail["reason"] == "unexpected_object"
    assert batches.request_count() == 0


@pytest.mark.hardening
@pytest.mark.parametrize("filename", ["batch.zip", "../x.xml", "a/b.xml", "x.xml\n", "", "ULN.XML.exe"])
def test_only_an_xml_file_name_is_accepted(aws: Any, batches: FakeLrs, filename: str) -> None:
    reply = api("POST", "/uln/batches", body={"filename": filename, "size_bytes": 100})
    assert reply.status == 422


def test_the_presigned_post_is_pinned_to_the_key_and_size(aws: Any, batches: FakeLrs) -> None:
    reply = start(b"x" * 1234)
    fields = reply.body["upload"]["fields"]
    assert fields["key"] == f"uln-batches/{reply.body['batch_id']}/ULN_request.xml"
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert ["content-length-range", 1234, 1234] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"] or any(
        c == {"key": fields["key"]} for c in policy["conditions"]
    )


def test_a_batch_is_visible_to_its_own_organisation_only(aws: Any, batches: FakeLrs) -> None:
    from support.lrs import register_with_lrs

    batch_id = send_batch(aws, ctf_bytes(pupils(2)))
    register_with_lrs("8232345")
    other = school_claims("8232345")
    assert api("GET", "/uln/batches/{id}", claims=other, path_params={"id": batch_id}).status == 404
    reply = api("POST", "/uln/batches/{id}/result", claims=other, path_params={"id": batch_id}, body={"format": "ctf"})
    assert reply.status == 404
    assert api("GET", "/uln/batches", claims=other).body["items"] == []
    listed = api("GET", "/uln/batches").body["items"]
    assert [b["batch_id"] for b in listed] == [batch_id]
    dfe = api("GET", "/uln/batches", claims={"sub": "x", "organisation": json.dumps({"category": {"id": "011"}})})
    assert dfe.status == 403


def test_an_la_runs_a_batch_for_its_own_schools(aws: Any, batches: FakeLrs) -> None:
    batch_id = send_batch(aws, ctf_bytes(pupils(3)), claims=la_claims("823"))
    assert batch(batch_id, claims=la_claims("823"))["status"] == "complete"


def test_results_expire_with_the_retention_period(aws: Any, batches: FakeLrs) -> None:
    batch_id = send_batch(aws, ctf_bytes(pupils(2)))
    clock.travel(timedelta(days=get_settings().retention_days + 1))
    reply = api("POST", "/uln/batches/{id}/result", path_params={"id": batch_id}, body={"format": "ctf"})
    assert reply.status == 410 and reply.error == "expired"
    assert batch(batch_id)["status"] == "expired"
    assert repo.audit_events(batch_id)  # the audit trail outlives the files


def test_no_name_birth_date_or_postcode_in_any_log_line_of_a_whole_batch(
    aws: Any, batches: FakeLrs, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    batches.set_scenario("batch_mixed")
    made = pupils(40, with_uln_every=3)
    made[5] = with_fields(made[5], postcode="BADCODE")
    with caplog.at_level(logging.INFO):
        batch_id = send_batch(aws, ctf_bytes(made))
    assert batch(batch_id)["status"] == "complete"
    logged = capsys.readouterr()
    text = (
        logged.out
        + logged.err
        + "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    )
    assert batch_id in text  # the logs were captured
    for p in made:
        for value in (p.surname, p.forename, p.dob, p.postcode):
            assert value not in text, value
    assert "BADCODE" not in text


def test_every_batch_route_needs_the_organisations_own_lrs_registration(aws: Any, batches: FakeLrs) -> None:
    batch_id = send_batch(aws, ctf_bytes(pupils(2)))
    unregistered = school_claims("8232345")  # registered with no LRS account
    for method, path, body in (
        ("POST", "/uln/batches", {"filename": "a.xml", "size_bytes": 10}),
        ("GET", "/uln/batches", None),
        ("GET", "/uln/batches/{id}", None),
        ("POST", "/uln/batches/{id}/result", {"format": "csv"}),
    ):
        reply = api(method, path, claims=unregistered, path_params={"id": batch_id}, body=body)
        assert reply.status == 403 and reply.error == "lrs_not_registered", (method, path, reply.body)


def test_a_batch_whose_organisation_lost_its_registration_fails_with_that_reason(
    aws: Any, batches: FakeLrs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s2s.domain import errors
    from s2s.services import registration

    data = ctf_bytes(pupils(3))
    reply = start(data)
    assert post_file(reply.body, data) == 204

    def not_registered(who: Any) -> Any:
        raise errors.Forbidden("Your organisation is not registered with the LRS.", code="lrs_not_registered")

    monkeypatch.setattr(registration, "credentials_for", not_registered)
    run_worker(aws)
    found = repo.get(reply.body["batch_id"])
    assert found is not None and found.status == "failed" and found.reason == "lrs_not_registered"
    assert batches.request_count() == 0
