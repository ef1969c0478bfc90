"""LRS registration per organisation (docs/SERVICE.md §7): a school or local authority keeps its
own LRS web service account with S2S, so the LRS sees the organisation itself, never one account
shared by every school.

- `register`: the account is checked once against the LRS (a find that matches nobody,
  `s2s.domain.lrs.ACCOUNT_CHECK_ULN`) and kept only if the LRS accepts it.
- `show`: what is kept, never the password; `forget`: removes it at once.
- `credentials_for(principal_or_org)`: the account every ULN call sends (single learners here,
  batches elsewhere); 403 `lrs_not_registered` when there is none.
- `mark_refused(org)`: the LRS has since refused the password (WSEC0003/5/6): the registration
  shows `needs_attention` until it is entered again.

Where and how the account is stored, and why IAM lets one organisation's call reach only that
organisation's secret: `s2s.adapters.lrs_registry`. The password is never logged, returned or
put in an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from s2s.adapters import lrs_registry
from s2s.adapters.lrs import lrs_client
from s2s.adapters.lrs_audit import LrsAuditEntry, record_lrs_call
from s2s.contracts.uln import LrsRegistrationRequest, LrsRegistrationView
from s2s.domain import errors
from s2s.domain.errors import status_for
from s2s.domain.lrs import LrsCredentials, error_response_code, is_credentials_refused
from s2s.domain.principal import Principal
from s2s.runtime.log import logger

NOT_REGISTERED_MESSAGE = (
    "Your organisation is not registered with the Learning Records Service in S2S. Register with the "
    "LRS in the LRS Organisation Portal (and sign its learning provider agreement), then enter your "
    "LRS web service user name and password on S2S's LRS registration page (or run `s2s uln register`)."
)
REFUSED_AT_REGISTRATION = (
    "The Learning Records Service refused this UKPRN (or organisation reference), user name and "
    "password. Check them in the LRS Organisation Portal and try again; nothing was kept."
)


def _check_role(principal: Principal) -> Principal:
    if principal.kind not in ("school", "la"):
        raise errors.Forbidden("Only schools and local authorities can use the ULN service.", code="role_not_allowed")
    return principal


def _org(who: Principal | str) -> str:
    return _check_role(who).org if isinstance(who, Principal) else who


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _credentials(value: dict[str, Any]) -> LrsCredentials | None:
    username, password = str(value.get("username") or ""), str(value.get("password") or "")
    ukprn, ref = str(value.get("ukprn") or ""), str(value.get("organisation_ref") or "")
    if not (username and password and (ukprn or ref)):
        return None
    return LrsCredentials(ukprn=ukprn, username=username, password=password, organisation_ref=ref)


def account_value(credentials: LrsCredentials, *, registered_by: str, checked_at: str | None = None) -> dict[str, Any]:
    """A registration as it is kept (the one shape the store holds)."""
    return {
        "ukprn": credentials.ukprn,
        "organisation_ref": credentials.organisation_ref,
        "username": credentials.username,
        "password": credentials.password,
        "checked_at": checked_at or _now(),
        "needs_attention": False,
        "registered_by": registered_by,
    }


def credentials_for(who: Principal | str) -> LrsCredentials:
    """The LRS account of the caller's organisation (a principal, or an organisation id such as
    `8231234` or `823LLLL` for work that runs after the request, like a batch). Raises 403
    `lrs_not_registered` when the organisation has not registered one."""
    value = lrs_registry.read(_org(who))
    credentials = _credentials(value) if value else None
    if credentials is None:
        raise errors.Forbidden(NOT_REGISTERED_MESSAGE, code="lrs_not_registered")
    return credentials


def mark_refused(who: Principal | str) -> None:
    """The LRS refused the kept account: keep it, flagged `needs_attention`, so the organisation
    is told to enter the password again. Never raises: the caller is already answering the refusal."""
    org = _org(who)
    try:
        value = lrs_registry.read(org, fresh=True)
        if value and not value.get("needs_attention"):
            lrs_registry.write(org, {**value, "needs_attention": True})
        logger.warning("lrs registration refused by the lrs", extra={"org": org})
    except errors.S2SError:
        logger.exception("lrs registration could not be flagged", extra={"org": org})


def _audit(principal: Principal, origin: dict[str, str], operation: str, status: int, code: str | None) -> None:
    entry = LrsAuditEntry(
        organisation=principal.org,
        user=principal.user_id,
        operation=operation,
        uln=None,
        response_code=code,
        http_status=status,
        source_ip=origin.get("source_ip", ""),
    )
    try:
        record_lrs_call(entry)
    except Exception:
        logger.exception("lrs registration audit write failed", extra={"operation": operation})


def register(principal: Principal, origin: dict[str, str], request: LrsRegistrationRequest) -> None:
    """Check the account with the LRS, then keep it (replacing any earlier one)."""
    _check_role(principal)
    credentials = LrsCredentials(
        ukprn=request.ukprn or "",
        username=request.username,
        password=request.password,
        organisation_ref=request.organisation_ref or "",
    )
    client = lrs_client(lambda: credentials)
    try:
        code = client.check_account()
    except errors.S2SError as exc:
        status = status_for(exc)
        if is_credentials_refused(exc):
            status = 422
        _audit(principal, origin, "checkRegistration", status, error_response_code(exc) or exc.code)
        logger.info("lrs registration not kept", extra={**principal.log_fields(), "error": exc.code})
        if is_credentials_refused(exc):
            fields = ["organisation_ref" if request.organisation_ref else "ukprn", "username", "password"]
            raise errors.InvalidRequest(
                REFUSED_AT_REGISTRATION,
                code="lrs_credentials_refused",
                details=[*exc.details, *({"field": name, "reason": "lrs_refused"} for name in fields)],
            ) from None
        raise
    lrs_registry.write(principal.org, account_value(credentials, registered_by=principal.user_id))
    _audit(principal, origin, "checkRegistration", 204, code)
    logger.info("lrs registration kept", extra=principal.log_fields())


def show(principal: Principal) -> LrsRegistrationView:
    value = lrs_registry.read(_check_role(principal).org, fresh=True)
    if not value or _credentials(value) is None:
        return LrsRegistrationView(registered=False)
    return LrsRegistrationView(
        registered=True,
        ukprn=value.get("ukprn") or None,
        organisation_ref=value.get("organisation_ref") or None,
        username=value.get("username"),
        checked_at=value.get("checked_at"),
        needs_attention=bool(value.get("needs_attention")),
    )


def forget(principal: Principal, origin: dict[str, str]) -> None:
    lrs_registry.delete(_check_role(principal).org)
    _audit(principal, origin, "forgetRegistration", 204, None)
    logger.info("lrs registration forgotten", extra=principal.log_fields())
