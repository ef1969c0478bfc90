"""LRS slow or down -> 504/503/502 within budget (issue 9, fault injection), through the real ULN
handler (`uln_api.lambda_handler`) over real sockets on 127.0.0.1:

- an LRS that never answers (it hangs after reading the request, or its process no longer accepts
  connections) is a 504 `lrs_timeout` inside the configured deadline, a find retried within it and a
  register sent once;
- an LRS that refuses connections (closed port) or drops them without an answer is a 502
  `lrs_unreachable`, well before the deadline;
- an LRS that is closed for the night (fault WSEC0004) is a 503 `lrs_out_of_hours` with Retry-After,
  not retried.

Every failure still leaves its audit item (who asked, what for, the status they got). No test times
anything (issue 15: a wall-clock budget failed CI under load): the client keeps its deadline against
an injected clock that moves by each timed-out attempt's whole time limit and by each pause
(`tests/lrs_clock.py`), so the tests count the attempts, read the timeouts passed to the real
transport, and check that the worst case fits the deadline. The limits are shrunk through the
environment variables `s2s.adapters.lrs.retry_policy()` reads, so the real sockets time out quickly; the last
test checks the limits in production stay inside API Gateway's 29 s."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import uln_api
from s2s.adapters.lrs import retry_policy
from s2s.adapters.lrs_registry import forget_cache
from s2s.runtime.settings import get_settings
from s2s.services import uln as uln_service
from s2s_cli.fake_lrs import FakeLrs, start_fake_lrs
from support.helpers import Reply, call, school_claims
from support.lrs import register_with_lrs
from support.lrs_clock import LrsTimeline, install

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

SCHOOL = "8231234"
# Each attempt may take ATTEMPT s, the whole call DEADLINE s. A hanging find: attempt 1 (0.3 s),
# pause 0.05, attempt 2 (0.3 s) at 0.35 s; then 0.1 s of pause would leave 0.25 s, less than the
# 0.5 s an attempt needs, so it stops after exactly 2 of the 5 attempts allowed. Without the
# deadline it would make all 5 (1.5 s of attempts, 0.75 s of pauses).
ATTEMPT = 0.3
DEADLINE = 1.0
MAX_ATTEMPTS = 5
BACKOFF = 0.05

SEARCH = {
    "given_name": "Oliver",
    "family_name": "Brook",
    "date_of_birth": "2009-11-03",
    "gender": 1,
    "postcode": "MK45 2DD",
}
REGISTRATION = {
    "given_name": "Niamh",
    "family_name": "O'Connor",
    "date_of_birth": "2008-06-15",
    "gender": 2,
    "postcode": "SG18 8AB",
    "verification_type": 1,
    "ability_to_share": 1,
}
AMELIA_ULN = "9276308686"


# ---------------------------------------------------------------- broken LRS servers


@dataclass
class BrokenLrs:
    """A TCP endpoint that misbehaves in one way, counting the connections it sees.

    `hang`: accepts, reads the request, never answers (a wedged application server).
    `backlog`: listens but never accepts (a hung process: the kernel completes the handshake).
    `drop`: accepts, reads the request, closes without a byte (a crashing proxy)."""

    mode: str
    sock: socket.socket = field(default_factory=socket.socket)
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _held: list[socket.socket] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> BrokenLrs:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        if self.mode != "backlog":
            self.sock.settimeout(0.05)
            self._thread = threading.Thread(target=self._serve, daemon=True)
            self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/LearnerService.svc"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(1.0)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if self.mode == "drop":
                conn.close()
            else:
                self._held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def broken() -> Iterator[Callable[[str], BrokenLrs]]:
    started: list[BrokenLrs] = []

    def start(mode: str) -> BrokenLrs:
        server = BrokenLrs(mode).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def fake_lrs() -> Iterator[FakeLrs]:
    fake = start_fake_lrs("127.0.0.1", 0)
    yield fake
    fake.stop()


def _reset_lrs_caches() -> None:
    get_settings.cache_clear()
    retry_policy.cache_clear()
    forget_cache()


@pytest.fixture
def point_lrs(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the handler at an LRS URL with the short time limits of this file."""
    monkeypatch.setenv("LRS_TIMEOUT_SECONDS", str(ATTEMPT))
    monkeypatch.setenv("LRS_DEADLINE_SECONDS", str(DEADLINE))
    monkeypatch.setenv("LRS_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("LRS_BACKOFF_SECONDS", str(BACKOFF))

    def point(url: str) -> None:
        monkeypatch.setenv("LRS_ENDPOINT", url)
        _reset_lrs_caches()

    register_with_lrs(SCHOOL)
    yield point
    _reset_lrs_caches()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/LearnerService.svc"


# ---------------------------------------------------------------- calls and what they leave


def find() -> Reply:
    return call(
        uln_api.lambda_handler,
        "GET",
        "/uln/learners/{uln}",
        claims=school_claims(SCHOOL),
        path_params={"uln": AMELIA_ULN},
        query={"given_name": "Amelia", "family_name": "Hart"},
    )


def search() -> Reply:
    return call(uln_api.lambda_handler, "POST", "/uln/learners/search", claims=school_claims(SCHOOL), body=SEARCH)


def register() -> Reply:
    return call(uln_api.lambda_handler, "POST", "/uln/learners", claims=school_claims(SCHOOL), body=REGISTRATION)


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch) -> LrsTimeline:
    """The ULN handler's LRS clients keep time on this timeline (real transport, injected clock)."""
    return install(monkeypatch, uln_service)


def assert_within_deadline(timeline: LrsTimeline) -> None:
    """Every attempt got at most its own limit and what was left of the deadline, and even if each
    one used all of it, the call with its pauses ended inside the deadline."""
    assert all(0 < t <= ATTEMPT for t in timeline.timeouts), timeline.timeouts
    assert timeline.worst_case_seconds <= DEADLINE, timeline


def audit_items(aws: Any) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(aws.table)
    items = table.query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": f"ULNAUDIT#{SCHOOL}"})[
        "Items"
    ]
    return list(items)


def assert_audited(aws: Any, operation: str, status: int, code: str, uln: str | None = None) -> None:
    """Exactly one audit item for the failed call, naming the failure and never the learner."""
    [item] = audit_items(aws)
    assert item["operation"] == operation
    assert int(item["http_status"]) == status
    assert item["response_code"] == code
    assert item["user"] == f"user-{SCHOOL}"
    assert item.get("uln") == uln
    text = repr(item)
    for private in ("Oliver", "Brook", "Niamh", "O'Connor", "Amelia", "Hart", "2009-11-03", "MK45", "SG18"):
        assert private not in text


# ---------------------------------------------------------------- never answers: 504 within the deadline


@pytest.mark.parametrize("mode", ["hang", "backlog"])
def test_a_find_against_an_lrs_that_never_answers_is_504_within_the_deadline(
    aws: Any,
    point_lrs: Callable[[str], None],
    broken: Callable[[str], BrokenLrs],
    timeline: LrsTimeline,
    mode: str,
) -> None:
    lrs = broken(mode)
    point_lrs(lrs.url)

    reply = find()

    assert (reply.status, reply.error) == (504, "lrs_timeout")
    # Reads are retried while the deadline allows: exactly two attempts of the five allowed.
    assert timeline.timeouts == [ATTEMPT, ATTEMPT]
    assert timeline.sleeps == [BACKOFF]
    assert_within_deadline(timeline)
    if mode == "hang":
        assert lrs.connections == 2
    assert_audited(aws, "learnerByULN", 504, "lrs_timeout", uln=AMELIA_ULN)


def test_a_register_against_an_lrs_that_never_answers_is_504_after_one_attempt(
    aws: Any, point_lrs: Callable[[str], None], broken: Callable[[str], BrokenLrs], timeline: LrsTimeline
) -> None:
    lrs = broken("hang")
    point_lrs(lrs.url)

    reply = register()

    assert (reply.status, reply.error) == (504, "lrs_timeout")
    # Sent once (a retried register could allocate a second ULN), so bounded by one attempt.
    assert lrs.connections == 1
    assert (timeline.timeouts, timeline.sleeps) == ([ATTEMPT], [])
    assert_audited(aws, "registerSingleLearner", 504, "lrs_timeout")


def test_a_fake_lrs_stuck_on_one_request_is_504_within_the_deadline(
    aws: Any, point_lrs: Callable[[str], None], fake_lrs: FakeLrs, timeline: LrsTimeline
) -> None:
    # The fake LRS's own `slow` scenario, held far longer than the whole deadline.
    fake_lrs.reset()
    usual, fake_lrs.slow_seconds = fake_lrs.slow_seconds, 30.0
    fake_lrs.set_scenario("slow")
    point_lrs(fake_lrs.url)

    try:
        reply = search()
        attempts = fake_lrs.request_count("learnerByDemographics")
    finally:
        fake_lrs.slow_seconds = usual
        fake_lrs.reset()

    assert (reply.status, reply.error) == (504, "lrs_timeout")
    assert attempts == timeline.attempts == 2
    assert_within_deadline(timeline)
    assert_audited(aws, "learnerByDemographics", 504, "lrs_timeout")


# ---------------------------------------------------------------- down: 502 quickly


@pytest.mark.parametrize(
    ("send", "attempts"),
    [(search, 4), (register, 1)],
    ids=["search", "register"],
)
def test_an_lrs_that_refuses_connections_is_502_well_before_the_deadline(
    aws: Any,
    point_lrs: Callable[[str], None],
    timeline: LrsTimeline,
    send: Callable[[], Reply],
    attempts: int,
) -> None:
    point_lrs(closed_port_url())

    reply = send()

    assert (reply.status, reply.error) == (502, "lrs_unreachable")
    # A refused connection fails at once, so no attempt's time limit is spent waiting: only the
    # read's pauses (0.05 + 0.1 + 0.2 s) pass before a fourth pause would leave too little time.
    assert timeline.attempts == attempts
    assert timeline.now == pytest.approx(sum(timeline.sleeps))
    assert timeline.now < DEADLINE / 2
    assert all(t <= ATTEMPT for t in timeline.timeouts)
    operation = "learnerByDemographics" if send is search else "registerSingleLearner"
    assert_audited(aws, operation, 502, "lrs_unreachable")


def test_an_lrs_that_drops_the_connection_is_502_and_a_register_is_not_resent(
    aws: Any, point_lrs: Callable[[str], None], broken: Callable[[str], BrokenLrs], timeline: LrsTimeline
) -> None:
    lrs = broken("drop")
    point_lrs(lrs.url)

    reply = register()

    assert (reply.status, reply.error) == (502, "lrs_unreachable")
    assert lrs.connections == 1
    assert (timeline.attempts, timeline.sleeps, timeline.now) == (1, [], 0.0)
    assert_audited(aws, "registerSingleLearner", 502, "lrs_unreachable")


# ---------------------------------------------------------------- closed for the night: 503 + Retry-After


@pytest.mark.parametrize("send", [search, register], ids=["search", "register"])
def test_an_lrs_out_of_hours_is_503_with_retry_after_at_once(
    aws: Any,
    point_lrs: Callable[[str], None],
    fake_lrs: FakeLrs,
    timeline: LrsTimeline,
    send: Callable[[], Reply],
) -> None:
    fake_lrs.reset()
    fake_lrs.set_scenario("out_of_hours")
    point_lrs(fake_lrs.url)

    reply = send()

    assert (reply.status, reply.error) == (503, "lrs_out_of_hours")
    assert int(reply.headers["retry-after"]) > 0
    assert reply.body["details"] == [{"response_code": "WSEC0004"}]
    # A closed service is an answer, not a transport failure: never retried, no time spent waiting.
    assert fake_lrs.request_count() == 1
    assert (timeline.attempts, timeline.sleeps, timeline.now) == (1, [], 0.0)
    operation = "learnerByDemographics" if send is search else "registerSingleLearner"
    assert_audited(aws, operation, 503, "WSEC0004")


# ---------------------------------------------------------------- the budget in production


def test_the_production_budget_stays_inside_api_gateways_29_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LRS_TIMEOUT_SECONDS", "LRS_DEADLINE_SECONDS", "LRS_MAX_ATTEMPTS", "LRS_BACKOFF_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    retry_policy.cache_clear()
    try:
        default = retry_policy()
        monkeypatch.setenv("LRS_DEADLINE_SECONDS", "600")
        monkeypatch.setenv("LRS_TIMEOUT_SECONDS", "600")
        retry_policy.cache_clear()
        misconfigured = retry_policy()
    finally:
        retry_policy.cache_clear()

    assert default.attempt_seconds <= default.deadline_seconds < 29
    # A deadline set too high is capped, so the handler always answers before the gateway gives up.
    assert misconfigured.deadline_seconds <= 25
    assert misconfigured.attempt_seconds <= misconfigured.deadline_seconds
