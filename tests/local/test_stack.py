"""The local stack over real HTTP only: a CTF from school A to school B through the real presigned
POST, the email, the download, the receipt and the LA report; refusals; the token checks of the
JWT authorizer; CORS; the development sign-in (code + PKCE); the portal server; clean start-up
and shutdown."""

from __future__ import annotations

import base64
import email
import hashlib
import json
import re
import secrets
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from localstack import LA, ROOT, SCHOOL_A, SCHOOL_B, Stack, free_port, wait_for
from s2s_cli.local import auth
from support.zipfactory import make_aes_zip, make_plain_zip

pytestmark = pytest.mark.local

CTF = (
    b'<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><SourceSchool><LEA>823</LEA><Estab>1234</Estab>'
    b"</SourceSchool><DestSchool><LEA>823</LEA><Estab>2345</Estab></DestSchool></Header></CTfile>"
)


def upload(stack: Stack, token: str, filename: str, data: bytes) -> str:
    ticket = stack.call(
        "POST",
        "/transfers",
        token,
        json={"filename": filename, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    )
    assert ticket.status_code == 201, ticket.text
    form = ticket.json()["upload"]
    # The presigned form points at moto's own HTTP server, which any process can reach.
    assert urlsplit(form["url"]).hostname == "127.0.0.1"
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)
    assert posted.status_code == 204, posted.text
    return str(ticket.json()["transfer_id"])


def settled(stack: Stack, token: str, transfer_id: str) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        body: dict[str, Any] = stack.call("GET", f"/transfers/{transfer_id}", token).json()
        return body if body["status"] != "pending_upload" else None

    return wait_for(look)  # type: ignore[no-any-return]


def test_a_ctf_travels_from_school_a_to_school_b(stack: Stack) -> None:
    # Given B gets emails, and A has an AES-256 zip for B
    a, b, la = stack.school(SCHOOL_A), stack.school(SCHOOL_B), stack.token("la", LA)
    assert stack.call("PUT", "/subscriptions/me", b).json()["subscribed"] is True
    name = "8231234_CTF_8232345_101.zip"
    data = make_aes_zip({"8231234_CTF_8232345_101.XML": CTF})

    # When A uploads it through the presigned POST
    transfer_id = upload(stack, a, name, data)

    # Then the landing check makes it available, B is emailed, and B downloads the same bytes
    assert settled(stack, a, transfer_id)["status"] == "available"

    def email_for_b() -> list[Any]:
        found = []
        for path in stack.mail_dir.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes())
            if message["To"] == f"office@{SCHOOL_B}.school.example" and name in message["Subject"]:
                found.append(message)
        return found

    message = wait_for(email_for_b)[0]
    body = message.get_payload(decode=True).decode()
    assert stack.portal in body and "X-Amz-Signature" not in body
    # The console line is printed as the file is written; the reader thread may be a moment behind.
    wait_for(lambda: any(f"email to office@{SCHOOL_B}.school.example" in line for line in list(stack.output)))

    inbox = stack.call("GET", "/transfers", b, params={"box": "inbox"}).json()["items"]
    assert transfer_id in [item["transfer_id"] for item in inbox]
    link = stack.call("POST", f"/transfers/{transfer_id}/download", b)
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=30).content == data

    # And A sees the receipt, and the LA's report counts the transfer
    detail = stack.call("GET", f"/transfers/{transfer_id}", a).json()
    assert detail["status"] == "downloaded"
    assert [r["organisation"] for r in detail["downloads"]] == [SCHOOL_B]
    report = stack.call("GET", "/reports/transfers", la, params={"la": LA, "group_by": "school"})
    assert report.status_code == 200, report.text
    rows = {row["school"]: row for row in report.json()["rows"]}
    assert rows[SCHOOL_A]["sent"] >= 1 and rows[SCHOOL_B]["received"] >= 1


def test_a_bad_name_is_refused_with_its_code(stack: Stack) -> None:
    reply = stack.call(
        "POST",
        "/transfers",
        stack.school(SCHOOL_A),
        json={"filename": "8231234_CTF_8232345_000.zip", "size_bytes": 100},
    )
    assert reply.status_code == 422
    assert reply.json()["error"] == "bad_sequence"


def test_an_unencrypted_zip_is_rejected(stack: Stack) -> None:
    a = stack.school(SCHOOL_A)
    transfer_id = upload(stack, a, "8231234_CTF_8232345_102.zip", make_plain_zip({"8231234_CTF_8232345_102.XML": CTF}))
    detail = settled(stack, a, transfer_id)
    assert (detail["status"], detail["reason"]) == ("rejected", "not_encrypted")


def _other_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("case", ["issuer", "audience", "signature", "expired", "none", "garbage", "no_sub"])
def test_tokens_the_authorizer_refuses(stack: Stack, case: str) -> None:
    key = auth.load_or_create_key(stack.data_dir)
    claims = auth.organisation_claims("school", SCHOOL_A, None)
    token = {
        "issuer": lambda: auth.issue_token(key, claims, issuer="https://evil.example"),
        "audience": lambda: auth.issue_token(key, claims, audience="someone-else"),
        "signature": lambda: auth.issue_token(_other_key(), claims),
        "expired": lambda: auth.issue_token(key, claims, ttl=-60),
        "none": lambda: (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=")
                for p in ({"alg": "none"}, {**claims, "iss": auth.ISSUER, "aud": auth.AUDIENCE, "exp": 4102444800})
            )
            + "."
        ),
        "garbage": lambda: "not-a-jwt",
        "no_sub": lambda: auth.issue_token(key, {k: v for k, v in claims.items() if k != "sub"}),
    }[case]()
    reply = stack.call("GET", "/transfers", token)
    assert (reply.status_code, reply.json()) == (401, {"message": "Unauthorized"})


def test_no_token_unknown_route_and_a_good_token(stack: Stack) -> None:
    assert stack.call("GET", "/transfers").status_code == 401
    assert (stack.call("GET", "/nowhere").status_code, stack.call("GET", "/nowhere").json()) == (
        404,
        {"message": "Not Found"},
    )
    assert stack.call("GET", "/transfers", stack.school(SCHOOL_A)).status_code == 200
    # Unauthenticated routes stay open, as in the template.
    assert stack.call("GET", "/openapi.json").status_code == 200


def test_cors_for_the_portal_origin_only(stack: Stack) -> None:
    preflight = stack.call(
        "OPTIONS",
        "/transfers",
        headers={
            "Origin": stack.portal,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == stack.portal
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = stack.call("GET", "/transfers", stack.school(SCHOOL_A), headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    mine = stack.call("GET", "/transfers", stack.school(SCHOOL_A), headers={"Origin": stack.portal})
    assert mine.headers["Access-Control-Allow-Origin"] == stack.portal


def _authorize(stack: Stack, verifier: str, redirect: str | None = None, **identity: str) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": auth.CLIENT_ID,
        "redirect_uri": redirect or f"{stack.portal}/callback",
        "state": "xyz",
        "code_challenge": auth.s256(verifier),
        "code_challenge_method": "S256",
    }
    page = stack.call("GET", "/dev/authorize", params=params)
    assert page.status_code == 200 and "<form" in page.text and "<script" not in page.text
    form = {k: params[k] for k in ("client_id", "redirect_uri", "state", "code_challenge")}
    return stack.call("POST", "/dev/authorize", data={**form, **identity}, allow_redirects=False)


def _exchange(stack: Stack, code: str, verifier: str) -> requests.Response:
    return stack.call(
        "POST",
        "/dev/token",
        headers={"Origin": stack.portal},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": f"{stack.portal}/callback",
            "client_id": auth.CLIENT_ID,
        },
    )


def test_dev_sign_in_with_pkce_gives_a_working_token(stack: Stack) -> None:
    verifier = secrets.token_urlsafe(48)
    redirect = _authorize(stack, verifier, kind="school", org=SCHOOL_B, email="head@b.school.example")
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{stack.portal}/callback"
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]

    answer = _exchange(stack, query["code"][0], verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == stack.portal
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["id_token"] == tokens["access_token"]
    me = stack.call("GET", "/subscriptions/me", tokens["id_token"])
    assert me.status_code == 200 and me.json()["organisation"] == SCHOOL_B
    assert me.json()["email"] == "head@b.school.example"
    # A code works once.
    assert _exchange(stack, query["code"][0], verifier).json()["error"] == "invalid_grant"


def test_dev_sign_in_refuses_a_wrong_verifier_and_foreign_redirects(stack: Stack) -> None:
    verifier = secrets.token_urlsafe(48)
    redirect = _authorize(stack, verifier, kind="la", org=LA)
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    wrong = _exchange(stack, code, secrets.token_urlsafe(48))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")

    params = {
        "response_type": "code",
        "client_id": auth.CLIENT_ID,
        "redirect_uri": "http://evil.example/cb",
        "code_challenge": auth.s256(verifier),
        "code_challenge_method": "S256",
    }
    assert stack.call("GET", "/dev/authorize", params=params).status_code == 400


def test_the_portal_is_served_with_its_headers_and_config(stack: Stack) -> None:
    config = requests.get(f"{stack.portal}/config.json", timeout=10)
    assert config.json() == {
        "api_url": stack.api,
        "issuer": auth.ISSUER,
        "client_id": "s2s-portal",
        "authorize_url": f"{stack.api}/dev/authorize",
        "token_url": f"{stack.api}/dev/token",
    }
    page = requests.get(f"{stack.portal}/transfers/some-id", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and f"connect-src 'self' {stack.api} http://127.0.0.1:" in csp
    assert "frame-ancestors 'none'" in csp and page.headers["X-Content-Type-Options"] == "nosniff"
    index = ROOT / "portal" / "index.html"
    if index.is_file():
        assert page.content == index.read_bytes()
    else:
        assert "portal is not built" in page.text
    assert requests.get(f"{stack.portal}/../../etc/passwd.txt", timeout=10).status_code == 404


def test_a_port_in_use_is_one_line_and_exit_code_2(stack: Stack, tmp_path: Any) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "s2s_cli.main",
            "local",
            "serve",
            "--port",
            str(stack.port),
            "--portal-port",
            str(free_port()),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(rf"127\.0\.0\.1:{stack.port}", lines[0])


# ---------------------------------------------------------------- issue 15: the local stack's loose ends


def _bad_redirects(stack: Stack) -> dict[str, str]:
    callback = f"{stack.portal}/callback"
    host_port = stack.portal.split("//", 1)[1]
    return {
        "CRLF header injection": callback + "\r\nSet-Cookie: session=stolen",
        "NUL": callback + "\x00",
        "tab": callback + "\t",
        "DEL": callback + "\x7f",
        "C1 control": callback + "\x85",
        "another path": f"{stack.portal}/elsewhere",
        "a sub-path": callback + "/x",
        "a query": callback + "?next=//evil.example",
        "a fragment": callback + "#x",
        "the bare origin": stack.portal,
        "user info": f"http://someone@{host_port}/callback",
        "https": callback.replace("http://", "https://"),
    }


def test_dev_sign_in_takes_only_the_portals_exact_callback(stack: Stack) -> None:
    verifier = secrets.token_urlsafe(48)
    for name, redirect in _bad_redirects(stack).items():
        params = {
            "response_type": "code",
            "client_id": auth.CLIENT_ID,
            "redirect_uri": redirect,
            "state": "xyz",
            "code_challenge": auth.s256(verifier),
            "code_challenge_method": "S256",
        }
        page = stack.call("GET", "/dev/authorize", params=params)
        assert (page.status_code, page.json()["error"]) == (400, "invalid_request"), name
        form = {k: params[k] for k in ("client_id", "redirect_uri", "state", "code_challenge")}
        chosen = stack.call("POST", "/dev/authorize", data={**form, "kind": "school", "org": SCHOOL_A})
        assert chosen.status_code == 400 and "Location" not in chosen.headers, name
        assert "Set-Cookie" not in chosen.headers, name


def _raw_request(stack: Stack, head: str) -> str:
    """Send raw request bytes (no body) and return the status line. The socket gives up after 10 s:
    a server that waits for a body that never comes fails the test instead of hanging it."""
    import socket

    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        return sock.makefile("rb").readline().decode("latin-1").strip()


@pytest.mark.parametrize(
    "length",
    ["-1", "-99999", "+5", "abc", "1e3", "0x10", "99999999999999999999", "", "5, 6"],
)
def test_a_nonsense_content_length_is_400_at_once(stack: Stack, length: str) -> None:
    head = f"POST /transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"

    assert _raw_request(stack, head) == "HTTP/1.1 400 Bad Request"


def test_two_different_content_lengths_are_400_and_too_large_is_still_413(stack: Stack) -> None:
    twice = "POST /transfers HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
    assert _raw_request(stack, twice) == "HTTP/1.1 400 Bad Request"
    big = f"POST /transfers HTTP/1.1\r\nHost: x\r\nContent-Length: {2 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
    assert _raw_request(stack, big).startswith("HTTP/1.1 413")


def _ports_free(*ports: int) -> bool:
    import socket

    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def test_a_second_stack_on_another_port_runs_beside_the_first_with_its_portal_on_the_next_port(
    stack: Stack, tmp_path: Any
) -> None:
    from localstack import start_stack, stop_stack

    port = next(p for p in (free_port() for _ in range(20)) if _ports_free(p, p + 1))
    # Only --port: before issue 15 the portal stayed on 3001 whatever the API port.
    second = start_stack(tmp_path / "second", port, None)
    try:
        assert second.portal == f"http://127.0.0.1:{port + 1}"
        config = requests.get(f"{second.portal}/config.json", timeout=10).json()
        assert config["api_url"] == f"http://127.0.0.1:{port}"
        assert any(f"Portal:  http://127.0.0.1:{port + 1}" in line for line in second.output)
        # Both stacks answer, each its own.
        assert requests.get(f"{second.api}/openapi.json", timeout=10).status_code == 200
        assert requests.get(f"{stack.api}/openapi.json", timeout=10).status_code == 200
        assert requests.get(f"{stack.portal}/config.json", timeout=10).json()["api_url"] == stack.api
    finally:
        assert stop_stack(second) == 0, "\n".join(second.output)


def test_the_portal_port_defaults_to_the_api_port_plus_one() -> None:
    from s2s_cli.local.server import ServeOptions
    from s2s_cli.main import _parser

    args = _parser().parse_args(["local", "serve", "--port", "4000"])
    assert ServeOptions(args.host, args.port, args.portal_port).portal_port_in_use == 4001
    args = _parser().parse_args(["local", "serve", "--port", "4000", "--portal-port", "5000"])
    assert ServeOptions(args.host, args.port, args.portal_port).portal_port_in_use == 5000
    assert ServeOptions().portal_port_in_use == 3001


def test_the_consoles_logging_writes_each_handler_line_once() -> None:
    # The logging serve() sets up, then a warning from the handlers' logger, in a fresh process.
    code = (
        "from s2s_cli.local.server import configure_logging\n"
        "configure_logging()\n"
        "from s2s.runtime.log import logger\n"
        "logger.warning('security event', extra={'security_event': 'probe-1234'})\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("LOG_LEVEL", "AWS_LAMBDA_FUNCTION_NAME")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True, env=env
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "security event" in line]
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["security_event"] == "probe-1234"


def test_a_warning_of_the_running_stack_appears_once(stack: Stack) -> None:
    import boto3

    # An object nobody was given an upload for, put straight into the emulated bucket: the landing
    # check logs one security event and deletes it.
    csp = requests.get(f"{stack.portal}/config.json", timeout=10).headers["Content-Security-Policy"]
    sources = [part.rstrip(";") for part in csp.split()]
    moto = next(part for part in sources if part.startswith("http://127.0.0.1:") and part != stack.api)
    s3 = boto3.client(
        "s3", endpoint_url=moto, region_name="eu-west-2", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    marker = f"not-issued-{secrets.token_hex(4)}"
    start = len(stack.output)
    s3.put_object(Bucket="s2s-files", Key=f"incoming/{marker}/x.zip", Body=b"PK")

    wait_for(lambda: [line for line in list(stack.output) if "unexpected_object" in line and marker in line])
    wait_for(lambda: not s3.list_objects_v2(Bucket="s2s-files", Prefix=f"incoming/{marker}/").get("KeyCount"))
    # Once: as the JSON line. Before issue 15 the root logger repeated it as "WARNING s2s: security event".
    lines = [line for line in list(stack.output)[start:] if "security event" in line]
    assert len(lines) == 1, lines
    assert marker in lines[0]
