"""UPN, ULN and LAESTAB checks against docs/SERVICE.md's published vectors, malformed input, and the
error-detecting properties of the check characters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s2s.domain.identifiers import (
    UPN_CHECK_LETTERS,
    is_laestab,
    is_valid_uln,
    is_valid_upn,
    uln_check_digit,
    upn_check_letter,
)

pytestmark = pytest.mark.unit

VALID_UPNS = ["H801200001001", "B801200005001", "R674123101121", "X00180001701A"]


@pytest.mark.parametrize("upn", VALID_UPNS)
def test_domain_upns_are_valid(upn: str) -> None:
    assert is_valid_upn(upn)
    assert upn_check_letter(upn[1:]) == upn[0]


def test_the_supplier_example_upn_has_the_wrong_check_letter() -> None:
    assert not is_valid_upn("Q207000016049")
    assert upn_check_letter("207000016049") == "P"
    assert is_valid_upn("P207000016049")


def test_the_check_letter_table_has_no_i_o_or_s() -> None:
    assert len(UPN_CHECK_LETTERS) == 23
    assert not set("IOS") & set(UPN_CHECK_LETTERS)


@pytest.mark.parametrize(
    "upn",
    [
        "",
        "H80120000100",  # 12 characters
        "H8012000010011",  # 14
        "h801200001001",  # lower-case check letter
        "1801200001001",  # a digit where the check letter goes
        "H80120A001001",  # a letter among the digits
        "X00180001701a",  # lower-case temporary letter
        " H801200001001",
        "H801200001001 ",
        "H801200001001\n",  # `$` would have matched before the newline
        "H8012000010\u0660\u0661",  # Arabic-Indic digits pass str.isdigit() and a bare \d
        "H\uff18\uff10\uff11200001001",  # full-width digits
        "H801-200001001",
    ],
)
def test_malformed_upns_are_invalid(upn: str) -> None:
    assert not is_valid_upn(upn)


@pytest.mark.parametrize("last", ["I", "O", "S"])
def test_a_temporary_upn_cannot_end_in_a_letter_outside_the_table(last: str) -> None:
    body = "00180001701" + last

    assert not any(is_valid_upn(letter + body) for letter in UPN_CHECK_LETTERS)
    with pytest.raises(ValueError):
        upn_check_letter(body)


@pytest.mark.parametrize("body", ["", "80120000100", "8012000010011", "80120000100a", "8012000010\u0660\u0661"])
def test_the_check_letter_needs_a_well_formed_body(body: str) -> None:
    with pytest.raises(ValueError):
        upn_check_letter(body)


def test_values_that_are_not_strings_are_not_identifiers() -> None:
    assert not is_valid_upn(None)  # type: ignore[arg-type]
    assert not is_valid_uln(9276308686)  # type: ignore[arg-type]
    assert not is_laestab(8231234)  # type: ignore[arg-type]


upn_bodies = st.tuples(
    st.from_regex(r"[0-9]{11}", fullmatch=True), st.sampled_from([*"0123456789", *UPN_CHECK_LETTERS])
).map("".join)


@settings(max_examples=300)
@given(upn_bodies)
def test_exactly_one_check_letter_makes_a_body_valid(body: str) -> None:
    valid = [letter for letter in UPN_CHECK_LETTERS if is_valid_upn(letter + body)]

    assert valid == [upn_check_letter(body)]


@settings(max_examples=300)
@given(upn_bodies, st.integers(1, 11), st.integers(1, 9))
def test_the_check_letter_catches_any_single_mistyped_digit(body: str, position: int, shift: int) -> None:
    # Weights 2..13 are all below 23 (prime), so no single-digit change leaves the sum's residue alone.
    upn = upn_check_letter(body) + body
    digit = int(upn[position])
    typo = upn[:position] + str((digit + shift) % 10) + upn[position + 1 :]

    assert not is_valid_upn(typo)


# ---------------------------------------------------------------------------- ULN


@pytest.mark.parametrize("uln", ["9276308686", "1026893096"])
def test_domain_ulns_are_valid(uln: str) -> None:
    assert is_valid_uln(uln)
    assert uln_check_digit(uln[:9]) == int(uln[9])


def test_the_temporary_uln_of_other_returns_is_refused() -> None:
    assert not is_valid_uln("9999999999")


def test_nine_digits_with_remainder_zero_have_no_check_digit() -> None:
    assert uln_check_digit("000000000") is None
    assert not any(is_valid_uln(f"000000000{d}") for d in range(10))


@pytest.mark.parametrize(
    "uln",
    [
        "",
        "927630868",
        "92763086860",
        "927630868a",
        "92763086 6",
        " 9276308686",
        "9276308686\n",
        "927630868\u0666",  # Arabic-Indic six
        "\uff19276308686",  # full-width nine
        "-276308686",
    ],
)
def test_malformed_ulns_are_invalid(uln: str) -> None:
    assert not is_valid_uln(uln)


@pytest.mark.parametrize("nine", ["", "92763086", "9276308681", "92763086a", "92763086\u0668"])
def test_the_check_digit_needs_exactly_nine_ascii_digits(nine: str) -> None:
    with pytest.raises(ValueError):
        uln_check_digit(nine)


@settings(max_examples=300)
@given(st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_at_most_one_tenth_digit_makes_a_uln(nine: str) -> None:
    valid = [d for d in range(10) if is_valid_uln(f"{nine}{d}")]
    check = uln_check_digit(nine)

    assert valid == ([] if check is None else [check])


# ---------------------------------------------------------------------------- LAESTAB


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8231234", True),
        ("0010000", True),
        ("823123", False),
        ("82312345", False),
        ("823123a", False),
        ("823LLLL", False),
        ("823 1234", False),
        ("8231234\n", False),
        ("\uff18231234", False),
        ("", False),
    ],
)
def test_a_laestab_is_exactly_seven_ascii_digits(value: str, expected: bool) -> None:
    assert is_laestab(value) is expected
