"""Local sign-in for the local stack: an RSA signing key kept in the data dir, tokens shaped like
DfE Sign-in's (an `organisation` claim as a JSON string), verification as API Gateway's JWT
authorizer does it (RS256, issuer, audience, expiry), and a development OIDC sign-in (authorization
code with PKCE) so the portal uses the same flow locally as with DfE Sign-in.

Nothing here is for production: the key sits on disk and anyone on the machine can mint tokens."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ISSUER = "http://s2s.localhost/dev-signin"
AUDIENCE = "s2s"
CLIENT_ID = "s2s-portal"
KEY_FILE = "signing-key.pem"
KEY_ID = "s2s-local-1"
CODE_SECONDS = 60
CALLBACK_PATH = "/callback"  # the portal's sign-in callback (portal/auth.js)

Kind = Literal["school", "la", "dfe"]


class InvalidToken(Exception):
    """The token is missing, malformed, badly signed, expired, or for another issuer or audience."""


class SignInError(Exception):
    """A development sign-in request that an OIDC provider would refuse (`error` is the OAuth code)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def load_or_create_key(data_dir: Path) -> RSAPrivateKey:
    """The signing key in `data_dir`, created (2048-bit RSA, mode 0600) the first time."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fresh = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = fresh.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        # `s2s local serve` and `s2s local token` may both create the key at once: link() refuses
        # to replace an existing file, so the first key wins and everyone reads that one.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise InvalidToken(f"{path} is not an RSA private key")
    return loaded


def organisation_claims(kind: Kind, org: str | None, email: str | None) -> dict[str, Any]:
    """Claims shaped as DfE Sign-in gives them: `sub`, `email`, `organisation` as a JSON string."""
    if kind == "school":
        if not org or len(org) != 7 or not org.isascii() or not org.isdigit():
            raise ValueError("a school is a 7-digit LAESTAB, e.g. 8231234")
        la, estab = org[:3], org[3:]
        organisation: dict[str, Any] = {
            "id": f"org-{org}",
            "name": f"School {org}",
            "category": {"id": "001", "name": "Establishment"},
            "urn": "100000",
            "establishmentNumber": estab,
            "localAuthority": {"id": f"la-{la}", "name": f"LA {la}", "code": la},
            "status": {"id": 1, "name": "Open"},
        }
        sub, default_email = f"local-{org}", f"office@{org}.school.example"
    elif kind == "la":
        if not org or len(org) != 3 or not org.isascii() or not org.isdigit():
            raise ValueError("a local authority is a 3-digit LA code, e.g. 823")
        organisation = {
            "id": f"org-la-{org}",
            "name": f"LA {org}",
            "category": {"id": "002", "name": "Local Authority"},
            "establishmentNumber": None,
            "localAuthority": {"id": f"la-{org}", "name": f"LA {org}", "code": org},
        }
        sub, default_email = f"local-la-{org}", f"data@la{org}.gov.example"
    else:
        organisation = {
            "id": "org-dfe",
            "name": "Department for Education",
            "category": {"id": "011", "name": "Government"},
        }
        sub, default_email = "local-dfe", "analyst@education.gov.example"
    address = email or default_email
    return {
        "sub": f"{sub}-{hashlib.sha256(address.encode()).hexdigest()[:8]}",
        "email": address,
        "organisation": json.dumps(organisation),
    }


def issue_token(
    key: RSAPrivateKey,
    claims: dict[str, Any],
    *,
    ttl: int = 3600,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    import jwt

    now = int(time.time())
    payload = {**claims, "iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KEY_ID})


def verify_token(key: RSAPrivateKey, token: str) -> dict[str, Any]:
    """The token's claims, or InvalidToken. RS256 only, so `alg: none` and HMAC tricks fail."""
    import jwt

    try:
        return jwt.decode(
            token,
            key.public_key(),
            algorithms=["RS256"],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "iss", "aud", "sub"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("no Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("not a bearer token")
    return token.strip()


def authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's JWT authorizer passes them to the function: every value a string."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class _Grant:
    claims: dict[str, Any]
    redirect_uri: str
    code_challenge: str
    client_id: str
    expires: float


class DevSignIn:
    """The development OIDC provider: pick an identity, get a single-use code, swap it for a token."""

    def __init__(self, key: RSAPrivateKey, portal_origin: str, *, ttl: int = 3600) -> None:
        self._key = key
        self._portal_origin = portal_origin.rstrip("/")
        self.callback = f"{self._portal_origin}{CALLBACK_PATH}"
        self._ttl = ttl
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def _check_client(self, params: dict[str, str]) -> None:
        if params.get("client_id") != CLIENT_ID:
            raise SignInError("unauthorized_client", f"client_id must be {CLIENT_ID}")
        redirect = params.get("redirect_uri", "")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in redirect):
            raise SignInError("invalid_request", "redirect_uri contains a control character")
        # Exactly the registered callback, as an OIDC provider compares it: no other path, query,
        # fragment, user info or port on the same host.
        if redirect != self.callback:
            raise SignInError("invalid_request", f"redirect_uri must be exactly {self.callback}")

    def authorize_page(self, params: dict[str, str]) -> str:
        """The identity picker: a plain form, no script (the portal's CSP forbids inline script)."""
        self._check_client(params)
        if params.get("response_type") != "code":
            raise SignInError("unsupported_response_type", "response_type must be code")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise SignInError("invalid_request", "PKCE with code_challenge_method=S256 is required")
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
            for name in ("client_id", "redirect_uri", "state", "code_challenge")
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>S2S local sign-in</title></head>
<body><main>
<h1>S2S local sign-in</h1>
<p>This is the development sign-in of the local stack. Choose who to be.</p>
<form method="post" action="/dev/authorize">{hidden}
<fieldset><legend>Organisation</legend>
<p><label><input type="radio" name="kind" value="school" checked> School (LAESTAB)</label></p>
<p><label><input type="radio" name="kind" value="la"> Local authority (LA code)</label></p>
<p><label><input type="radio" name="kind" value="dfe"> Department for Education</label></p>
<p><label for="org">LAESTAB or LA code</label> <input id="org" name="org" value="8231234"></p>
</fieldset>
<p><label for="email">Email</label> <input id="email" name="email" type="email"></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>
"""

    def authorize(self, form: dict[str, str]) -> str:
        """The redirect (portal URL with `code` and `state`) for the chosen identity."""
        self._check_client(form)
        challenge = form.get("code_challenge", "")
        if not challenge:
            raise SignInError("invalid_request", "code_challenge is required")
        kinds: dict[str, Kind] = {"school": "school", "la": "la", "dfe": "dfe"}
        kind = kinds.get(form.get("kind", ""))
        if kind is None:
            raise SignInError("invalid_request", "kind must be school, la or dfe")
        try:
            claims = organisation_claims(
                kind, form.get("org", "").strip() or None, form.get("email", "").strip() or None
            )
        except ValueError as exc:
            raise SignInError("invalid_request", str(exc)) from None
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._codes[code] = _Grant(
                claims, form["redirect_uri"], challenge, form["client_id"], time.monotonic() + CODE_SECONDS
            )
        query = {"code": code}
        if form.get("state"):
            query["state"] = form["state"]
        sep = "&" if "?" in form["redirect_uri"] else "?"
        return f"{form['redirect_uri']}{sep}{urlencode(query)}"

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        """The token response for a code (single use, 60 s) whose PKCE verifier matches."""
        if form.get("grant_type") != "authorization_code":
            raise SignInError("unsupported_grant_type", "grant_type must be authorization_code")
        with self._lock:
            self._expire()
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None:
            raise SignInError("invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != grant.redirect_uri or form.get("client_id") != grant.client_id:
            raise SignInError("invalid_grant", "redirect_uri or client_id differ from the authorization request")
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(s256(verifier), grant.code_challenge):
            raise SignInError("invalid_grant", "the code_verifier does not match the code_challenge")
        token = issue_token(self._key, grant.claims, ttl=self._ttl)
        return {"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": self._ttl}

    def _expire(self) -> None:
        now = time.monotonic()
        for code in [c for c, g in self._codes.items() if g.expires < now]:
            del self._codes[code]
