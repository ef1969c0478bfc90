"""The LRS field rules in the learner request models."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from s2s.contracts import uln as uln_models
from s2s.contracts.uln import DemographicSearch, LearnerRegistration, LearnerUpdate, age_on
from s2s.domain.errors import InvalidRequest as ValidationError

pytestmark = pytest.mark.unit

BASE = {
    "given_name": "Niamh",
    "family_name": "O'Connor",
    "date_of_birth": "2008-06-15",
    "gender": 2,
    "postcode": "SG18 8AB",
    "verification_type": 1,
    "ability_to_share": 1,
}
SEARCH = {k: v for k, v in BASE.items() if k not in ("verification_type", "ability_to_share")}


def fields_in_error(exc: ValidationError) -> set[str]:
    return {str(detail["field"]) for detail in exc.details}


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("sg188ab", "SG18 8AB"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("  w1a   0ax ", "W1A 0AX"),
        ("M1 1AE", "M1 1AE"),
        ("b338th", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("zz99 3vz", "ZZ99 3VZ"),
        ("ZZ99 3CZ", "ZZ99 3CZ"),
        ("EC1A 1BB", "EC1A 1BB"),
    ],
)
def test_uk_postcodes_are_accepted_and_normalised(raw, normalised):
    assert DemographicSearch.parse({**SEARCH, "postcode": raw}).postcode == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "SG18",
        "SG18 8A",
        "SG18 8AC",
        "QA1 1AA",
        "V1 1AA",
        "X1 1AA",
        "12345",
        "SG18 8AB X",
        "SG1<8AB",
        "ZZ99 3VA",
        "A1A1 1AA",
    ],
)
def test_other_postcodes_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        DemographicSearch.parse({**SEARCH, "postcode": raw})
    assert fields_in_error(caught.value) == {"postcode"}


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        (" Ann ", "Ann"),
        ("Mary   Ann", "Mary Ann"),
        ("O\u2019Neil", "O'Neil"),
        ("Zoë", "Zoë"),
        ("Siân", "Siân"),
        ("Smith-Jones", "Smith-Jones"),
        ("A" * 35, "A" * 35),
        ("Łukasz", "Łukasz"),
    ],
)
def test_names_are_trimmed_and_keep_any_alphabet(raw, tidy):
    assert DemographicSearch.parse({**SEARCH, "given_name": raw}).given_name == tidy


@pytest.mark.parametrize("raw", ["", " ", "A" * 36, "J0hn", "'Ann", "Ann!", "Ann_B", "<Ann>", "A&B", "Ann\tB\x00"])
def test_other_names_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        DemographicSearch.parse({**SEARCH, "given_name": raw})
    assert fields_in_error(caught.value) == {"given_name"}


def test_registration_age_is_13_to_110_today(monkeypatch):
    monkeypatch.setattr(uln_models, "today", lambda: date(2026, 9, 1))

    def born(value: str) -> LearnerRegistration:
        return LearnerRegistration.parse({**BASE, "date_of_birth": value})

    assert born("2013-09-01").date_of_birth == date(2013, 9, 1)  # 13 today
    assert born("1915-09-02").date_of_birth == date(1915, 9, 2)  # 110 until tomorrow
    for value in ("2013-09-02", "1915-09-01", "2026-09-02"):
        with pytest.raises(ValidationError) as caught:
            born(value)
        assert fields_in_error(caught.value) == {"date_of_birth"}


def test_searches_allow_any_past_date_but_not_the_future(monkeypatch):
    monkeypatch.setattr(uln_models, "today", lambda: date(2026, 9, 1))

    assert DemographicSearch.parse({**SEARCH, "date_of_birth": "2024-01-01"}).date_of_birth == date(2024, 1, 1)
    with pytest.raises(ValidationError):
        DemographicSearch.parse({**SEARCH, "date_of_birth": "2026-09-02"})


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2010, 2, 28), date(2023, 2, 27), 12),
        (date(2010, 2, 28), date(2023, 2, 28), 13),
        (date(2008, 2, 29), date(2021, 2, 28), 12),
        (date(2008, 2, 29), date(2021, 3, 1), 13),
    ],
)
def test_age_counts_whole_years(born, on, age):
    assert age_on(born, on) == age


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("gender", [0, 1, 2, 9], [3, -1, "x", None]),
        ("verification_type", [0, 7, 999], [8, 998, -1]),
        ("ability_to_share", [0, 1, 2], [3, -1]),
    ],
)
def test_coded_fields_take_only_their_codes(field, good, bad):
    for value in good:
        assert getattr(LearnerRegistration.parse({**BASE, field: value}), field) == value
    for value in bad:
        with pytest.raises(ValidationError):
            LearnerRegistration.parse({**BASE, field: value})


def test_an_update_needs_at_least_one_field_and_refuses_unknown_ones():
    assert LearnerUpdate.parse({"gender": 9}).to_dict(exclude_none=True) == {"gender": 9}
    with pytest.raises(ValidationError):
        LearnerUpdate.parse({})
    with pytest.raises(ValidationError) as caught:
        LearnerUpdate.parse({"gender": 9, "nickname": "Ace"})
    assert fields_in_error(caught.value) == {"nickname"}


def test_dates_must_be_iso_and_real():
    for value in ("15/06/2008", "2008-02-30", "yesterday"):
        with pytest.raises(ValidationError):
            DemographicSearch.parse({**SEARCH, "date_of_birth": value})
    assert DemographicSearch.parse({**SEARCH, "date_of_birth": (date.today() - timedelta(days=1)).isoformat()})


def test_a_future_birth_date_is_one_problem_not_two(monkeypatch):
    monkeypatch.setattr(uln_models, "today", lambda: date(2026, 9, 1))
    with pytest.raises(ValidationError) as caught:
        LearnerRegistration.parse({**BASE, "date_of_birth": "2026-09-02"})
    assert [d["field"] for d in caught.value.details] == ["date_of_birth"]
    assert "future" in caught.value.details[0]["message"]
