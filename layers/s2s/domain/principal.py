"""Who is calling: a school, a local authority or the DfE, from DfE Sign-in claims.

The HTTP API's JWT authorizer has already checked signature, issuer, audience and expiry; here we
only read the claims. DfE Sign-in sends `organisation` as a JSON *string*; API Gateway passes it on
unchanged. Anything we cannot use is refused: there is no default organisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from s2s.domain.errors import Forbidden

SCHOOL_CATEGORY = "001"
LA_CATEGORY = "002"
GOVERNMENT_CATEGORY = "011"

_LA_CODE = re.compile(r"[0-9]{3}", re.ASCII)
_ESTAB = re.compile(r"[0-9]{4}", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

Kind = Literal["school", "la", "dfe"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user and the organisation they act for."""

    kind: Kind
    user_id: str
    email: str | None
    org_name: str
    la: str | None  # 3-digit LA code for schools and LAs, None for the DfE
    laestab: str | None  # 7 digits, schools only

    @property
    def org(self) -> str:
        """The organisation as it appears in file names: LAESTAB, `<LA>LLLL`, or `DFE`."""
        if self.kind == "school":
            assert self.laestab is not None
            return self.laestab
        if self.kind == "la":
            return f"{self.la}LLLL"
        return "DFE"

    def log_fields(self) -> dict[str, str]:
        """What may be logged about the caller (no email, no name)."""
        return {"user": self.user_id, "org": self.org, "role": self.kind}


def _organisation(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise Forbidden("The organisation claim is not valid JSON.", code="no_organisation") from exc
    if not isinstance(raw, Mapping):
        raise Forbidden("Your sign-in carries no organisation.", code="no_organisation")
    return raw


def _category(org: Mapping[str, Any]) -> str | None:
    category = org.get("category")
    value = category.get("id") if isinstance(category, Mapping) else category
    return str(value) if value is not None else None


def _la_code(org: Mapping[str, Any]) -> str:
    la = org.get("localAuthority")
    code = la.get("code") if isinstance(la, Mapping) else None
    code = str(code).strip() if code is not None else ""
    if not _LA_CODE.fullmatch(code):
        raise Forbidden("Your organisation has no usable local authority code.", code="no_organisation")
    return code


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Build the caller from verified JWT claims, or refuse with 403 `no_organisation`."""
    user_id = str(claims.get("sub") or "").strip()
    if not user_id:
        raise Forbidden("Your sign-in has no user id.", code="no_organisation")
    email_claim = claims.get("email")
    email = str(email_claim).strip().lower() if email_claim else None
    if email is not None and not _EMAIL.match(email):
        email = None
    if "organisation" not in claims or claims["organisation"] in (None, "", "null"):
        raise Forbidden("Your sign-in carries no organisation.", code="no_organisation")
    org = _organisation(claims["organisation"])
    name = str(org.get("name") or "").strip()
    category = _category(org)
    if category == SCHOOL_CATEGORY:
        la = _la_code(org)
        estab = str(org.get("establishmentNumber") or "").strip()
        if not _ESTAB.fullmatch(estab):
            raise Forbidden("Your school has no usable establishment number.", code="no_organisation")
        return Principal("school", user_id, email, name or f"School {la}{estab}", la, la + estab)
    if category == LA_CATEGORY:
        la = _la_code(org)
        return Principal("la", user_id, email, name or f"Local authority {la}", la, None)
    if category == GOVERNMENT_CATEGORY:
        return Principal("dfe", user_id, email, name or "Department for Education", None, None)
    raise Forbidden(
        "Your organisation type cannot use S2S (schools, local authorities and the DfE only).",
        code="organisation_not_allowed",
    )
