"""The LRS batch operations: the ONE module that knows their payloads (docs/SERVICE.md "ULNs in bulk").

`submitBatchRegistration` / `getBatchRegistrationOutput` register learners without a ULN;
`submitVerifyBatch` / `getVerifyBatchOutput` verify learners that have one. The operation names
and response codes are known (`WSRC0007` submitted, `0008` incomplete, `0009` successful, `0010`
failed, `0017` record count incorrect, `0018` unknown job); **the exact shape of the payloads is
not**: the LRS interface specification (WS02) was not available when this was written. Every
element name the payloads use is therefore one field of `BatchShape`, whose defaults are our best
reading, and a deployment overrides any of them with `LRS_BATCH_SHAPE` (JSON, e.g.
`{"reference": "MISIdentifier", "learner": "LearnerRecord"}`) to match WS02 without a code change.
Assumed shape (SOAP 1.1, namespace as the learner service):

    submit:  <op> UKPRN OrgPassword UserName RecordCount <Learners><Learner> LearnerRef
             GivenName FamilyName DateOfBirth Gender LastKnownPostCode [ULN] </Learner>... </Learners>
    answer:  <opResponse> ResponseCode JobId
    output:  <op> UKPRN OrgPassword UserName JobId
    answer:  <opResponse> ResponseCode <Learners><Learner> LearnerRef ResponseCode ULN
             [MasterULN] [MatchCount] </Learner>... </Learners>

Memory stays flat whatever the batch size: the request is written learner by learner (an
`XMLGenerator`, which escapes every value) into a spooled temporary file and posted from it; the
answer is spooled the same way and read back with defusedxml's `iterparse` (no DTDs, no
entities), one learner at a time. Faults are mapped by `s2s.domain.lrs.fault_error`, as for the
single-learner calls, and a botocore- or urllib-level failure never leaves this module as
anything but a domain error.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import IO, Literal
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesNSImpl

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from s2s.adapters.lrs import NS, SOAP_NS, LrsCredentials
from s2s.domain import errors
from s2s.domain.lrs import fault_error

Kind = Literal["register", "verify"]
SUBMIT: dict[Kind, str] = {"register": "submitBatchRegistration", "verify": "submitVerifyBatch"}
OUTPUT: dict[Kind, str] = {"register": "getBatchRegistrationOutput", "verify": "getVerifyBatchOutput"}

SUBMITTED = "WSRC0007"
INCOMPLETE = "WSRC0008"
SUCCESSFUL = "WSRC0009"
FAILED = "WSRC0010"
RECORD_COUNT_INCORRECT = "WSRC0017"
UNKNOWN_JOB = "WSRC0018"

_SPOOL_BYTES = 64 * 1024  # beyond this a payload goes to /tmp: memory stays flat
_CHUNK = 64 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # 5,000 learners' outcomes are well under 5 MB


@dataclass(frozen=True, slots=True)
class BatchShape:
    """Element names of the batch payloads (see the module docstring: unconfirmed, configurable)."""

    record_count: str = "RecordCount"
    job_id: str = "JobId"
    learners: str = "Learners"
    learner: str = "Learner"
    reference: str = "LearnerRef"
    given_name: str = "GivenName"
    family_name: str = "FamilyName"
    date_of_birth: str = "DateOfBirth"
    gender: str = "Gender"
    postcode: str = "LastKnownPostCode"
    uln: str = "ULN"
    response_code: str = "ResponseCode"
    master_uln: str = "MasterULN"
    candidates: str = "MatchCount"


@cache
def batch_shape() -> BatchShape:
    """The defaults, with any names `LRS_BATCH_SHAPE` overrides (unknown keys are refused)."""
    raw = os.environ.get("LRS_BATCH_SHAPE", "")
    if not raw:
        return BatchShape()
    overrides = json.loads(raw)
    known = {f.name for f in fields(BatchShape)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"LRS_BATCH_SHAPE names unknown fields: {sorted(unknown)}")
    return replace(BatchShape(), **{k: str(v) for k, v in overrides.items()})


@dataclass(frozen=True, slots=True)
class BatchLearner:
    """One learner to send: `reference` is our row number, echoed back in the output."""

    reference: str
    given_name: str
    family_name: str
    date_of_birth: str
    gender: int
    postcode: str
    uln: str | None = None


@dataclass(frozen=True, slots=True)
class LearnerResult:
    reference: str
    response_code: str
    uln: str | None = None
    master_uln: str | None = None
    candidates: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    response_code: str
    job_id: str | None


# ---------------------------------------------------------------- transport

StreamTransport = Callable[[str, str, IO[bytes], int, float], tuple[int, IO[bytes]]]


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)


def post_stream(endpoint: str, operation: str, body: IO[bytes], length: int, timeout: float) -> tuple[int, IO[bytes]]:
    """POST `length` bytes read from `body`; the status and the answer, spooled (HTTP errors included)."""
    request = urllib.request.Request(  # noqa: S310 - the endpoint is deployment configuration, https in AWS
        endpoint,
        data=body,
        method="POST",
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "Content-Length": str(length),
            "SOAPAction": f'"{NS}/{operation}"',
        },
    )
    answer = _spool()
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        total = 0
        while chunk := response.read(_CHUNK):
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise errors.UpstreamError(
                    "The Learning Records Service sent an answer too large to read.", code="lrs_malformed_answer"
                )
            answer.write(chunk)
        status = int(response.status if hasattr(response, "status") else response.code)
    answer.seek(0)
    return status, answer


def _send(transport: StreamTransport, endpoint: str, operation: str, body: IO[bytes], timeout: float) -> IO[bytes]:
    if not endpoint:
        raise errors.UpstreamError("The LRS endpoint is not configured.", code="lrs_not_configured")
    length = body.seek(0, os.SEEK_END)
    body.seek(0)
    try:
        status, answer = transport(endpoint, operation, body, length, timeout)
    except TimeoutError as exc:
        raise errors.UpstreamTimeout("The Learning Records Service did not answer in time.") from exc
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(getattr(exc, "reason", None), TimeoutError):
            raise errors.UpstreamTimeout("The Learning Records Service did not answer in time.") from exc
        raise errors.UpstreamError(
            "The Learning Records Service could not be reached.", code="lrs_unreachable"
        ) from exc
    fault = _fault_code(answer)
    if fault is not None:
        raise fault_error(fault)
    if status != 200:
        raise errors.UpstreamError(f"The Learning Records Service failed (HTTP {status}).", code="lrs_http_error")
    return answer


# ---------------------------------------------------------------- requests


class _Envelope:
    """A SOAP envelope written element by element into `out`."""

    def __init__(self, out: IO[bytes], operation: str) -> None:
        self.gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
        self.operation = operation
        self.gen.startDocument()
        self.gen.startPrefixMapping("soap", SOAP_NS)
        self.gen.startPrefixMapping("lrs", NS)
        self._open(SOAP_NS, "Envelope")
        self._open(SOAP_NS, "Body")
        self.open(operation)

    def _open(self, ns: str, name: str) -> None:
        self.gen.startElementNS((ns, name), None, AttributesNSImpl({}, {}))

    def open(self, name: str) -> None:
        self._open(NS, name)

    def close(self, name: str) -> None:
        self.gen.endElementNS((NS, name), None)

    def leaf(self, name: str, text: str) -> None:
        self.open(name)
        self.gen.characters(text)
        self.close(name)

    def finish(self) -> None:
        self.close(self.operation)
        self.gen.endElementNS((SOAP_NS, "Body"), None)
        self.gen.endElementNS((SOAP_NS, "Envelope"), None)
        self.gen.endPrefixMapping("lrs")
        self.gen.endPrefixMapping("soap")
        self.gen.endDocument()


def _credentials(envelope: _Envelope, credentials: LrsCredentials) -> None:
    # The organisation is named by its UKPRN, or by its LRS organisation reference when it has none.
    if credentials.ukprn:
        envelope.leaf("UKPRN", credentials.ukprn)
    else:
        envelope.leaf("OrganisationRef", credentials.organisation_ref)
    envelope.leaf("OrgPassword", credentials.password)
    envelope.leaf("UserName", credentials.username)


def write_submit(
    out: IO[bytes], kind: Kind, credentials: LrsCredentials, learners: Iterable[BatchLearner], count: int
) -> int:
    """The submit request for `count` learners; returns how many were written (must equal `count`)."""
    shape = batch_shape()
    envelope = _Envelope(out, SUBMIT[kind])
    _credentials(envelope, credentials)
    envelope.leaf(shape.record_count, str(count))
    envelope.open(shape.learners)
    written = 0
    for learner in learners:
        envelope.open(shape.learner)
        envelope.leaf(shape.reference, learner.reference)
        envelope.leaf(shape.given_name, learner.given_name)
        envelope.leaf(shape.family_name, learner.family_name)
        envelope.leaf(shape.date_of_birth, learner.date_of_birth)
        envelope.leaf(shape.gender, str(learner.gender))
        envelope.leaf(shape.postcode, learner.postcode)
        if kind == "verify" and learner.uln:
            envelope.leaf(shape.uln, learner.uln)
        envelope.close(shape.learner)
        written += 1
    envelope.close(shape.learners)
    envelope.finish()
    return written


def write_output_request(out: IO[bytes], kind: Kind, credentials: LrsCredentials, job_id: str) -> None:
    envelope = _Envelope(out, OUTPUT[kind])
    _credentials(envelope, credentials)
    envelope.leaf(batch_shape().job_id, job_id)
    envelope.finish()


# ---------------------------------------------------------------- answers


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _events(answer: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
    answer.seek(0)
    try:
        yield from iterparse(answer, events=("start", "end"), forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise errors.UpstreamError(
            "The Learning Records Service sent an answer S2S cannot read.", code="lrs_malformed_answer"
        ) from exc


def _fault_code(answer: IO[bytes]) -> str | None:
    """The fault's `ErrorCode` ("" when it has none), or None when the answer is not a fault."""
    depth = 0
    in_fault = False
    try:
        for event, element in _events(answer):
            if event == "start":
                depth += 1
                if depth == 3 and element.tag == f"{{{SOAP_NS}}}Fault":
                    in_fault = True
                elif depth == 3:
                    return None
                continue
            depth -= 1
            if in_fault and _local(element.tag) == "ErrorCode":
                return (element.text or "").strip()
            if depth < 3 and in_fault:
                return ""
    except errors.UpstreamError:
        return None  # not a fault; the reader of the answer reports it as malformed
    finally:
        answer.seek(0)
    return None


def _ends(answer: IO[bytes]) -> Iterator[tuple[int, ET.Element]]:
    """(depth, element) for each element as it ends: the envelope is 1, the payload 3, its children
    4, a learner 5. Elements down to learner level are taken off the tree once seen, so memory holds
    one learner at a time."""
    stack: list[ET.Element] = []
    for event, element in _events(answer):
        if event == "start":
            stack.append(element)
            continue
        stack.pop()
        yield len(stack) + 1, element
        if 3 <= len(stack) <= 4:
            stack[-1].remove(element)


def _top_code(answer: IO[bytes], wanted: tuple[str, ...]) -> dict[str, str]:
    """The payload's own children named `wanted` (ResponseCode, JobId), learners skipped."""
    found: dict[str, str] = {}
    for depth, element in _ends(answer):
        if depth == 4 and _local(element.tag) in wanted:
            found[_local(element.tag)] = (element.text or "").strip()
    answer.seek(0)
    return found


def read_submit_answer(answer: IO[bytes]) -> SubmitAnswer:
    shape = batch_shape()
    found = _top_code(answer, (shape.response_code, shape.job_id))
    code = found.get(shape.response_code)
    if not code:
        raise errors.UpstreamError(
            "The Learning Records Service sent an answer S2S cannot read.", code="lrs_malformed_answer"
        )
    return SubmitAnswer(code, found.get(shape.job_id) or None)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def read_output_code(answer: IO[bytes]) -> str:
    code = _top_code(answer, (batch_shape().response_code,)).get(batch_shape().response_code)
    if not code:
        raise errors.UpstreamError(
            "The Learning Records Service sent an answer S2S cannot read.", code="lrs_malformed_answer"
        )
    return code


def read_results(answer: IO[bytes]) -> Iterator[LearnerResult]:
    """Each learner's outcome in an output answer, one at a time."""
    shape = batch_shape()
    for depth, element in _ends(answer):
        if depth != 5 or _local(element.tag) != shape.learner:
            continue
        values = {_local(child.tag): (child.text or "").strip() for child in element}
        reference = values.get(shape.reference)
        if not reference:
            continue
        yield LearnerResult(
            reference=reference,
            response_code=values.get(shape.response_code, ""),
            uln=values.get(shape.uln) or None,
            master_uln=values.get(shape.master_uln) or None,
            candidates=_int(values.get(shape.candidates)),
        )


# ---------------------------------------------------------------- the client


@dataclass
class BatchClient:
    """Submit a job and fetch its output. `transport` is swappable for tests; `calls` counts requests."""

    endpoint: str
    credentials: LrsCredentials
    timeout: float = 25.0
    transport: StreamTransport = post_stream
    calls: int = 0

    def submit(self, kind: Kind, learners: Iterable[BatchLearner], count: int) -> SubmitAnswer:
        with _spool() as body:
            written = write_submit(body, kind, self.credentials, learners, count)
            if written != count:
                raise ValueError(f"{written} learners written for a job of {count}")
            self.calls += 1
            with _send(self.transport, self.endpoint, SUBMIT[kind], body, self.timeout) as answer:
                return read_submit_answer(answer)

    def output(self, kind: Kind, job_id: str) -> IO[bytes]:
        """The spooled answer to `get…Output` (the caller closes it): `read_output_code`, `read_results`."""
        with _spool() as body:
            write_output_request(body, kind, self.credentials, job_id)
            self.calls += 1
            return _send(self.transport, self.endpoint, OUTPUT[kind], body, self.timeout)
