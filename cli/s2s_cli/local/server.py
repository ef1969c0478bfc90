"""`s2s local serve`: the whole service on one machine, no AWS account.

moto runs in server mode on a free loopback port (so presigned URLs work from any process), the
resources come from template.yaml, and an HTTP front plays API Gateway: it matches the template's
routes, checks bearer tokens as the JWT authorizer does, and invokes the same handlers in-process
with the HTTP API payload 2.0. Pollers play Lambda's SQS integration and EventBridge; sent emails
land as `.eml` files; the portal is served on its own port."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from s2s_cli.local import auth
from s2s_cli.local.functions import Handler
from s2s_cli.local.template import Route, http_routes, queue_consumers, schedules

log = logging.getLogger("local_stack")

REGION = "eu-west-2"
MAX_BODY_BYTES = 1024 * 1024
LOCAL_SENDER = "no-reply@s2s.localhost"


class PortInUse(Exception):
    """A port the stack needs is taken."""


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    # None: the port after the API's, so `--port 4000` runs a second stack beside the first.
    portal_port: int | None = None
    data_dir: Path = field(default_factory=lambda: Path(".s2s-local"))
    sweep_seconds: float = 60.0
    workers: int = 4  # concurrent execution environments per function

    @property
    def portal_port_in_use(self) -> int:
        if self.portal_port is not None:
            return self.portal_port
        return 0 if self.port == 0 else self.port + 1


# ------------------------------------------------------------------------------------------ routes


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    params: tuple[str, ...]


def compile_routes(routes: list[Route]) -> list[CompiledRoute]:
    """Path templates as regexes, the most specific first (fewest parameters), as API Gateway
    prefers `/uln/learners/search` to `/uln/learners/{uln}`."""
    compiled = []
    for route in routes:
        params = tuple(re.findall(r"{([^}/]+)}", route.path))
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"({[^}/]+})", route.path)
        )
        compiled.append(CompiledRoute(route, re.compile(f"^{regex}$"), params))
    return sorted(compiled, key=lambda c: len(c.params))


def match_route(routes: list[CompiledRoute], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for compiled in routes:
        if compiled.route.method != method:
            continue
        found = compiled.pattern.match(path)
        if found:
            return compiled.route, found.groupdict()
    return None


def http_event(
    route: Route,
    *,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    path_params: dict[str, str],
    claims: dict[str, str] | None,
    source_ip: str,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 for one request."""
    lower = {k.lower(): v for k, v in headers.items()}
    text_body: str | None = None
    is_base64 = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = datetime.now(UTC)
    # API Gateway (payload 2.0) joins a repeated parameter's values with commas.
    joined: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        joined.setdefault(name, []).append(value)
    query_params = {name: ",".join(values) for name, values in joined.items()} or None
    route_key = f"{route.method} {route.path}"
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "s2slocal",
        "domainName": lower.get("host", "127.0.0.1"),
        "domainPrefix": "s2slocal",
        "http": {
            "method": route.method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lower.get("user-agent", ""),
        },
        "requestId": f"local-{time.monotonic_ns()}",
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": context,
        "isBase64Encoded": is_base64,
        "queryStringParameters": query_params,
        "pathParameters": path_params or None,
    }
    if text_body is not None:
        event["body"] = text_body
    return event


# ------------------------------------------------------------------------------------------ the stack


class LocalStack:
    """Everything `s2s local serve` runs. `start()` then `stop()`; usable from tests in-process."""

    def __init__(self, options: ServeOptions, out: Callable[[str], None] = print) -> None:
        self.options = options
        self.out = out
        self.data_dir = options.data_dir.resolve()
        self.mail_dir = self.data_dir / "mail"
        self._threads: list[Any] = []
        self._workers: dict[str, Handler] = {}
        self._handlers_lock = threading.Lock()
        self._moto: Any = None
        self._lrs: Any = None
        self.api_server: ThreadingHTTPServer | None = None
        self.portal_server: ThreadingHTTPServer | None = None
        self.portal_config: Any = None
        self._lrs_registered: set[str] = set()
        self._lrs_lock = threading.Lock()

    # -- addresses
    @property
    def api_url(self) -> str:
        assert self.api_server is not None
        return f"http://{self.options.host}:{self.api_server.server_address[1]}"

    @property
    def portal_url(self) -> str:
        assert self.portal_server is not None
        return f"http://{self.options.host}:{self.portal_server.server_address[1]}"

    # -- lifecycle
    def start(self) -> None:
        from s2s_cli.local.portal import PortalConfig, make_portal_server

        host = self.options.host
        # Bind the public ports first, so a port in use fails before anything else starts.
        try:
            self.api_server = ThreadingHTTPServer((host, self.options.port), _api_handler(self))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{self.options.port} ({exc.strerror})") from None
        self.api_server.daemon_threads = True
        from s2s_cli.local.functions import per_environment_log_keys

        per_environment_log_keys()
        try:
            self.portal_server = make_portal_server(host, self.options.portal_port_in_use, lambda: self.portal_config)
        except OSError as exc:
            self.api_server.server_close()
            raise PortInUse(f"cannot listen on {host}:{self.options.portal_port_in_use} ({exc.strerror})") from None

        moto_origin = self._start_aws()
        self.portal_config = PortalConfig(self.api_url, moto_origin)
        self.key = auth.load_or_create_key(self.data_dir)
        self.sign_in = auth.DevSignIn(self.key, self.portal_url)
        self.portal_origin = self.portal_url
        from s2s_cli.local.mail import MailFolder

        self.mail = MailFolder(self.mail_dir, REGION, announce=self.out)
        self.routes = compile_routes(http_routes())
        self._start_plumbing()
        # The establishment directory: the fictional sample, and where `s2s directory import` finds the bucket.
        from s2s_cli.local.directory import load_sample, write_aws_file

        load_sample()
        write_aws_file(self.data_dir, moto_origin, self.resources.bucket, self.resources.table, self.api_url)
        for server in (self.api_server, self.portal_server):
            thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
            thread.start()

    def _start_aws(self) -> str:
        from moto.server import ThreadedMotoServer

        no_nagle_in_moto()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        moto_host, moto_port = self._moto.get_host_and_port()
        moto_origin = f"http://{moto_host}:{moto_port}"
        # Before any client exists: every boto3 client of this process talks to moto.
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": moto_origin,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        for name in ("AWS_PROFILE", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        # The handlers' JSON logs would drown the console; warnings and errors still show. There is
        # no CloudWatch to read embedded metrics here.
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        # ULN batches poll the fake LRS every second or two, not every minute as against the real one.
        os.environ.setdefault("ULN_BATCH_POLL_SECONDS", "1")
        import boto3

        from s2s_cli.local.template import create_resources

        def client(service: str) -> Any:
            return boto3.client(service, region_name=REGION, endpoint_url=moto_origin)  # type: ignore[call-overload]

        resources = create_resources(
            dynamodb=client("dynamodb"),
            s3=client("s3"),
            sns=client("sns"),
            sqs=client("sqs"),
            secrets=client("secretsmanager"),
            kms=client("kms"),
        )
        self.resources = resources
        sender = os.environ.get("SENDER_EMAIL") or LOCAL_SENDER
        client("ses").verify_email_identity(EmailAddress=sender)
        env = resources.environment()
        env.update({"PORTAL_URL": self.portal_url, "SENDER_EMAIL": sender})
        if not os.environ.get("LRS_ENDPOINT"):
            from s2s_cli.fake_lrs import start_fake_lrs

            self._lrs = start_fake_lrs("127.0.0.1", 0)
            env["LRS_ENDPOINT"] = self._lrs.url
        os.environ.update(env)
        from s2s.adapters.aws import reset_clients
        from s2s.runtime.settings import get_settings

        reset_clients()
        get_settings.cache_clear()
        self._sqs = client("sqs")
        return moto_origin

    def _start_plumbing(self) -> None:
        from s2s_cli.local.plumbing import QueuePoller, ScheduleTimer

        for consumer in queue_consumers():
            invoke = self._invoker(consumer.function, consumer.code_uri, consumer.handler)
            after = self.mail.collect if consumer.queue == "NotifyQueue" else None
            poller = QueuePoller(
                self._sqs,
                self.resources.queue_urls[consumer.queue],
                consumer.function,
                invoke,
                batch_size=consumer.batch_size,
                after_batch=after,
                region=REGION,
            )
            poller.start()
            self._threads.append(poller)
        for schedule in schedules():
            timer = ScheduleTimer(
                schedule.function,
                self._invoker(schedule.function, schedule.code_uri, schedule.handler),
                self.options.sweep_seconds,
            )
            timer.start()
            self._threads.append(timer)

    def _invoker(self, function: str, code_uri: str, handler: str) -> Handler:
        """Invoke a function's handler in one of its workers: several events of one function run at
        once, each in its own execution environment (its own copy of the handler module), as
        Lambda runs concurrent environments; each environment handles one event at a time."""
        from s2s_cli.local.functions import load_worker_handler
        from s2s_cli.local.plumbing import Workers

        with self._handlers_lock:
            workers = self._workers.get(function)
            if workers is None:
                workers = self._workers[function] = Workers(
                    lambda index: load_worker_handler(code_uri, handler, index), self.options.workers
                )
        return workers

    def register_with_fake_lrs(self, claims: dict[str, str]) -> None:
        """The first time an organisation's token is used on a ULN route, register the fake LRS's
        development account for it, through the ULN function's own PUT /uln/registration (checked with the
        fake like any registration), so the ULN walkthrough needs no set-up. Once per organisation
        per run: a registration the user then removes stays removed."""
        if self._lrs is None:
            return  # a real LRS (LRS_ENDPOINT given): its accounts are the user's to register
        from s2s.domain.errors import S2SError
        from s2s.domain.principal import principal_from_claims

        from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME

        try:
            principal = principal_from_claims(claims)
        except S2SError:
            return  # the function itself will refuse these claims
        if principal.kind not in ("school", "la"):
            return
        with self._lrs_lock:
            if principal.org in self._lrs_registered:
                return
            self._lrs_registered.add(principal.org)
            found = match_route(self.routes, "PUT", "/uln/registration")
            if found is None:
                return
            route, _ = found
            account = {"ukprn": DEFAULT_UKPRN, "username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
            event = http_event(
                route,
                path="/uln/registration",
                query="",
                headers={"content-type": "application/json"},
                body=json.dumps(account).encode(),
                path_params={},
                claims=claims,
                source_ip="127.0.0.1",
            )
            status = self.invoke_route(route, event).get("statusCode")
            if status != 204:
                log.warning("could not register the fake LRS account for %s (HTTP %s)", principal.org, status)

    def invoke_route(self, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        from s2s_cli.local.plumbing import LambdaContext

        result = self._invoker(route.function, route.code_uri, route.handler)(event, LambdaContext(route.function))
        return result if isinstance(result, dict) else {"statusCode": 200, "body": json.dumps(result)}

    def stop(self) -> None:
        for thread in self._threads:
            thread.stop()
        for server in (self.api_server, self.portal_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._lrs is not None:
            self._lrs.stop()
        if self._moto is not None:
            self._moto.stop()

    def banner(self) -> str:
        return "\n".join(
            [
                "S2S local stack is running (Ctrl-C stops it).",
                f"  API:     {self.api_url}",
                f"  Portal:  {self.portal_url}",
                f"  Emails:  {self.mail_dir}/ (one .eml file per email)",
                "",
                "Try:",
                f"  export S2S_API={self.api_url}",
                f"  export S2S_TOKEN=$(s2s local token --school 8231234 --data-dir {self.options.data_dir})",
                "  s2s outbox",
            ]
        )


def no_nagle_in_moto() -> None:
    """moto's server writes response headers and body apart too: without TCP_NODELAY every AWS call
    a handler makes waits out the client's delayed ACK (40 ms), which made the local stack ~2x slower
    under load (bench/bench_throughput.py)."""
    from moto import server as moto_server

    moto_server.MotoRequestHandler.disable_nagle_algorithm = True


# ------------------------------------------------------------------------------------------ HTTP front


def _api_handler(stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    class ApiHandler(BaseHTTPRequestHandler):
        server_version = "s2s-local"
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; with Nagle's algorithm on, the second waits for the
        # client's delayed ACK (40 ms on Linux) on every keep-alive request.
        disable_nagle_algorithm = True
        # A client that declares more body than it sends (or goes quiet) frees its thread.
        timeout = 30

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: request lines would carry presigned-URL-free but noisy detail; errors are logged."""

        # -- responses
        def _cors_headers(self) -> dict[str, str]:
            origin = self.headers.get("Origin")
            if origin and origin == stack.portal_origin:
                return {
                    "Access-Control-Allow-Origin": origin,
                    "Vary": "Origin",
                    "Access-Control-Expose-Headers": "Retry-After",
                }
            return {}

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            merged = {**headers, **self._cors_headers()}
            for name, value in merged.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            self._reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})

        # -- verbs
        def do_OPTIONS(self) -> None:
            headers: dict[str, str] = {}
            if self.headers.get("Origin") == stack.portal_origin:
                headers = {
                    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers": "authorization, content-type",
                    "Access-Control-Max-Age": "600",
                }
            self._reply(204, b"", headers)

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_PUT(self) -> None:
            self._dispatch()

        def do_PATCH(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def __getattr__(self, name: str) -> Callable[[], None]:
            """Any other method (HEAD, TRACE, CONNECT, made-up verbs) goes through the route table
            too, as API Gateway matches method and path together: a pair the template does not
            declare is its JSON 404, never http.server's 501 HTML page."""
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def _body(self) -> bytes | int:
            """The body, or the status refusing it at once (before any of it is read): 400 for a
            Content-Length that is not one number of bytes (negative, signed, not digits, absurdly
            long, given twice differently), 413 for one over the limit."""
            given = self.headers.get_all("Content-Length") or []
            if not given:
                return b""
            values = {v.strip() for v in given}
            value = values.pop() if len(values) == 1 else ""
            if not value or len(value) > 12 or not value.isascii() or not value.isdigit():
                return 400
            length = int(value)
            if length > MAX_BODY_BYTES:
                return 413
            return self.rfile.read(length) if length else b""

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, parts.query
            body = self._body()
            if isinstance(body, int):
                message = "Request Entity Too Large" if body == 413 else "Bad Request"
                self._json(body, {"message": message}, {"Connection": "close"})
                self.close_connection = True
                return
            if path.startswith("/dev/"):
                self._dev_sign_in(path, query, body)
                return
            found = match_route(stack.routes, self.command, path)
            if found is None:
                self._json(404, {"message": "Not Found"})
                return
            route, params = found
            claims: dict[str, str] | None = None
            if route.authorized:
                try:
                    token = auth.bearer_token(self.headers.get("Authorization"))
                    claims = auth.authorizer_claims(auth.verify_token(stack.key, token))
                except auth.InvalidToken:
                    self._json(401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer"})
                    return
                if route.path.startswith("/uln/"):  # only the ULN routes need an LRS account
                    try:
                        stack.register_with_fake_lrs(claims)
                    except Exception:
                        log.exception("registering the fake LRS account failed")
            event = http_event(
                route,
                path=path,
                query=query,
                headers=dict(self.headers.items()),
                body=body,
                path_params=params,
                claims=claims,
                source_ip=self.client_address[0],
            )
            try:
                result = stack.invoke_route(route, event)
            except Exception:
                log.exception("%s failed", route.function)
                self._json(500, {"message": "Internal Server Error"})
                return
            self._lambda_reply(result)

        def _lambda_reply(self, result: dict[str, Any]) -> None:
            headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
            for name, values in (result.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(str(v) for v in values)
            raw = result.get("body") or ""
            body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
            if body:  # a 204 or an empty answer carries no media type
                headers.setdefault("Content-Type", "application/json")
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            self._reply(int(result.get("statusCode", 200)), body, headers)

        def _dev_sign_in(self, path: str, query: str, body: bytes) -> None:
            try:
                if path == "/dev/authorize" and self.command == "GET":
                    page = stack.sign_in.authorize_page(dict(parse_qsl(query)))
                    self._reply(
                        200,
                        page.encode(),
                        {
                            "Content-Type": "text/html; charset=utf-8",
                            "Content-Security-Policy": "default-src 'none'; form-action 'self' "
                            f"{stack.portal_origin}; frame-ancestors 'none'",
                            "X-Content-Type-Options": "nosniff",
                            "Cache-Control": "no-store",
                        },
                    )
                elif path == "/dev/authorize" and self.command == "POST":
                    location = stack.sign_in.authorize(dict(parse_qsl(body.decode("utf-8", "replace"))))
                    self._reply(302, b"", {"Location": location, "Cache-Control": "no-store"})
                elif path == "/dev/token" and self.command == "POST":
                    answer = stack.sign_in.exchange(dict(parse_qsl(body.decode("utf-8", "replace"))))
                    self._json(200, answer, {"Cache-Control": "no-store"})
                else:
                    self._json(404, {"message": "Not Found"})
            except auth.SignInError as exc:
                self._json(400, {"error": exc.error, "error_description": exc.description})

    return ApiHandler


# ------------------------------------------------------------------------------------------ command


def configure_logging() -> None:
    """One line per record on the console. The handlers' logger (`s2s`) writes its own JSON lines
    to stdout; it used to propagate to the root handler set up here too, so every warning of a
    handler appeared twice (once as JSON, once as `WARNING s2s: ...`)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # moto's werkzeug server logs every request at INFO; the console is for emails and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # The handlers' JSON logs would drown the console; warnings and errors still show. Set before
    # s2s.runtime.log is imported, which reads it once.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import s2s.runtime.log  # noqa: F401 - configures the `s2s` logger, which then writes to stdout alone

    logging.getLogger("s2s").propagate = False


def serve(options: ServeOptions) -> int:
    """Run until Ctrl-C (or SIGTERM). Exit code 2 when a port is in use."""
    configure_logging()
    stack = LocalStack(options, out=lambda line: print(line, flush=True))
    try:
        stack.start()
    except PortInUse as exc:
        print(f"s2s local serve: {exc}; choose another with --port/--portal-port", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(stack.banner(), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


def data_dir_default() -> Path:
    return Path(os.environ.get("S2S_LOCAL_DATA", ".s2s-local"))
