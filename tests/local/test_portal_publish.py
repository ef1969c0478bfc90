"""`s2s portal publish`: S3 and CloudFront in moto, CloudFormation's `describe_stacks` stubbed with
botocore's Stubber, and the issuer's OpenID discovery document served over real HTTP on 127.0.0.1.

Covers the objects written (types, cache headers, config.json last), a stale object deleted, the
invalidation, `--dry-run` changing nothing, the one-line errors (missing stack or output, a refused
URL, discovery down) and the override flags that skip discovery; and the command through `main`."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from s2s_cli import portal_publish
from s2s_cli.client import CannotConnect, UsageError
from s2s_cli.main import main
from s2s_cli.portal_publish import Options, publish

pytestmark = pytest.mark.local

REGION: Final = "eu-west-2"
STACK = "s2s-test"
BUCKET = "s2s-test-portal"
API_URL = "https://abc123.execute-api.eu-west-2.amazonaws.com"
CLIENT_ID = "s2s-portal"

PORTAL_FILES = {
    "index.html": b"<!doctype html><title>S2S</title>",
    "app.js": b"import './dom.js';",
    "styles.css": b"body{}",
    "naming-rules.json": b"{}",
    "img/logo.svg": b"<svg/>",
    "icon.png": b"\x89PNG\r\n",
    # Left behind: a dotfile, a dot folder, the folder's README and a stray local config.json.
    ".DS_Store": b"junk",
    ".cache/x.js": b"junk",
    "README.md": b"# portal",
    "config.json": b'{"api_url": "http://127.0.0.1:3000"}',
}
UPLOADED = {
    "index.html": ("text/html; charset=utf-8", "no-cache"),
    "app.js": ("text/javascript; charset=utf-8", "public, max-age=300"),
    "styles.css": ("text/css; charset=utf-8", "public, max-age=300"),
    "naming-rules.json": ("application/json", "public, max-age=300"),
    "img/logo.svg": ("image/svg+xml", "public, max-age=300"),
    "icon.png": ("image/png", "public, max-age=300"),
    "config.json": ("application/json", "no-cache"),
}


# ------------------------------------------------------------------------------------------ fixtures


class Issuer:
    """An OpenID provider's discovery document on 127.0.0.1; counts the requests for it."""

    def __init__(self) -> None:
        self.requests = 0
        self.document: dict[str, Any] = {}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    issuer.requests += 1
                    body = json.dumps(issuer.document).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/elsewhere/.well-known/openid-configuration":
                    self.send_response(302)
                    self.send_header("Location", "http://sign-in.example.org/.well-known/openid-configuration")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.document = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/connect/authorize",
            "token_endpoint": f"{self.url}/connect/token",
        }


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def portal(tmp_path: Path) -> Path:
    root = tmp_path / "portal"
    for name, body in PORTAL_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return root


@dataclass
class Aws:
    s3: Any
    cloudfront: Any
    distribution_id: str

    def bucket_keys(self) -> set[str]:
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

    def invalidations(self) -> list[dict[str, Any]]:
        listing = self.cloudfront.list_invalidations(DistributionId=self.distribution_id)["InvalidationList"]
        return [
            self.cloudfront.get_invalidation(DistributionId=self.distribution_id, Id=item["Id"])["Invalidation"]
            for item in listing.get("Items", [])
        ]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # Left from an earlier release: `publish` must delete it, as CloudFront would still serve it.
        s3.put_object(Bucket=BUCKET, Key="old-page.js", Body=b"old")
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "portal",
                "Comment": "portal",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "portal",
                            "DomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "portal",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }
        )["Distribution"]
        yield Aws(s3, cloudfront, distribution["Id"])


def stack_description(distribution_id: str, issuer: str, *, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    values = {"ApiUrl": API_URL, "PortalBucketName": BUCKET, "PortalDistributionId": distribution_id}
    if outputs is not None:
        values = outputs
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": "2025-01-01T00:00:00Z",
                "StackStatus": "UPDATE_COMPLETE",
                "Parameters": [
                    {"ParameterKey": "OidcIssuer", "ParameterValue": issuer},
                    {"ParameterKey": "OidcAudience", "ParameterValue": CLIENT_ID},
                    {"ParameterKey": "RetentionDays", "ParameterValue": "30"},
                ],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in values.items()]
                + [{"OutputKey": "PortalDistributionDomain", "OutputValue": "d111.cloudfront.net"}],
            }
        ]
    }


def cloudformation(response: dict[str, Any] | None = None, *, missing: bool = False) -> Any:
    """A CloudFormation client whose one `describe_stacks` answers `response` (or: no such stack)."""
    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    if missing:
        stubber.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {STACK} does not exist",
            http_status_code=400,
            expected_params={"StackName": STACK},
        )
    else:
        assert response is not None
        stubber.add_response("describe_stacks", response, {"StackName": STACK})
    stubber.activate()
    return client


def run(aws: Aws, portal: Path, issuer: str, **options: Any) -> str:
    out = io.StringIO()
    cfn = options.pop("cfn", None) or cloudformation(stack_description(aws.distribution_id, issuer))
    fetch = options.pop("fetch", portal_publish.fetch_json)
    code = publish(
        Options(stack=STACK, portal_dir=portal, **options),
        cloudformation=cfn,
        s3=aws.s3,
        cloudfront=aws.cloudfront,
        fetch=fetch,
        out=out,
    )
    assert code == 0
    return out.getvalue()


# ------------------------------------------------------------------------------------------ publish


def test_publish_uploads_every_portal_file_with_its_type_and_cache_header(
    aws: Aws, portal: Path, issuer: Issuer
) -> None:
    run(aws, portal, issuer.url)

    assert aws.bucket_keys() == set(UPLOADED)
    for key, (content_type, cache_control) in UPLOADED.items():
        head = aws.s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache_control), key
    body = aws.s3.get_object(Bucket=BUCKET, Key="app.js")["Body"].read()
    assert body == PORTAL_FILES["app.js"]


def test_config_json_names_the_api_the_issuer_the_client_and_the_discovered_endpoints(
    aws: Aws, portal: Path, issuer: Issuer
) -> None:
    output = run(aws, portal, issuer.url)

    config = json.loads(aws.s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config == {
        "api_url": API_URL,
        "issuer": issuer.url,
        "client_id": CLIENT_ID,
        "authorize_url": f"{issuer.url}/connect/authorize",
        "token_url": f"{issuer.url}/connect/token",
    }
    # The same keys the local stack's portal server writes, so the portal reads both alike.
    from s2s_cli.local.portal import PortalConfig

    assert set(config) == set(PortalConfig("http://a", "http://b").config_json())
    # config.json goes up after every other file.
    uploaded = [line.split()[1] for line in output.splitlines() if line.startswith("uploaded ")]
    assert uploaded[-2:] == ["index.html", "config.json"]


def test_a_file_gone_from_the_portal_folder_is_deleted_from_the_bucket(aws: Aws, portal: Path, issuer: Issuer) -> None:
    assert "old-page.js" in aws.bucket_keys()

    output = run(aws, portal, issuer.url)

    assert "old-page.js" not in aws.bucket_keys()
    assert "deleted old-page.js" in output


def test_publish_invalidates_the_whole_distribution(aws: Aws, portal: Path, issuer: Issuer) -> None:
    output = run(aws, portal, issuer.url)

    [invalidation] = aws.invalidations()
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
    assert invalidation["Id"] in output


def test_dry_run_prints_the_plan_and_changes_nothing(aws: Aws, portal: Path, issuer: Issuer) -> None:
    before = {o["Key"]: o["ETag"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}

    output = run(aws, portal, issuer.url, dry_run=True)

    after = {o["Key"]: o["ETag"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert after == before
    assert aws.invalidations() == []
    assert "would upload app.js" in output
    assert "would delete old-page.js" in output
    assert f"would invalidate /* on CloudFront distribution {aws.distribution_id}" in output
    assert f'"authorize_url": "{issuer.url}/connect/authorize"' in output
    assert "README.md" not in output and ".DS_Store" not in output


def test_override_flags_skip_discovery(aws: Aws, portal: Path) -> None:
    calls: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        calls.append(url)
        raise AssertionError("discovery must not be fetched")

    run(
        aws,
        portal,
        "https://oidc.signin.example.org",
        authorize_url="https://oidc.signin.example.org/auth",
        token_url="https://oidc.signin.example.org/token",
        fetch=fetch,
    )

    assert calls == []
    config = json.loads(aws.s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert (config["authorize_url"], config["token_url"]) == (
        "https://oidc.signin.example.org/auth",
        "https://oidc.signin.example.org/token",
    )


def test_one_override_still_discovers_the_other(aws: Aws, portal: Path, issuer: Issuer) -> None:
    before = issuer.requests

    run(aws, portal, issuer.url, token_url=f"{issuer.url}/other-token")

    config = json.loads(aws.s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert (config["authorize_url"], config["token_url"]) == (
        f"{issuer.url}/connect/authorize",
        f"{issuer.url}/other-token",
    )
    assert issuer.requests == before + 1


def test_a_token_endpoint_off_the_issuer_origin_is_warned_about(
    aws: Aws, portal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        aws,
        portal,
        "https://oidc.signin.example.org",
        authorize_url="https://oidc.signin.example.org/auth",
        token_url="https://tokens.example.org/token",
    )

    err = capsys.readouterr().err
    assert "warning: token_url https://tokens.example.org/token is not on the issuer's origin" in err


# ------------------------------------------------------------------------------------------ refusals


def test_a_missing_output_is_a_usage_error_naming_it(aws: Aws, portal: Path, issuer: Issuer) -> None:
    outputs = {"ApiUrl": API_URL, "PortalBucketName": BUCKET}
    cfn = cloudformation(stack_description(aws.distribution_id, issuer.url, outputs=outputs))

    with pytest.raises(UsageError, match="no output PortalDistributionId") as raised:
        run(aws, portal, issuer.url, cfn=cfn)

    assert raised.value.exit_code == 2
    assert "old-page.js" in aws.bucket_keys() and aws.invalidations() == []


@pytest.mark.parametrize(
    ("issuer_url", "overrides", "refused"),
    [
        ("http://oidc.signin.example.org", {}, "OidcIssuer must be https"),
        (
            "https://oidc.signin.example.org",
            {"authorize_url": "http://oidc.signin.example.org/auth", "token_url": "https://oidc.signin.example.org/t"},
            "authorize_url must be https",
        ),
        (
            "https://oidc.signin.example.org",
            {
                "authorize_url": "https://oidc.signin.example.org/auth?x=1",
                "token_url": "https://oidc.signin.example.org/t",
            },
            "must not have a query string",
        ),
        (
            "https://oidc.signin.example.org",
            {
                "authorize_url": "https://oidc.signin.example.org/a",
                "token_url": "https://u:p@oidc.signin.example.org/t",
            },
            "must not hold a user name or password",
        ),
    ],
)
def test_urls_that_are_not_https_or_hold_more_than_a_path_are_refused(
    aws: Aws, portal: Path, issuer_url: str, overrides: dict[str, str], refused: str
) -> None:
    cfn = cloudformation(stack_description(aws.distribution_id, issuer_url))

    with pytest.raises(UsageError, match=refused) as raised:
        run(aws, portal, issuer_url, cfn=cfn, **overrides)

    assert "x=1" not in str(raised.value) and "u:p" not in str(raised.value)
    assert aws.invalidations() == []


def test_a_discovered_endpoint_that_is_not_https_is_refused(aws: Aws, portal: Path, issuer: Issuer) -> None:
    def fetch(url: str) -> dict[str, Any]:
        return {**issuer.document, "token_endpoint": "http://sign-in.example.org/token"}

    with pytest.raises(UsageError, match="token_url must be https"):
        run(aws, portal, issuer.url, fetch=fetch)
    assert "config.json" not in aws.bucket_keys()


def test_discovery_for_another_issuer_is_refused(aws: Aws, portal: Path, issuer: Issuer) -> None:
    def fetch(url: str) -> dict[str, Any]:
        return {**issuer.document, "issuer": "https://someone-else.example.org"}

    with pytest.raises(UsageError, match="another issuer"):
        run(aws, portal, issuer.url, fetch=fetch)


def test_discovery_that_cannot_be_reached_suggests_the_override_flags(aws: Aws, portal: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        down = f"http://127.0.0.1:{closed.server_address[1]}"
    cfn = cloudformation(stack_description(aws.distribution_id, down))

    with pytest.raises(CannotConnect, match="--authorize-url and --token-url") as raised:
        run(aws, portal, down, cfn=cfn)
    assert raised.value.exit_code == 3


def test_discovery_follows_no_redirect_to_plain_http(issuer: Issuer) -> None:
    with pytest.raises(UsageError, match="redirect from the discovery URL must be https"):
        portal_publish.fetch_json(f"{issuer.url}/elsewhere/.well-known/openid-configuration")


def test_display_drops_credentials_query_and_fragment() -> None:
    shown = portal_publish.display("https://user:secret@sign-in.example.org:8443/a/b?code=xyz#frag")
    assert shown == "https://sign-in.example.org:8443/a/b"


# ------------------------------------------------------------------------------------------ the CLI


@pytest.fixture
def cli_clients(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """`main` makes its own clients: hand it the stubbed CloudFormation and moto's S3 and CloudFront."""
    answers: list[Any] = []

    def clients(region: str | None) -> tuple[Any, Any, Any]:
        assert region == REGION
        return answers.pop(0), aws.s3, aws.cloudfront

    monkeypatch.setattr(portal_publish, "_clients", clients)
    yield answers


def test_cli_publishes_with_override_flags(
    aws: Aws, portal: Path, cli_clients: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cli_clients.append(cloudformation(stack_description(aws.distribution_id, "https://oidc.signin.example.org")))

    code = main(
        [
            "portal",
            "publish",
            "--stack",
            STACK,
            "--region",
            REGION,
            "--portal-dir",
            str(portal),
            "--authorize-url",
            "https://oidc.signin.example.org/auth",
            "--token-url",
            "https://oidc.signin.example.org/token",
        ]
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert aws.bucket_keys() == set(UPLOADED)
    assert len(aws.invalidations()) == 1
    assert "published 7 files" in captured.out


def test_cli_dry_run_changes_nothing(
    aws: Aws, portal: Path, issuer: Issuer, cli_clients: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cli_clients.append(cloudformation(stack_description(aws.distribution_id, issuer.url)))

    code = main(["portal", "publish", "--stack", STACK, "--region", REGION, "--portal-dir", str(portal), "--dry-run"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert aws.bucket_keys() == {"old-page.js"}
    assert "dry run: nothing changed" in captured.out


def test_cli_missing_stack_is_exit_2_with_one_line(
    aws: Aws, portal: Path, cli_clients: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cli_clients.append(cloudformation(missing=True))

    code = main(["portal", "publish", "--stack", STACK, "--region", REGION, "--portal-dir", str(portal)])

    err = capsys.readouterr().err
    assert code == 2
    assert err == f"s2s: no stack {STACK} in this account and region (pass --region?)\n"


def test_cli_requires_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portal", "publish"]) == 2
    assert "--stack" in capsys.readouterr().err


def test_the_real_portal_folder_is_what_gets_published() -> None:
    files = portal_publish.portal_files(portal_publish.PORTAL_DIR)

    keys = [f.key for f in files]
    assert keys[-1] == "index.html"
    assert "app.js" in keys and "README.md" not in keys
    by_key = {f.key: f for f in files}
    assert by_key["app.js"].content_type == "text/javascript; charset=utf-8"
    # GOV.UK Frontend's files, copied in by `make setup`, go too, with the types the browser needs
    assert by_key["govuk/govuk-frontend.min.css"].content_type == "text/css; charset=utf-8"
    assert by_key["govuk/govuk-frontend.min.js"].content_type == "text/javascript; charset=utf-8"
    fonts = [f for f in files if f.key.startswith("assets/fonts/") and f.key.endswith(".woff2")]
    assert fonts and all(f.content_type == "font/woff2" for f in fonts)
    assert "assets/images/favicon.svg" in by_key


def test_a_portal_without_govuk_frontends_files_is_refused(tmp_path: Path) -> None:
    # Given a checkout where `make setup` has not copied GOV.UK Frontend in yet
    shell = (portal_publish.PORTAL_DIR / "index.html").read_text(encoding="utf-8")
    (tmp_path / "index.html").write_text(shell, encoding="utf-8")
    (tmp_path / "app.js").write_text("", encoding="utf-8")
    (tmp_path / "app.css").write_text("", encoding="utf-8")
    # Then publishing says what is missing and what to run, instead of shipping a broken page
    with pytest.raises(UsageError) as refused:
        portal_publish.portal_files(tmp_path)
    assert "govuk/govuk-frontend.min.css" in str(refused.value) and "make setup" in str(refused.value)
    assert "assets/images/favicon.ico" in str(refused.value)


def test_the_local_stack_serves_govuk_frontend_with_the_published_types_and_the_csp() -> None:
    import requests
    from s2s_cli.local.portal import PortalConfig, make_portal_server, missing_assets

    assert missing_assets() == []
    config = PortalConfig("http://127.0.0.1:9", "http://127.0.0.1:8")
    server = make_portal_server("127.0.0.1", 0, lambda: config)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        font = next((portal_publish.PORTAL_DIR / "assets" / "fonts").glob("*.woff2")).name
        for path, kind in (
            ("/govuk/govuk-frontend.min.css", "text/css; charset=utf-8"),
            ("/govuk/govuk-frontend.min.js", "text/javascript; charset=utf-8"),
            (f"/assets/fonts/{font}", "font/woff2"),
            ("/transfers/abc", "text/html; charset=utf-8"),
        ):
            response = requests.get(base + path, timeout=10)
            assert response.status_code == 200, path
            assert response.headers["Content-Type"] == kind, path
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
    finally:
        server.shutdown()
        server.server_close()
