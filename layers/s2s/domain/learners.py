"""A learner's details as the LRS accepts them (docs/SERVICE.md §7, §10), as plain functions.

The batch path (`s2s.domain.ctf_batch`) reads pupils out of a CTF and checks each field with these
rules; they are the same rules the single-learner request models apply (`s2s.contracts.uln`), which
could import them from here in a later change.

- names: 1-35 characters after tidying (runs of spaces collapse, a typographic apostrophe
  becomes `'`), letters of any alphabet, spaces, hyphens and apostrophes, starting with a letter;
- postcode: a UK postcode in any case and spacing, or a `ZZ99 3xZ` pseudo-postcode;
- sex/gender: a CTF's `M`/`F` (and the codes some suppliers write) as the LRS's 0 not known,
  1 male, 2 female, 9 not specified.
"""

from __future__ import annotations

import re

NAME_MAX = 35

_POSTCODE = re.compile(
    r"^(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2}$",
    re.ASCII,
)
_PSEUDO_POSTCODE = re.compile(r"^ZZ99 [0-9][A-Z]Z$", re.ASCII)

# CTF `Sex` (older files `Gender`) -> LRS `Gender`. `U` (unknown) is the LRS's 0 "not known";
# `X`/`N` (not stated) its 9 "not specified". The LRS digits pass through for suppliers that write them.
LRS_GENDER = {"M": 1, "F": 2, "U": 0, "X": 9, "N": 9, "0": 0, "1": 1, "2": 2, "9": 9}
CTF_SEX = {1: "M", 2: "F", 0: "U", 9: "X"}


def tidy_name(value: str) -> str:
    return " ".join(value.replace("\u2019", "'").split())


def name_problem(value: str) -> str | None:
    """Why a (tidied) name is refused, or None."""
    if not 1 <= len(value) <= NAME_MAX:
        return f"must be 1 to {NAME_MAX} characters"
    if not value[0].isalpha():
        return "must start with a letter"
    if any(not (ch.isalpha() or ch in " -'") for ch in value):
        return "may contain only letters, spaces, hyphens and apostrophes"
    return None


def tidy_postcode(value: str) -> str:
    compact = "".join(value.split()).upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def is_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(value) or _PSEUDO_POSTCODE.match(value))


def lrs_gender(value: str) -> int | None:
    """The LRS gender code for a CTF sex/gender value (any case), or None when it has none."""
    return LRS_GENDER.get(value.strip().upper())
