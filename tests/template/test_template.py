"""Assertions on template.yaml: explicit routes, least privilege, a hardened bucket and table,
a dead-letter queue and alarm for every queue, and the SAM/CloudFormation linters."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from s2s_cli.local.template import ROOT, http_routes, load_template, parameter_default

pytestmark = pytest.mark.template

T = load_template()
RESOURCES: dict[str, Any] = T["Resources"]


def of_type(kind: str) -> dict[str, Any]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in function["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and "Statement" in policy, "inline policy documents only"
        found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def test_runtime_architecture_and_json_logs_come_from_globals():
    fn = T["Globals"]["Function"]
    assert fn["Runtime"] == "python3.13"
    assert fn["Architectures"] == ["arm64"]
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    assert fn["Layers"] == [{"Ref": "SharedLayer"}]
    # Makefile builds: arm64 wheels for 3.13 and precompiled bytecode (see layers/Makefile).
    assert RESOURCES["SharedLayer"]["Metadata"]["BuildMethod"] == "makefile"
    for name, fn in FUNCTIONS.items():
        assert fn["Metadata"]["BuildMethod"] == "makefile", name
        assert (ROOT / fn["Properties"]["CodeUri"] / "Makefile").read_text().count(f"build-{name}") == 1


def test_routes_are_explicit_and_every_handler_module_exists():
    routes = http_routes()
    assert routes
    for route in routes:
        assert "proxy+" not in route.path and route.path != "$default"
        module = route.handler.split(".")[0]
        assert (ROOT / route.code_uri / f"{module}.py").is_file(), route
    unauthenticated = [(r.method, r.path) for r in routes if not r.authorized]
    assert unauthenticated == [("GET", "/openapi.json")]


def test_http_api_uses_the_jwt_authorizer_with_parameterised_issuer_and_audience():
    api = RESOURCES["HttpApi"]["Properties"]
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "DfESignIn"
    jwt = auth["Authorizers"]["DfESignIn"]["JwtConfiguration"]
    assert jwt == {"issuer": {"Ref": "OidcIssuer"}, "audience": [{"Ref": "OidcAudience"}]}
    throttle = api["DefaultRouteSettings"]
    assert throttle == {
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
    }
    assert api["CorsConfiguration"]["AllowOrigins"] == [{"Ref": "PortalUrl"}]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_policy_is_least_privilege(name):
    stmts = statements(FUNCTIONS[name])
    assert stmts, f"{name} has no policy"
    for statement in stmts:
        if statement["Effect"] == "Deny":  # a Deny only narrows what the Allows grant
            continue
        assert statement["Effect"] == "Allow"
        for action in actions(statement):
            assert "*" not in action, f"{name}: wildcard action {action}"
            assert action != "dynamodb:Scan", f"{name} may scan the table"
        assert statement["Resource"] != "*", f"{name}: wildcard resource"


def test_no_policy_anywhere_allows_scan():
    assert "dynamodb:Scan" not in str(T)


def test_report_function_may_only_query_and_get():
    table_actions = {
        a for s in statements(FUNCTIONS["ReportApiFunction"]) for a in actions(s) if a.startswith("dynamodb:")
    }
    assert table_actions == {"dynamodb:GetItem", "dynamodb:Query"}


def test_bucket_is_hardened():
    bucket = RESOURCES["FilesBucket"]["Properties"]
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["FilesKey", "Arn"]},
    }
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [{"Ref": "PortalUrl"}]
    rules = {r["Prefix"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["incoming/"]["ExpirationInDays"] == 1
    assert rules["stored/"]["ExpirationInDays"] == {"Ref": "StoredLifecycleDays"}
    assert parameter_default("StoredLifecycleDays") == parameter_default("RetentionDays") + 1
    (deny,) = RESOURCES["FilesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key_policy = RESOURCES["FilesKey"]["Properties"]
    assert key_policy["EnableKeyRotation"] is True


def test_table_has_pitr_encryption_and_ttl():
    table = RESOURCES["TransfersTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_every_queue_has_a_dead_letter_queue_and_every_dead_letter_queue_an_alarm():
    queues = of_type("AWS::SQS::Queue")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    for name, queue in queues.items():
        assert name in dlqs or "RedrivePolicy" in queue["Properties"], f"{name} has no DLQ"
        assert "KmsMasterKeyId" in queue["Properties"]
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    }
    assert dlqs <= alarmed
    assert len(dlqs) >= 2


def test_every_queue_consumer_reports_partial_batch_failures():
    for name, fn in FUNCTIONS.items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_every_function_logs_to_a_group_with_retention():
    for name, fn in FUNCTIONS.items():
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_every_log_group_is_encrypted_with_the_customer_managed_key():
    groups = of_type("AWS::Logs::LogGroup")
    # The functions' groups and the API's access log: nothing logs to a group the template lacks.
    assert len(groups) == len(FUNCTIONS) + 1
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["FilesKey", "Arn"]}, name
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_the_key_lets_cloudwatch_logs_encrypt_this_accounts_log_groups_only():
    policy = RESOURCES["FilesKey"]["Properties"]["KeyPolicy"]["Statement"]
    for_logs = [s for s in policy if "logs" in str(s["Principal"])]
    (statement,) = for_logs
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert sorted(actions(statement)) == sorted(
        ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    )
    # Least privilege: only with an encryption context naming a log group of this account and region.
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
            }
        }
    }


def test_every_function_has_reserved_concurrency():
    parameter = T["Parameters"]["ApiReservedConcurrency"]
    assert parameter["Type"] == "Number" and parameter["MinValue"] >= 1 and parameter["Description"]
    total = 0
    for name, fn in FUNCTIONS.items():
        reserved = fn["Properties"].get("ReservedConcurrentExecutions")
        assert reserved is not None, f"{name} has no reserved concurrency"
        http_api = any(e["Type"] == "HttpApi" for e in fn["Properties"].get("Events", {}).values())
        if reserved == {"Ref": "ApiReservedConcurrency"}:
            assert http_api, f"{name} is not an API function but uses the API parameter"
            reserved = parameter["Default"]
        assert isinstance(reserved, int) and reserved >= 1, name
        total += reserved
    # Own limits kept: the sweep runs alone, notify follows the SES rate, the ULN API the LRS.
    assert RESOURCES["ExpirySweepFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert RESOURCES["NotifyFunction"]["Properties"]["ReservedConcurrentExecutions"] == 10
    assert RESOURCES["UlnApiFunction"]["Properties"]["ReservedConcurrentExecutions"] == 20
    # Lambda keeps 100 of an account's default 1000 unreserved; the defaults fit well inside the rest.
    assert total <= 900 // 2, total


def test_the_uln_function_outlives_the_longest_lrs_deadline(monkeypatch):
    from s2s.adapters.lrs import retry_policy

    monkeypatch.setenv("LRS_DEADLINE_SECONDS", "3600")
    retry_policy.cache_clear()
    try:
        cap = retry_policy().deadline_seconds
    finally:
        retry_policy.cache_clear()
    # The handler answers 504 itself (and writes its audit item) before Lambda would kill it.
    assert RESOURCES["UlnApiFunction"]["Properties"]["Timeout"] > cap


def test_checks_fixed_in_the_template_are_not_skipped_by_the_policy_scan():
    config = (ROOT / ".checkov.yaml").read_text()
    for check in ("CKV_AWS_115", "CKV_AWS_158"):
        assert f"- {check}" not in config, check


def test_outputs_name_the_api_bucket_table_and_topic():
    assert {"ApiUrl", "BucketName", "TableName", "TopicArn"} <= set(T["Outputs"])


def test_outputs_name_what_portal_publish_reads():
    """`s2s portal publish` reads these outputs; the distribution id is what it invalidates."""
    assert {"ApiUrl", "PortalBucketName", "PortalDistributionId"} <= set(T["Outputs"])
    assert T["Outputs"]["PortalDistributionId"]["Value"] == {"Ref": "PortalDistribution"}


# ---------------------------------------------------------------- the linters and the build


def _sam() -> str | None:
    candidate = os.environ.get("S2S_SAM") or str(ROOT / ".venv-sam" / "bin" / "sam")
    return candidate if Path(candidate).is_file() else shutil.which("sam")


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False, **kwargs)


def test_the_template_passes_sam_validate_lint():
    """`sam validate --lint` translates the SAM template and runs cfn-lint (the same cfn-lint
    version `.venv` has) on the result; where the SAM CLI is not installed, cfn-lint runs alone.
    One lint, not two: each takes some 15 s of a core."""
    sam = _sam()
    if sam is None:
        result = _run([str(Path(os.sys.executable).with_name("cfn-lint")), "template.yaml"])
    else:
        result = _run([sam, "validate", "--lint", "--region", "eu-west-2"])
    assert result.returncode == 0, result.stdout + result.stderr
    if sam is not None:
        assert "is a valid SAM Template" in result.stdout + result.stderr, result.stdout + result.stderr


def _python313() -> str | None:
    """A python3.13 that really runs (pyenv's shim on PATH does not without a version set)."""
    candidates = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = _run([pyenv, "prefix", "3.13.0"]).stdout.strip()
        candidates.append(f"{prefix}/bin/python3.13")
    candidates.append(shutil.which("python3.13") or "")
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _run([candidate, "--version"]).returncode == 0:
            return candidate
    return None


@pytest.mark.slow
def test_sam_build_succeeds(tmp_path):
    sam = _sam()
    if sam is None:
        pytest.skip("aws-sam-cli is not installed (make setup installs it in .venv-sam)")
    py313 = _python313()
    if py313 is None:
        pytest.skip("sam build needs a python3.13 on PATH and none was found")
    env_path = f"{Path(py313).parent}:{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [sam, "build", "--build-dir", str(tmp_path / "build"), "--region", "eu-west-2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PATH": env_path, "SAM_CLI_TELEMETRY": "0"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    layer = tmp_path / "build" / "SharedLayer" / "python"
    assert (layer / "s2s" / "domain" / "naming.py").is_file()
    assert not (layer / "boto3").exists() and not (layer / "botocore").exists()
    assert (layer / "s2s" / "domain" / "__pycache__" / "naming.cpython-313.pyc").is_file()
    assert (layer / "pydantic" / "__pycache__").is_dir()
    assert (layer / "aws_lambda_powertools" / "__pycache__").is_dir()
    for name, fn in FUNCTIONS.items():
        module = fn["Properties"]["Handler"].split(".")[0]
        assert (tmp_path / "build" / name / "__pycache__" / f"{module}.cpython-313.pyc").is_file(), name


def test_portal_is_private_behind_cloudfront_with_the_csp():
    bucket = RESOURCES["PortalBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (reader, deny) = RESOURCES["PortalBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reader["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in reader["Condition"]["StringEquals"]
    assert deny["Effect"] == "Deny"
    config = RESOURCES["PortalDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["PortalOriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert {e["ErrorCode"] for e in config["CustomErrorResponses"]} == {403, 404}
    headers = RESOURCES["PortalSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = headers["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
