"""Cold start per function: a fresh interpreter imports the handler module and serves its first
request, against a fresh interpreter doing only `import boto3; boto3.client("s3")` (the floor of
any Python Lambda that talks to AWS). Target: at most 1.3x the baseline for every function.

moto runs as a server in this process and the probes reach it through AWS_ENDPOINT_URL, so the
probes import nothing of moto (moto imports boto3 and botocore itself: run in the probe it would
pre-warm exactly what the baseline measures). Each probe times itself from its first line after
stdlib imports (bench/coldstart_probe.py); runs are interleaved and the median of REPEAT is kept.
For the slowest function, `-X importtime` lists the imports that dominate.

Every probe's first event must do the function's real work: the moto server counts the AWS
requests each probe makes, and a probe whose first event made none (or none of the services its
function's work needs) fails loudly rather than timing an import and a no-op. Queue functions get
their producer's message for state that exists: a GIAS file put under `directory/` (two files in
turn, so each run imports a new load over a current one), a ULN batch started with its CTF
uploaded (a new one each run); the directory is loaded before any probe, so a search reads it."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from s2s.domain.lrs import LrsCredentials
from s2s.domain.transfers import Transfer
from s2s.services.outbox import build_event
from s2s.services.registration import account_value
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME, start_fake_lrs
from s2s_cli.local.template import (
    create_resources,
    http_routes,
    load_template,
    queue_consumers,
    schedules,
)

from bench.common import ROOT, Row, dfe_claims, format_seconds, http_event, la_claims, school_claims
from bench.cookbook_peer import write_peer

PROBE = Path(__file__).with_name("coldstart_probe.py")
REGION = "eu-west-2"
REPEAT = 9
RATIO_TARGET = 1.3  # the earlier target, kept for bench_package
API_TARGET = 1.7  # an HTTP API function: at most this times the floor ...
PEER_TARGET = 0.85  # ... and at most this times its cookbook-shaped peer (bench/cookbook_peer.py)
EVENT_TARGET = 1.25  # a queue or scheduled function: at most this times the floor
SCHOOL = "8234001"
UPN = "H801200001001"  # a valid UPN (check letter H)


@dataclass(frozen=True)
class Probe:
    """One function's cold start: the handler module, where its code lives and its first event."""

    function: str
    module: str | None  # None: the boto3 baseline
    code_dir: Path | None
    event: dict[str, Any]
    accept: str  # prefix of the outcome a real first request gives, e.g. "status 2"
    candidates: tuple[dict[str, Any], ...] = ()  # other first events to try (see calibrate)
    # Makes the state a run's first event acts on and returns that event (instead of `event`),
    # from the probe environment; runs in this process before the probe's interpreter starts.
    prepare: Callable[[dict[str, str]], dict[str, Any]] | None = None
    needs: tuple[str, ...] = ()  # AWS services the first event must call (besides at least one call)


class NoAwsCall(RuntimeError):
    """A probe's first event made no AWS call (or not the ones its work needs): it times nothing real."""


class AwsCalls:
    """Every request the moto server answers, as (service, operation), in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, start: int) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.calls[start:])

    def wrap(self, app: Any) -> Any:
        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if not path.startswith("/moto-api"):
                scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
                service = scope.group(1) if scope else "unsigned"
                target = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
                operation = target or f"{environ.get('REQUEST_METHOD', '')} {path[:60]}"
                with self._lock:
                    self.calls.append((service, operation))
            return app(environ, start_response)

        return counting


_recorder: list[AwsCalls] = []  # the running moto server's (moto_server sets it)


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """A moto server on 127.0.0.1 with every resource of template.yaml, the fictional directory
    loaded; yields the environment a probe needs (the template's variables, dummy credentials,
    the endpoint). The server counts the requests it answers (see run_probe)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    recorder = AwsCalls()
    server._server.app = recorder.wrap(server._server.app)  # type: ignore[union-attr]
    _recorder[:] = [recorder]
    lrs = start_fake_lrs()  # the ULN function's first request goes all the way to an LRS
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's dummies
    try:

        def client(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,  # type: ignore[call-overload]
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        names = create_resources(
            dynamodb=client("dynamodb"),
            s3=client("s3"),
            sns=client("sns"),
            sqs=client("sqs"),
            secrets=client("secretsmanager"),
        )
        client("ses").verify_email_identity(EmailAddress="no-reply@s2s.test")
        # The ULN probe's school is registered with the fake LRS, as PUT /uln/registration keeps it.
        client("secretsmanager").create_secret(
            Name=f"{names.lrs_secret_prefix}{SCHOOL}",
            SecretString=json.dumps(
                account_value(LrsCredentials(DEFAULT_UKPRN, DEFAULT_USERNAME, DEFAULT_PASSWORD), registered_by="bench")
            ),
            Tags=[{"Key": "org", "Value": SCHOOL}],
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **credentials,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "LOG_LEVEL": "INFO",
            "PORTAL_URL": "http://portal.test",
            "SENDER_EMAIL": "no-reply@s2s.test",
            "NO_PROXY": "127.0.0.1,localhost",
            "LRS_ENDPOINT": lrs.url,
            **names.environment(),
        }
        _put_directory_files(client("s3"), names.bucket)
        with tempfile.TemporaryDirectory(prefix="s2s-bench-seed-") as seed:
            # The directory every probe finds: loaded by the import function itself.
            run_probe(_directory_import_probe(DIRECTORY_FILES[0]), env, Path(seed))
        yield env
    finally:
        _recorder.clear()
        lrs.stop()
        server.stop()


# The fictional GIAS files the directory probes use: the committed sample (300 establishments) and
# another 300 generated, put under directory/ before any probe; the import probe imports them in turn.
DIRECTORY_FILES = ("directory/edubase.csv", "directory/edubasealldata20261203.csv")


def _put_directory_files(s3: Any, bucket: str) -> None:
    from s2s_cli.directory_sample import edubase_bytes, generate, links_bytes, sample_files

    establishments, links = sample_files()
    rows, found = generate(300, 2)
    for key, data, links_data in (
        (DIRECTORY_FILES[0], establishments.read_bytes(), links.read_bytes()),
        (DIRECTORY_FILES[1], edubase_bytes(rows), links_bytes(found)),
    ):
        folder, _, name = key.rpartition("/")
        s3.put_object(Bucket=bucket, Key=f"{folder}/links_{name}", Body=links_data)
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def _directory_import_probe(key: str) -> Probe:
    return Probe(
        "DirectoryImportFunction seed",
        "directory_import",
        ROOT / "functions" / "report",
        _queue_event("DirectoryQueue", key),
        "0 failed",
    )


def _alternate_directory_files() -> Callable[[dict[str, str]], dict[str, Any]]:
    """Each run the import of the file that is not current (the seed loaded the first): a new
    load written and switched to over a current one, as a new GIAS download is."""
    turn = [0]

    def prepare(env: dict[str, str]) -> dict[str, Any]:
        turn[0] += 1
        return _queue_event("DirectoryQueue", DIRECTORY_FILES[turn[0] % 2])

    return prepare


def _started_uln_batch(env: dict[str, str]) -> dict[str, Any]:
    """A ULN batch started by the probe's school with its CTF uploaded, as POST /uln/batches and
    the presigned POST leave it; the event is its S3 notification (the worker checks the file,
    stores the pupils and queues the submit to the LRS)."""
    from s2s.adapters.aws import reset_clients
    from s2s.domain.principal import principal_from_claims
    from s2s.runtime.settings import get_settings
    from s2s.services import uln_batches

    from bench.bench_warm import _environment, _test_module

    ctf = _test_module("ctf_batches")
    data = ctf.ctf_bytes(ctf.pupils(20, estab=SCHOOL[3:]), estab=SCHOOL[3:])
    with _environment({k: v for k, v in env.items() if k != "PATH"}):
        reset_clients()
        get_settings.cache_clear()
        try:
            batch, _, _ = uln_batches.issue_batch_ticket(
                principal_from_claims(school_claims(SCHOOL)),
                {"source_ip": "127.0.0.1"},
                filename="ULN_request.xml",
                size_bytes=len(data),
                sha256=None,
            )
            bucket = get_settings().bucket_name
            boto3.client("s3").put_object(Bucket=bucket, Key=batch.key, Body=data)
        finally:
            reset_clients()
            get_settings.cache_clear()
    return _queue_event("UlnBatchQueue", batch.key)


def transfer_event() -> dict[str, Any]:
    """A `transfer.available` event as the landing check publishes it (for a school with no
    subscribers, so Notify renders the email and looks up who wants it)."""
    t = Transfer(
        transfer_id=uuid.uuid4().hex,
        filename="8231234_CTF_8232345_001.zip",
        family="ctf",
        file_type="CTF",
        source="8231234",
        source_kind="school",
        source_la="823",
        source_name="Oakfield Primary",
        destination="8232345",
        dest_kind="school",
        dest_la="823",
        recipient_org="8232345",
        size_bytes=48_213,
        status="available",
        created_at="2026-06-01T09:00:00.000000Z",
        created_by="user-8231234",
        upload_expires_at="2026-06-01T09:15:00.000000Z",
        expires_at="2026-07-31T13:05:00.000000Z",
        sha256="ab" * 32,
        available_at="2026-06-01T09:01:00.000000Z",
    )
    return build_event("transfer.available", t, "2026-06-01T09:01:00.000000Z")


def _s3_notification(key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """S3's notification of an object created in the files bucket (keys arrive URL-encoded)."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventName": event_name,
                "s3": {"bucket": {"name": "s2s-files"}, "object": {"key": quote_plus(key, safe="/"), "size": 100}},
            }
        ]
    }


def _queue_event(queue: str, key: str | None = None) -> dict[str, Any]:
    """An SQS batch of one record as the queue's producer would send it: for the S3-notified
    queues, the notification of `key` (DirectoryQueue: a GIAS file under directory/; UlnBatchQueue:
    a batch's CTF, which `_started_uln_batch` makes)."""
    if queue == "LandingQueue":
        # An object nobody was issued a ticket for: the landing check looks it up and deletes it.
        body = _s3_notification(f"incoming/{uuid.uuid4()}/{SCHOOL}_CTF_8232345_001.xml.zip", "ObjectCreated:Post")
    elif queue in ("DirectoryQueue", "UlnBatchQueue"):
        if key is None:
            raise ValueError(f"a {queue} message names the object S3 created")
        body = _s3_notification(key)
    else:
        body = transfer_event()
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "receipt-1",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:s2s-{queue}",
                "awsRegion": REGION,
            }
        ]
    }


# First requests that do real work where a parameterless GET cannot: a Lost Pupils search for a
# valid UPN (a DynamoDB query) and a demographic search that goes to the (fake) LRS through
# Secrets Manager. Each function's first successful candidate is what its cold start serves.
FIRST_REQUESTS: dict[str, list[dict[str, Any]]] = {
    "LostPupilsApiFunction": [http_event("GET", "/lost-pupils", claims=la_claims("823"), query={"upn": UPN})],
    # A search of the loaded directory (moto_server loads it): the pointer, then the load itself.
    "DirectoryApiFunction": [
        http_event("GET", "/directory/establishments", claims=school_claims(SCHOOL), query={"q": "hillside primary"})
    ],
    "UlnApiFunction": [
        http_event(
            "POST",
            "/uln/learners/search",
            claims=school_claims(SCHOOL),
            body={
                "given_name": "Oliver",
                "family_name": "Brook",
                "date_of_birth": "2009-11-03",
                "gender": 1,
                "postcode": "MK45 2DD",
            },
        )
    ],
}
# Other first requests worth their own row: an upload ticket is what a sending school does first.
EXTRA_PROBES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "UploadApiFunction",
        "POST /transfers",
        http_event(
            "POST",
            "/transfers",
            claims=school_claims(SCHOOL),
            body={"filename": f"{SCHOOL}_CTF_8232345_001.zip", "size_bytes": 48_213},
        ),
    )
]


def _http_candidates(function: str, routes: list[Any]) -> list[dict[str, Any]]:
    """First events to try, best first: the function's own FIRST_REQUESTS, its first parameterless
    GET (a read a user makes first) as a school, an LA and a DfE user, then its first route with an
    empty body (which the validator refuses). `calibrate` keeps the first that works."""
    everyone = [school_claims(SCHOOL), la_claims("823"), dfe_claims()]
    events = [*FIRST_REQUESTS.get(function, [])]
    events += [
        http_event("GET", route.path, claims=claims)
        for route in routes
        if route.method == "GET" and "{" not in route.path
        for claims in everyone
    ]
    route = routes[0]
    params = {name.strip("{}+"): "1" for name in route.path.split("/") if name.startswith("{")}
    events.append(http_event(route.method, route.path, claims=everyone[0], body={}, path_params=params or None))
    return events


# Queue functions whose first event acts on state made for each run, and the services it must call.
QUEUE_PROBES: dict[str, tuple[Callable[[], Callable[[dict[str, str]], dict[str, Any]]], tuple[str, ...]]] = {
    "DirectoryImportFunction": (_alternate_directory_files, ("s3", "dynamodb")),
    "UlnBatchWorkerFunction": (lambda: _started_uln_batch, ("s3", "dynamodb", "sqs")),
}
# What other first events must call: a directory search reads the pointer item and the load.
NEEDS: dict[str, tuple[str, ...]] = {"DirectoryApiFunction": ("dynamodb", "s3")}


def probes() -> tuple[list[Probe], list[str]]:
    """Every function in template.yaml whose handler module exists, and the names of those that
    do not exist yet."""
    routes: dict[str, list[Any]] = {}
    for route in http_routes():
        routes.setdefault(route.function, []).append(route)
    queues = {consumer.function: consumer.queue for consumer in queue_consumers()}
    scheduled = {schedule.function for schedule in schedules()}

    found, missing = [], []
    for name, resource in load_template()["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        code_dir = ROOT / props["CodeUri"]
        module = props["Handler"].rsplit(".", 1)[0]
        if not (code_dir / f"{module}.py").exists():
            missing.append(name)
            continue
        if name in routes:
            first, *others = _http_candidates(name, routes[name])
            found.append(Probe(name, module, code_dir, first, "status 2", tuple(others), needs=NEEDS.get(name, ())))
            for function, label, event in EXTRA_PROBES:
                if function == name:
                    found.append(Probe(f"{name} {label}", module, code_dir, event, "status 2"))
            continue
        elif name in QUEUE_PROBES:
            prepare, needs = QUEUE_PROBES[name]
            found.append(Probe(name, module, code_dir, {}, "0 failed", prepare=prepare(), needs=needs))
            continue
        elif name in queues:
            event, accept = _queue_event(queues[name]), "0 failed"
        elif name in scheduled:
            event, accept = (
                {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}},
                "returned",
            )
        else:
            event, accept = {}, "returned"
        found.append(Probe(name, module, code_dir, event, accept))
    return found, missing


BASELINE = Probe("baseline", None, None, {}, "baseline")


def calibrate(probe: Probe, env: dict[str, str], folder: Path, **kwargs: Any) -> Probe:
    """The probe with the first candidate event that succeeds (2xx), else the last candidate
    (a validation refusal, 4xx). The run also warms the OS file cache, as a deployed package is
    on local disk."""
    for event in (probe.event, *probe.candidates):
        candidate = replace(probe, event=event, candidates=())
        try:
            run_probe(candidate, env, folder, **kwargs)
            return candidate
        except (UnexpectedOutcome, NoAwsCall):
            if probe.prepare is not None:
                raise  # its event is made for each run: there is no other to try
            continue
    fallback = replace(probe, event=(probe.event, *probe.candidates)[-1], accept="status 4", candidates=())
    run_probe(fallback, env, folder, **kwargs)
    return fallback


class UnexpectedOutcome(RuntimeError):
    """The first request did not give the answer a real first request gives."""


def run_probe(
    probe: Probe,
    env: dict[str, str],
    folder: Path,
    *,
    layer_dir: Path | None = None,
    flags: tuple[str, ...] = (),
) -> tuple[dict[str, Any], str]:
    """Run one fresh interpreter; returns its result line (with `aws_calls`, the requests the
    moto server answered meanwhile) and its stderr. A function's first event that made no AWS
    call, or none to a service in `needs`, raises NoAwsCall."""
    event = probe.prepare(env) if probe.prepare is not None else probe.event
    spec = folder / (re.sub(r"\W+", "_", probe.function) + ".json")
    spec.write_text(json.dumps({"module": probe.module, "event": event}))
    recorder = _recorder[0] if _recorder else None
    start = len(recorder) if recorder is not None else 0
    path = [str(probe.code_dir)] if probe.code_dir else []
    path.append(str(layer_dir or ROOT / "layers"))
    completed = subprocess.run(
        [sys.executable, *flags, str(PROBE), str(spec)],
        env={**env, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("COLDSTART_RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{probe.function} probe failed: {completed.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("COLDSTART_RESULT "))
    if not result["outcome"].startswith(probe.accept):
        raise UnexpectedOutcome(
            f"{probe.function}: first request gave {result['outcome']!r}, expected {probe.accept!r}"
        )
    calls = recorder.since(start) if recorder is not None else []
    result["aws_calls"] = len(calls)
    if probe.module is not None and recorder is not None:
        called = {service for service, _ in calls}
        missing = [service for service in probe.needs if service not in called]
        if not calls or missing:
            raise NoAwsCall(
                f"{probe.function}: its first event made {len(calls)} AWS calls "
                f"({', '.join(sorted({f'{s}:{o}' for s, o in calls})) or 'none'})"
                + (f", none to {', '.join(missing)}" if missing else "")
                + ": it does not do the function's work, so its cold start measures nothing real"
            )
    return result, completed.stderr


def medians(
    items: list[Probe], env: dict[str, str], folder: Path, repeat: int = REPEAT, **kwargs: Any
) -> dict[str, dict[str, float]]:
    """Median import and total seconds per probe, and the best (lowest) total; rounds interleave
    the probes so that a busy moment of the machine falls on all of them alike."""
    samples: dict[str, list[dict[str, Any]]] = {p.function: [] for p in items}
    for _ in range(repeat):
        for probe in items:
            samples[probe.function].append(run_probe(probe, env, folder, **kwargs)[0])
    return {
        name: {
            **{key: statistics.median(s[key] for s in runs) for key in ("import", "total", "aws_calls")},
            "best": min(s["total"] for s in runs),
        }
        for name, runs in samples.items()
    }


def import_times(stderr: str, top: int = 8) -> list[tuple[str, float]]:
    """Seconds spent importing each top-level package (the sum of its modules' own times) from
    `-X importtime` output, slowest first: which libraries a cold start pays for."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|", 2)
        package = name.strip().split(".", 1)[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1e6
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def _selected(items: list[Probe]) -> list[Probe]:
    """BENCH_COLDSTART_FUNCTIONS (comma-separated function names) keeps only those probes, for a
    short check of a few functions; the published table is a run of all of them."""
    wanted = {name.strip() for name in os.environ.get("BENCH_COLDSTART_FUNCTIONS", "").split(",") if name.strip()}
    if not wanted:
        return items
    unknown = wanted - {probe.function.split(" ", 1)[0] for probe in items}
    if unknown:
        raise ValueError(f"BENCH_COLDSTART_FUNCTIONS names no probe: {', '.join(sorted(unknown))}")
    return [probe for probe in items if probe.function.split(" ", 1)[0] in wanted]


def run() -> list[Row]:
    items, missing = probes()
    items = _selected(items)
    if os.environ.get("BENCH_COLDSTART_FUNCTIONS"):
        missing = []
    repeat = int(os.environ.get("BENCH_COLDSTART_REPEAT") or REPEAT)
    api = {route.function for route in http_routes()}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="s2s-bench-cold-") as tmp, moto_server() as env:
        folder = Path(tmp)
        items = [calibrate(probe, env, folder) for probe in items]
        peers = {
            probe.function: Probe(
                f"{probe.function} peer",
                write_peer(folder, probe.module or "", probe.code_dir or ROOT),
                folder,
                probe.event,
                probe.accept,
            )
            for probe in items
            if probe.function in api and " " not in probe.function
        }
        run_probe(BASELINE, env, folder)
        results = medians([BASELINE, *items, *peers.values()], env, folder, repeat=repeat)
        base = results["baseline"]
        for probe in items:
            mine = results[probe.function]
            # The target compares the best of REPEAT runs on each side: another process can only
            # add time, so the best is the steadiest estimate of what the code itself costs. The
            # medians (and their ratio) are shown beside it.
            ratio = mine["best"] / base["best"]
            function = probe.function.split(" ", 1)[0]
            target = API_TARGET if function in api else EVENT_TARGET
            rows.append(
                Row(
                    f"cold start {probe.function} (import + 1st request) vs floor",
                    f"{format_seconds(mine['best'])}; median {format_seconds(mine['total'])} "
                    f"({mine['total'] / base['total']:.2f}x), import {format_seconds(mine['import'])}, "
                    f"{mine['aws_calls']:.0f} AWS calls",
                    f"{format_seconds(base['best'])}; median {format_seconds(base['total'])}",
                    ratio,
                    f"<= {target}",
                    ratio <= target,
                )
            )
            peer = peers.get(probe.function)
            if peer is not None:
                theirs = results[peer.function]
                versus = mine["best"] / theirs["best"]
                rows.append(
                    Row(
                        f"cold start {probe.function} vs its cookbook-shaped peer",
                        f"{format_seconds(mine['best'])}",
                        f"{format_seconds(theirs['best'])} ({theirs['best'] / base['best']:.2f}x floor); "
                        f"median {format_seconds(theirs['total'])}",
                        versus,
                        f"<= {PEER_TARGET}",
                        versus <= PEER_TARGET,
                    )
                )
        worst = max(items, key=lambda p: results[p.function]["total"])
        _, stderr = run_probe(worst, env, folder, flags=("-X", "importtime"))
        for name, seconds in import_times(stderr):
            rows.append(Row(f"  importtime {worst.function}: {name}", format_seconds(seconds), "", None, "info", None))
    rows.extend(
        Row(f"cold start {name}", "handler module not in this checkout", "", None, f"<= {RATIO_TARGET}", None)
        for name in missing
    )
    return rows
