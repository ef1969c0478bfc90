"""A fake Learning Records Service: a real SOAP 1.1 HTTP server on 127.0.0.1 for tests and the
local stack.

It answers `registerSingleLearner`, `learnerByULN`, `learnerByDemographics` and
`updateSingleLearner` from a small in-memory learner register (fictional people with valid ULNs),
checks the UKPRN, user name and password it was started with (wrong ones get the LRS's own
faults), and records every request so tests can inspect what was sent.

Scenarios make it answer a case on demand, whatever the request: `exact`, `possible`,
`too_many`, `no_match`, `linked`, `registered`, `updated`, `out_of_hours`, `bad_password`,
`slow` (waits `slow_seconds`, then answers from the register), `http_500`, `malformed_xml`, or any
raw code such as `WSRC0019` or `WSEC0006`. The default, `auto`, answers from the register.
`set_scenario` is sticky; `next_scenario` queues a one-shot answer used before the sticky one.

Control from another process over HTTP: `POST /_scenario` with `{"scenario": NAME, "once": bool}`,
`POST /_reset`, `GET /_state`. Standalone: `python -m s2s_cli.fake_lrs --port 8089`.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from s2s.domain.identifiers import uln_check_digit

NS = "http://learner.webservice.miap.gov.uk"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/LearnerService.svc"

DEFAULT_UKPRN = "10000001"
DEFAULT_USERNAME = "s2s-local"
DEFAULT_PASSWORD = "local-lrs-password"  # noqa: S105 - the local stack's made-up LRS password

OPERATIONS = ("registerSingleLearner", "learnerByULN", "learnerByDemographics", "updateSingleLearner")
SCENARIOS = frozenset(
    {
        "auto",
        "exact",
        "possible",
        "too_many",
        "no_match",
        "linked",
        "registered",
        "updated",
        "out_of_hours",
        "bad_password",
        "slow",
        "http_500",
        "malformed_xml",
    }
)
# Batch jobs (submitBatchRegistration / submitVerifyBatch and their outputs): see FakeBatchJobs.
BATCH_OPERATIONS = (
    "submitBatchRegistration",
    "submitVerifyBatch",
    "getBatchRegistrationOutput",
    "getVerifyBatchOutput",
)
BATCH_SCENARIOS = frozenset(
    {"batch_all_register", "batch_mixed", "batch_one_data_error", "batch_job_failed", "batch_slow"}
)
SCENARIOS = SCENARIOS | BATCH_SCENARIOS
_RAW_CODE = re.compile(r"^WS(RC|EC)\d{4}$")

# Request element -> register field, and back for answers.
_FIELDS = {
    "ULN": "uln",
    "GivenName": "given_name",
    "FamilyName": "family_name",
    "DateOfBirth": "date_of_birth",
    "Gender": "gender",
    "LastKnownPostCode": "postcode",
    "PreviousFamilyName": "previous_family_name",
    "EmailAddress": "email_address",
    "VerificationType": "verification_type",
    "AbilityToShare": "ability_to_share",
}
_ANSWER_FIELDS = [
    "ULN",
    "GivenName",
    "FamilyName",
    "DateOfBirth",
    "Gender",
    "LastKnownPostCode",
    "PreviousFamilyName",
]
_MATCH_FIELDS = ("given_name", "family_name", "date_of_birth", "gender", "postcode")
MAX_POSSIBLE = 5

_FAULT_TEXT = {
    "WSEC0001": "Invalid request",
    "WSEC0002": "Unknown request",
    "WSEC0003": "Unknown organisation",
    "WSEC0004": "The service is not available out of hours",
    "WSEC0005": "Invalid password",
    "WSEC0006": "Insufficient access",
}


def make_uln(first_nine: str) -> str:
    """A valid ULN from nine digits (which must have a check digit)."""
    digit = uln_check_digit(first_nine)
    if digit is None:
        raise ValueError(f"{first_nine} has no valid check digit")
    return f"{first_nine}{digit}"


def _learner(*values: str) -> dict[str, str]:
    """A register entry from ULN, given name, family name, date of birth, gender and postcode."""
    return dict(zip(("uln", *_MATCH_FIELDS), values, strict=True))


# Fictional learners. Oliver and Olivia Brook are twins (a "possible match" for a vague search);
# LINKED_ULN was merged into Amelia Hart's record, so the LRS answers with her master ULN.
SEED_LEARNERS = [
    _learner("9276308686", "Amelia", "Hart", "2010-04-12", "2", "LU5 4QA"),
    _learner("1026893096", "Oliver", "Brook", "2009-11-03", "1", "MK45 2DD"),
    _learner(make_uln("123456789"), "Olivia", "Brook", "2009-11-03", "2", "MK45 2DD"),
    _learner(make_uln("555000111"), "Kwame", "Mensah-Adjei", "2011-01-30", "1", "SG18 8AB"),
]
LINKED_ULN = make_uln("222333444")
LINKED_MASTER = "9276308686"


@dataclass(frozen=True)
class RecordedRequest:
    """One SOAP request as the fake received it."""

    operation: str
    body: bytes
    soap_action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a `slow` answer must not hold up stop()
    fake: FakeLrs


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would only clutter test output."""

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, value: Any) -> None:
        self._send(status, "application/json", json.dumps(value).encode())

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        if self.path == "/_state":
            self._send_json(200, self.server.fake.state())
        else:
            self._send_json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self._body()
        if self.path == "/_scenario":
            try:
                request = json.loads(body or b"{}")
                name = str(request["scenario"])
                if request.get("once"):
                    fake.next_scenario(name)
                else:
                    fake.set_scenario(name)
            except (ValueError, KeyError, TypeError) as exc:
                self._send_json(400, {"error": "bad_scenario", "message": str(exc)})
                return
            self._send_json(200, fake.state())
        elif self.path == "/_reset":
            fake.reset()
            self._send_json(200, fake.state())
        elif self.path == PATH:
            status, content_type, answer = fake.answer(body, self.headers.get("SOAPAction", ""))
            if status == 0:
                return  # stopped while `slow`: drop the connection
            self._send(status, content_type, answer)
        else:
            self._send_json(404, {"error": "not_found"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _envelope(payload: ET.Element) -> bytes:
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    body.append(payload)
    return bytes(ET.tostring(envelope, encoding="utf-8", xml_declaration=True))


def _fault(code: str) -> tuple[int, str, bytes]:
    fault = ET.Element(f"{{{SOAP_NS}}}Fault")
    ET.SubElement(fault, "faultcode").text = "soap:Server"
    ET.SubElement(fault, "faultstring").text = _FAULT_TEXT.get(code, "Error")
    detail = ET.SubElement(ET.SubElement(fault, "detail"), _q("MIAPAPIException"))
    ET.SubElement(detail, _q("ErrorCode")).text = code
    ET.SubElement(detail, _q("ErrorActor")).text = "LearnerService"
    ET.SubElement(detail, _q("Description")).text = _FAULT_TEXT.get(code, "Error")
    # SOAP 1.1 sends faults with HTTP 500.
    return 500, "text/xml; charset=utf-8", _envelope(fault)


def _flatten(element: ET.Element) -> dict[str, str]:
    """The request's leaf values by local name (the Learner wrapper's children included)."""
    values: dict[str, str] = {}
    for child in element:
        if len(child):
            values.update(_flatten(child))
        else:
            values[_local(child.tag)] = (child.text or "").strip()
    return values


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


class FakeLrs:
    """The running fake. Thread-safe: the server answers each request on its own thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ukprn: str = DEFAULT_UKPRN,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        slow_seconds: float = 3.0,
    ) -> None:
        self.ukprn, self.username, self.password = ukprn, username, password
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.scenario = "auto"
        self._once: deque[str] = deque()
        self.requests: list[RecordedRequest] = []
        self.learners: dict[str, dict[str, str]] = {}
        self.links: dict[str, str] = {}
        self._next_uln = 700000000
        self.reset()
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self.host, self.port = host, int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-lrs", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------ control

    @staticmethod
    def _check(name: str) -> str:
        if name not in SCENARIOS and not _RAW_CODE.match(name):
            raise ValueError(f"unknown scenario {name!r}")
        return name

    def set_scenario(self, name: str) -> None:
        with self._lock:
            self.scenario = self._check(name)

    def next_scenario(self, name: str) -> None:
        with self._lock:
            self._once.append(self._check(name))

    def reset(self) -> None:
        """Back to `auto`, the seed register, and no recorded requests."""
        with self._lock:
            self.scenario = "auto"
            self._once.clear()
            self.requests.clear()
            self.learners = {lrn["uln"]: dict(lrn) for lrn in SEED_LEARNERS}
            self.links = {LINKED_ULN: LINKED_MASTER}
            self._next_uln = 700000000
            self.batches = FakeBatchJobs(self)

    def request_count(self, operation: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if operation is None or r.operation == operation)

    def last_request(self, operation: str | None = None) -> RecordedRequest | None:
        with self._lock:
            matching = [r for r in self.requests if operation is None or r.operation == operation]
        return matching[-1] if matching else None

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self.url,
                "scenario": self.scenario,
                "queued": list(self._once),
                "requests": [r.operation for r in self.requests],
                "learners": len(self.learners),
            }

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ answering

    def answer(self, body: bytes, soap_action: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one SOAP request (status 0: drop the connection)."""
        try:
            soap_body = fromstring(body, forbid_dtd=True).find(f"{{{SOAP_NS}}}Body")
        except (ET.ParseError, DefusedXmlException, ValueError):
            return _fault("WSEC0001")
        if soap_body is None or len(soap_body) == 0:
            return _fault("WSEC0001")
        payload = soap_body[0]
        operation = _local(payload.tag)
        if not payload.tag.startswith(f"{{{NS}}}") or operation not in (*OPERATIONS, *BATCH_OPERATIONS):
            return _fault("WSEC0002")
        fields = _flatten(payload)
        with self._lock:
            self.requests.append(RecordedRequest(operation, body, soap_action, fields))
            scenario = self._once.popleft() if self._once else self.scenario
        if scenario == "slow":
            if self._stopping.wait(self.slow_seconds):
                return 0, "", b""
            scenario = "auto"
        if scenario == "http_500":
            return 500, "text/html", b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        if scenario == "malformed_xml":
            return 200, "text/xml; charset=utf-8", b"<soap:Envelope><soap:Body><oops></soap:Envelope>"
        if fields.get("UKPRN") != self.ukprn:
            return _fault("WSEC0003")
        if (
            scenario == "bad_password"
            or fields.get("UserName") != self.username
            or fields.get("OrgPassword") != self.password
        ):
            return _fault("WSEC0005")
        if scenario == "out_of_hours":
            return _fault("WSEC0004")
        if scenario.startswith("WSEC"):
            return _fault(scenario)
        if operation in BATCH_OPERATIONS:
            with self._lock:
                return self.batches.answer(operation, payload, scenario)
        with self._lock:
            return self._answer(operation, scenario, fields)

    def _respond(
        self,
        operation: str,
        code: str,
        *,
        uln: str | None = None,
        learners: list[dict[str, str]] | None = None,
    ) -> tuple[int, str, bytes]:
        payload = ET.Element(_q(f"{operation}Response"))
        ET.SubElement(payload, _q("ResponseCode")).text = code
        if uln:
            ET.SubElement(payload, _q("ULN")).text = uln
        for learner in learners or []:
            element = ET.SubElement(payload, _q("Learner"))
            for name in _ANSWER_FIELDS:
                value = learner.get(_FIELDS[name])
                if value:
                    ET.SubElement(element, _q(name)).text = value
        return 200, "text/xml; charset=utf-8", _envelope(payload)

    def _allocate(self) -> str:
        while True:
            self._next_uln += 1
            nine = f"{self._next_uln:09d}"
            digit = uln_check_digit(nine)
            if digit is not None and f"{nine}{digit}" not in self.learners:
                return f"{nine}{digit}"

    def _requested(self, fields: dict[str, str]) -> dict[str, str]:
        return {_FIELDS[name]: value for name, value in fields.items() if name in _FIELDS}

    def _answer(self, operation: str, scenario: str, fields: dict[str, str]) -> tuple[int, str, bytes]:
        asked = self._requested(fields)
        some = self.learners.get(asked.get("uln", "")) or next(iter(self.learners.values()))
        if scenario == "exact":
            return self._respond(operation, "WSRC0004", learners=[some])
        if scenario == "possible":
            twins = [lrn for lrn in self.learners.values() if lrn["family_name"] == "Brook"]
            return self._respond(operation, "WSRC0003", learners=twins)
        if scenario == "too_many":
            return self._respond(operation, "WSRC0002")
        if scenario == "no_match":
            return self._respond(operation, "WSRC0001")
        if scenario == "linked":
            return self._respond(operation, "WSRC0022", uln=asked.get("uln"), learners=[self.learners[LINKED_MASTER]])
        if scenario == "registered":
            uln = self._allocate()
            self.learners[uln] = {k: v for k, v in asked.items() if k in _MATCH_FIELDS} | {"uln": uln}
            return self._respond(operation, "WSRC0005", uln=uln)
        if scenario == "updated":
            return self._respond(operation, "WSRC0006", uln=asked.get("uln"))
        if scenario.startswith("WSRC"):
            learners = [some] if scenario in {"WSRC0004", "WSRC0022"} else []
            return self._respond(operation, scenario, uln=asked.get("uln") or some["uln"], learners=learners)
        return getattr(self, f"_auto_{operation}")(operation, asked)

    def _auto_learnerByULN(self, operation: str, asked: dict[str, str]) -> tuple[int, str, bytes]:
        uln = asked.get("uln", "")
        if uln in self.links:
            return self._respond(operation, "WSRC0022", uln=uln, learners=[self.learners[self.links[uln]]])
        learner = self.learners.get(uln)
        if (
            learner
            and _same(learner["given_name"], asked.get("given_name"))
            and _same(learner["family_name"], asked.get("family_name"))
        ):
            return self._respond(operation, "WSRC0004", learners=[learner])
        return self._respond(operation, "WSRC0001")

    def _auto_learnerByDemographics(self, operation: str, asked: dict[str, str]) -> tuple[int, str, bytes]:
        exact = [
            lrn
            for lrn in self.learners.values()
            if all(_same(lrn.get(name), asked.get(name)) for name in _MATCH_FIELDS)
        ]
        if len(exact) == 1:
            return self._respond(operation, "WSRC0004", learners=exact)
        possible = [
            lrn
            for lrn in self.learners.values()
            if _same(lrn.get("date_of_birth"), asked.get("date_of_birth"))
            and (
                _same(lrn.get("family_name"), asked.get("family_name"))
                or _same(lrn.get("given_name"), asked.get("given_name"))
            )
        ]
        if not possible:
            return self._respond(operation, "WSRC0001")
        if len(possible) > MAX_POSSIBLE:
            return self._respond(operation, "WSRC0002")
        return self._respond(operation, "WSRC0003", learners=possible)

    def _auto_registerSingleLearner(self, operation: str, asked: dict[str, str]) -> tuple[int, str, bytes]:
        if any(not asked.get(name) for name in _MATCH_FIELDS):
            return self._respond(operation, "WSRC0015")
        for learner in self.learners.values():
            if all(_same(learner.get(name), asked.get(name)) for name in _MATCH_FIELDS):
                return self._respond(operation, "WSRC0021", uln=learner["uln"])
        uln = self._allocate()
        self.learners[uln] = {**asked, "uln": uln}
        return self._respond(operation, "WSRC0005", uln=uln)

    def _auto_updateSingleLearner(self, operation: str, asked: dict[str, str]) -> tuple[int, str, bytes]:
        uln = asked.get("uln", "")
        if uln in self.links:
            return self._respond(operation, "WSRC0013", uln=uln)
        learner = self.learners.get(uln)
        if learner is None:
            return self._respond(operation, "WSRC0019", uln=uln)
        changes = {k: v for k, v in asked.items() if k != "uln" and learner.get(k) != v}
        if not changes:
            return self._respond(operation, "WSRC0020", uln=uln)
        learner.update(changes)
        return self._respond(operation, "WSRC0006", uln=uln)


class FakeBatchJobs:
    """The LRS batch operations: a submit stores a job and answers `WSRC0007` with its id; each
    `get…Output` answers `WSRC0008` (incomplete) until the job has been polled enough, then
    `WSRC0009` with one result per learner, or `WSRC0010` (failed) or `WSRC0018` (unknown job).

    The scenario in force at submit decides the job: `auto` answers from the register (a learner
    it knows keeps their ULN, `WSRC0021`; a new one gets a new ULN, `WSRC0005`; a verified ULN is
    `WSRC0004`, a linked one `WSRC0022` with the master); `batch_all_register` registers everyone;
    `batch_mixed` gives, by position, possible matches (3rd of every 10), no match (5th), a linked
    learner (7th) and registered or verified for the rest; `batch_one_data_error` answers the first
    learner `WSRC0015`; `batch_job_failed` fails the job; `batch_slow` needs four polls. The payload
    shape is the one `s2s.adapters.lrs_batch` assumes by default. Runs under the fake's lock."""

    POLLS_BEFORE_DONE = {"batch_slow": 3}

    def __init__(self, fake: FakeLrs) -> None:
        self.fake = fake
        self.jobs: dict[str, dict[str, Any]] = {}
        self._next = 0

    def answer(self, operation: str, payload: ET.Element, scenario: str) -> tuple[int, str, bytes]:
        if operation.startswith("submit"):
            return self._submit(operation, payload, scenario)
        return self._output(operation, payload)

    def _submit(self, operation: str, payload: ET.Element, scenario: str) -> tuple[int, str, bytes]:
        learners = [
            {_local(child.tag): (child.text or "").strip() for child in learner}
            for wrapper in payload
            if _local(wrapper.tag) == "Learners"
            for learner in wrapper
        ]
        declared = next((c.text for c in payload if _local(c.tag) == "RecordCount"), None)
        response = ET.Element(_q(f"{operation}Response"))
        if str(len(learners)) != (declared or "").strip():
            ET.SubElement(response, _q("ResponseCode")).text = "WSRC0017"
            return 200, "text/xml; charset=utf-8", _envelope(response)
        self._next += 1
        job_id = f"JOB{self._next:06d}"
        self.jobs[job_id] = {
            "kind": "verify" if operation == "submitVerifyBatch" else "register",
            "learners": learners,
            "scenario": scenario if scenario in BATCH_SCENARIOS else "auto",
            "polls_left": self.POLLS_BEFORE_DONE.get(scenario, 1),
            "results": None,
        }
        ET.SubElement(response, _q("ResponseCode")).text = "WSRC0007"
        ET.SubElement(response, _q("JobId")).text = job_id
        return 200, "text/xml; charset=utf-8", _envelope(response)

    def _output(self, operation: str, payload: ET.Element) -> tuple[int, str, bytes]:
        job_id = next(((c.text or "").strip() for c in payload if _local(c.tag) == "JobId"), "")
        response = ET.Element(_q(f"{operation}Response"))
        code = ET.SubElement(response, _q("ResponseCode"))
        job = self.jobs.get(job_id)
        expected = "getVerifyBatchOutput" if job and job["kind"] == "verify" else "getBatchRegistrationOutput"
        if job is None or operation != expected:
            code.text = "WSRC0018"
        elif job["scenario"] == "batch_job_failed":
            code.text = "WSRC0010"
        elif job["polls_left"] > 0:
            job["polls_left"] -= 1
            code.text = "WSRC0008"
        else:
            if job["results"] is None:
                job["results"] = [self._result(job, i, lrn) for i, lrn in enumerate(job["learners"])]
            code.text = "WSRC0009"
            wrapper = ET.SubElement(response, _q("Learners"))
            for result in job["results"]:
                element = ET.SubElement(wrapper, _q("Learner"))
                for name, value in result.items():
                    ET.SubElement(element, _q(name)).text = value
        return 200, "text/xml; charset=utf-8", _envelope(response)

    def _result(self, job: dict[str, Any], index: int, learner: dict[str, str]) -> dict[str, str]:
        fake = self.fake
        ref = learner.get("LearnerRef", "")
        given = learner.get("ULN", "")
        verify = job["kind"] == "verify"
        scenario = job["scenario"]
        if scenario == "batch_one_data_error" and index == 0:
            return {"LearnerRef": ref, "ResponseCode": "WSRC0015"}
        if scenario == "batch_mixed":
            slot = index % 10
            if slot == 3:
                return {"LearnerRef": ref, "ResponseCode": "WSRC0003", "MatchCount": "2"}
            if slot == 5:
                return {"LearnerRef": ref, "ResponseCode": "WSRC0001"}
            if slot == 7:
                return {
                    "LearnerRef": ref,
                    "ResponseCode": "WSRC0022",
                    "ULN": given or LINKED_ULN,
                    "MasterULN": LINKED_MASTER,
                }
        if verify:
            if scenario == "auto" and given in fake.links:
                return {"LearnerRef": ref, "ResponseCode": "WSRC0022", "ULN": given, "MasterULN": fake.links[given]}
            if scenario == "auto" and given not in fake.learners:
                return {"LearnerRef": ref, "ResponseCode": "WSRC0001"}
            return {"LearnerRef": ref, "ResponseCode": "WSRC0004", "ULN": given}
        asked = {_FIELDS[k]: v for k, v in learner.items() if k in _FIELDS}
        if scenario == "auto":
            for known in fake.learners.values():
                if all(_same(known.get(name), asked.get(name)) for name in _MATCH_FIELDS):
                    return {"LearnerRef": ref, "ResponseCode": "WSRC0021", "ULN": known["uln"]}
        uln = fake._allocate()
        fake.learners[uln] = {k: v for k, v in asked.items() if k in _MATCH_FIELDS} | {"uln": uln}
        return {"LearnerRef": ref, "ResponseCode": "WSRC0005", "ULN": uln}


def start_fake_lrs(host: str = "127.0.0.1", port: int = 0, **options: Any) -> FakeLrs:
    """Start a fake LRS on its own thread; `port=0` picks a free port (see `.url`)."""
    return FakeLrs(host, port, **options)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m s2s_cli.fake_lrs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ukprn", default=DEFAULT_UKPRN)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--scenario", default="auto", help="initial scenario (default: auto)")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    fake = start_fake_lrs(
        args.host,
        args.port,
        ukprn=args.ukprn,
        username=args.username,
        password=args.password,
        slow_seconds=args.slow_seconds,
    )
    fake.set_scenario(args.scenario)
    print(f"Fake LRS at {fake.url} (control: POST {fake.base_url}/_scenario)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
