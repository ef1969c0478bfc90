"""Find a school (docs/SERVICE.md §12) at the size of the real GIAS download: the import of a
generated, fictional 50,000-row establishments file (time and peak Python memory, streamed from the
bucket as the import function reads it, with a 5,000-row file for the ratio), then warm searches
through the real handler against the same load (median and p95 over several kinds of query), and
what each search reads: the pointer item (one GetItem, at most once a second per container) and no
S3 object once the load is cached. A search never scans."""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from typing import Any

from bench.common import Row, format_seconds

ROWS = 50_000
SMALL = 5_000
SEARCHES = 300
QUERIES = [
    {"q": "st marys c of e primary"},
    {"q": "hillside"},
    {"q": "oak"},
    {"q": "8234001"},
    {"q": "larchwood acad", "la": "823"},
    {"postcode": "MK4"},
    {"la": "330", "limit": "50"},
    {"q": "school", "status": "closed"},
]
DEFAULT_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "PORTAL_URL": "http://portal.test",
    "SENDER_EMAIL": "no-reply@s2s.test",
}


class Counting:
    """Counts what the directory code reads: DynamoDB items (GetItem) and S3 GETs. Scans refused."""

    def __init__(self, client: Any, kind: str) -> None:
        self._client = client
        self.kind = kind
        self.items = 0
        self.gets = 0

    def get_item(self, **kwargs: Any) -> Any:
        self.items += 1
        return self._client.get_item(**kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        self.gets += 1
        return self._client.get_object(**kwargs)

    def scan(self, **kwargs: Any) -> Any:
        raise AssertionError("a search never scans")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _import(key: str) -> tuple[float, Any]:
    from s2s.services import directory

    started = time.perf_counter()
    result = directory.import_from_bucket(os.environ["BUCKET_NAME"], key)
    return time.perf_counter() - started, result


def _search(handler: Any, query: dict[str, str]) -> dict[str, Any]:
    import json

    from support.helpers import FakeContext, http_event, school_claims

    response = handler(
        http_event("GET", "/directory/establishments", claims=school_claims("8231234"), query=query), FakeContext()
    )
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])  # type: ignore[no-any-return]


def run() -> list[Row]:
    import sys
    from pathlib import Path

    import boto3
    from moto import mock_aws

    root = Path(__file__).resolve().parents[1]
    for folder in ("layers", "cli", "functions/report", "tests"):
        if str(root / folder) not in sys.path:
            sys.path.insert(0, str(root / folder))
    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    from s2s.adapters import directory as repository
    from s2s.adapters.aws import reset_clients
    from s2s.runtime.settings import get_settings
    from s2s_cli.directory_sample import edubase_bytes, generate, links_bytes
    from s2s_cli.local.template import create_resources

    rows: list[Row] = []
    with mock_aws():
        region = DEFAULT_ENV["AWS_DEFAULT_REGION"]
        names = create_resources(
            dynamodb=boto3.client("dynamodb", region_name=region),
            s3=boto3.client("s3", region_name=region),
            sns=boto3.client("sns", region_name=region),
            sqs=boto3.client("sqs", region_name=region),
            secrets=boto3.client("secretsmanager", region_name=region),
        )
        os.environ.update(names.environment())
        reset_clients()
        get_settings.cache_clear()
        repository.reset_cache()
        s3 = boto3.client("s3", region_name=region)
        files: dict[str, tuple[bytes, bytes]] = {}
        for label, count, seed in (("small", SMALL, 1), ("large", ROWS, 2), ("memory", ROWS, 3)):
            establishments, links = generate(count, seed)
            files[label] = (edubase_bytes(establishments), links_bytes(links))
            s3.put_object(Bucket=names.bucket, Key=f"directory/{label}.csv", Body=files[label][0])
            s3.put_object(Bucket=names.bucket, Key=f"directory/links_{label}.csv", Body=files[label][1])

        small_time, small = _import("directory/small.csv")
        large_time, large = _import("directory/large.csv")
        assert small.report["accepted"] == SMALL and large.report["accepted"] == ROWS, large.report
        tracemalloc.start()
        _, memory = _import("directory/memory.csv")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert memory.report["accepted"] == ROWS
        megabytes = len(files["large"][0]) / 1e6
        rows.append(
            Row(
                f"directory import: {ROWS:,} rows ({megabytes:.1f} MB) vs {SMALL:,}",
                format_seconds(large_time),
                format_seconds(small_time),
                large_time / small_time,
                f"~{ROWS // SMALL} (linear)",
                None,
            )
        )
        rows.append(
            Row(
                f"directory import: peak Python memory, {ROWS:,} rows",
                f"{peak / 1e6:.0f} MB",
                "",
                None,
                "< 1769 MB",
                peak < 1769e6,
            )
        )

        # Searches against the 50,000-row load, as a warm DirectoryApiFunction answers them.
        import directory_api

        handler = directory_api.lambda_handler
        from s2s.adapters import dynamo as codec

        dynamo, objects = Counting(codec.dynamodb(), "dynamodb"), Counting(repository.s3(), "s3")
        saved = (codec.dynamodb, repository.s3, repository.monotonic)
        clock = [0.0]
        codec.dynamodb = lambda: dynamo  # type: ignore[assignment]
        repository.s3 = lambda: objects  # type: ignore[assignment]
        # Each search a second after the last: every one re-reads the pointer (the worst case).
        repository.monotonic = lambda: clock[0]
        repository.reset_cache()
        started = time.perf_counter()
        _search(handler, QUERIES[0])  # a new container: reads the pointer and the load
        cold = time.perf_counter() - started
        for query in QUERIES:
            _search(handler, query)
        dynamo.items = objects.gets = 0
        samples: list[float] = []
        try:
            for n in range(SEARCHES):
                clock[0] += repository.POINTER_SECONDS
                query = QUERIES[n % len(QUERIES)]
                start = time.perf_counter()
                _search(handler, query)
                samples.append(time.perf_counter() - start)
        finally:
            codec.dynamodb, repository.s3, repository.monotonic = saved  # type: ignore[assignment]
        print(f"directory bench: {dynamo.items} items, {objects.gets} objects in {SEARCHES} searches", file=sys.stderr)
        samples.sort()
        p95 = samples[int(len(samples) * 0.95) - 1]
        rows.append(
            Row(
                f"directory search, warm: median (p95) of {SEARCHES} over {len(QUERIES)} kinds, {ROWS:,} rows",
                f"{format_seconds(statistics.median(samples))} ({format_seconds(p95)})",
                "",
                None,
                "-",
                None,
            )
        )
        rows.append(
            Row("directory search: first after import (loads the index)", format_seconds(cold), "", None, "-", None)
        )
        rows.append(
            Row(
                "directory search: DynamoDB items / S3 objects read per warm search",
                f"{dynamo.items / SEARCHES:.2f} / {objects.gets / SEARCHES:.2f}",
                "",
                None,
                "<= 1 item (the pointer), 0 objects, no Scan",
                dynamo.items <= SEARCHES and objects.gets == 0,  # (items, gets) = see the measured column
            )
        )
    return rows
