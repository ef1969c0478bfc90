"""Record every AWS call a Lambda function makes, as the IAM actions and resources AWS would
authorise it against, so that the tests can prove template.yaml's policies (tests/support/iam.py).

moto enforces no IAM. This module does not enforce it either: it records, per function, what the
function's role would need. A botocore event hook (`before-parameter-build`, fired for every API
call and for every presigned URL) turns each call into (action, resource) grants the way AWS
authorises it: one action per item of a transaction, the table or index ARN, the S3 object ARN,
and the KMS use that AWS performs with the caller's permissions (SSE-KMS objects, the encrypted
table, topic, queue and secret). A call is attributed to the function whose handler is running
(a context variable set by `instrument`); calls made by test setup or by the local stack's own
plumbing are not recorded. A call signed with credentials from `sts:AssumeRole` is recorded with
that session (the role and its session tags), so the check authorises it against the assumed
role's policy, with `${aws:PrincipalTag/...}` bound to the session's tags.

Recording is on when `S2S_RECORD_CALLS` names a directory: each process appends one JSON line per
call to its own file there, so pytest-xdist workers and the local stack's subprocess all write
where the test session's controller reads them."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from s2s_cli.local.template import LocalResources, load_template

ENVIRONMENT = "S2S_RECORD_CALLS"
REGION = "eu-west-2"  # the region of the tests and the local stack (moto)
ACCOUNT = "123456789012"  # moto's default account
PARTITION = "aws"
STACK_NAME = "s2s"
# Secrets Manager ARNs end in -<6 random characters>; moto's vary per run, the check uses these.
SECRET_SUFFIX = "xxxxxx"  # noqa: S105 - not a password

# Names the tests and the local stack give the template's resources (s2s_cli/local/template.py).
# A resource not listed is named s2s-<LogicalId>, as the queues are.
_DEFAULTS = LocalResources()
LOCAL_NAMES: dict[str, str] = {
    "TransfersTable": _DEFAULTS.table,
    "FilesBucket": _DEFAULTS.bucket,
    "TransferEvents": _DEFAULTS.topic_name,
    "CursorKey": "s2s-cursor-key",
}
# Secrets the functions create at run time (not in the template), by name prefix, and the template
# key they are encrypted with (the functions pass it as KmsKeyId).
RUNTIME_SECRET_KEYS: dict[str, str] = {f"{STACK_NAME}/lrs/": "FilesKey"}

# moto's ids of the template's KMS keys -> their logical ids (moto cannot create a key with a chosen
# id), so a call with the key's real id is checked against the policy's `!GetAtt Key.Arn`.
LOCAL_KEYS: dict[str, str] = {}

Grant = tuple[str, str, dict[str, str]]  # action, resource ARN, condition keys the request carries
Handler = Callable[[Any, Any], Any]

CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("s2s_current_function", default=None)


# ------------------------------------------------------------------------ the template's resources


def local_name(logical_id: str) -> str:
    return LOCAL_NAMES.get(logical_id, f"{STACK_NAME}-{logical_id}")


def secret_arn(name: str) -> str:
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{SECRET_SUFFIX}"


def key_arn(key: str) -> str:
    return key if key.startswith("arn:") else f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:{_key_path(key)}"


def _key_path(key: str) -> str:
    return key if key.startswith("alias/") else f"key/{key}"


def _parameter(name: str, template: dict[str, Any]) -> str:
    """A parameter as the tests deploy the functions: the value of the environment variable the
    template binds it to (SENDER_EMAIL: !Ref SenderEmail) when that is set, else its default."""
    blocks = [template.get("Globals", {}).get("Function", {})]
    blocks += [
        r.get("Properties", {}) for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    ]
    for block in blocks:
        for variable, value in block.get("Environment", {}).get("Variables", {}).items():
            if value == {"Ref": name} and os.environ.get(variable):
                return os.environ[variable]
    return str(template["Parameters"][name].get("Default", ""))


def attribute(logical_id: str, name: str, template: dict[str, Any] | None = None) -> str:
    """`Ref` (name="Ref") or `Fn::GetAtt` of a template resource as it is in moto's account."""
    template = template or load_template()
    if name == "Ref" and logical_id in template.get("Parameters", {}):
        return _parameter(logical_id, template)
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": PARTITION,
        "AWS::StackName": STACK_NAME,
        "AWS::URLSuffix": "amazonaws.com",
    }
    if name == "Ref" and logical_id in pseudo:
        return pseudo[logical_id]
    kind = template["Resources"][logical_id]["Type"]
    local = local_name(logical_id)
    values: dict[str, str]
    if kind == "AWS::DynamoDB::Table":
        arn = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{local}"
        values = {"Ref": local, "Arn": arn}
    elif kind == "AWS::S3::Bucket":
        values = {"Ref": local, "Arn": f"arn:{PARTITION}:s3:::{local}"}
    elif kind == "AWS::SNS::Topic":
        arn = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{local}"
        values = {"Ref": arn, "TopicArn": arn, "TopicName": local}
    elif kind == "AWS::SQS::Queue":
        arn = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{local}"
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{local}"
        values = {"Ref": url, "Arn": arn, "QueueName": local, "QueueUrl": url}
    elif kind == "AWS::SecretsManager::Secret":
        values = {"Ref": secret_arn(local), "Id": secret_arn(local)}
    elif kind == "AWS::KMS::Key":
        values = {"Ref": logical_id, "KeyId": logical_id, "Arn": key_arn(logical_id)}
    elif kind == "AWS::KMS::Alias":
        values = {"Ref": f"alias/{local}"}
    elif kind == "AWS::IAM::Role":
        props = template["Resources"][logical_id].get("Properties", {})
        role = str(resolve(props["RoleName"], template)) if "RoleName" in props else local
        path = str(props.get("Path", "/"))
        values = {"Ref": role, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role{path}{role}"}
    else:
        values = {"Ref": local, "Arn": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:{logical_id}"}
    if name not in values:
        raise KeyError(f"{logical_id}.{name}: tests/support/iam.py cannot resolve this attribute of a {kind}")
    return values[name]


def resolve(value: Any, template: dict[str, Any] | None = None) -> Any:
    """Resolve Ref, Fn::GetAtt, Fn::Sub and Fn::Join to the concrete values of moto's account."""
    template = template or load_template()
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, arg),) = value.items()
        if tag == "Ref":
            return attribute(arg, "Ref", template)
        if tag == "Fn::GetAtt":
            logical, name = arg if isinstance(arg, list) else arg.split(".", 1)
            return attribute(logical, name, template)
        if tag == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], template))

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if "." in name and not name.startswith("AWS::"):
                    logical, att = name.split(".", 1)
                    return attribute(logical, att, template)
                return attribute(name, "Ref", template)

            # `${!Name}` is CloudFormation's escape for a literal `${Name}` (an IAM policy variable).
            return re.sub(r"\$\{([^}!]+)\}", substitute, text).replace("${!", "${")
        if tag == "Fn::Join":
            separator, parts = arg
            return str(separator).join(str(p) for p in resolve(parts, template))
        if tag.startswith("Fn::") or tag == "Condition":
            raise ValueError(f"tests/support/iam.py cannot resolve {tag} (only Ref, GetAtt, Sub and Join)")
    return {k: resolve(v, template) for k, v in value.items()}


@cache
def _kms_keys() -> dict[tuple[str, str], str]:
    """(kind, ARN or name) -> the customer managed key AWS uses for it, from the template."""
    template = load_template()
    keys: dict[tuple[str, str], str] = {}
    for logical, res in template["Resources"].items():
        props = res.get("Properties", {})
        kind = res["Type"]
        key: Any = None
        if kind == "AWS::DynamoDB::Table":
            sse = props.get("SSESpecification", {})
            if sse.get("SSEEnabled") and sse.get("SSEType") == "KMS":
                key = sse.get("KMSMasterKeyId", "alias/aws/dynamodb")
            target = ("table", attribute(logical, "Arn", template))
        elif kind == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            default = rules[0].get("ServerSideEncryptionByDefault", {}) if rules else {}
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
                key = default.get("KMSMasterKeyID", "alias/aws/s3")
            target = ("bucket", attribute(logical, "Ref", template))
        elif kind == "AWS::SNS::Topic":
            key = props.get("KmsMasterKeyId")
            target = ("topic", attribute(logical, "Ref", template))
        elif kind == "AWS::SQS::Queue":
            key = props.get("KmsMasterKeyId")
            target = ("queue", attribute(logical, "Arn", template))
        elif kind == "AWS::SecretsManager::Secret":
            key = props.get("KmsKeyId", "alias/aws/secretsmanager")
            target = ("secret", attribute(logical, "Ref", template))
        elif kind == "AWS::KMS::Key" and logical in RUNTIME_SECRET_KEYS.values():
            for prefix, key_id in RUNTIME_SECRET_KEYS.items():
                if key_id == logical:
                    keys[("secret-prefix", prefix)] = attribute(logical, "Arn", template)
            continue
        else:
            continue
        if key is not None:
            keys[target] = key_arn(str(resolve(key, template)))
    return keys


def _kms(kind: str, name: str, *actions: str) -> list[Grant]:
    key = _kms_keys().get((kind, name))
    return [(action, key, {}) for action in actions] if key else []


def _secret_kms(secret: str, *actions: str) -> list[Grant]:
    """The key Secrets Manager uses, with the caller's permissions, for a secret's value: the
    template's own secrets, or a runtime secret by its name prefix (RUNTIME_SECRET_KEYS)."""
    key = _kms_keys().get(("secret", secret))
    if key is None:
        name = secret.split(":secret:", 1)[-1]
        key = next((k for (kind, p), k in _kms_keys().items() if kind == "secret-prefix" and name.startswith(p)), None)
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    return [(action, key, dict(via)) for action in actions] if key else []


# ------------------------------------------------------------------------ calls -> grants


def table_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _table_arn_of_resource(arn: str) -> str:
    return arn.split("/index/", 1)[0]


def _dynamodb(operation: str, params: dict[str, Any]) -> list[Grant]:
    grants: list[Grant] = []
    if operation == "TransactWriteItems":
        # AWS authorises each item of a transaction as its own action; there is no IAM action
        # called TransactWriteItems.
        item_actions = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
        }
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                grants.append((f"dynamodb:{item_actions[kind]}", table_arn(body["TableName"]), {}))
    elif operation == "TransactGetItems":
        for item in params.get("TransactItems", []):
            grants.append(("dynamodb:GetItem", table_arn(item["Get"]["TableName"]), {}))
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params.get("RequestItems", {}):
            grants.append((f"dynamodb:{operation}", table_arn(table), {}))
    elif "TableName" in params:
        arn = table_arn(params["TableName"])
        if params.get("IndexName"):
            arn = f"{arn}/index/{params['IndexName']}"
        grants.append((f"dynamodb:{operation}", arn, {}))
    else:
        grants.append((f"dynamodb:{operation}", "*", {}))
    # The table is encrypted with a customer managed key: DynamoDB decrypts the table key with the
    # caller's permissions (cached for a few minutes), so every principal using the table needs
    # kms:Decrypt on that key.
    for table in dict.fromkeys(_table_arn_of_resource(arn) for _, arn, _ in grants):
        grants += _kms("table", table, "kms:Decrypt")
    return grants


def object_arn(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _sse_key(bucket: str, params: dict[str, Any], *actions: str) -> list[Grant]:
    if params.get("ServerSideEncryption") == "AES256":
        return []
    if params.get("SSEKMSKeyId"):
        return [(action, key_arn(params["SSEKMSKeyId"]), {}) for action in actions]
    return _kms("bucket", bucket, *actions)


def _copy_source(source: Any) -> tuple[str, str]:
    if isinstance(source, dict):
        return source["Bucket"], source["Key"]
    bucket, _, key = unquote(str(source)).lstrip("/").partition("/")
    return bucket, key.split("?versionId=", 1)[0]


def _s3(operation: str, params: dict[str, Any]) -> list[Grant]:
    bucket = str(params.get("Bucket", ""))
    key = params.get("Key")
    target = object_arn(bucket, key) if key is not None else f"arn:{PARTITION}:s3:::{bucket}"
    if operation in ("GetObject", "HeadObject"):
        # HEAD needs s3:GetObject; only reading the body decrypts it.
        action = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
        grants: list[Grant] = [(action, target, {})]
        return grants + (_kms("bucket", bucket, "kms:Decrypt") if operation == "GetObject" else [])
    if operation == "PutObject":
        return [("s3:PutObject", target, {}), *_sse_key(bucket, params, "kms:GenerateDataKey")]
    if operation == "CopyObject":
        source_bucket, source_key = _copy_source(params["CopySource"])
        return [
            ("s3:GetObject", object_arn(source_bucket, source_key), {}),
            *_kms("bucket", source_bucket, "kms:Decrypt"),
            ("s3:PutObject", target, {}),
            *_sse_key(bucket, params, "kms:GenerateDataKey"),
        ]
    if operation in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        return [("s3:PutObject", target, {}), *_sse_key(bucket, params, "kms:GenerateDataKey", "kms:Decrypt")]
    if operation == "DeleteObject":
        return [("s3:DeleteObjectVersion" if params.get("VersionId") else "s3:DeleteObject", target, {})]
    if operation == "DeleteObjects":
        return [("s3:DeleteObject", object_arn(bucket, o["Key"]), {}) for o in params["Delete"]["Objects"]]
    if operation in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        return [("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}", {})]
    return [(f"s3:{operation}", target, {})]


def _queue_arn(url: str) -> str:
    parts = urlsplit(url).path.strip("/").split("/")
    return f"arn:{PARTITION}:sqs:{REGION}:{parts[-2]}:{parts[-1]}"


def _canonical_secret(secret_id: str) -> str:
    if secret_id.startswith("arn:"):
        name = secret_id.split(":secret:", 1)[1]
        name = re.sub(r"-[A-Za-z0-9]{6}$", "", name)
    else:
        name = secret_id
    return secret_arn(name)


def grants_for(service: str, operation: str, params: dict[str, Any]) -> list[Grant]:
    """The (action, resource, condition keys) AWS authorises one API call against."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "s3":
        return _s3(operation, params)
    if service == "sns":
        topic = params.get("TopicArn") or params.get("TargetArn") or "*"
        action = "sns:Publish" if operation in ("Publish", "PublishBatch") else f"sns:{operation}"
        # Publishing to a topic encrypted with a customer managed key needs both.
        return [(action, topic, {}), *_kms("topic", topic, "kms:GenerateDataKey", "kms:Decrypt")]
    if service == "sqs":
        queue = _queue_arn(params["QueueUrl"]) if "QueueUrl" in params else "*"
        action = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}.get(operation, operation)
        kms = {"SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"), "ReceiveMessage": ("kms:Decrypt",)}
        return [(f"sqs:{action}", queue, {}), *_kms("queue", queue, *kms.get(action, ()))]
    if service == "secretsmanager":
        if operation == "CreateSecret":
            secret = secret_arn(str(params.get("Name", "*")))
            tags = {f"aws:RequestTag/{t['Key']}": str(t["Value"]) for t in params.get("Tags", [])}
            grants = [(f"secretsmanager:{operation}", secret, tags)]
            if tags:  # tagging on creation is authorised as TagResource too
                grants.append(("secretsmanager:TagResource", secret, tags))
            return grants + _secret_kms(secret, "kms:GenerateDataKey")
        secret = _canonical_secret(str(params.get("SecretId", "*")))
        grants = [(f"secretsmanager:{operation}", secret, {})]
        if operation == "GetSecretValue":
            grants += _secret_kms(secret, "kms:Decrypt")
        elif operation == "PutSecretValue":
            grants += _secret_kms(secret, "kms:GenerateDataKey")
        return grants
    if service == "sts":
        role = str(params.get("RoleArn", "*"))
        grants = [(f"sts:{operation}", role, {})]
        if operation.startswith("AssumeRole") and params.get("Tags"):
            tags = {f"aws:RequestTag/{t['Key']}": str(t["Value"]) for t in params["Tags"]}
            grants.append(("sts:TagSession", role, tags))
        return grants
    if service == "ses":  # SES v1 and v2 both sign as ses
        source = params.get("Source") or params.get("FromEmailAddress") or ""
        address = parseaddr(str(source))[1]
        identity = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{address}"
        return [(f"ses:{operation}", identity, {"ses:FromAddress": address})]
    if service == "kms":
        # The condition keys an encryption context carries (a policy may require one).
        context = {f"kms:EncryptionContext:{k}": str(v) for k, v in (params.get("EncryptionContext") or {}).items()}
        return [
            (
                f"kms:{operation}",
                key_arn(LOCAL_KEYS.get(str(params.get("KeyId", "*")), str(params.get("KeyId", "*")))),
                context,
            )
        ]
    return [(f"{service}:{operation}", "*", {})]


# ------------------------------------------------------------------------ recording


class _Recorder:
    def __init__(self, directory: Path, label: str | None) -> None:
        self.directory = directory
        self.label = label  # where the calls come from, when not from the test that is running
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._pid = 0
        self.captured: list[dict[str, Any]] | None = None  # see `capture`

    def write(self, function: str, api: str, grants: list[Grant], session: Session | None = None) -> None:
        row: dict[str, Any] = {
            "f": function,
            "api": api,
            "test": self.label or os.environ.get("PYTEST_CURRENT_TEST", "").removesuffix(" (call)"),
            "g": grants,
        }
        if session is not None:
            row["as"], row["tags"] = session.role, dict(session.tags)
        with self._lock:
            if self.captured is not None:
                self.captured.append(row)
                return
            if self._file is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = (self.directory / f"calls-{self._pid}.jsonl").open("a", encoding="utf-8", buffering=1)
            self._file.write(json.dumps(row) + "\n")


@dataclass(frozen=True)
class Session:
    """Credentials a function got from sts:AssumeRole: later calls signed with them are authorised
    against the assumed role's policy, with the session's tags as `aws:PrincipalTag/*`."""

    role: str
    tags: tuple[tuple[str, str], ...] = ()


_recorder: _Recorder | None = None
_install_lock = threading.Lock()
_sessions: dict[str, Session] = {}  # access key id -> the session it belongs to
_PENDING = "s2s_recorded_call"  # where a call waits in botocore's request context to be signed
_SESSION_REQUEST = "s2s_assume_role_request"


def _on_call(params: dict[str, Any], model: Any, context: dict[str, Any] | None = None, **_: Any) -> None:
    if context is not None and model.name.startswith("AssumeRole"):
        # Whoever assumes the role (a handler or test set-up), later calls signed with the session
        # are the role's: remember what was asked for, to pair it with the credentials it returns.
        context[_SESSION_REQUEST] = dict(params)
    function = CURRENT.get()
    if function is None or _recorder is None:
        return
    service = model.service_model.signing_name or model.service_model.endpoint_prefix
    operation = model.name
    presign = bool(context and context.get("is_presign_request"))
    if presign and operation == "CreateBucket":
        return  # generate_presigned_post's own event; recorded by _presigned_post with its key
    grants = grants_for(service, operation, params)
    api = f"{service}.{operation}{' (presigned)' if presign else ''}"
    if presign or context is None:
        _recorder.write(function, api, grants)
        return
    # Recorded at `before-call`, where the credentials that will sign the call are known.
    context[_PENDING] = (function, api, grants)


def _access_key(signer: Any) -> str | None:
    credentials = getattr(signer, "_credentials", None)
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else credentials
    return getattr(frozen, "access_key", None)


def _before_call(request_signer: Any = None, context: dict[str, Any] | None = None, **_: Any) -> None:
    pending = context.get(_PENDING) if context else None
    if pending is None or _recorder is None:
        return
    function, api, grants = pending
    key = _access_key(request_signer)
    _recorder.write(function, api, grants, _sessions.get(key) if key else None)


def _after_assume_role(parsed: dict[str, Any], context: dict[str, Any] | None = None, **_: Any) -> None:
    params = context.get(_SESSION_REQUEST) if context else None
    if not params:
        return
    key = (parsed.get("Credentials") or {}).get("AccessKeyId")
    if key:
        tags = tuple(sorted((str(t["Key"]), str(t["Value"])) for t in params.get("Tags", [])))
        _sessions[key] = Session(str(params.get("RoleArn", "")), tags)


@contextlib.contextmanager
def capture(function: str) -> Iterator[list[dict[str, Any]]]:
    """Record the calls made inside the block as if `function` made them, into the list it yields
    instead of the run's records (for a test that shows what the IAM check refuses)."""
    if _recorder is None:
        install(tempfile.mkdtemp(prefix="s2s-calls-"))
    assert _recorder is not None
    rows: list[dict[str, Any]] = []
    previous, _recorder.captured = _recorder.captured, rows
    token = CURRENT.set(function)
    try:
        yield rows
    finally:
        CURRENT.reset(token)
        _recorder.captured = previous


def _presigned_post(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def generate_presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
        function = CURRENT.get()
        if function is not None and _recorder is not None:
            # No API call: whoever holds the POST policy performs PutObject with this role's rights.
            _recorder.write(function, "s3.PutObject (presigned POST)", _s3("PutObject", {"Bucket": Bucket, "Key": Key}))
        return original(self, Bucket, Key, *args, **kwargs)

    return generate_presigned_post


def _on_s3_class(class_attributes: dict[str, Any], **_: Any) -> None:
    if "generate_presigned_post" in class_attributes:
        class_attributes["generate_presigned_post"] = _presigned_post(class_attributes["generate_presigned_post"])


def install(directory: str | Path, label: str | None = None) -> None:
    """Record from now on: every botocore session created later, and boto3's default session."""
    global _recorder  # noqa: PLW0603 - one recorder per process
    with _install_lock:
        if _recorder is not None:
            _recorder.directory = Path(directory)
            return
        _recorder = _Recorder(Path(directory), label)
        import boto3
        from botocore import handlers

        hooks: list[tuple[str, Callable[..., None]]] = [
            ("before-parameter-build", _on_call),
            ("before-call", _before_call),
            ("after-call.sts.AssumeRole", _after_assume_role),
            ("creating-client-class.s3", _on_s3_class),
        ]
        handlers.BUILTIN_HANDLERS.extend(hooks)
        if boto3.DEFAULT_SESSION is not None:  # created before the hooks were built in
            for event, hook in hooks:
                boto3.DEFAULT_SESSION.events.register(event, hook)
        try:
            from s2s.adapters.aws import reset_clients
        except ImportError:  # pragma: no cover - the layer is always importable here
            return
        reset_clients()


def installed() -> bool:
    return _recorder is not None


# ------------------------------------------------------------------------ attribution


def _sqs_sources(function: str) -> list[str]:
    from s2s_cli.local.template import queue_consumers

    return [attribute(c.queue, "Arn") for c in queue_consumers() if c.function == function]


def instrument(function: str, handler: Handler) -> Handler:
    """`handler` with its AWS calls attributed to `function` (a logical id of template.yaml)."""
    if getattr(handler, "__s2s_function__", None) == function:
        return handler
    queues = _sqs_sources(function)

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        token = CURRENT.set(function)
        try:
            records = event.get("Records") if isinstance(event, dict) else None
            from_queue = isinstance(records, list) and any(
                isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
            )
            if queues and _recorder is not None and from_queue:
                # Lambda's event source mapping receives the batch with the function's role; the
                # queue is encrypted, so receiving it needs kms:Decrypt on the queue's key.
                for queue in queues:
                    _recorder.write(function, "sqs.ReceiveMessage (event source)", _kms("queue", queue, "kms:Decrypt"))
            return handler(event, context)
        finally:
            CURRENT.reset(token)

    invoke.__s2s_function__ = function  # type: ignore[attr-defined]
    return invoke


def declared_functions() -> Iterator[tuple[str, str, str]]:
    """(logical id, CodeUri, Handler) of every function template.yaml declares."""
    for name, res in load_template()["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            props = res["Properties"]
            yield name, props["CodeUri"], props["Handler"]


def function_named(code_uri: str, handler: str) -> str:
    for name, uri, declared in declared_functions():
        if uri == code_uri and declared == handler:
            return name
    raise LookupError(f"template.yaml declares no function with CodeUri {code_uri} and Handler {handler}")


def maybe_instrument(code_uri: str, handler: str, loaded: Handler) -> Handler:
    """The local stack's hook: record this handler's calls when S2S_RECORD_CALLS is set."""
    directory = os.environ.get(ENVIRONMENT)
    if not directory:
        return loaded
    install(directory, label="the local stack (s2s local serve)")
    return instrument(function_named(code_uri, handler), loaded)
