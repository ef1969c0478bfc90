"""The `s2s` command: the local stack (`s2s local serve|token`), publishing the web portal to a
deployed stack (`s2s portal publish`) and the client for people and MIS scripts (pack, send,
inbox, outbox, show, download, remove, report, lost-pupils, uln, message, subscribe).

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

from s2s_cli import display
from s2s_cli.client import ClientError, S2SClient, ServiceRefused, UsageError, sha256_file
from s2s_cli.display import STATUS_WORDS

FINAL_STATES = ("available", "rejected", "downloaded", "withdrawn", "removed", "expired")


EXAMPLES = """\
examples:
  s2s local serve                               the whole service on this machine (Ctrl-C stops it)
  export S2S_API=http://127.0.0.1:3000
  export S2S_TOKEN=$(s2s local token --school 8231234)
  s2s pack 8231234_CTF_8232345_001.XML --password-file zip-password.txt
  s2s send 8231234_CTF_8232345_001.zip --wait
  s2s inbox                                     files sent to you
  s2s download TRANSFER_ID -o downloads/
  s2s show TRANSFER_ID                          a file's details and history
  s2s outbox --json                             what you sent, as JSON for scripts
  s2s message send --to 8232345 --subject 'Password for the zip' --body-file zip-password.txt
  s2s message list                              secure messages to you (s2s message read ID)

getting a token:
  Every command but `local` and `pack` needs a bearer token (--token or S2S_TOKEN) and the API's
  URL (--api or S2S_API). Against the local stack, `s2s local token --school LAESTAB` (or --la
  CODE, or --dfe) prints one. Against a deployed S2S, use the ID token DfE Sign-in issues to your
  organisation's S2S client (your MIS supplier or IT service sets this up); tokens expire, so ask
  for a new one when s2s says yours has.

exit codes: 0 done, 1 the service refused (or a check failed), 2 usage, 3 cannot connect
"""

# Help for options whose definition another part of the code owns (the local stack's ports).
MISSING_HELP = {
    "port": "the API's port on 127.0.0.1",
    "portal_port": "the web portal's port",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout and shows each option's default when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or "default" in text or not action.option_strings:
            return text
        if default is None or default is argparse.SUPPRESS or isinstance(default, bool):
            return text
        return text + " (default: %(default)s)"


def _sub(parent: Any, name: str, text: str, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = parent.add_parser(
        name,
        help=text,
        description=kwargs.pop("description", text[:1].upper() + text[1:] + "."),
        formatter_class=HelpFormatter,
        **kwargs,
    )
    return parser


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the answer as JSON (for scripts) instead of text")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2s",
        description="S2S: secure school-to-school file transfer.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--api", default=None, help="the API's URL (default: the S2S_API environment variable)")
    parser.add_argument("--token", default=None, help="your bearer token (default: the S2S_TOKEN environment variable)")
    parser.add_argument("--no-progress", action="store_true", help="draw no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = _sub(sub, "local", "the whole service on this machine").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    serve = _sub(local, "serve", "run the local stack until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--portal-port", type=int, default=None, help="the web portal's port (default: the API port + 1)"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the stack keeps its signing key and emails (default: S2S_DATA_DIR, else ./.s2s-local)",
    )
    serve.add_argument("--sweep-seconds", type=float, default=60.0, help="how often the expiry sweep runs")
    for action in serve._actions:
        if action.help is None and action.dest in MISSING_HELP:
            action.help = MISSING_HELP[action.dest]
    token = _sub(local, "token", "print a token the local stack accepts")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--school", metavar="LAESTAB", help="a token for this school")
    who.add_argument("--la", metavar="CODE", help="a token for this local authority (3-digit code)")
    who.add_argument("--dfe", action="store_true", help="a token for a Department for Education user")
    token.add_argument("--email", help="the user's email address in the token (default: one made from the org)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    token.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the stack's data folder (default: S2S_DATA_DIR, else the running `s2s local serve`'s, else ./.s2s-local)",
    )

    portal = _sub(sub, "portal", "the web portal of a deployed stack").add_subparsers(
        dest="portal_command", required=True, metavar="COMMAND"
    )
    publish = _sub(portal, "publish", "upload portal/ and its config.json to the stack's bucket and refresh CloudFront")
    publish.add_argument("--stack", required=True, help="the CloudFormation stack `sam deploy` made")
    publish.add_argument("--region", help="the stack's region (default: AWS_REGION or the AWS config)")
    publish.add_argument("--portal-dir", type=Path, help="the portal folder (default: this checkout's portal/)")
    publish.add_argument("--authorize-url", help="the sign-in authorize endpoint (default: OpenID discovery)")
    publish.add_argument("--token-url", help="the sign-in token endpoint (default: OpenID discovery)")
    publish.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")

    p = _sub(sub, "pack", "check a CTF/ATF header against its name and zip it with AES-256")
    p.add_argument("file", type=Path, help="the .XML file your MIS exported, named by the protocol")
    p.add_argument(
        "--password-file", type=Path, help="read the zip's password from this file (default: ask at the terminal)"
    )
    p.add_argument("-o", "--output-dir", type=Path, help="where to write the zip (default: beside the XML file)")
    p.add_argument("--force", action="store_true", help="replace a zip of the same name that is already there")
    _json_flag(p)

    p = _sub(sub, "send", "upload a zip named by the protocol")
    p.add_argument("file", type=Path, help="the encrypted zip, e.g. 8231234_CTF_8232345_001.zip")
    p.add_argument("--upn", help="the pupil's UPN (files for the Lost Pupils Database only)")
    p.add_argument("--wait", action="store_true", help="wait until the service has checked it (accepted or rejected)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds --wait waits")
    p.add_argument(
        "--again",
        action="store_true",
        help="send it even though a file of the same name to the same place is still waiting",
    )
    _json_flag(p)

    for name, text in (("inbox", "files addressed to you"), ("outbox", "files you sent")):
        p = _sub(sub, name, text)
        p.add_argument(
            "--status",
            choices=tuple(STATUS_WORDS),
            help="only files in this status (default: every status)",
        )
        _json_flag(p)

    p = _sub(sub, "show", "a transfer: its details, history and download receipts")
    p.add_argument("id", help="the transfer's id (from inbox, outbox or the email's link)")
    _json_flag(p)
    p = _sub(sub, "download", "download a file addressed to you (its SHA-256 is checked)")
    p.add_argument("id", help="the transfer's id")
    p.add_argument("-o", "--output-dir", type=Path, default=Path(), help="the folder to save it in")
    _json_flag(p)
    p = _sub(sub, "remove", "withdraw (sender) or remove (recipient) a file")
    p.add_argument("id", help="the transfer's id")
    _json_flag(p)

    p = _sub(sub, "report", "transfers per month or per school")
    p.add_argument("--la", help="the LA's 3-digit code (default: your own LA; DfE users: England)")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="the first day (default: 1 January)")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="the last day (default: today)")
    p.add_argument("--group-by", choices=("month", "school"), help="one row per month or school (default: month)")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    _json_flag(p)

    p = _sub(sub, "lost-pupils", "Lost Pupils Database files for a UPN")
    p.add_argument("upn", help="the pupil's 13-character UPN")
    _json_flag(p)

    uln = _sub(sub, "uln", "Unique Learner Numbers through the LRS").add_subparsers(
        dest="uln_command", required=True, metavar="COMMAND"
    )
    reg = _sub(uln, "register", "register a learner")
    _learner_args(reg, required=True)
    reg.add_argument("--verification-type", type=int, required=True, help="the LRS verification type code")
    reg.add_argument("--ability-to-share", type=int, required=True, help="the LRS ability-to-share code")
    reg.add_argument("--email", help="the learner's email address")
    find = _sub(uln, "find", "find a learner by ULN")
    find.add_argument("uln", help="the 10-digit ULN")
    find.add_argument("--given-name", required=True, help="the learner's given name")
    find.add_argument("--family-name", required=True, help="the learner's family name")
    search = _sub(uln, "search", "find a learner by demographics")
    _learner_args(search, required=True)
    update = _sub(uln, "update", "update a learner")
    update.add_argument("uln", help="the 10-digit ULN")
    _learner_args(update, required=False)
    update.add_argument("--verification-type", type=int, help="the LRS verification type code")
    update.add_argument("--ability-to-share", type=int, help="the LRS ability-to-share code")
    update.add_argument("--email", help="the learner's email address")
    batch = _sub(uln, "batch", "register or verify a whole CTF of pupils (the ULN service in bulk)")
    from s2s_cli import uln_batch

    uln_batch.add_arguments(batch)
    account = _sub(
        uln,
        "registration",
        "your organisation's LRS account: show it; register it with --username; --forget it",
    )
    ids = account.add_mutually_exclusive_group()
    ids.add_argument("--ukprn", help="your organisation's UKPRN (8 digits)")
    ids.add_argument("--organisation-ref", help="your LRS organisation reference, if you have no UKPRN")
    account.add_argument("--username", help="register: the LRS web service user name (asks for the password)")
    account.add_argument(
        "--password-file", type=Path, help="read the password from this file instead of asking (never printed)"
    )
    account.add_argument("--forget", action="store_true", help="remove your organisation's LRS account from S2S")
    for leaf in (reg, find, search, update, account, batch):
        _json_flag(leaf)

    message = _sub(sub, "message", "secure messages to and from other schools and LAs").add_subparsers(
        dest="message_command", required=True, metavar="COMMAND"
    )
    msend = _sub(
        message,
        "send",
        "send a secure message (the body from --body-file, else from standard input)",
        epilog="example:\n  s2s message send --to 8232345 --subject 'Password for 8231234_CTF_8232345_001.zip' "
        "--body-file zip-password.txt",
    )
    msend.add_argument("--to", required=True, metavar="ORG", help="a school's LAESTAB, or <LA>LLLL for an LA")
    msend.add_argument("--subject", required=True, help="one line, at most 120 characters (no secrets: lists show it)")
    msend.add_argument("--body-file", type=Path, help="read the body from this file (default: standard input)")
    msend.add_argument("--transfer", metavar="TRANSFER_ID", help="the file this message is about")
    msend.add_argument("--reply-to", metavar="MESSAGE_ID", help="the message this answers (its thread)")
    mlist = _sub(message, "list", "your messages, newest first")
    mlist.add_argument("--sent", action="store_true", help="the messages you sent (default: those you received)")
    mlist.add_argument("--unread", action="store_true", help="only messages nobody at your organisation has read")
    mread = _sub(message, "read", "a message and its thread (reading it sends the sender a read receipt)")
    mread.add_argument("id", help="the message's id (from s2s message list or the email's link)")
    for leaf in (msend, mlist, mread):
        _json_flag(leaf)

    directory = _sub(sub, "directory", "find a school: the establishment directory").add_subparsers(
        dest="directory_command", required=True, metavar="COMMAND"
    )
    dsearch = _sub(directory, "search", "find establishments by words of the name, LAESTAB, URN or postcode")
    dsearch.add_argument("words", nargs="*", help="words of the name (or a LAESTAB or URN)")
    dsearch.add_argument("--la", help="only this LA's establishments (3-digit code)")
    dsearch.add_argument("--postcode", help="only establishments whose postcode starts so")
    dsearch.add_argument("--status", choices=("open", "closed", "any"), default="any", help="open, closed or any")
    dsearch.add_argument("--limit", type=int, default=20, help="at most this many")
    dshow = _sub(directory, "show", "one establishment, with its predecessors and successors")
    dshow.add_argument("laestab", help="the 7-digit LAESTAB, e.g. 8234001")
    dimport = _sub(
        directory,
        "import",
        "load GIAS files into the running local stack",
        description="Load the GIAS 'all establishment data' CSV (and its links CSV) into the running local "
        "stack: the files go to its bucket under directory/, as an upload to a deployed stack's bucket does, and "
        "the command returns once searches answer from the new load.",
    )
    dimport.add_argument("file", type=Path, help="the establishments CSV (edubasealldataYYYYMMDD.csv)")
    dimport.add_argument("--links", type=Path, help="the links CSV (links_edubasealldataYYYYMMDD.csv)")
    dimport.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the stack's data folder (default: S2S_DATA_DIR, else the running `s2s local serve`'s, else ./.s2s-local)",
    )
    dimport.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the import")
    dimport.add_argument(
        "--accept-smaller",
        action="store_true",
        help="load the file even when it has far fewer establishments than the current directory "
        "(puts directory/ACCEPT-SMALLER, as an operator does in a deployed stack's bucket)",
    )
    for leaf in (dsearch, dshow, dimport):
        _json_flag(leaf)
    for leaf in (dsearch, dshow):
        leaf.add_argument("--api", default=argparse.SUPPRESS, help="the API's URL (default: S2S_API)")
        leaf.add_argument("--token", default=argparse.SUPPRESS, help="your bearer token (default: S2S_TOKEN)")

    p = _sub(sub, "subscribe", "get emails about your organisation's files")
    p.add_argument("--off", action="store_true", help="stop the emails")
    _json_flag(p)

    # `--api` and `--token` also after the command (`s2s inbox --token ...`), as people type them.
    leaves = [
        p for name, p in sub.choices.items() if name not in ("local", "portal", "uln", "pack", "message", "directory")
    ]
    leaves += [reg, find, search, update, account, batch]
    leaves += [msend, mlist, mread]
    for leaf in leaves:
        leaf.add_argument("--api", default=argparse.SUPPRESS, help="the API's URL (default: S2S_API)")
        leaf.add_argument("--token", default=argparse.SUPPRESS, help="your bearer token (default: S2S_TOKEN)")
    return parser


def _learner_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--given-name", required=required, help="the learner's given name")
    parser.add_argument("--family-name", required=required, help="the learner's family name")
    parser.add_argument("--dob", required=required, metavar="YYYY-MM-DD", help="the learner's date of birth")
    parser.add_argument("--gender", type=int, required=required, help="0 not known, 1 male, 2 female, 9 not specified")
    parser.add_argument("--postcode", required=required, help="the learner's postcode")
    parser.add_argument("--previous-family-name", help="an earlier family name, if any")


# ------------------------------------------------------------------------------------------ local


def _local(args: argparse.Namespace) -> int:
    from s2s_cli.local import state

    if args.local_command == "serve":
        from s2s_cli.local.portal import missing_assets
        from s2s_cli.local.server import ServeOptions, serve

        missing = missing_assets()
        if missing:
            print(
                f"s2s local serve: the portal's GOV.UK Frontend files are missing ({', '.join(missing)}): "
                "run `make setup` first; the API works without them",
                file=sys.stderr,
            )
        data_dir = state.serve_data_dir(args.data_dir)
        api_url = f"http://{args.host}:{args.port}" if args.port else None
        state.record(data_dir, api_url)
        try:
            return serve(ServeOptions(args.host, args.port, args.portal_port, data_dir, args.sweep_seconds))
        finally:
            state.forget()
    from s2s_cli.local import auth

    kind: auth.Kind = "school" if args.school else "la" if args.la else "dfe"
    org = args.school or args.la
    try:
        claims = auth.organisation_claims(kind, org, args.email)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    data_dir = state.find_data_dir(args.data_dir)
    print(auth.issue_token(auth.load_or_create_key(data_dir), claims, ttl=args.ttl))
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
    api = args.api or os.environ.get("S2S_API")
    token = args.token or os.environ.get("S2S_TOKEN")
    if not api:
        raise UsageError("no API URL: pass --api URL or set S2S_API (s2s local serve prints it)")
    if not token:
        hint = "s2s local token --school LAESTAB" if _is_loopback(api) else "see `s2s --help`: getting a token"
        raise UsageError(f"no token: pass --token or set S2S_TOKEN ({hint})")
    return S2SClient(api, token, show_progress=not args.no_progress and sys.stderr.isatty())


def _is_loopback(url: str) -> bool:
    from s2s_cli.client import is_local

    return is_local(url)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _password(args: argparse.Namespace) -> bytes:
    if args.password_file:
        try:
            return args.password_file.read_text().strip("\r\n").encode()
        except OSError as exc:
            raise UsageError(f"cannot read {args.password_file}: {exc.strerror}") from None
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the zip's password: pass --password-file FILE")
    try:
        first = getpass.getpass("Password for the zip: ")
        again = getpass.getpass("Same password again: ")
    except (EOFError, OSError):
        raise UsageError("the password could not be read: pass --password-file FILE") from None
    if again != first:
        raise UsageError("the passwords differ")
    return first.encode()


def _pack(args: argparse.Namespace) -> int:
    from s2s_cli.pack import PackError, pack

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        target = pack(args.file, _password(args), args.output_dir, force=args.force)
    except PackError as exc:
        raise ClientError(str(exc)) from None
    if args.json:
        _print_json({"zip": str(target), "size_bytes": target.stat().st_size, "sha256": sha256_file(target)})
    else:
        print(target)
    return 0


def _still_waiting(client: S2SClient, name: str) -> dict[str, Any] | None:
    """An earlier upload of `name` to the same destination that has not been downloaded yet:
    MIS files are renamed by sequence, so sending the same name again is usually a mistake."""
    from s2s.domain.errors import NamingError
    from s2s.domain.naming import parse_filename

    try:
        destination = parse_filename(name).destination
    except NamingError:
        return None  # the service refuses the name, with its reason
    for status in ("pending_upload", "available"):
        for item in _all_items(client, {"box": "outbox", "status": status}):
            if item.get("filename") == name and item.get("destination") == destination:
                return item
    return None


def _all_items(client: S2SClient, params: dict[str, Any], path: str = "/transfers") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        page = client.request("GET", path, params=params)
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


def _send(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    client = _client(args)
    if not args.again:
        earlier = _still_waiting(client, path.name)
        if earlier is not None:
            raise ClientError(
                f"{path.name} already went to {earlier['destination']} on {display.when(earlier['created_at'])} "
                f"({earlier['transfer_id']}) and is still {display.status(earlier['status']).lower()}. MIS files "
                "are renamed by sequence, so a second file of the same name is usually a mistake: check it, "
                "then pass --again to send it anyway"
            )
    ticket = client.create_transfer(path.name, path.stat().st_size, sha256_file(path), args.upn)
    transfer_id = ticket["transfer_id"]
    for warning in ticket.get("warnings") or []:  # before the bytes go
        print(f"s2s: warning: {display.destination_warning(warning, ticket['destination'])}", file=sys.stderr)
    client.upload(ticket["upload"], path)
    result: dict[str, Any] = {
        "transfer_id": transfer_id,
        "filename": path.name,
        "destination": ticket["destination"],
        "status": "pending_upload",
    }
    if not args.json:
        print(f"{transfer_id} uploaded: {path.name} to {ticket['destination']}")
    if not args.wait:
        if args.json:
            _print_json(result)
        _suggest_password_message(ticket["destination"], path.name, transfer_id)
        return 0
    detail = _wait_for_check(client, transfer_id, path.name, args.timeout)
    result.update({k: detail.get(k) for k in ("status", "reason", "reason_message", "expires_at")})
    if args.json:
        _print_json(result)
    elif detail["status"] == "rejected":
        print(f"{transfer_id} rejected: {detail.get('reason')}: {detail.get('reason_message') or ''}".rstrip(": "))
    else:
        print(f"{transfer_id} {detail['status']}")
    if detail["status"] != "rejected":
        _suggest_password_message(ticket["destination"], path.name, transfer_id)
    return 1 if detail["status"] == "rejected" else 0


def _suggest_password_message(destination: str, filename: str, transfer_id: str) -> None:
    """One line on stderr: how to send the zip's password by secure message (never the password)."""
    import re

    if not re.fullmatch(r"[0-9]{7}|[0-9]{3}LLLL", destination):
        return  # a Lost Pupils Database file has nobody to write to yet
    print(
        f"Send the zip's password by secure message, never by email: s2s message send --to {destination} "
        f"--subject 'Password for {filename}' --transfer {transfer_id} --body-file PASSWORD_FILE",
        file=sys.stderr,
    )


def _wait_for_check(client: S2SClient, transfer_id: str, name: str, timeout: float) -> dict[str, Any]:
    """Poll until the landing check has decided, saying on stderr what it is waiting for."""
    print(
        f"Waiting up to {timeout:.0f} s for S2S to check {name} ({transfer_id}): that it is a zip, "
        "AES-encrypted and the size you said...",
        file=sys.stderr,
        flush=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        detail: dict[str, Any] = client.request("GET", f"/transfers/{transfer_id}")
        if detail["status"] in FINAL_STATES:
            return detail
        if time.monotonic() > deadline:
            raise ClientError(
                f"{transfer_id} is still {detail['status']} after {timeout:.0f} s; "
                f"check later with s2s show {transfer_id}"
            )
        time.sleep(0.5)


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
    items = _all_items(client, params)
    if args.json:
        _print_json(items)
        return 0
    if not items:
        print(f"No files in your {args.command}.")
        return 0
    other = ("source", "From") if args.command == "inbox" else ("recipient", "To")
    rows = [
        {
            **item,
            "status_words": display.status(item["status"]),
            "size": display.size(item.get("size_bytes")),
            "sent": display.when(item.get("available_at") or item.get("created_at")),
        }
        for item in items
    ]
    print(
        _table(
            rows,
            [
                ("transfer_id", "ID"),
                ("filename", "File"),
                other,
                ("status_words", "Status"),
                ("size", "Size"),
                ("sent", "Sent"),
            ],
        )
    )
    rejected = [item for item in items if item["status"] == "rejected"]
    for item in rejected:
        why = item.get("reason_message") or item.get("reason") or "no reason given"
        print(f"\n{item['filename']} ({item['transfer_id']}) was rejected: {why}")
    return 0


def _show(args: argparse.Namespace) -> int:
    client = _client(args)
    detail = client.request("GET", f"/transfers/{args.id}")
    if args.json:
        _print_json(detail)
        return 0
    who = display.viewer(client.token)
    live = detail["status"] in ("pending_upload", "available", "downloaded")
    fields = [
        ("ID", detail.get("transfer_id")),
        ("File", detail.get("filename")),
        ("From", display.org_label(detail.get("source"), {detail["source"]: detail.get("source_name") or ""})),
        ("To", detail.get("recipient") or detail.get("destination")),
        ("Status", display.status(detail.get("status"))),
        ("Reason", detail.get("reason_message") or detail.get("reason") if detail["status"] == "rejected" else None),
        ("Type", detail.get("file_type")),
        ("Size", display.size(detail.get("size_bytes"))),
        ("SHA-256", detail.get("sha256")),
        ("UPN", detail.get("upn")),
        ("Started", display.when(detail.get("created_at"))),
        ("Sent", display.when(detail.get("available_at"))),
        ("First downloaded", display.when(detail.get("downloaded_at"))),
        ("Available until", display.day(detail.get("expires_at")) if live else None),
        ("Expired on", display.day(detail.get("expires_at")) if detail["status"] == "expired" else None),
    ]
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        if value not in (None, ""):
            print(f"{label:{width}}  {value}")
    receipts = display.receipts(detail, who)
    print("\nDownloads:" if receipts else "\nNobody has downloaded this file yet.")
    for at, by in receipts:
        print(f"  {at}  {by}")
    rows = display.history(detail, who)
    if rows:
        print("\nHistory:")
        what_width = max(len(what) for _, what, _ in rows)
        for at, what, by in rows:
            print(f"  {at}  {what:{what_width}}  {by}")
    return 0


def _download(args: argparse.Namespace) -> int:
    client = _client(args)
    detail = client.request("GET", f"/transfers/{args.id}")
    if not args.output_dir.is_dir():
        raise UsageError(f"{args.output_dir}: no such folder")
    target = client.download(args.id, args.output_dir, detail.get("sha256"), detail["filename"])
    if args.json:
        _print_json({"transfer_id": args.id, "path": str(target), "sha256": sha256_file(target)})
    else:
        print(target)
    return 0


def _remove(args: argparse.Namespace) -> int:
    client = _client(args)
    client.request("DELETE", f"/transfers/{args.id}")
    if args.json:
        status = client.request("GET", f"/transfers/{args.id}").get("status")
        _print_json({"transfer_id": args.id, "status": status})
    else:
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
    if args.json:
        _print_json(report)
        return 0
    rows = report.get("rows", [])
    metrics = [k for k in report.get("totals", {}) if not isinstance(report["totals"][k], dict | list)]
    first = (
        [("month", "Month")]
        if report.get("group_by", "month") == "month"
        else [("school", "School"), ("school_name", "Name")]
    )
    print(
        f"Transfers for {report.get('scope')} from {display.day(report.get('date_from'))} "
        f"to {display.day(report.get('date_to'))}"
    )
    columns = first + [(m, m.replace("_", " ").capitalize()) for m in metrics]
    totals = {**report.get("totals", {}), first[0][0]: "Total"}
    print(_table([*rows, totals], columns))
    return 0


def _lost_pupils(args: argparse.Namespace) -> int:
    answer = _client(args).request("GET", "/lost-pupils", params={"upn": args.upn})
    if args.json:
        _print_json(answer)
        return 0
    items = [
        {**item, "status_words": display.status(item.get("status")), "sent": display.when(item.get("created_at"))}
        for item in answer.get("items", [])
    ]
    print(
        _table(
            items,
            [
                ("transfer_id", "ID"),
                ("filename", "File"),
                ("source", "From"),
                ("status_words", "Status"),
                ("sent", "Sent"),
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


def _lrs_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            text = args.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {args.password_file}: {exc.strerror}") from None
        password = text.rstrip("\r\n")
    else:
        password = getpass.getpass("LRS password (not shown): ")
    if not password:
        raise UsageError("no password given")
    return password


def _uln_registration(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.forget:
        if args.username or args.ukprn or args.organisation_ref:
            raise UsageError("--forget takes no account details")
        client.request("DELETE", "/uln/registration")
        print("Your organisation's LRS account is no longer kept by S2S.")
        return 0
    if args.username:
        if not (args.ukprn or args.organisation_ref):
            raise UsageError("give --ukprn (or --organisation-ref) with --username")
        body = {"username": args.username, "password": _lrs_password(args)}
        body["ukprn" if args.ukprn else "organisation_ref"] = args.ukprn or args.organisation_ref
        client.request("PUT", "/uln/registration", json_body=body)
        print("The LRS accepted the account; S2S keeps it for your organisation's ULN requests.")
        return 0
    if args.ukprn or args.organisation_ref or args.password_file:
        raise UsageError("give --username to register an account")
    answer = client.request("GET", "/uln/registration")
    if args.json:
        _print_json(answer)
    elif not answer.get("registered"):
        print("Your organisation has no LRS account in S2S. Register with the LRS (LRS Organisation Portal),")
        print("then: s2s uln registration --ukprn UKPRN --username NAME")
    else:
        _print_fields({k: v for k, v in answer.items() if k != "registered"})
        if answer.get("needs_attention"):
            print("The LRS has refused this password since: register the account again.")
    return 0


def _uln(args: argparse.Namespace) -> int:
    if args.uln_command == "registration":
        return _uln_registration(args)
    client = _client(args)
    if args.uln_command == "batch":
        from s2s_cli import uln_batch

        status, result = uln_batch.run(args, client)
        if args.json:
            _print_json(result)
        return status
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
    if args.json:
        _print_json(answer)
    else:
        _print_fields(answer)
    return 0


def _print_fields(data: Any, indent: str = "") -> None:
    """A JSON answer as `Label: value` lines, nested objects indented under their label."""
    if isinstance(data, list):
        for index, item in enumerate(data, 1):
            print(f"{indent}{index}.")
            _print_fields(item, indent + "  ")
        return
    if not isinstance(data, dict):
        print(f"{indent}{data}")
        return
    for key, value in data.items():
        label = str(key).replace("_", " ").capitalize()
        for word in ("ULN", "LRS", "UKPRN"):
            label = label.replace(word.capitalize(), word)
        if isinstance(value, dict | list):
            print(f"{indent}{label}:")
            _print_fields(value, indent + "  ")
        elif value not in (None, ""):
            print(f"{indent}{label}: {value}")


def _subscribe(args: argparse.Namespace) -> int:
    answer = _client(args).request("DELETE" if args.off else "PUT", "/subscriptions/me")
    if answer is None:
        answer = {"subscribed": False}
    if args.json:
        _print_json(answer)
        return 0
    state = "on" if answer.get("subscribed") else "off"
    where = f" for {answer['organisation']} at {answer['email']}" if answer.get("email") else ""
    print(f"Emails {state}{where}")
    return 0


def _message(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.message_command == "send":
        if args.body_file is not None:
            try:
                body = args.body_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read {args.body_file}: {getattr(exc, 'strerror', None) or exc}") from None
        elif sys.stdin.isatty():
            raise UsageError("no body: pass --body-file FILE, or pipe the body in (type it, then Ctrl-D)")
        else:
            body = sys.stdin.read()
        body = body.removesuffix("\n")
        sent = client.send_message(args.to, args.subject, body, transfer_id=args.transfer, reply_to=args.reply_to)
        if args.json:
            _print_json(sent)
        else:
            print(f"{sent['message_id']} sent to {sent['recipient']}")
        return 0
    if args.message_command == "list":
        box = client.messages(box="sent" if args.sent else "inbox", unread=args.unread)
        if args.json:
            _print_json(box)
            return 0
        found = box["messages"]
        if not args.sent:
            print(f"{box['unread_count']} unread")
        if not found:
            print("No messages." if not args.sent else "You have sent no messages.")
            return 0
        rows = [
            {
                **m,
                "new": "new" if m.get("unread") else "",
                "who": m["recipient"] if args.sent else m["sender"],
                "sent": display.when(m.get("sent_at")),
                "receipt": display.read_receipt(m) if args.sent else "",
            }
            for m in found
        ]
        columns = [("message_id", "ID"), ("who", "To" if args.sent else "From"), ("subject", "Subject")]
        columns += [("sent", "Sent"), ("receipt", "Read")] if args.sent else [("sent", "Sent"), ("new", "")]
        print(_table(rows, columns))
        return 0
    answer = client.read_message(args.id)
    if args.json:
        _print_json(answer)
        return 0
    for index, entry in enumerate(answer["thread"]):
        if index:
            print("\n" + "-" * 60)
        print("\n".join(display.message_lines(entry)))
    return 0


def _directory(args: argparse.Namespace) -> int:
    if args.directory_command == "import":
        from s2s_cli.local import state
        from s2s_cli.local.directory import import_into_stack

        report = import_into_stack(
            args.file,
            args.links,
            state.find_data_dir(args.data_dir),
            timeout=args.timeout,
            accept_smaller=args.accept_smaller,
        )
        if args.json:
            _print_json(report)
        else:
            print(display.import_report(report, args.file.name))
        return 0 if report.get("ok") else 1
    client = _client(args)
    if args.directory_command == "show":
        found = client.request("GET", f"/directory/establishments/{args.laestab}")
        if args.json:
            _print_json(found)
        else:
            print(display.establishment(found))
        return 0
    params = {"q": " ".join(args.words) or None, "la": args.la, "postcode": args.postcode, "status": args.status}
    params["limit"] = args.limit
    answer = client.request("GET", "/directory/establishments", params={k: v for k, v in params.items() if v})
    if args.json:
        _print_json(answer)
    elif answer.get("directory") is None:
        print("No directory has been imported yet (s2s directory import).")
    elif not answer["items"]:
        print("No establishment matches.")
    else:
        print(display.establishments(answer))
    return 0


COMMANDS = {
    "message": _message,
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
    "directory": _directory,
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
