"""`s2s portal publish`: puts the web portal (`portal/`) and its `config.json` into a deployed
stack's portal bucket and invalidates the CloudFront cache, the one step after `sam deploy`.

The stack's outputs name the API, the bucket and the distribution; its parameters name the OpenID
Connect issuer and client id. The authorize and token endpoints come from the issuer's discovery
document unless `--authorize-url` / `--token-url` give them. Every URL must be https (http only on
127.0.0.1 or localhost) with no credentials, query string or fragment: `auth.js` appends its own
query to `authorize_url`, and a URL printed in the output can then hold nothing secret.

The boto3 clients and the discovery fetch are parameters, so tests hand in moto-backed or stubbed
ones. Errors are `UsageError` (exit 2: a missing stack or output, a refused URL) or `CannotConnect`
(exit 3: discovery did not answer) and end up as one line on stderr."""

from __future__ import annotations

import json
import mimetypes
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from s2s_cli.client import CannotConnect, ClientError, UsageError

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TIMEOUT = 10.0
DISCOVERY_MAX_BYTES = 1024 * 1024
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
CONFIG_KEY = "config.json"
# The page shell and its config name everything else, so a browser must always revalidate them;
# the other files keep their names from release to release, hence a short max-age, not immutable.
NO_CACHE = "no-cache"
SHORT_CACHE = "public, max-age=300"
ALWAYS_FRESH = frozenset({"index.html", CONFIG_KEY})
SKIPPED_NAMES = frozenset({"README.md"})
# CloudFront sends `X-Content-Type-Options: nosniff`, so a module served with a wrong type does not
# run: the types are spelled out rather than left to the machine's mimetypes database.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
}
PORTAL_DIR = Path(__file__).resolve().parents[2] / "portal"
STACK_OUTPUTS = ("ApiUrl", "PortalBucketName", "PortalDistributionId")
STACK_PARAMETERS = ("OidcIssuer", "OidcAudience")

Fetch = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class StackInfo:
    name: str
    api_url: str
    bucket: str
    distribution_id: str
    issuer: str
    client_id: str


@dataclass(frozen=True)
class PortalFile:
    key: str
    path: Path
    content_type: str
    cache_control: str


@dataclass
class Plan:
    uploads: list[PortalFile]
    config: dict[str, str]
    deletes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ URLs


def check_url(url: str, what: str) -> str:
    """`url` if it is https (http only on this machine) with a host and nothing secret in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOCAL_HOSTS):
        raise UsageError(f"{what} must be https (http only on 127.0.0.1 or localhost): {display(url)}")
    if not host:
        raise UsageError(f"{what} has no host: {display(url)}")
    if parts.username or parts.password:
        raise UsageError(f"{what} must not hold a user name or password: {display(url)}")
    if parts.query or parts.fragment:
        raise UsageError(f"{what} must not have a query string or fragment: {display(url)}")
    return url


def display(url: str) -> str:
    """The URL without credentials, query string or fragment: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else "(not a URL)"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ------------------------------------------------------------------------------------------ discovery


def fetch_json(url: str, timeout: float = DISCOVERY_TIMEOUT) -> dict[str, Any]:
    """GET a JSON object over HTTPS (or http on this machine), following only redirects that pass
    the same check, reading at most `DISCOVERY_MAX_BYTES`."""
    import urllib.error
    import urllib.request

    check_url(url, "the discovery URL")

    class CheckedRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(  # noqa: PLR0917 - urllib's signature
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> Any:
            check_url(newurl, "a redirect from the discovery URL")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(CheckedRedirects)
    # check_url above allows only https (and http on this machine): no file: or custom schemes.
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "s2s-cli"})  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(DISCOVERY_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CannotConnect(f"{display(url)} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CannotConnect(f"cannot fetch {display(url)}: {reason}") from None
    if len(body) > DISCOVERY_MAX_BYTES:
        raise UsageError(f"{display(url)} sent more than {DISCOVERY_MAX_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise UsageError(f"{display(url)} did not send JSON") from None
    if not isinstance(document, dict):
        raise UsageError(f"{display(url)} did not send a JSON object")
    return document


def endpoints(
    issuer: str, authorize_url: str | None, token_url: str | None, fetch: Fetch = fetch_json
) -> tuple[str, str]:
    """The authorize and token endpoints: the overrides, else the issuer's discovery document."""
    if authorize_url is None or token_url is None:
        url = issuer.rstrip("/") + DISCOVERY_PATH
        hint = "; or pass --authorize-url and --token-url"
        try:
            document = fetch(url)
        except ClientError as exc:
            raise type(exc)(f"OpenID discovery: {exc}{hint}") from None
        # Discovery section 4.3: the document must name the issuer it was fetched for, or the
        # tokens it leads to would carry an `iss` the API's authorizer rejects.
        if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise UsageError(f"{display(url)} is for another issuer, not {display(issuer)}{hint}")
        for key in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(document.get(key), str) or not document[key]:
                raise UsageError(f"{display(url)} has no {key}{hint}")
        authorize_url = authorize_url or document["authorization_endpoint"]
        token_url = token_url or document["token_endpoint"]
    return check_url(str(authorize_url), "authorize_url"), check_url(str(token_url), "token_url")


# ------------------------------------------------------------------------------------------ stack


def read_stack(cloudformation: Any, name: str) -> StackInfo:
    from botocore.exceptions import ClientError as AwsError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except AwsError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationError" and "does not exist" in str(error.get("Message", "")):
            raise UsageError(f"no stack {name} in this account and region (pass --region?)") from None
        raise ClientError(f"cannot read stack {name}: {error.get('Code')}: {error.get('Message')}") from None
    if not stacks:
        raise UsageError(f"no stack {name} in this account and region (pass --region?)")
    stack = stacks[0]
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    missing = [f"output {k}" for k in STACK_OUTPUTS if not outputs.get(k)]
    missing += [f"parameter {k}" for k in STACK_PARAMETERS if not parameters.get(k)]
    if missing:
        raise UsageError(
            f"stack {name} has no {', '.join(missing)} (status {stack.get('StackStatus')}; deploy the current template)"
        )
    return StackInfo(
        name=name,
        api_url=check_url(outputs["ApiUrl"].rstrip("/"), "the stack's ApiUrl"),
        bucket=outputs["PortalBucketName"],
        distribution_id=outputs["PortalDistributionId"],
        issuer=check_url(parameters["OidcIssuer"], "the stack's OidcIssuer"),
        client_id=parameters["OidcAudience"],
    )


# ------------------------------------------------------------------------------------------ files


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed = mimetypes.guess_type(path.name)[0]
    if guessed and guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed or "application/octet-stream"


def portal_files(directory: Path) -> list[PortalFile]:
    """Every file to upload, `index.html` last so the page shell never names a file not there yet.

    Dotfiles (and anything in a dot folder) and README.md stay behind; a `config.json` in the
    folder does too, because the stack's own is written instead."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such folder")
    files = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        if path.name in SKIPPED_NAMES or key == CONFIG_KEY:
            continue
        cache = NO_CACHE if key in ALWAYS_FRESH else SHORT_CACHE
        files.append(PortalFile(key, path, content_type(path), cache))
    if not any(f.key == "index.html" for f in files):
        raise UsageError(f"{directory} has no index.html: is it the portal folder?")
    missing = missing_references(directory, {f.key for f in files})
    if missing:
        raise UsageError(
            f"{directory}/index.html names files that are not there ({', '.join(missing)}): "
            "run `make setup` to copy GOV.UK Frontend's assets into the portal first"
        )
    return sorted(files, key=lambda f: f.key == "index.html")


LOCAL_REFERENCE = re.compile(r'(?:href|src)="/([^"/][^"]*)"')


def missing_references(directory: Path, keys: set[str]) -> list[str]:
    """Files the page shell links to on its own origin (stylesheets, scripts, icons) that the
    folder lacks: GOV.UK Frontend's files are copied in by `make setup`, not committed."""
    html = (directory / "index.html").read_text(encoding="utf-8")
    wanted = {match.split("?", 1)[0].split("#", 1)[0] for match in LOCAL_REFERENCE.findall(html)}
    return sorted(key for key in wanted if key and key not in keys and key != CONFIG_KEY)


def config_json(stack: StackInfo, authorize_url: str, token_url: str) -> dict[str, str]:
    """The keys `portal/app.js` and `portal/auth.js` read (as `s2s local serve` writes them)."""
    return {
        "api_url": stack.api_url,
        "issuer": stack.issuer,
        "client_id": stack.client_id,
        "authorize_url": authorize_url,
        "token_url": token_url,
    }


def bucket_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def stale_keys(existing: Iterable[str], files: Iterable[PortalFile]) -> list[str]:
    keep = {f.key for f in files} | {CONFIG_KEY}
    return sorted(k for k in existing if k not in keep)


# ------------------------------------------------------------------------------------------ publish


@dataclass(frozen=True)
class Options:
    stack: str
    portal_dir: Path
    region: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    dry_run: bool = False


def _clients(region: str | None) -> tuple[Any, Any, Any]:
    import boto3
    from botocore.exceptions import NoRegionError

    session = boto3.session.Session(region_name=region)
    try:
        return session.client("cloudformation"), session.client("s3"), session.client("cloudfront")
    except NoRegionError:
        raise UsageError("no AWS region: pass --region or set AWS_REGION") from None


def publish(
    options: Options,
    *,
    cloudformation: Any = None,
    s3: Any = None,
    cloudfront: Any = None,
    fetch: Fetch = fetch_json,
    out: IO[str] | None = None,
) -> int:
    """Upload the portal and its config, delete what is gone from `portal/`, invalidate `/*`.

    With `dry_run`, reads the stack, the issuer and the bucket's listing and changes nothing."""
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError as AwsError

    out = out or sys.stdout
    if cloudformation is None or s3 is None or cloudfront is None:
        default_cloudformation, default_s3, default_cloudfront = _clients(options.region)
        cloudformation = cloudformation or default_cloudformation
        s3 = s3 or default_s3
        cloudfront = cloudfront or default_cloudfront
    try:
        files = portal_files(options.portal_dir)
        stack = read_stack(cloudformation, options.stack)
        authorize_url, token_url = endpoints(stack.issuer, options.authorize_url, options.token_url, fetch)
        _warn_if_blocked(stack, token_url)
        plan = Plan(files, config_json(stack, authorize_url, token_url))
        plan.deletes = stale_keys(bucket_keys(s3, stack.bucket), files)
        if options.dry_run:
            _report_dry_run(plan, stack, out)
            return 0
        _apply(plan, stack, s3, cloudfront, out)
    except AwsError as exc:
        error = exc.response.get("Error", {})
        raise ClientError(f"{exc.operation_name}: {error.get('Code')}: {error.get('Message')}") from None
    except BotoCoreError as exc:
        raise ClientError(f"AWS: {exc}") from None
    return 0


def _report_dry_run(plan: Plan, stack: StackInfo, out: IO[str]) -> None:
    where = f"s3://{stack.bucket}"
    for f in plan.uploads:
        print(
            f"would upload {f.key} to {where} (Content-Type {f.content_type}, Cache-Control {f.cache_control})",
            file=out,
        )
    print(f"would upload {CONFIG_KEY} to {where} (Content-Type application/json, Cache-Control {NO_CACHE}):", file=out)
    print(json.dumps(plan.config, indent=2), file=out)
    for key in plan.deletes:
        print(f"would delete {key} from {where}", file=out)
    print(f"would invalidate /* on CloudFront distribution {stack.distribution_id}", file=out)
    print("dry run: nothing changed", file=out)


def _apply(plan: Plan, stack: StackInfo, s3: Any, cloudfront: Any, out: IO[str]) -> None:
    for f in plan.uploads:
        s3.put_object(
            Bucket=stack.bucket,
            Key=f.key,
            Body=f.path.read_bytes(),
            ContentType=f.content_type,
            CacheControl=f.cache_control,
        )
        print(f"uploaded {f.key}", file=out)
    # Last, so the app never starts against a new API or sign-in with files from the old release.
    s3.put_object(
        Bucket=stack.bucket,
        Key=CONFIG_KEY,
        Body=json.dumps(plan.config, indent=2).encode(),
        ContentType="application/json",
        CacheControl=NO_CACHE,
    )
    print(f"uploaded {CONFIG_KEY} (api {display(stack.api_url)}, sign-in {display(stack.issuer)})", file=out)
    for start in range(0, len(plan.deletes), 1000):  # DeleteObjects takes at most 1000 keys
        batch = plan.deletes[start : start + 1000]
        answer = s3.delete_objects(Bucket=stack.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise ClientError(f"cannot delete {first.get('Key')}: {first.get('Code')}: {first.get('Message')}")
        for key in batch:
            print(f"deleted {key}", file=out)
    invalidation = cloudfront.create_invalidation(
        DistributionId=stack.distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"s2s-portal-{int(time.time())}-{uuid.uuid4().hex[:8]}",
        },
    )["Invalidation"]
    print(
        f"published {len(plan.uploads) + 1} files to s3://{stack.bucket}, deleted {len(plan.deletes)}; "
        f"CloudFront invalidation {invalidation['Id']} for /* on {stack.distribution_id}",
        file=out,
    )


def _warn_if_blocked(stack: StackInfo, token_url: str) -> None:
    # The portal's Content-Security-Policy (template.yaml) lets it fetch only the API, the files
    # bucket and the issuer, so a token endpoint on another origin would fail in the browser.
    if _origin(token_url) != _origin(stack.issuer):
        print(
            f"s2s: warning: token_url {display(token_url)} is not on the issuer's origin "
            f"{_origin(stack.issuer)}; the portal's Content-Security-Policy will block the token request",
            file=sys.stderr,
        )
