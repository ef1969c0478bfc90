"""Check characters of the identifiers schools use: UPN, ULN and LAESTAB (docs/SERVICE.md §2).

Every pattern is ASCII-only and matched in full: Python's `\\d` and `str.isdigit()` accept
Arabic-Indic or full-width digits, and `$` accepts a trailing newline; neither may slip an
identifier past these checks.
"""

from __future__ import annotations

import re

UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # no I, O, S
_DIGITS = "0123456789"
_UPN = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]", re.ASCII)
_UPN_BODY = re.compile(r"[0-9]{11}[0-9A-Z]", re.ASCII)
_ULN = re.compile(r"[0-9]{10}", re.ASCII)
_NINE_DIGITS = re.compile(r"[0-9]{9}", re.ASCII)
_LAESTAB = re.compile(r"[0-9]{7}", re.ASCII)


def _upn_value(char: str) -> int:
    if char in _DIGITS:
        return int(char)
    return UPN_CHECK_LETTERS.index(char)


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters that follow it (positions 2-13).

    Raises ValueError for a body no UPN can have (wrong length, or a final letter outside the
    check-letter table), rather than computing a meaningless letter."""
    if not _UPN_BODY.fullmatch(body) or (body[-1] not in _DIGITS and body[-1] not in UPN_CHECK_LETTERS):
        raise ValueError("a UPN body is 11 digits and a digit or check-table letter")
    total = sum(_upn_value(ch) * position for position, ch in enumerate(body, start=2))
    return UPN_CHECK_LETTERS[total % 23]


def is_valid_upn(upn: str) -> bool:
    """A permanent UPN (13 characters, digits after the check letter) or a temporary one (ending
    in a letter from the check-letter table), with the right check letter."""
    if not isinstance(upn, str) or not _UPN.fullmatch(upn):
        return False
    last = upn[-1]
    if last not in _DIGITS and last not in UPN_CHECK_LETTERS:
        return False
    return upn_check_letter(upn[1:]) == upn[0]


def uln_check_digit(first_nine: str) -> int | None:
    """The tenth digit for these nine, or None when no digit can be valid (remainder 0).

    Raises ValueError unless given exactly nine ASCII digits."""
    if not _NINE_DIGITS.fullmatch(first_nine):
        raise ValueError("a ULN check digit needs exactly nine digits")
    remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    if remainder == 0:
        return None
    return 10 - remainder


def is_valid_uln(uln: str) -> bool:
    """Ten digits whose last is the check digit; `9999999999` (a placeholder elsewhere) fails."""
    if not isinstance(uln, str) or not _ULN.fullmatch(uln):
        return False
    return uln_check_digit(uln[:9]) == int(uln[9])


def is_laestab(value: str) -> bool:
    """Exactly seven digits: 3-digit LA code + 4-digit establishment number."""
    return isinstance(value, str) and bool(_LAESTAB.fullmatch(value))
