"""Hostile file names (issue 9, input): every one sent to POST /transfers by school 8231234 is
refused with a 4xx and a stable error code, and nothing is recorded or stored.

The corpus is a hand-written data file (corpus/hostile_names.json: path tricks, look-alike
letters and digits, control and bidi characters, double extensions, injection attempts) plus
names generated here by putting every control, invisible and bidi character, every look-alike
digit set, every path prefix and every bad extension into an otherwise valid name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.flows import start_upload
from support.helpers import school_claims
from support.records import GOOD_NAME, SENDER, bucket_keys, outbox_of, table_items

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

CORPUS = Path(__file__).parent / "corpus" / "hostile_names.json"
STEM = GOOD_NAME.removesuffix(".zip")

# C0 and C1 controls, DEL, and the invisible or direction-changing characters that make a name
# display differently from what it is.
INVISIBLE = (
    [chr(c) for c in range(0x00, 0x20)]
    + ["\x7f", "\x85", "\xa0", "\xad"]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u2028", "\u2029", "\u2060", "\ufeff", "\ufff9"]
)
# Digit sets that `str.isdigit()` or `\d` accept: full-width, Arabic-Indic, Extended Arabic-Indic,
# Devanagari, Bengali, Thai, mathematical bold and monospace, superscripts, circled.
DIGIT_ZEROS = [0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE, 0x1D7F6, 0x1D7D8]
PATH_PREFIXES = [
    "../",
    "..\\",
    "/",
    "\\",
    "./",
    "~/",
    "C:",
    "C:\\",
    "//",
    "\\\\?\\",
    "%2e%2e%2f",
    "%2e%2e/",
    "..%c0%af",
    "..%252f",
    "file:",
    "s3://bucket/",
]
BAD_ENDINGS = [
    ".zip.exe",
    ".zip.js",
    ".zip.scr",
    ".zip.lnk",
    ".exe",
    ".ZIP.exe",
    ".zip%00",
    ".zip%2500",
    ".zip .",
    ".zip  ",
    ".zip.\u200b",
    "\u202e.zip",
    ".zip\u0301",
    ".zip\ufe0f",
    ".zi\u0440",
    ".\u0437ip",
    ".z\u0131p",
    ".docx",
    ".xml",
    ".csv",
    ".pdf",
    ".7z",
    ".gz",
    "",
]


def generated() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    for ch in INVISIBLE:
        code = f"U+{ord(ch):04X}"
        cases += [
            (ch + GOOD_NAME, f"{code} first"),
            (STEM[:7] + ch + STEM[7:] + ".zip", f"{code} inside"),
            (STEM + ch + ".zip", f"{code} before .zip"),
        ]
    for zero in DIGIT_ZEROS:
        lookalike = "".join(chr(zero + int(d)) for d in "8231234")
        cases.append((GOOD_NAME.replace("8231234", lookalike, 1), f"source in digits from U+{zero:04X}"))
        cases.append((STEM[:-1] + chr(zero + 1) + ".zip", f"one sequence digit from U+{zero:04X}"))
    for prefix in PATH_PREFIXES:
        cases.append((prefix + GOOD_NAME, f"path prefix {prefix!r}"))
    for ending in BAD_ENDINGS:
        cases.append((STEM + ending, f"ending {ending!r}"))
    for length in (101, 255, 256, 1024, 8000):
        cases.append((STEM + "_" + "1" * (length - len(STEM) - 5) + ".zip", f"{length} characters"))
        cases.append(("A" * (length - 4) + ".zip", f"{length} characters of A"))
    return cases


def corpus() -> list[tuple[str, str]]:
    hand = [(c["name"], c["why"]) for c in json.loads(CORPUS.read_text(encoding="utf-8"))]
    seen: set[str] = set()
    out = []
    for name, why in hand + generated():
        if name not in seen:
            seen.add(name)
            out.append((name, why))
    return out


# Naming refusals (s2s.domain.naming.REASONS), the 403 for a name that claims another sender, and the
# request validator's code for names the model refuses (empty, over 255 characters).
STABLE_CODES = {
    "bad_extension",
    "bad_pattern",
    "bad_source",
    "unknown_la",
    "bad_destination",
    "bad_sequence",
    "source_not_sender",
    "lpd_needs_upn",
    "bad_upn",
    "validation_error",
}


def test_the_corpus_is_large_and_every_name_is_really_hostile() -> None:
    names = corpus()
    assert len(names) >= 200
    # Guard against a corpus that drifted into valid names: the good name itself is not in it.
    assert GOOD_NAME not in {n for n, _ in names}


def _refusal(reply: Any) -> str | None:
    """Why a reply is not an acceptable refusal, or None if it is one."""
    if not 400 <= reply.status < 500:
        return f"status {reply.status}"
    if not isinstance(reply.body, dict) or reply.body.get("error") not in STABLE_CODES:
        return f"error code {reply.body!r:.200}"
    if not reply.body.get("message"):
        return "no message"
    return None


def test_every_hostile_name_is_refused_with_a_stable_code_and_nothing_is_kept(aws: Any) -> None:
    claims = school_claims(SENDER)
    problems: list[str] = []
    codes: dict[str, int] = {}
    for name, why in corpus():
        first = start_upload(claims, name, 1024)
        again = start_upload(claims, name, 1024)
        problem = _refusal(first)
        if problem is None and first.body["error"] != again.body.get("error"):
            problem = f"unstable code: {first.body['error']} then {again.body.get('error')}"
        if problem is None and first.status != again.status:
            problem = f"unstable status: {first.status} then {again.status}"
        if problem:
            problems.append(f"{why} ({name!r:.80}): {problem}")
        else:
            codes[first.body["error"]] = codes.get(first.body["error"], 0) + 1
    assert problems == []
    # No transfer, audit, quota or organisation item; nothing in the outbox index; no object.
    assert outbox_of(aws, SENDER) == []
    assert table_items(aws) == []
    assert bucket_keys(aws) == []
    # The corpus exercises more than one kind of refusal.
    assert len(codes) >= 5, codes


def test_the_good_name_is_accepted_so_the_refusals_are_about_the_names(aws: Any) -> None:
    reply = start_upload(school_claims(SENDER), GOOD_NAME, 1024)
    assert reply.status == 201, reply.body
    assert len(outbox_of(aws, SENDER)) == 1
