"""The LRS client's retry policy, with a scripted transport (no network): reads retry after
transport failures with backoff inside the deadline; writes and faults are never retried."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable

import pytest
from s2s.adapters import lrs
from s2s.adapters.lrs import SOAP_NS, LrsClient, LrsCredentials, RetryPolicy, retry_policy
from s2s.contracts.uln import DemographicSearch, LearnerRegistration, LearnerUpdate
from s2s.domain import errors

pytestmark = pytest.mark.unit

NS = lrs.NS
CREDS = LrsCredentials("10000001", "s2s-local", "secret")
SEARCH = DemographicSearch.parse(
    {"given_name": "Oliver", "family_name": "Brook", "date_of_birth": "2009-11-03", "gender": 1, "postcode": "MK45 2DD"}
)
REGISTRATION = LearnerRegistration.parse(
    {
        "given_name": "Niamh",
        "family_name": "Byrne",
        "date_of_birth": "2008-06-15",
        "gender": 2,
        "postcode": "SG18 8AB",
        "verification_type": 1,
        "ability_to_share": 1,
    }
)


def ok(code: str = "WSRC0004", extra: str = "<l:Learner><l:ULN>1026893096</l:ULN></l:Learner>") -> tuple[int, bytes]:
    return 200, (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:l="{NS}"><s:Body><l:r><l:ResponseCode>{code}'
        f"</l:ResponseCode>{extra}</l:r></s:Body></s:Envelope>"
    ).encode()


def fault(code: str) -> tuple[int, bytes]:
    return 500, (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:l="{NS}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
        f"<detail><l:MIAPAPIException><l:ErrorCode>{code}</l:ErrorCode></l:MIAPAPIException></detail>"
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()


Step = tuple[int, bytes] | BaseException


class Script:
    """A transport that plays a list of answers or exceptions and records the timeouts it got."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.timeouts: list[float] = []
        self.operations: list[str] = []

    def __call__(self, endpoint: str, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        self.timeouts.append(timeout)
        self.operations.append(operation)
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


def client(
    script: Script,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    sleeps: list[float] | None = None,
) -> LrsClient:
    record = sleeps if sleeps is not None else []
    return LrsClient(
        "http://lrs.test/LearnerService.svc",
        lambda: CREDS,
        policy or RetryPolicy(attempt_seconds=2, deadline_seconds=20, max_attempts=3, backoff_seconds=0.5),
        transport=script,
        sleep=sleep or record.append,
    )


TRANSPORT_FAILURES: list[Step] = [
    TimeoutError("timed out"),
    urllib.error.URLError(TimeoutError("timed out")),
    urllib.error.URLError(ConnectionRefusedError(111, "refused")),
    ConnectionResetError(104, "reset"),
    (503, b"<html>Service Unavailable</html>"),
]


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES, ids=lambda f: type(f).__name__)
def test_reads_retry_after_a_transport_failure_with_backoff(failure):
    script = Script(failure, failure, ok())
    sleeps: list[float] = []

    result = client(script, sleeps=sleeps).find_by_demographics(SEARCH)

    assert result.learner is not None and result.learner.uln == "1026893096"
    assert script.operations == ["learnerByDemographics"] * 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES, ids=lambda f: type(f).__name__)
def test_writes_are_sent_once(failure):
    script = Script(failure, ok("WSRC0005", "<l:ULN>9276308686</l:ULN>"))

    with pytest.raises((errors.UpstreamError, errors.UpstreamTimeout)):
        client(script).register(REGISTRATION)
    with pytest.raises((errors.UpstreamError, errors.UpstreamTimeout)):
        client(Script(failure)).update("9276308686", LearnerUpdate.parse({"gender": 9}))
    assert len(script.operations) == 1


def test_reads_give_up_after_the_last_attempt_with_the_last_error():
    script = Script(TimeoutError(), TimeoutError(), TimeoutError(), ok())

    with pytest.raises(errors.UpstreamTimeout):
        client(script).find_by_uln("9276308686", "Amelia", "Hart")
    assert len(script.operations) == 3


@pytest.mark.parametrize(
    "answer",
    [fault("WSEC0004"), fault("WSEC0005"), ok("WSRC0001", ""), (200, b"<not-xml"), ok("WSRC0002", "")],
)
def test_answers_and_faults_are_not_retried(answer):
    script = Script(answer, ok())

    with pytest.raises(errors.S2SError):
        client(script).find_by_demographics(SEARCH)
    assert len(script.operations) == 1


def test_no_attempt_starts_after_the_deadline():
    # Each attempt takes its whole time limit (on an injected clock: nothing is timed); the deadline
    # leaves room for two, not three: 0.3 + 0.05 pause + 0.3 = 0.65 s, and a third attempt would
    # start with 0.9 - 0.65 - 0.1 = 0.15 s left, under the 0.5 s an attempt needs.
    policy = RetryPolicy(attempt_seconds=0.3, deadline_seconds=0.9, max_attempts=5, backoff_seconds=0.05)
    now = [0.0]
    attempts: list[float] = []
    sleeps: list[float] = []

    def hanging(endpoint: str, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        attempts.append(timeout)
        now[0] += timeout
        raise TimeoutError

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = LrsClient("http://lrs.test", lambda: CREDS, policy, transport=hanging, sleep=sleep, clock=lambda: now[0])
    with pytest.raises(errors.UpstreamTimeout):
        client.find_by_uln("9276308686", "A", "B")

    assert attempts == [0.3, 0.3]
    assert sleeps == [0.05]
    assert now[0] <= policy.deadline_seconds
    assert client.last_call is not None and client.last_call.elapsed_ms in (649, 650)  # float rounding


def test_an_attempt_gets_no_more_than_what_is_left_of_the_deadline():
    # The first attempt times out after its whole 2 s of a 3 s deadline; the retry is given the
    # 1 s that is left, not another 2 s (the pause here takes no time on the injected clock).
    policy = RetryPolicy(attempt_seconds=2.0, deadline_seconds=3.0, max_attempts=3, backoff_seconds=0.1)
    now = [0.0]
    given: list[float] = []

    def slow_then_ok(endpoint: str, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        given.append(timeout)
        if len(given) == 1:
            now[0] += 2.0  # the first attempt times out after its whole 2 s
            raise TimeoutError
        return ok()

    client = LrsClient(
        "http://lrs.test", lambda: CREDS, policy, transport=slow_then_ok, sleep=lambda s: None, clock=lambda: now[0]
    )
    client.find_by_uln("9276308686", "A", "B")

    # 3.0 - 2.0 = 1.0 s left when the second attempt starts: it gets 1.0, not its usual 2.0.
    assert given == [2.0, pytest.approx(1.0)]


def test_a_refused_password_is_not_retried_even_for_a_read():
    script = Script(fault("WSEC0005"), ok())

    with pytest.raises(errors.UpstreamError) as caught:
        client(script).find_by_demographics(SEARCH)
    assert caught.value.code == "lrs_credentials_refused"
    assert script.operations == ["learnerByDemographics"]


def test_no_endpoint_is_an_upstream_error_not_a_crash():
    with pytest.raises(errors.UpstreamError) as caught:
        LrsClient("", lambda: CREDS).find_by_demographics(SEARCH)
    assert caught.value.code == "lrs_not_configured"


def test_the_policy_comes_from_the_environment_and_stays_inside_29_seconds(monkeypatch):
    monkeypatch.setenv("LRS_TIMEOUT_SECONDS", "40")
    monkeypatch.setenv("LRS_DEADLINE_SECONDS", "60")
    monkeypatch.setenv("LRS_MAX_ATTEMPTS", "2")
    retry_policy.cache_clear()
    try:
        policy = retry_policy()
    finally:
        retry_policy.cache_clear()
    assert policy.deadline_seconds <= 25
    assert policy.attempt_seconds <= policy.deadline_seconds
    assert policy.max_attempts == 2


def test_the_default_policy_answers_well_inside_the_api_limit(monkeypatch):
    for name in ("LRS_TIMEOUT_SECONDS", "LRS_DEADLINE_SECONDS", "LRS_MAX_ATTEMPTS", "LRS_BACKOFF_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    retry_policy.cache_clear()
    try:
        policy = retry_policy()
    finally:
        retry_policy.cache_clear()
    assert policy.attempt_seconds < policy.deadline_seconds <= 20
