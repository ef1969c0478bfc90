"""The LRS batch payloads (s2s.adapters.lrs_batch) against the fake LRS over real HTTP."""

from __future__ import annotations

import pytest
from s2s.adapters import lrs_batch
from s2s.adapters.lrs import LrsCredentials
from s2s.adapters.lrs_batch import BatchClient, BatchLearner, read_output_code, read_results
from s2s.domain import errors
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME, LINKED_MASTER, FakeLrs

pytestmark = pytest.mark.functional

CREDS = LrsCredentials(DEFAULT_UKPRN, DEFAULT_USERNAME, DEFAULT_PASSWORD)


def learners(count: int, uln: str | None = None) -> list[BatchLearner]:
    return [BatchLearner(str(i + 1), "Ann", f"Smith & <{i}>", "2010-01-02", 2, "LU5 4QA", uln) for i in range(count)]


def test_a_registration_job_is_submitted_once_polled_and_read(lrs: FakeLrs) -> None:
    client = BatchClient(lrs.url, CREDS)
    answer = client.submit("register", learners(12), 12)
    assert answer.response_code == lrs_batch.SUBMITTED and answer.job_id
    with client.output("register", answer.job_id) as first:
        assert read_output_code(first) == lrs_batch.INCOMPLETE
    with client.output("register", answer.job_id) as done:
        assert read_output_code(done) == lrs_batch.SUCCESSFUL
        results = list(read_results(done))
    assert [r.reference for r in results] == [str(i + 1) for i in range(12)]
    assert {r.response_code for r in results} == {"WSRC0005"}
    assert client.calls == 3
    assert lrs.request_count("submitBatchRegistration") == 1
    # The values travelled as text: the markup in a name reached the LRS as characters.
    assert "Smith & <3>" in lrs.batches.jobs[answer.job_id]["learners"][3]["FamilyName"]


def test_mixed_outcomes_and_linked_learners(lrs: FakeLrs) -> None:
    lrs.set_scenario("batch_mixed")
    client = BatchClient(lrs.url, CREDS)
    job = client.submit("verify", learners(10, uln="9276308686"), 10).job_id
    assert job
    client.output("verify", job).close()
    with client.output("verify", job) as done:
        by_ref = {r.reference: r for r in read_results(done)}
    assert by_ref["4"].response_code == "WSRC0003" and by_ref["4"].candidates == 2
    assert by_ref["6"].response_code == "WSRC0001"
    assert by_ref["8"].response_code == "WSRC0022" and by_ref["8"].master_uln == LINKED_MASTER
    assert by_ref["1"].response_code == "WSRC0004"


def test_a_wrong_record_count_an_unknown_job_and_out_of_hours(lrs: FakeLrs) -> None:
    client = BatchClient(lrs.url, CREDS)
    assert client.submit("register", learners(2), 2).response_code == lrs_batch.SUBMITTED
    with client.output("register", "JOB999999") as answer:
        assert read_output_code(answer) == lrs_batch.UNKNOWN_JOB
    lrs.next_scenario("out_of_hours")
    with pytest.raises(errors.UpstreamUnavailable) as closed:
        client.submit("register", learners(2), 2)
    assert closed.value.code == "lrs_out_of_hours"


def test_a_refused_password_is_a_credentials_error(lrs: FakeLrs) -> None:
    client = BatchClient(lrs.url, LrsCredentials(DEFAULT_UKPRN, DEFAULT_USERNAME, "wrong"))
    with pytest.raises(errors.UpstreamError) as refused:
        client.submit("register", learners(1), 1)
    assert refused.value.code == "lrs_credentials_refused"
