"""The IAM check itself (tests/support/iam.py and s2s_cli/local/calls.py): hand-made records
against hand-changed policies, and the recorder's translation of API calls into the actions and
resources AWS authorises. The check over the whole suite's calls runs after every `make test`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from s2s_cli.local import calls
from s2s_cli.local.template import ROOT, load_template
from support import iam

pytestmark = pytest.mark.template

TABLE = "arn:aws:dynamodb:eu-west-2:123456789012:table/s2s-transfers"
KEY = "arn:aws:kms:eu-west-2:123456789012:key/FilesKey"
BUCKET = "s2s-files"


def template_copy() -> dict[str, Any]:
    return copy.deepcopy(load_template())


def statements_of(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return template["Resources"][function]["Properties"]["Policies"][0]["Statement"]


def records_of(function: str, *calls_made: tuple[str, str, dict[str, Any]]) -> iam.Records:
    records = iam.Records()
    for service, operation, params in calls_made:
        records.add(function, f"{service}.{operation}", calls.grants_for(service, operation, params), "hand-made")
    return records


SWEEP_EXPIRES = (
    "dynamodb",
    "TransactWriteItems",
    {
        "TransactItems": [
            {"Update": {"TableName": "s2s-transfers", "Key": {}, "UpdateExpression": "SET x = :x"}},
            {"Put": {"TableName": "s2s-transfers", "Item": {}}},
        ]
    },
)


# ------------------------------------------------------------------------ the checker


def test_a_policy_without_put_item_is_reported_for_exactly_that_function_action_and_resource():
    """The sweep's expiry transaction has a Put item (the audit event): without dynamodb:PutItem,
    as template.yaml had it before issue 15, AWS refuses the whole transaction."""
    template = template_copy()
    for statement in statements_of(template, "ExpirySweepFunction"):
        if isinstance(statement["Action"], list) and "dynamodb:PutItem" in statement["Action"]:
            statement["Action"].remove("dynamodb:PutItem")
    records = records_of("ExpirySweepFunction", SWEEP_EXPIRES)

    findings = iam.check(records, template, least_privilege=False)

    assert [(f.kind, f.function, f.action, f.resource) for f in findings] == [
        ("denied", "ExpirySweepFunction", "dynamodb:PutItem", TABLE)
    ]
    message = findings[0].message()
    assert "ExpirySweepFunction may not dynamodb:PutItem on " + TABLE in message
    assert "add dynamodb:PutItem on !GetAtt TransfersTable.Arn to ExpirySweepFunction's Policies" in message
    # The template as it is now allows it.
    assert iam.check(records, least_privilege=False) == []


def test_every_item_of_a_transaction_is_its_own_action():
    params = {
        "TransactItems": [
            {"Put": {"TableName": "s2s-transfers", "Item": {}}},
            {"Update": {"TableName": "s2s-transfers", "Key": {}}},
            {"ConditionCheck": {"TableName": "s2s-transfers", "Key": {}}},
            {"Delete": {"TableName": "other", "Key": {}}},
        ]
    }
    grants = calls.grants_for("dynamodb", "TransactWriteItems", params)
    assert [(a, r) for a, r, _ in grants] == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:ConditionCheckItem", TABLE),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:eu-west-2:123456789012:table/other"),
        ("kms:Decrypt", KEY),  # the table's customer managed key; `other` is not in the template
    ]


def grant_unused_somewhere(template: dict[str, Any]) -> None:
    statements_of(template, "ReportApiFunction").append(
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": {"Fn::Sub": "${FilesBucket.Arn}/stored/*"}}
    )


def one_function_template(*statements: dict[str, Any]) -> dict[str, Any]:
    template = template_copy()
    report = template["Resources"]["ReportApiFunction"]
    report["Properties"]["Policies"] = [{"Version": "2012-10-17", "Statement": list(statements)}]
    template["Resources"] = {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"] not in ("AWS::Serverless::Function", "AWS::IAM::Role")
    } | {"ReportApiFunction": report}
    return template


REPORT_STATEMENTS = (
    {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": {"Fn::Sub": "${TransfersTable.Arn}/index/GSI6"}},
    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": {"Fn::GetAtt": ["FilesKey", "Arn"]}},
)
REPORT_QUERIES = ("dynamodb", "Query", {"TableName": "s2s-transfers", "IndexName": "GSI6"})


def test_a_grant_no_test_used_fails_least_privilege_unless_listed_with_a_reason():
    template = one_function_template(*REPORT_STATEMENTS)
    grant_unused_somewhere(template)
    records = records_of("ReportApiFunction", REPORT_QUERIES)

    assert iam.check(records, template, least_privilege=False) == []
    findings = iam.check(records, template, least_privilege=True, allowances={})
    assert [(f.kind, f.function, f.action, f.resource) for f in findings] == [
        ("unused", "ReportApiFunction", "s3:GetObject", "arn:aws:s3:::s2s-files/stored/*")
    ]
    assert "no test used it" in findings[0].message() and "UNUSED_GRANTS_ALLOWED" in findings[0].message()

    allowance = {("ReportApiFunction", "s3:GetObject", "arn:aws:s3:::s2s-files/stored/*"): "a reason"}
    assert iam.check(records, template, least_privilege=True, allowances=allowance) == []
    stale = {("ReportApiFunction", "s3:PutObject", "arn:aws:s3:::s2s-files/stored/*"): "no longer granted"}
    findings = iam.check(records, template, least_privilege=True, allowances=allowance | stale)
    assert [(f.kind, f.action) for f in findings] == [("stale_allowance", "s3:PutObject")]


def test_a_grant_of_a_resource_no_call_touched_is_unused_even_when_the_action_was_used():
    """Least privilege is per resource: Query on every index when only GSI6 is queried is too much."""
    template = one_function_template(
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": {"Fn::Sub": "${TransfersTable.Arn}/index/GSI6"}},
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": {"Fn::GetAtt": ["TransfersTable", "Arn"]}},
        REPORT_STATEMENTS[1],
    )
    findings = iam.check(records_of("ReportApiFunction", REPORT_QUERIES), template, least_privilege=True)
    assert [(f.kind, f.action, f.resource) for f in findings] == [("unused", "dynamodb:Query", TABLE)]


def test_an_action_aws_does_not_have_is_reported():
    template = one_function_template(
        *REPORT_STATEMENTS,
        {
            "Effect": "Allow",
            "Action": ["dynamodb:TransactWriteItems"],
            "Resource": {"Fn::GetAtt": ["TransfersTable", "Arn"]},
        },
    )
    findings = iam.check(records_of("ReportApiFunction", REPORT_QUERIES), template, least_privilege=True)
    assert [(f.kind, f.action) for f in findings] == [("not_an_action", "dynamodb:TransactWriteItems")]
    assert "item by item" in findings[0].message()


def test_sam_policy_templates_are_expanded_by_the_translator():
    template = template_copy()
    template["Resources"]["ReportApiFunction"]["Properties"]["Policies"] = [
        {"DynamoDBReadPolicy": {"TableName": {"Ref": "TransfersTable"}}}
    ]
    records = records_of(
        "ReportApiFunction",
        ("dynamodb", "GetItem", {"TableName": "s2s-transfers", "Key": {}}),
        ("dynamodb", "Query", {"TableName": "s2s-transfers", "IndexName": "GSI1"}),
        ("dynamodb", "PutItem", {"TableName": "s2s-transfers", "Item": {}}),
    )
    findings = iam.check(records, template, least_privilege=False)
    # DynamoDBReadPolicy reads the table and its indexes, never writes; nor does it grant the key.
    assert [(f.action, f.resource) for f in findings] == [("dynamodb:PutItem", TABLE), ("kms:Decrypt", KEY)]


def test_a_condition_on_the_sender_address_is_evaluated():
    right = records_of("NotifyFunction", ("ses", "SendEmail", {"Source": "S2S <no-reply@s2s.test>"}))
    wrong = records_of("NotifyFunction", ("ses", "SendEmail", {"Source": "someone@elsewhere.example"}))
    assert iam.check(right, least_privilege=False) == []
    assert [(f.function, f.action) for f in iam.check(wrong, least_privilege=False)] == [
        ("NotifyFunction", "ses:SendEmail")
    ]


def test_a_call_by_a_function_the_template_does_not_declare_is_reported():
    findings = iam.check(records_of("NoSuchFunction", REPORT_QUERIES), least_privilege=False)
    assert {f.kind for f in findings} == {"unknown_function"}


# ------------------------------------------------------------------------ the recorder


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recorder of its own for this test: what its fake handlers call must not count as the
    suite's use of a grant."""
    assert calls.installed(), "conftest installs the recorder"
    monkeypatch.setattr(calls, "_recorder", calls._Recorder(tmp_path, None))
    return tmp_path


def rows(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in directory.glob("calls-*.jsonl") for line in path.read_text().splitlines()]


def pairs(directory: Path) -> list[tuple[str, str, str]]:
    return [(row["f"], g[0], g[1]) for row in rows(directory) for g in row["g"]]


def test_the_recorder_attributes_calls_to_the_running_handler_only(aws, recorded):
    from s2s.adapters import aws as clients

    def handler(event: Any, context: Any) -> None:
        clients.dynamodb().query(
            TableName=aws.table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": "TO#x"}},
        )

    clients.dynamodb().get_item(TableName=aws.table, Key={"PK": {"S": "a"}, "SK": {"S": "b"}})  # test setup
    calls.instrument("ReportApiFunction", handler)({}, None)

    assert pairs(recorded) == [
        ("ReportApiFunction", "dynamodb:Query", f"{TABLE}/index/GSI1"),
        ("ReportApiFunction", "kms:Decrypt", KEY),
    ]
    assert rows(recorded)[0]["test"].endswith("test_the_recorder_attributes_calls_to_the_running_handler_only")


def test_the_recorder_sees_presigned_urls_copies_and_the_kms_they_imply(aws, recorded):
    from s2s.adapters import aws as clients

    def handler(event: Any, context: Any) -> None:
        s3 = clients.s3()
        s3.put_object(Bucket=BUCKET, Key="incoming/a/f.zip", Body=b"x")
        s3.generate_presigned_post(Bucket=BUCKET, Key="incoming/b/f.zip", ExpiresIn=60)
        s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "stored/c/f.zip"}, ExpiresIn=60)
        s3.copy_object(Bucket=BUCKET, Key="stored/a/f.zip", CopySource={"Bucket": BUCKET, "Key": "incoming/a/f.zip"})
        s3.head_object(Bucket=BUCKET, Key="stored/a/f.zip")
        clients.sns().publish(TopicArn=aws.topic_arn, Message="{}")
        clients.secrets().get_secret_value(SecretId=aws.cursor_secret_arn)

    calls.instrument("UploadApiFunction", handler)({}, None)

    s3 = "arn:aws:s3:::s2s-files/"
    assert [(a, r) for _, a, r in pairs(recorded)] == [
        ("s3:PutObject", s3 + "incoming/a/f.zip"),
        ("kms:GenerateDataKey", KEY),
        # The holder of the POST policy uploads with this role's rights.
        ("s3:PutObject", s3 + "incoming/b/f.zip"),
        ("kms:GenerateDataKey", KEY),
        ("s3:GetObject", s3 + "stored/c/f.zip"),
        ("kms:Decrypt", KEY),
        ("s3:GetObject", s3 + "incoming/a/f.zip"),
        ("kms:Decrypt", KEY),
        ("s3:PutObject", s3 + "stored/a/f.zip"),
        ("kms:GenerateDataKey", KEY),
        ("s3:GetObject", s3 + "stored/a/f.zip"),  # HEAD: no decryption
        ("sns:Publish", aws.topic_arn),
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
        ("secretsmanager:GetSecretValue", calls.attribute("CursorKey", "Ref")),
        ("kms:Decrypt", KEY),
    ]
    assert [row["api"] for row in rows(recorded)][1:3] == [
        "s3.PutObject (presigned POST)",
        "s3.GetObject (presigned)",
    ]


def test_a_queue_batch_needs_the_queues_key(recorded):
    invoke = calls.instrument("LandingCheckFunction", lambda event, context: None)
    invoke({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, None)
    invoke({"Records": [{"eventSource": "aws:s3"}]}, None)  # not from the queue
    assert pairs(recorded) == [("LandingCheckFunction", "kms:Decrypt", KEY)]


def test_batch_operations_name_each_table():
    gets = calls.grants_for("dynamodb", "BatchGetItem", {"RequestItems": {"s2s-transfers": {"Keys": []}}})
    writes = calls.grants_for("dynamodb", "BatchWriteItem", {"RequestItems": {"s2s-transfers": []}})
    assert [(a, r) for a, r, _ in gets + writes] == [
        ("dynamodb:BatchGetItem", TABLE),
        ("kms:Decrypt", KEY),
        ("dynamodb:BatchWriteItem", TABLE),
        ("kms:Decrypt", KEY),
    ]


# ------------------------------------------------------------------------ when the check runs


def fake_config(*args: str, **options: Any) -> Any:
    return SimpleNamespace(
        option=SimpleNamespace(**options),
        args=list(args),
        invocation_params=SimpleNamespace(dir=ROOT),
        stash=pytest.Stash(),
    )


@pytest.mark.parametrize(
    ("args", "options", "full"),
    [
        (("tests",), {}, True),
        ((".",), {}, True),
        (("tests/functional", "tests/local"), {}, True),
        (("tests",), {"keyword": "claim"}, False),
        (("tests",), {"markexpr": "unit or functional"}, False),
        (("tests/functional",), {}, False),
        (("tests/functional/test_transfers_api.py",), {}, False),
        (("tests/functional", "tests/local/test_stack.py::test_x"), {}, False),
    ],
)
def test_least_privilege_is_checked_only_when_every_tier_ran_unfiltered(args, options, full):
    assert iam.full_run(fake_config(*args, **options))[0] is full


def test_a_denied_call_fails_the_session(tmp_path):
    (tmp_path / "calls-1.jsonl").write_text(
        json.dumps(
            {
                "f": "ReportApiFunction",
                "api": "s3.PutObject",
                "test": "t",
                "g": [["s3:PutObject", "arn:aws:s3:::x/y", {}]],
            }
        )
        + "\n"
    )
    config = fake_config("tests/functional/test_transfers_api.py")
    config.stash[iam._DIRECTORY] = tmp_path
    session = SimpleNamespace(config=config, exitstatus=pytest.ExitCode.OK)

    iam.session_finish(session)  # type: ignore[arg-type]

    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    report = config.stash[iam._REPORT]
    assert [(f.function, f.action, f.resource) for f in report.findings] == [
        ("ReportApiFunction", "s3:PutObject", "arn:aws:s3:::x/y")
    ]
    assert not report.least_privilege and "was part of the run" in report.reason


# ---------------------------------------------------------------- assumed roles and session tags

ROLE = calls.attribute("LrsOrgAccessRole", "Arn")


def session_use(org_tag: str | None, secret: str, action: str = "secretsmanager:GetSecretValue") -> iam.Records:
    records = iam.Records()
    tags = {"org": org_tag} if org_tag is not None else {}
    records.add(
        "UlnApiFunction", "secretsmanager.GetSecretValue", [(action, calls.secret_arn(secret), {})], "t", ROLE, tags
    )
    return records


def test_a_session_is_judged_by_the_assumed_roles_policy_with_its_tags_bound():
    assert iam.check(session_use("8231234", "s2s/lrs/8231234"), least_privilege=False) == []
    [denied] = iam.check(session_use("8231234", "s2s/lrs/8232345"), least_privilege=False)
    assert denied.kind == "denied" and "session tags: org=8231234" in denied.detail
    assert "LrsOrgAccessRole's Policies" in denied.detail


def test_a_session_without_the_tag_reaches_nothing():
    # AWS: a policy variable with no value matches nothing (here ${aws:PrincipalTag/org}).
    [denied] = iam.check(session_use(None, "s2s/lrs/8231234"), least_privilege=False)
    assert denied.kind == "denied"


def test_the_role_arn_the_local_stack_uses_is_the_templates():
    from s2s_cli.local.template import LocalResources

    assert LocalResources().lrs_org_role_arn == ROLE
    function = calls.load_template()["Resources"]["UlnApiFunction"]["Properties"]
    assert calls.resolve(function["Environment"]["Variables"]["LRS_ORG_ROLE_ARN"]) == ROLE
    assert (
        calls.resolve(function["Environment"]["Variables"]["LRS_SECRET_PREFIX"]) == LocalResources().lrs_secret_prefix
    )


def test_the_role_trusts_only_the_template_functions_that_need_it_and_grants_no_wildcard_secret():
    template = calls.load_template()
    role = template["Resources"]["LrsOrgAccessRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    principals = trust["Principal"]["AWS"]
    principals = principals if isinstance(principals, list) else [principals]
    functions = {name for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"}
    assert {"Fn::GetAtt": ["UlnApiFunctionRole", "Arn"]} in principals
    for principal in principals:  # each a function's own role (SAM names it <Function>Role), never an account
        logical = principal["Fn::GetAtt"][0]
        assert logical.removesuffix("Role") in functions and principal["Fn::GetAtt"][1] == "Arn"
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert set(trust) == {"Effect", "Principal", "Action"}
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]:
        resource = calls.resolve(statement["Resource"])
        if resource.startswith("arn:aws:secretsmanager"):
            assert resource.endswith(":secret:s2s/lrs/${aws:PrincipalTag/org}-*")
