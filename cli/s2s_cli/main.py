"""The `s2s` command: the local stack (`s2s local serve|token`), publishing the web portal to a
deployed stack (`s2s portal publish`) and the client for people and MIS scripts (pack, send,
inbox, outbox, show, download, remove, report, lost-pupils, uln, subscribe).

Errors are one readable line on stderr. Exit codes: 0 done, 1 the service refused (code, message
and a suggestion), 2 usage (or a port in use for `local serve`), 3 cannot connect."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from s2s_cli.client import ClientError, S2SClient, ServiceRefused, UsageError, sha256_file

FINAL_STATES = ("available", "rejected", "downloaded", "withdrawn", "removed", "expired")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2s", description="S2S: secure school-to-school file transfer.")
    parser.add_argument("--api", default=os.environ.get("S2S_API"), help="API URL (or S2S_API)")
    parser.add_argument("--token", default=os.environ.get("S2S_TOKEN"), help="bearer token (or S2S_TOKEN)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = sub.add_parser("local", help="the whole service on this machine").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    serve = local.add_parser("serve", help="run the local stack until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--portal-port", type=int, default=None, help="the web portal's port (default: the API port + 1)"
    )
    serve.add_argument("--data-dir", type=Path, default=Path(".s2s-local"))
    serve.add_argument("--sweep-seconds", type=float, default=60.0, help="how often the expiry sweep runs")
    token = local.add_parser("token", help="print a token the local stack accepts")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--school", metavar="LAESTAB")
    who.add_argument("--la", metavar="CODE")
    who.add_argument("--dfe", action="store_true")
    token.add_argument("--email")
    token.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    token.add_argument("--data-dir", type=Path, default=Path(".s2s-local"))

    portal = sub.add_parser("portal", help="the web portal of a deployed stack").add_subparsers(
        dest="portal_command", required=True, metavar="COMMAND"
    )
    publish = portal.add_parser(
        "publish", help="upload portal/ and its config.json to the stack's bucket and refresh CloudFront"
    )
    publish.add_argument("--stack", required=True, help="the CloudFormation stack `sam deploy` made")
    publish.add_argument("--region", help="the stack's region (else AWS_REGION or the AWS config)")
    publish.add_argument("--portal-dir", type=Path, help="the portal folder (else this checkout's portal/)")
    publish.add_argument("--authorize-url", help="the sign-in authorize endpoint (else OpenID discovery)")
    publish.add_argument("--token-url", help="the sign-in token endpoint (else OpenID discovery)")
    publish.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")

    p = sub.add_parser("pack", help="check a CTF/ATF header against its name and zip it with AES-256")
    p.add_argument("file", type=Path)
    p.add_argument("--password-file", type=Path, help="read the password from this file (else a prompt)")
    p.add_argument("-o", "--output-dir", type=Path)

    p = sub.add_parser("send", help="upload a zip named by the protocol")
    p.add_argument("file", type=Path)
    p.add_argument("--upn", help="the pupil's UPN (Lost Pupils Database files)")
    p.add_argument("--wait", action="store_true", help="wait until it is available or rejected")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds --wait waits")

    for name, text in (("inbox", "files addressed to you"), ("outbox", "files you sent")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--status")
        p.add_argument("--json", action="store_true", help="print the JSON answer")

    p = sub.add_parser("show", help="a transfer, its audit trail and download receipts")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("download", help="download a file addressed to you")
    p.add_argument("id")
    p.add_argument("-o", "--output-dir", type=Path, default=Path())
    p = sub.add_parser("remove", help="withdraw (sender) or remove (recipient) a file")
    p.add_argument("id")

    p = sub.add_parser("report", help="transfers per month or per school")
    p.add_argument("--la")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD")
    p.add_argument("--group-by", choices=("month", "school"))
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    p = sub.add_parser("lost-pupils", help="Lost Pupils Database files for a UPN")
    p.add_argument("upn")

    uln = sub.add_parser("uln", help="Unique Learner Numbers through the LRS").add_subparsers(
        dest="uln_command", required=True, metavar="COMMAND"
    )
    reg = uln.add_parser("register", help="register a learner")
    _learner_args(reg, required=True)
    reg.add_argument("--verification-type", type=int, required=True)
    reg.add_argument("--ability-to-share", type=int, required=True)
    reg.add_argument("--email")
    find = uln.add_parser("find", help="find a learner by ULN")
    find.add_argument("uln")
    find.add_argument("--given-name", required=True)
    find.add_argument("--family-name", required=True)
    search = uln.add_parser("search", help="find a learner by demographics")
    _learner_args(search, required=True)
    update = uln.add_parser("update", help="update a learner")
    update.add_argument("uln")
    _learner_args(update, required=False)
    update.add_argument("--verification-type", type=int)
    update.add_argument("--ability-to-share", type=int)
    update.add_argument("--email")

    p = sub.add_parser("subscribe", help="get emails about your organisation's files")
    p.add_argument("--off", action="store_true", help="stop the emails")

    # `--api` and `--token` also after the command (`s2s inbox --token ...`), as people type them.
    leaves = [p for name, p in sub.choices.items() if name not in ("local", "portal", "uln")]
    leaves += list(uln.choices.values())
    for leaf in leaves:
        leaf.add_argument("--api", default=argparse.SUPPRESS, help="API URL (or S2S_API)")
        leaf.add_argument("--token", default=argparse.SUPPRESS, help="bearer token (or S2S_TOKEN)")
    return parser


def _learner_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--given-name", required=required)
    parser.add_argument("--family-name", required=required)
    parser.add_argument("--dob", required=required, metavar="YYYY-MM-DD")
    parser.add_argument("--gender", type=int, required=required, help="0 not known, 1 male, 2 female, 9 not specified")
    parser.add_argument("--postcode", required=required)
    parser.add_argument("--previous-family-name")


# ------------------------------------------------------------------------------------------ local


def _local(args: argparse.Namespace) -> int:
    if args.local_command == "serve":
        from s2s_cli.local.server import ServeOptions, serve

        return serve(ServeOptions(args.host, args.port, args.portal_port, args.data_dir, args.sweep_seconds))
    from s2s_cli.local import auth

    kind: auth.Kind = "school" if args.school else "la" if args.la else "dfe"
    org = args.school or args.la
    try:
        claims = auth.organisation_claims(kind, org, args.email)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(auth.issue_token(auth.load_or_create_key(args.data_dir), claims, ttl=args.ttl))
    return 0


def _portal(args: argparse.Namespace) -> int:
    from s2s_cli.portal_publish import PORTAL_DIR, Options, publish

    return publish(
        Options(
            stack=args.stack,
            portal_dir=args.portal_dir or PORTAL_DIR,
            region=args.region,
            authorize_url=args.authorize_url,
            token_url=args.token_url,
            dry_run=args.dry_run,
        )
    )


# ------------------------------------------------------------------------------------------ client


def _client(args: argparse.Namespace) -> S2SClient:
    if not args.api:
        raise UsageError("no API URL: pass --api URL or set S2S_API")
    if not args.token:
        raise UsageError("no token: pass --token or set S2S_TOKEN (locally: s2s local token --school LAESTAB)")
    return S2SClient(args.api, args.token, show_progress=not args.no_progress and sys.stderr.isatty())


def _password(args: argparse.Namespace) -> bytes:
    if args.password_file:
        try:
            return args.password_file.read_text().strip("\r\n").encode()
        except OSError as exc:
            raise UsageError(f"cannot read {args.password_file}: {exc.strerror}") from None
    first = getpass.getpass("Password for the zip: ")
    if getpass.getpass("Same password again: ") != first:
        raise UsageError("the passwords differ")
    return first.encode()


def _pack(args: argparse.Namespace) -> int:
    from s2s_cli.pack import PackError, pack

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        target = pack(args.file, _password(args), args.output_dir)
    except PackError as exc:
        raise ClientError(str(exc)) from None
    print(target)
    return 0


def _send(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    client = _client(args)
    ticket = client.create_transfer(path.name, path.stat().st_size, sha256_file(path), args.upn)
    transfer_id = ticket["transfer_id"]
    client.upload(ticket["upload"], path)
    print(f"{transfer_id} uploaded: {path.name} to {ticket['destination']}")
    if not args.wait:
        return 0
    deadline = time.monotonic() + args.timeout
    while True:
        detail = client.request("GET", f"/transfers/{transfer_id}")
        if detail["status"] in FINAL_STATES:
            break
        if time.monotonic() > deadline:
            raise ClientError(
                f"{transfer_id} is still {detail['status']} after {args.timeout:.0f} s; "
                f"check later with s2s show {transfer_id}"
            )
        time.sleep(0.5)
    if detail["status"] == "rejected":
        print(f"{transfer_id} rejected: {detail.get('reason')}: {detail.get('reason_message') or ''}".rstrip(": "))
        return 1
    print(f"{transfer_id} {detail['status']}")
    return 0


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    cells = [[str(r.get(key) if r.get(key) is not None else "") for key, _ in columns] for r in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (_, title) in enumerate(columns)]
    lines = ["  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {"box": args.command}
    if args.status:
        params["status"] = args.status
    items: list[dict[str, Any]] = []
    while True:
        page = client.request("GET", "/transfers", params=params)
        items += page["items"]
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    other = ("source", "From") if args.command == "inbox" else ("destination", "To")
    print(
        _table(
            items,
            [
                ("transfer_id", "ID"),
                ("filename", "File"),
                other,
                ("status", "Status"),
                ("size_bytes", "Bytes"),
                ("created_at", "Sent"),
            ],
        )
        if items
        else f"No files in your {args.command}."
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    detail = _client(args).request("GET", f"/transfers/{args.id}")
    if args.json:
        print(json.dumps(detail, indent=2))
        return 0
    for key in (
        "transfer_id",
        "filename",
        "source",
        "source_name",
        "destination",
        "status",
        "reason",
        "reason_message",
        "size_bytes",
        "sha256",
        "created_at",
        "available_at",
        "downloaded_at",
        "expires_at",
    ):
        if detail.get(key) not in (None, ""):
            print(f"{key.replace('_', ' ').capitalize():15} {detail[key]}")
    for receipt in detail.get("downloads", []):
        who = f"{receipt['user']} " if receipt.get("user") else ""  # only for your own organisation's people
        print(f"Downloaded      {receipt['at']} by {who}({receipt['organisation']})")
    return 0


def _download(args: argparse.Namespace) -> int:
    client = _client(args)
    detail = client.request("GET", f"/transfers/{args.id}")
    if not args.output_dir.is_dir():
        raise UsageError(f"{args.output_dir}: no such folder")
    target = client.download(args.id, args.output_dir, detail.get("sha256"), detail["filename"])
    print(target)
    return 0


def _remove(args: argparse.Namespace) -> int:
    _client(args).request("DELETE", f"/transfers/{args.id}")
    print(f"{args.id} removed")
    return 0


def _report(args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in (
            ("la", args.la),
            ("from", args.date_from),
            ("to", args.date_to),
            ("group_by", args.group_by),
        )
        if v
    }
    client = _client(args)
    if args.csv:
        print(client.request("GET", "/reports/transfers", params={**params, "format": "csv"}, text=True), end="")
        return 0
    report = client.request("GET", "/reports/transfers", params=params)
    rows = report.get("rows", [])
    metrics = [k for k in report.get("totals", {}) if not isinstance(report["totals"][k], dict | list)]
    first = (
        [("month", "Month")]
        if report.get("group_by", "month") == "month"
        else [("school", "School"), ("school_name", "Name")]
    )
    print(f"Transfers for {report.get('scope')} from {report.get('date_from')} to {report.get('date_to')}")
    columns = first + [(m, m.replace("_", " ").capitalize()) for m in metrics]
    totals = {**report.get("totals", {}), first[0][0]: "Total"}
    print(_table([*rows, totals], columns))
    return 0


def _lost_pupils(args: argparse.Namespace) -> int:
    answer = _client(args).request("GET", "/lost-pupils", params={"upn": args.upn})
    items = answer.get("items", [])
    print(
        _table(
            items,
            [
                ("transfer_id", "ID"),
                ("filename", "File"),
                ("source", "From"),
                ("status", "Status"),
                ("created_at", "Sent"),
            ],
        )
        if items
        else f"No Lost Pupils Database files for {answer.get('upn')}."
    )
    return 0


def _learner_body(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "given_name": args.given_name,
        "family_name": args.family_name,
        "date_of_birth": args.dob,
        "gender": args.gender,
        "postcode": args.postcode,
        "previous_family_name": args.previous_family_name,
    }
    for name in ("verification_type", "ability_to_share"):
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    if getattr(args, "email", None):
        fields["email_address"] = args.email
    return {k: v for k, v in fields.items() if v is not None}


def _uln(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.uln_command == "register":
        answer = client.request("POST", "/uln/learners", json_body=_learner_body(args))
    elif args.uln_command == "find":
        answer = client.request(
            "GET",
            f"/uln/learners/{args.uln}",
            params={"given_name": args.given_name, "family_name": args.family_name},
        )
    elif args.uln_command == "search":
        answer = client.request("POST", "/uln/learners/search", json_body=_learner_body(args))
    else:
        body = _learner_body(args)
        if not body:
            raise UsageError("nothing to update: give at least one field")
        answer = client.request("PATCH", f"/uln/learners/{args.uln}", json_body=body)
    print(json.dumps(answer, indent=2))
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    answer = _client(args).request("DELETE" if args.off else "PUT", "/subscriptions/me")
    if answer is None:
        answer = {"subscribed": False}
    state = "on" if answer.get("subscribed") else "off"
    where = f" for {answer['organisation']} at {answer['email']}" if answer.get("email") else ""
    print(f"Emails {state}{where}")
    return 0


COMMANDS = {
    "pack": _pack,
    "send": _send,
    "inbox": _list,
    "outbox": _list,
    "show": _show,
    "download": _download,
    "remove": _remove,
    "report": _report,
    "lost-pupils": _lost_pupils,
    "uln": _uln,
    "subscribe": _subscribe,
    "local": _local,
    "portal": _portal,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage line
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except ServiceRefused as exc:
        print(f"s2s: refused: {exc}", file=sys.stderr)
        return exc.exit_code
    except ClientError as exc:
        print(f"s2s: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("s2s: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
