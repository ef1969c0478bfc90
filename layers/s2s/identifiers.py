"""Check characters of the identifiers schools use: UPN, ULN and LAESTAB (DOMAIN.md, confirmed)."""

from __future__ import annotations

import re

UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # no I, O, S
_UPN = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$")
_ULN = re.compile(r"^\d{10}$")
_LAESTAB = re.compile(r"^\d{7}$")


def _upn_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    return UPN_CHECK_LETTERS.index(char)


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters that follow it (positions 2-13)."""
    total = sum(_upn_value(ch) * position for position, ch in enumerate(body, start=2))
    return UPN_CHECK_LETTERS[total % 23]


def is_valid_upn(upn: str) -> bool:
    """A permanent UPN (13 characters, digits after the check letter) or a temporary one (ending
    in a letter from the check-letter table), with the right check letter."""
    if not _UPN.match(upn):
        return False
    last = upn[-1]
    if last.isalpha() and last not in UPN_CHECK_LETTERS:
        return False
    return upn_check_letter(upn[1:]) == upn[0]


def uln_check_digit(first_nine: str) -> int | None:
    """The tenth digit for these nine, or None when no digit can be valid (remainder 0)."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    if remainder == 0:
        return None
    return 10 - remainder


def is_valid_uln(uln: str) -> bool:
    """Ten digits whose last is the check digit; `9999999999` (a placeholder elsewhere) fails."""
    if not _ULN.match(uln):
        return False
    return uln_check_digit(uln[:9]) == int(uln[9])


def is_laestab(value: str) -> bool:
    """Exactly seven digits: 3-digit LA code + 4-digit establishment number."""
    return bool(_LAESTAB.match(value))
