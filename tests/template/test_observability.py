"""template.yaml's side of the runtime: Lambda's JSON logs and log level, tracing behind a
parameter, every setting the code requires set for every function, and the alarms and dashboard
on the metrics the code writes (s2s.runtime.log.Metric)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from s2s.runtime.log import NAMESPACE, Metric
from s2s.runtime.settings import Settings
from s2s_cli.local.template import load_template

pytestmark = pytest.mark.template

T = load_template()
RESOURCES: dict[str, Any] = T["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def test_logs_are_lambdas_json_format_at_the_level_the_deployer_chooses() -> None:
    logging = T["Globals"]["Function"]["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert T["Parameters"]["LogLevel"]["Default"] == "INFO"


def test_tracing_is_a_parameter_off_by_default_and_tells_the_code() -> None:
    assert T["Parameters"]["Tracing"]["Default"] == "Disabled"
    fn = T["Globals"]["Function"]
    assert fn["Tracing"] == {"Ref": "Tracing"}
    assert fn["Environment"]["Variables"]["S2S_TRACING"] == {"Fn::If": ["TracingOn", "true", "false"]}


def _translated(parameters: dict[str, str]) -> dict[str, Any]:
    """template.yaml as SAM turns it into CloudFormation for these parameter values (the code
    locations replaced by S3 URIs, which is all `sam deploy` changes before the transform)."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    template = copy.deepcopy(T)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://bucket/layer.zip"

    class ManagedPolicies:
        def load(self) -> dict[str, str]:
            names = ("AWSXrayWriteOnlyAccess", "service-role/AWSLambdaBasicExecutionRole")
            return {name.split("/")[-1]: f"arn:aws:iam::aws:policy/{name}" for name in names}

    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    return dict(transform(template, parameters, ManagedPolicies()))


@pytest.mark.parametrize("tracing", ["Disabled", "Active"])
def test_only_active_tracing_lets_the_roles_write_traces(tracing: str) -> None:
    """SAM gives a role the X-Ray write policy whenever `Tracing` is not literally `Disabled` after
    it resolves the parameters; with tracing off no function may write traces (least privilege)."""
    resources = _translated({"Tracing": tracing})["Resources"]
    functions = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert functions
    for name, function in functions.items():
        role = resources[function["Role"]["Fn::GetAtt"][0]]["Properties"]
        writes_traces = any("AWSXrayWriteOnlyAccess" in str(arn) for arn in role["ManagedPolicyArns"])
        assert writes_traces is (tracing == "Active"), name
        assert ("TracingConfig" in function) is (tracing == "Active"), name


def test_every_function_gets_every_setting_that_has_no_default_in_code() -> None:
    required = {str(field.validation_alias) for field in Settings.model_fields.values() if field.is_required()}
    assert required == {"TABLE_NAME", "BUCKET_NAME", "TOPIC_ARN", "PORTAL_URL", "SENDER_EMAIL"}
    globals_env = T["Globals"]["Function"]["Environment"]["Variables"]
    for name, fn in FUNCTIONS.items():
        env = {**globals_env, **fn["Properties"].get("Environment", {}).get("Variables", {})}
        assert required <= set(env), name


def _metric_ids(alarm: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"], json.dumps(m["MetricStat"]))
        for m in alarm.get("Metrics", [])
        if "MetricStat" in m
    ]


def test_api_5xx_rate_is_alarmed() -> None:
    alarm = ALARMS["ApiErrorRateAlarm"]
    metrics = {name for _, name, _ in _metric_ids(alarm)}
    assert metrics == {"5xx", "Count"}
    assert any("100 * errors / requests" in m.get("Expression", "") for m in alarm["Metrics"])


@pytest.mark.parametrize(
    ("alarms", "metric"),
    [
        (("LambdaErrorsAlarm", "EventLambdaErrorsAlarm"), "Errors"),
        (("LambdaThrottlesAlarm", "EventLambdaThrottlesAlarm"), "Throttles"),
    ],
)
def test_errors_and_throttles_of_every_function_are_alarmed(alarms: tuple[str, str], metric: str) -> None:
    covered: list[str] = []
    for alarm in alarms:
        stats = _metric_ids(ALARMS[alarm])
        assert {(ns, name) for ns, name, _ in stats} == {("AWS/Lambda", metric)}
        # CloudWatch's hard limit: a metric math alarm reads at most 10 metrics (CreateStack fails beyond).
        assert len(stats) <= 10, alarm
        covered += [re.search(r'"Ref": "(\w+)"', text).group(1) for _, _, text in stats]  # type: ignore[union-attr]
        assert ALARMS[alarm]["Threshold"] == 0
    assert sorted(covered) == sorted(FUNCTIONS)


def test_no_metric_math_alarm_reads_more_than_ten_metrics() -> None:
    for name, alarm in ALARMS.items():
        reads = [m for m in alarm.get("Metrics", []) if "MetricStat" in m]
        assert len(reads) <= 10, name


def test_every_dead_letter_queue_is_alarmed_and_alarms_notify_the_chosen_topic() -> None:
    dlqs = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue" and "DeadLetter" in k}
    alarmed = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in ALARMS.values() if a.get("Namespace") == "AWS/SQS"}
    assert dlqs == alarmed
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name


def test_a_spike_of_not_zip_rejections_is_alarmed_on_the_metric_the_landing_check_writes() -> None:
    alarm = ALARMS["NotZipSpikeAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, Metric.FILES_REJECTED)
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"service": "s2s", "reason": "not_zip"}
    assert alarm["Threshold"] == {"Ref": "NotZipAlarmThreshold"}


def test_the_directory_import_gets_the_deployers_minimum_ratio_defaulting_to_the_codes() -> None:
    variables = FUNCTIONS["DirectoryImportFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["DIRECTORY_MIN_RATIO"] == {"Ref": "DirectoryMinRatio"}
    parameter = T["Parameters"]["DirectoryMinRatio"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (0.9, 0, 1)
    assert Settings.model_fields["directory_min_ratio"].default == parameter["Default"]


def test_a_refused_directory_load_is_alarmed_on_the_metric_the_import_writes() -> None:
    alarm = ALARMS["DirectoryLoadRefusedAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, Metric.DIRECTORY_LOAD_REFUSED)
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"service": "s2s", "reason": "load_much_smaller"}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_the_dashboard_shows_every_metric_the_code_writes_and_every_alarm() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "X", body))["widgets"]
    text = json.dumps(widgets)
    names = [value for key, value in vars(Metric).items() if key.isupper()]
    assert len(names) == 12
    for name in names:
        assert f'"{name}' in text or f'\\"{name}\\"' in text, name
    for alarm in ALARMS:
        assert "${" + alarm + ".Arn}" in body, alarm


def test_snapstart_is_a_parameter_off_by_default_for_published_versions_behind_an_alias() -> None:
    assert T["Parameters"]["SnapStart"]["Default"] == "Disabled"
    fn = T["Globals"]["Function"]
    assert fn["SnapStart"] == {"Fn::If": ["SnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]}
    assert fn["AutoPublishAlias"] == "live"
