"""The establishment directory in tests: generated fictional GIAS files, put under `directory/` in
the bucket and imported by the real import handler through the queue, as in AWS."""

from __future__ import annotations

from typing import Any

import boto3
from s2s_cli.directory_sample import edubase_bytes, generate, links_bytes, sample_files
from support.flows import drain

# Names in the committed sample (cli/s2s_cli/data/directory, written by s2s_cli.directory_sample).
CLOSED = "8233001"  # Hillside Primary School, closed; succeeded by:
SUCCESSOR = "8234001"  # Hillside Primary Academy
CHAIN_START, CHAIN_END = "8233004", "8234005"  # Larchwood Infant -> Larchwood Primary (closed) -> Academy
SPLIT = "8233008"  # Twin Oaks School, closed, two successors
NO_SUCCESSOR = "8233006"  # Old Mill Middle School, closed, no successor
ST_MARYS = "8233002"  # St Mary's C of E Primary School, open
THERESE = "8233007"  # Sainte-Thérèse Catholic Primary School
UNKNOWN = "8239990"  # not in the sample


def import_handler() -> Any:
    import directory_import

    return directory_import.lambda_handler


def put_files(aws: Any, establishments: bytes, links: bytes | None = None, *, name: str = "edubase.csv") -> None:
    s3 = boto3.client("s3")
    if links is not None:
        s3.put_object(Bucket=aws.bucket, Key=f"directory/links_{name}", Body=links)
    s3.put_object(Bucket=aws.bucket, Key=f"directory/{name}", Body=establishments)


def import_files(aws: Any, establishments: bytes, links: bytes | None = None, *, name: str = "edubase.csv") -> None:
    """Put the files under directory/ and deliver the queued S3 events to the import handler."""
    put_files(aws, establishments, links, name=name)
    assert drain(aws.queue_urls["DirectoryQueue"], import_handler()) == []


def import_sample(aws: Any) -> None:
    establishments, links = sample_files()
    import_files(aws, establishments.read_bytes(), links.read_bytes())


def generated(count: int, seed: int) -> tuple[bytes, bytes]:
    rows, links = generate(count, seed)
    return edubase_bytes(rows), links_bytes(links)


def pointer_version() -> str | None:
    from s2s.adapters import directory

    found = directory.read_pointer(fresh=True)
    return found.version if found else None
