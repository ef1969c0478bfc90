"""`s2s uln batch FILE.XML [--wait] [-o DIR]`: the ULN service in bulk from the command line.

Starts a batch (`POST /uln/batches`), uploads the CTF XML with the presigned form, and with
`--wait` follows the batch with a progress line on stderr (status, pupils, and how many the LRS
has answered) until it ends; with `-o DIR` it then saves the return CTF (for the MIS) and the CSV
of every pupil's outcome there. Exit status: 0 complete, 1 rejected or failed."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from s2s_cli.client import TIMEOUT, ClientError, S2SClient, ServiceRefused, UsageError

ENDED = frozenset({"complete", "rejected", "failed", "expired"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the CTF XML file from your MIS (not zipped; 20 MiB at most)")
    parser.add_argument("--wait", action="store_true", help="follow the batch until the LRS has answered")
    parser.add_argument("-o", "--output", type=Path, help="with --wait: save the return CTF and the CSV here")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="with --wait: give up after this many seconds (default: 3600)"
    )
    parser.add_argument("--interval", type=float, default=2, help="with --wait: seconds between looks (default: 2)")


def _progress(detail: dict[str, Any]) -> str:
    counts = detail.get("counts") or {}
    pupils = counts.get("pupils", 0)
    answered = sum(counts.get(k, 0) for k in ("registered", "verified", "possible_matches", "no_match", "linked"))
    line = f"{detail['batch_id']}: {detail['status']}"
    if pupils:
        line += f", {pupils} pupils, {counts.get('data_errors', 0)} data errors"
    if detail["status"] == "complete":
        line += f", {answered} answered by the LRS, {counts.get('matched', 0)} with a ULN"
    return line


def _save(client: S2SClient, batch_id: str, fmt: str, directory: Path) -> Path:
    import requests

    link = client.request("POST", f"/uln/batches/{batch_id}/result", json_body={"format": fmt})
    target = directory / Path(link["filename"]).name
    with requests.get(link["url"], timeout=TIMEOUT) as response:
        if response.status_code != 200:
            raise ServiceRefused(response.status_code, "download_failed", "the file store refused the download")
        target.write_bytes(response.content)
    return target


def run(args: argparse.Namespace, client: S2SClient) -> tuple[int, dict[str, Any]]:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if args.output and not args.wait:
        raise UsageError("-o/--output needs --wait: the return files exist once the batch is complete")
    ticket = client.request(
        "POST", "/uln/batches", json_body={"filename": path.name, "size_bytes": path.stat().st_size}
    )
    batch_id = ticket["batch_id"]
    client.upload(ticket["upload"], path)
    result: dict[str, Any] = {"batch_id": batch_id, "filename": path.name, "status": "pending_upload"}
    if not args.json:
        print(f"{batch_id} uploaded: {path.name}")
    if not args.wait:
        return 0, result
    deadline = time.monotonic() + args.timeout
    last = ""
    tty = sys.stderr.isatty()
    while True:
        detail: dict[str, Any] = client.request("GET", f"/uln/batches/{batch_id}", params={"limit": 1})
        line = _progress(detail)
        if line != last:
            print(("\r" if tty else "") + line + ("" if tty else "\n"), end="", file=sys.stderr, flush=True)
            last = line
        if detail["status"] in ENDED:
            break
        if time.monotonic() > deadline:
            raise ClientError(f"{batch_id} is still {detail['status']} after {args.timeout:.0f} s; look again later")
        time.sleep(args.interval)
    if tty:
        print(file=sys.stderr)
    detail.pop("outcomes", None)
    detail.pop("next_cursor", None)
    result.update(detail)
    if detail["status"] == "complete" and args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        result["files"] = [str(_save(client, batch_id, fmt, args.output)) for fmt in ("ctf", "csv")]
    if not args.json:
        if detail["status"] == "complete":
            print(f"{batch_id} complete: {_progress(detail).split(', ', 1)[1]}")
            for saved in result.get("files", []):
                print(f"saved {saved}")
        else:
            print(f"{batch_id} {detail['status']}: {detail.get('reason')}: {detail.get('reason_message') or ''}")
    return (0 if detail["status"] == "complete" else 1), result
