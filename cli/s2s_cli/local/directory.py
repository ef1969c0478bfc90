"""The establishment directory of the local stack: the fictional sample it loads at start, and
`s2s directory import`, which puts GIAS files into the running stack's bucket under `directory/`
(the import function runs from the bucket's notification, as in AWS) and returns once searches
answer from the new load.

The stack says where its emulated AWS is in `<data dir>/aws.json` (the moto endpoint, bucket and
table), next to the signing key `s2s local token` reads."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from s2s_cli.client import ClientError, UsageError

AWS_FILE = "aws.json"


def write_aws_file(data_dir: Path, endpoint: str, bucket: str, table: str, api_url: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / AWS_FILE
    path.write_text(json.dumps({"endpoint": endpoint, "bucket": bucket, "table": table, "api_url": api_url}))
    return path


def load_sample() -> str:
    """Import the committed fictional sample into the stack (in-process, before it serves)."""
    from s2s.services import directory

    from s2s_cli.directory_sample import sample_files

    establishments, links = sample_files()
    result = directory.import_directory(lambda: [establishments.read_bytes()], lambda: [links.read_bytes()])
    return result.version


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _aws(data_dir: Path) -> dict[str, Any]:
    try:
        found = json.loads((data_dir / AWS_FILE).read_text())
    except (OSError, ValueError):
        raise UsageError(
            f"no running local stack in {data_dir}: start one with `s2s local serve` (an import into a "
            "deployed stack is an upload to its bucket under directory/)"
        ) from None
    return found if isinstance(found, dict) else {}


ACCEPT_SMALLER_KEY = "directory/ACCEPT-SMALLER"


def import_into_stack(
    establishments: Path, links: Path | None, data_dir: Path, *, timeout: float = 120.0, accept_smaller: bool = False
) -> dict[str, Any]:
    """Upload the files to the stack's bucket under directory/ and wait for the import's report;
    then for the new load to answer searches. Returns the report. With `accept_smaller`, the
    operator's consent to a much smaller load goes in after the files (its own notification runs
    the import again and lets it through), and is taken back if the import did not need it."""
    import boto3
    from s2s.domain.directory import version_of

    for path in (establishments, links):
        if path is not None and not path.is_file():
            raise UsageError(f"{path}: no such file")
    if establishments.name.lower().startswith("links_"):
        raise UsageError(f"{establishments.name} is a links file: give it with --links, after the establishments file")
    aws = _aws(data_dir)
    version = version_of(_sha256(establishments), _sha256(links) if links else None)
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's, the local stack's emulated AWS
        region_name="eu-west-2",
    )
    s3 = session.client("s3", endpoint_url=aws["endpoint"])
    dynamodb = session.client("dynamodb", endpoint_url=aws["endpoint"])
    if links is not None:  # first, so that the establishments file's import finds it (GIAS's own pairing)
        s3.upload_file(str(links), aws["bucket"], f"directory/links_{establishments.name}")
    s3.upload_file(str(establishments), aws["bucket"], f"directory/{establishments.name}")
    if accept_smaller:
        s3.put_object(Bucket=aws["bucket"], Key=ACCEPT_SMALLER_KEY, Body=b"")
    deadline = time.monotonic() + timeout
    report = None
    while time.monotonic() < deadline:
        try:
            body = s3.get_object(Bucket=aws["bucket"], Key=f"directory-index/{version}/report.json")["Body"].read()
            report = json.loads(body)
        except s3.exceptions.NoSuchKey:
            report = None
        waits_for_consent = accept_smaller and report is not None and report.get("code") == "load_much_smaller"
        if report is not None and not report.get("ok", False) and not waits_for_consent:
            return {**report, "version": version}
        if report is not None and report.get("ok", False):
            item = dynamodb.get_item(
                TableName=aws["table"], Key={"PK": {"S": "DIRECTORY"}, "SK": {"S": "CURRENT"}}, ConsistentRead=True
            ).get("Item")
            if item and item["version"]["S"] == version and _answers(aws, data_dir, version):
                if accept_smaller:  # not needed after all: it must not let a later file through
                    s3.delete_object(Bucket=aws["bucket"], Key=ACCEPT_SMALLER_KEY)
                return {**report, "version": version}
        time.sleep(0.2)
    raise ClientError(f"the local stack did not finish importing {establishments.name} within {timeout:.0f} s")


def _answers(aws: dict[str, Any], data_dir: Path, version: str) -> bool:
    """Does a search through the API answer from `version` yet?"""
    import requests

    from s2s_cli.local import auth

    token = auth.issue_token(auth.load_or_create_key(data_dir), auth.organisation_claims("dfe", None, None), ttl=60)
    response = requests.get(
        f"{aws['api_url']}/directory/establishments",
        params={"q": "a", "limit": "1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if not response.ok:
        return False
    return bool((response.json().get("directory") or {}).get("version") == version)
