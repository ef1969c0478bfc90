"""IAM proved by the tests: every AWS call a function makes during the run is checked against that
function's policy as template.yaml declares it, and every grant must have been used.

- Recording: `s2s_cli.local.calls` (a botocore event hook) writes, per process, each call a
  handler makes as (function, action, resource) grants into the directory named by
  S2S_RECORD_CALLS. The test session's controller creates that directory; pytest-xdist workers
  and the local stack's subprocess inherit it through the environment.
- Policies: each function's `Policies` from template.yaml, SAM policy templates expanded with
  aws-sam-translator's own policy_templates.json, intrinsics resolved to moto's account/region.
- Evaluation: moto's IAM policy evaluator (`moto.iam.access_control.IAMPolicyStatement`), not
  string matching. A call is allowed when an Allow statement permits it and no Deny does.
- Least privilege (full runs only, see `full_run`): every (action, resource) a statement grants
  must have been used by at least one recorded call, unless listed in UNUSED_GRANTS_ALLOWED with
  a reason; every granted action must be an IAM action (cfn-lint's list of AWS actions).

conftest.py wires this into pytest: `configure` at start, `session_finish` after the run (sets a
failing exit status), `terminal_summary` prints what was found."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from s2s_cli.local import calls
from s2s_cli.local.functions import load_module
from s2s_cli.local.template import ROOT, load_template

# A grant no test uses fails the run, unless it is listed here: (function, action, resource as the
# failure message prints it) -> why the function needs it although no test makes that call.
UNUSED_GRANTS_ALLOWED: dict[tuple[str, str, str], str] = {}

# The tiers whose calls prove the policies: the least-privilege check runs only when all of them
# were part of the run, unfiltered.
TIERS = ("tests/functional", "tests/local")

_DIRECTORY = pytest.StashKey[Path]()
_REPORT = pytest.StashKey["Report"]()


# ------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Use:
    """One (function, action, resource) a call needed, with the condition keys it carried; `role`
    and `session_tags` when the call was signed by a session of an assumed role, whose policy then
    authorises it (the function is still named, as the code that made the call)."""

    function: str
    action: str
    resource: str
    conditions: tuple[tuple[str, str], ...] = ()
    role: str = ""
    session_tags: tuple[tuple[str, str], ...] = ()

    @property
    def principal(self) -> str:
        """Whose policy decides: the assumed role's ARN, or the function's logical id."""
        return self.role or self.function

    def context(self) -> dict[str, str]:
        """The request's condition keys, the session's tags as aws:PrincipalTag/* included."""
        return {**{f"aws:PrincipalTag/{k}": v for k, v in self.session_tags}, **dict(self.conditions)}


@dataclass
class Seen:
    count: int = 0
    example: str = ""  # the first test that made the call
    api: str = ""  # the API call it came from


@dataclass
class Records:
    calls: int = 0
    uses: dict[Use, Seen] = field(default_factory=dict)
    calls_by_function: Counter[str] = field(default_factory=Counter)

    @property
    def functions(self) -> set[str]:
        return {use.function for use in self.uses}

    def add(
        self,
        function: str,
        api: str,
        grants: Iterable[Any],
        test: str = "",
        role: str = "",
        tags: dict[str, str] | None = None,
    ) -> None:
        self.calls += 1
        self.calls_by_function[function] += 1
        session_tags = tuple(sorted((tags or {}).items()))
        for action, resource, conditions in grants:
            use = Use(function, action, resource, tuple(sorted(conditions.items())), role, session_tags)
            seen = self.uses.setdefault(use, Seen(example=test, api=api))
            seen.count += 1


def load_records(directory: Path) -> Records:
    records = Records()
    for path in sorted(directory.glob("calls-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                records.add(row["f"], row["api"], row["g"], row.get("test", ""), row.get("as", ""), row.get("tags"))
    return records


def records_of(rows: Iterable[dict[str, Any]]) -> Records:
    """Records from rows as `calls.capture` collects them."""
    records = Records()
    for row in rows:
        records.add(row["f"], row["api"], row["g"], row.get("test", ""), row.get("as", ""), row.get("tags"))
    return records


# ------------------------------------------------------------------------ policies


@dataclass(frozen=True)
class Statement:
    function: str
    where: str  # e.g. "Policies[0].Statement[2]"
    document: dict[str, Any]  # resolved: Effect, Action/NotAction, Resource, Condition

    def values(self, key: str) -> list[str]:
        value = self.document.get(key, [])
        return [value] if isinstance(value, str) else list(value)


@cache
def _policy_templates() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _documents(function: str, policies: Any) -> list[tuple[str, dict[str, Any]]]:
    """(where, policy document) for each entry of a function's Policies, SAM templates expanded."""
    if isinstance(policies, (str, dict)):
        policies = [policies]
    documents = []
    for index, policy in enumerate(policies or []):
        where = f"Policies[{index}]"
        if isinstance(policy, dict) and "Statement" in policy:
            documents.append((where, policy))
        elif isinstance(policy, dict) and len(policy) == 1:
            ((name, parameters),) = policy.items()
            if not _policy_templates().has(name):
                raise ValueError(f"{function} {where}: {name} is not a SAM policy template")
            documents.append((f"{where} ({name})", _policy_templates().convert(name, parameters or {})))
        else:
            raise ValueError(
                f"{function} {where}: {policy!r} is a managed policy; the IAM check cannot see its document. "
                "Write the statements inline (or as a SAM policy template) so the tests can prove them."
            )
    return documents


def function_statements(template: dict[str, Any] | None = None) -> dict[str, list[Statement]]:
    """Every function's policy statements, as template.yaml declares them, resolved."""
    template = template or load_template()
    global_policies = template.get("Globals", {}).get("Function", {}).get("Policies", [])
    found: dict[str, list[Statement]] = {}
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        policies = res["Properties"].get("Policies", [])
        policies = (policies if isinstance(policies, list) else [policies]) + list(global_policies)
        statements = []
        for where, document in _documents(name, policies):
            body = document["Statement"]
            for index, statement in enumerate(body if isinstance(body, list) else [body]):
                statements.append(Statement(name, f"{where}.Statement[{index}]", calls.resolve(statement, template)))
        found[name] = statements
    return found


def role_statements(template: dict[str, Any] | None = None) -> dict[str, list[Statement]]:
    """Every IAM role's policy statements, by the role's ARN in moto's account (the `function` of
    each statement is the role's logical id)."""
    template = template or load_template()
    found: dict[str, list[Statement]] = {}
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        props = res.get("Properties", {})
        if props.get("ManagedPolicyArns"):
            raise ValueError(f"{name}: managed policies cannot be proved by the IAM check; write them inline")
        statements = []
        for index, policy in enumerate(props.get("Policies", [])):
            body = policy["PolicyDocument"]["Statement"]
            for number, statement in enumerate(body if isinstance(body, list) else [body]):
                where = f"Policies[{index}] ({policy.get('PolicyName', '')}).Statement[{number}]"
                statements.append(Statement(name, where, calls.resolve(statement, template)))
        found[calls.attribute(name, "Arn", template)] = statements
    return found


def principal_statements(template: dict[str, Any] | None = None) -> dict[str, list[Statement]]:
    """The policies that can authorise a call: each function's (by logical id), each role's (by ARN)."""
    template = template or load_template()
    return {**function_statements(template), **role_statements(template)}


# ------------------------------------------------------------------------ evaluation (moto)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _bind(document: Any, use: Use) -> Any:
    """The statement with its policy variables (`${aws:PrincipalTag/org}`) replaced by the use's
    values, or None when one has no value: AWS then matches nothing with that element."""
    context = use.context()
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if not name.startswith("aws:PrincipalTag/"):
            raise ValueError(f"the IAM check cannot evaluate the policy variable ${{{name}}} ({use.principal})")
        if name not in context:
            missing = True
            return ""
        return context[name]

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _VARIABLE.sub(value, node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        return node

    bound = walk(document)
    return None if missing else bound


def _lower_actions(document: dict[str, Any]) -> dict[str, Any]:
    """IAM actions are case-insensitive; moto's matcher is not."""
    copy = dict(document)
    for key in ("Action", "NotAction"):
        if key in copy:
            value = copy[key]
            copy[key] = value.lower() if isinstance(value, str) else [v.lower() for v in value]
    return copy


def _conditions_hold(condition: dict[str, Any] | None, use: Use) -> bool:
    """moto evaluates StringEquals (and ignores other operators); AWS fails a condition whose key
    the request does not carry, so that is checked here first."""
    if not condition:
        return True
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    carried = use.context()
    for operator, keys in condition.items():
        if operator != "StringEquals":
            raise ValueError(f"the IAM check cannot evaluate the {operator} condition of {use.function}'s policy")
        if any(key not in carried for key in keys):
            return False
    probe = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    return IAMPolicyStatement(probe).is_action_permitted(use.action, use.resource, None, carried) == (
        PermissionResult.PERMITTED
    )


def _matches(statement: dict[str, Any], use: Use) -> bool:
    """Does the statement (ignoring its Effect) apply to this use?"""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    statement = _bind(statement, use)
    if statement is None:
        return False
    unconditional = {k: v for k, v in _lower_actions(statement).items() if k != "Condition"}
    unconditional["Effect"] = "Allow"
    if "NotResource" in unconditional:
        raise ValueError(f"the IAM check cannot evaluate NotResource in {use.function}'s policy")
    result = IAMPolicyStatement(unconditional).is_action_permitted(use.action.lower(), use.resource)
    return result == PermissionResult.PERMITTED and _conditions_hold(statement.get("Condition"), use)


def allowed(statements: Iterable[Statement], use: Use) -> bool:
    permitted = False
    for statement in statements:
        if _matches(statement.document, use):
            if statement.document.get("Effect") == "Deny":
                return False
            permitted = True
    return permitted


# ------------------------------------------------------------------------ findings


@dataclass(frozen=True)
class Finding:
    kind: str  # "denied" | "unused" | "not_an_action" | "stale_allowance" | "unknown_function"
    function: str
    action: str
    resource: str
    detail: str = ""

    def message(self) -> str:
        if self.kind == "denied":
            return f"{self.function} may not {self.action} on {self.resource}: {self.detail}"
        if self.kind == "unused":
            return f"{self.function} is granted {self.action} on {self.resource} but no test used it: {self.detail}"
        if self.kind == "not_an_action":
            return f"{self.function} is granted {self.action}, which is not an IAM action: {self.detail}"
        return f"{self.function}: {self.action} on {self.resource}: {self.detail}"


def _template_expression(resource: str, template: dict[str, Any]) -> str:
    """How the resource can be written in template.yaml (for the fix in a failure message)."""
    best, expression = "", resource
    for logical in template["Resources"]:
        for name in ("Arn", "Ref"):
            try:
                value = calls.attribute(logical, name, template)
            except (KeyError, ValueError):
                continue
            if not value.startswith("arn:") or not resource.startswith(value) or len(value) <= len(best):
                continue
            rest = resource[len(value) :]
            if rest and not rest.startswith(("/", ":")):
                continue
            best = value
            if not rest:
                expression = f"!GetAtt {logical}.Arn" if name == "Arn" else f"!Ref {logical}"
                continue
            if rest.startswith("/") and "/index/" not in rest:  # an S3 object: its folder
                folder, _, deeper = rest[1:].partition("/")
                rest = f"/{folder}/*" if deeper else rest
            attr = f"{logical}.Arn" if name == "Arn" else logical
            expression = f'!Sub "${{{attr}}}{rest}"'
    return expression


def _catalogue() -> dict[str, set[str]]:
    """IAM actions by service prefix, lower case (cfn-lint's copy of AWS's list)."""
    path = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {prefix: set(spec.get("Actions", {})) for prefix, spec in data.items()}


def _is_iam_action(pattern: str, catalogue: dict[str, set[str]]) -> bool:
    import fnmatch

    prefix, _, name = pattern.lower().partition(":")
    return any(fnmatch.fnmatchcase(action, name) for action in catalogue.get(prefix, ()))


def check(
    records: Records,
    template: dict[str, Any] | None = None,
    *,
    least_privilege: bool,
    allowances: dict[tuple[str, str, str], str] | None = None,
) -> list[Finding]:
    """Every recorded use must be allowed; with least_privilege, every grant must be used."""
    template = template or load_template()
    allowances = UNUSED_GRANTS_ALLOWED if allowances is None else allowances
    statements = principal_statements(template)
    findings: list[Finding] = []
    denied: dict[tuple[str, str, str], list[tuple[Use, Seen]]] = {}
    for use, seen in sorted(
        records.uses.items(), key=lambda item: (item[0].function, item[0].role, item[0].action, item[0].resource)
    ):
        if use.principal not in statements:
            where = "no role of template.yaml has this ARN" if use.role else "not in template.yaml"
            findings.append(Finding("unknown_function", use.principal, use.action, use.resource, where))
        elif not allowed(statements[use.principal], use):
            # One finding per fix: the objects of one folder, say, need one grant.
            key = (use.principal, use.action, _template_expression(use.resource, template))
            denied.setdefault(key, []).append((use, seen))
    for (principal, action, expression), uses in denied.items():
        first_use, first = uses[0]
        calls_made = sum(seen.count for _, seen in uses)
        others = f" on {len(uses)} resources like it" if len(uses) > 1 else ""
        owner = statements[principal][0].function if first_use.role and statements[principal] else principal
        detail = (
            f"{calls_made} call(s){others} via {first.api}, first in {first.example or 'the local stack'}; "
            f"fix: add {action} on {expression} to {owner}'s Policies in template.yaml"
        )
        if first_use.role:
            tags = ", ".join(f"{k}={v}" for k, v in first_use.session_tags) or "none"
            detail = f"as a session of {first_use.role} (session tags: {tags}); " + detail
        if expression == first_use.resource and first_use.resource != "*":
            detail += (
                " (no template resource resolves to this ARN: if it is one, give its local name in LOCAL_NAMES "
                "in cli/s2s_cli/local/calls.py)"
            )
        findings.append(Finding("denied", first_use.function, action, first_use.resource, detail))
    if not least_privilege:
        return findings

    catalogue = _catalogue()
    uses_by_principal: dict[str, list[Use]] = {}
    for use in records.uses:
        uses_by_principal.setdefault(use.principal, []).append(use)
    granted: set[tuple[str, str, str]] = set()
    for principal, principal_statements_ in statements.items():
        for statement in principal_statements_:
            function = statement.function  # the function's or the role's logical id
            if statement.document.get("Effect") != "Allow" or "Action" not in statement.document:
                continue
            for action in statement.values("Action"):
                if not _is_iam_action(action, catalogue):
                    findings.append(
                        Finding(
                            "not_an_action",
                            function,
                            action,
                            "",
                            f"remove it from {statement.where} (AWS knows no such action; a transaction is "
                            "authorised item by item as PutItem, UpdateItem, DeleteItem, ConditionCheckItem)"
                            if action.lower() == "dynamodb:transactwriteitems"
                            else f"remove it from {statement.where}",
                        )
                    )
                    continue
                for resource in statement.values("Resource"):
                    granted.add((function, action, resource))
                    single = {**statement.document, "Action": action, "Resource": resource}
                    if any(_matches(single, use) for use in uses_by_principal.get(principal, [])):
                        continue
                    if (function, action, resource) in allowances:
                        continue
                    detail = (
                        f"remove it from {statement.where}, or list it in UNUSED_GRANTS_ALLOWED "
                        "(tests/support/iam.py) with the reason the function needs it"
                    )
                    findings.append(Finding("unused", function, action, resource, detail))
    for key in allowances:
        if key not in granted:
            findings.append(
                Finding("stale_allowance", *key, "listed in UNUSED_GRANTS_ALLOWED but not granted; remove the entry")
            )
    return findings


# ------------------------------------------------------------------------ pytest plumbing


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def instrument_handlers() -> None:
    """Attribute calls to the function whose handler runs: each handler module declared in
    template.yaml (CodeUri + Handler) is loaded once, under its own name (so `import upload_api`
    in a test gets the same module), and its handler wrapped."""
    for function, code_uri, handler in calls.declared_functions():
        module_name, attribute = handler.rsplit(".", 1)
        module = load_module(code_uri, module_name)
        setattr(module, attribute, calls.instrument(function, getattr(module, attribute)))


def configure(config: pytest.Config) -> None:
    if not _is_worker(config):
        directory = Path(tempfile.mkdtemp(prefix="s2s-iam-calls-"))
        config.stash[_DIRECTORY] = directory
        os.environ[calls.ENVIRONMENT] = str(directory)  # inherited by xdist workers and subprocesses
    directory_name = os.environ.get(calls.ENVIRONMENT)
    if directory_name:
        calls.install(directory_name)
    instrument_handlers()


def full_run(config: pytest.Config) -> tuple[bool, str]:
    """Did this run include every test of the functional and local tiers?"""
    option = config.option
    for flag, name in (
        ("keyword", "-k"),
        ("markexpr", "-m"),
        ("deselect", "--deselect"),
        ("ignore", "--ignore"),
        ("ignore_glob", "--ignore-glob"),
        ("lf", "--last-failed"),
        ("stepwise", "--stepwise"),
    ):
        if getattr(option, flag, None):
            return False, f"{name} was given"
    base = config.invocation_params.dir
    paths = []
    for arg in config.args:
        if "::" in arg:
            return False, f"only part of a file was run ({arg})"
        paths.append((base / arg).resolve())
    for tier in TIERS:
        folder = (ROOT / tier).resolve()
        if not any(folder == path or folder.is_relative_to(path) for path in paths):
            return False, f"not all of {tier} was part of the run"
    return True, ""


@dataclass
class Report:
    records: Records
    findings: list[Finding]
    least_privilege: bool
    reason: str
    directory: Path


def session_finish(session: pytest.Session) -> None:
    config = session.config
    if _is_worker(config) or _DIRECTORY not in config.stash:
        return
    directory = config.stash[_DIRECTORY]
    records = load_records(directory)
    full, reason = full_run(config)
    if full and session.exitstatus != pytest.ExitCode.OK:
        full, reason = False, "some tests failed, so not every call was made"
    findings = check(records, least_privilege=full)
    config.stash[_REPORT] = Report(records, findings, full, reason, directory)
    if findings and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not findings:
        shutil.rmtree(directory, ignore_errors=True)


def terminal_summary(reporter: Any) -> None:
    report = reporter.config.stash.get(_REPORT, None)
    if report is None or (not report.records.calls and not report.findings):
        return
    records = report.records
    pairs = Counter(use.function for use in records.uses)
    summary = (
        f"{records.calls} AWS calls recorded from {len(records.functions)} functions, "
        f"{len(records.uses)} distinct (function, action, resource); calls/distinct per function: "
        + ", ".join(f"{name} {records.calls_by_function[name]}/{pairs[name]}" for name in sorted(pairs))
    )
    if report.findings:
        reporter.write_sep("=", "IAM check failed: template.yaml would not work in AWS", red=True)
        for finding in report.findings:
            reporter.write_line(f"IAM {finding.kind}: {finding.message()}", red=True)
        reporter.write_line(summary)
        reporter.write_line(f"(records kept in {report.directory})")
        return
    reporter.write_sep("-", "IAM check passed")
    reporter.write_line(summary)
    reporter.write_line("every call is allowed by its function's policy in template.yaml")
    if report.least_privilege:
        reporter.write_line(
            f"least privilege: every grant was used ({len(UNUSED_GRANTS_ALLOWED)} allowed unused with a reason)"
        )
    else:
        reporter.write_line(f"least privilege not checked: {report.reason}")
