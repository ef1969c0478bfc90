"""Where each organisation's LRS registration is kept: one Secrets Manager secret per organisation,
reached only through an STS session scoped to that organisation.

Why Secrets Manager rather than table items encrypted under the KMS key: a password is exactly
what it is for (encrypted under the stack's key, versioned, never in a table scan or a backup of
the table), and IAM can name a secret by its ARN, so the per-organisation rule is a plain resource
condition. The secret is `<LRS_SECRET_PREFIX><org>` (e.g. `s2s/lrs/8231234`), tagged `org=<org>`,
and holds JSON `{ukprn, organisation_ref, username, password, checked_at, needs_attention,
registered_by}`.

Least privilege per organisation: the ULN function's own role may not touch these secrets at all.
It may only assume `LRS_ORG_ROLE_ARN` with a session tag `org=<the caller's organisation>` (taken
from the verified sign-in, never from the request); that role's policy allows the secret actions
only on `<prefix>${aws:PrincipalTag/org}-*`, so a session made for one organisation is refused by
IAM on any other organisation's secret, whatever the code asks for. Sessions last 15 minutes and
are cached per organisation; registrations are cached for a minute, so a change made in one Lambda
environment reaches the others within that minute.

No botocore error leaves this module: a missing secret is "not registered", anything else is
`RegistryUnavailable` (500, a sentence, the error type in the log).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any

from s2s.adapters.aws import client_config, sts
from s2s.domain import errors
from s2s.runtime.log import logger
from s2s.runtime.settings import get_settings

SESSION_SECONDS = 900  # the shortest session STS gives
SESSION_MARGIN_SECONDS = 60  # renew a session this long before it ends
REGISTRATION_TTL_SECONDS = 60
MAX_CACHED_ORGANISATIONS = 64
ORG_TAG = "org"


class RegistryUnavailable(errors.S2SError):
    """The registration store could not be read or written (500)."""

    code = "lrs_registration_unavailable"


def _unavailable(action: str, exc: Exception) -> RegistryUnavailable:
    logger.error("lrs registration store failed", extra={"action": action, "error": _error_code(exc)})
    return RegistryUnavailable(f"S2S could not {action} your LRS registration just now. Please try again.")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def secret_name(org: str) -> str:
    return f"{get_settings().lrs_secret_prefix}{org}"


_lock = threading.Lock()
_sessions: OrderedDict[str, tuple[float, Any]] = OrderedDict()  # org -> (renew after, client)
_values: dict[str, tuple[float, dict[str, Any] | None]] = {}  # org -> (read at, value)


def _scoped_client(org: str) -> Any:
    """A Secrets Manager client whose credentials are a session of the registration role tagged
    with `org`: IAM lets it reach that organisation's secret and no other."""
    now = time.monotonic()
    with _lock:
        cached = _sessions.get(org)
        if cached and now < cached[0]:
            _sessions.move_to_end(org)
            return cached[1]
    settings = get_settings()
    if not settings.lrs_org_role_arn:
        raise RegistryUnavailable("The LRS registration store is not configured.", code="lrs_not_configured")
    try:
        answer = sts().assume_role(
            RoleArn=settings.lrs_org_role_arn,
            RoleSessionName=f"lrs-{org}",
            DurationSeconds=SESSION_SECONDS,
            Tags=[{"Key": ORG_TAG, "Value": org}],
        )
    except Exception as exc:  # botocore's errors stop here
        raise _unavailable("reach", exc) from exc
    import boto3

    creds = answer["Credentials"]
    client = boto3.client(
        "secretsmanager",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=client_config(),
    )
    with _lock:
        _sessions[org] = (now + SESSION_SECONDS - SESSION_MARGIN_SECONDS, client)
        while len(_sessions) > MAX_CACHED_ORGANISATIONS:
            _sessions.popitem(last=False)
    return client


def scoped_client(org: str) -> Any:
    """The organisation's scoped client (for the IAM tests, which prove what it cannot reach)."""
    return _scoped_client(org)


def read(org: str, *, fresh: bool = False) -> dict[str, Any] | None:
    """The organisation's registration, or None when it has none (cached for a minute unless `fresh`)."""
    now = time.monotonic()
    if not fresh:
        with _lock:
            cached = _values.get(org)
            if cached and now - cached[0] < REGISTRATION_TTL_SECONDS:
                return cached[1]
    client = _scoped_client(org)
    try:
        raw = client.get_secret_value(SecretId=secret_name(org))["SecretString"]
        value: dict[str, Any] | None = json.loads(raw)
    except client.exceptions.ResourceNotFoundException:
        value = None
    except ValueError as exc:
        raise _unavailable("read", exc) from exc
    except Exception as exc:
        raise _unavailable("read", exc) from exc
    if value is not None and not isinstance(value, dict):
        raise _unavailable("read", TypeError("not an object"))
    with _lock:
        _values[org] = (now, value)
    return value


def write(org: str, value: dict[str, Any]) -> None:
    """Keep `value` as the organisation's registration (a new secret, or a new version of it)."""
    client = _scoped_client(org)
    text = json.dumps(value, separators=(",", ":"))
    name = secret_name(org)
    try:
        try:
            options: dict[str, Any] = {}
            if get_settings().lrs_secrets_key_id:
                options["KmsKeyId"] = get_settings().lrs_secrets_key_id
            client.create_secret(
                Name=name,
                Description=f"LRS account of organisation {org} for the S2S ULN service",
                SecretString=text,
                Tags=[{"Key": ORG_TAG, "Value": org}],
                **options,
            )
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=name, SecretString=text)
    except Exception as exc:
        raise _unavailable("keep", exc) from exc
    with _lock:
        _values[org] = (time.monotonic(), value)


def delete(org: str) -> None:
    """Forget the organisation's registration at once (no recovery window: the password is gone)."""
    client = _scoped_client(org)
    try:
        client.delete_secret(SecretId=secret_name(org), ForceDeleteWithoutRecovery=True)
    except client.exceptions.ResourceNotFoundException:
        pass
    except Exception as exc:
        raise _unavailable("remove", exc) from exc
    with _lock:
        _values[org] = (time.monotonic(), None)


def forget_cache() -> None:
    """Drop cached sessions and registrations (tests, and a new moto backend)."""
    with _lock:
        _sessions.clear()
        _values.clear()
