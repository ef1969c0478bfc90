"""Learner requests and answers for the ULN routes, with the LRS field rules (docs/SERVICE.md §7).

The rules live in the types (pydantic validators on annotated types), so a bad request is refused
with 422 naming every bad field before anything reaches the Learning Records Service, and the
OpenAPI document shows the same contract:

- names: 1-35 characters after trimming, letters (any alphabet), spaces, hyphens and apostrophes,
  starting with a letter; runs of spaces collapse to one and a typographic apostrophe becomes `'`;
- postcode: a UK postcode in any case and spacing, normalised to upper case with one space before
  the inward code; the `ZZ99 3xZ` pseudo-postcodes that schools use for "address not known" count;
- date of birth: an ISO date, never in the future; registration also needs an age of 13 to 110;
- gender 0 (not known), 1 (male), 2 (female), 9 (not specified); verification type 0-7 or 999;
  ability to share 0, 1 or 2; ULN: ten digits with the right check digit.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from s2s.contracts.base import IsoDate, Model, RequestModel
from s2s.domain.identifiers import is_valid_uln

NAME_MAX = 35
MIN_REGISTRATION_AGE = 13
MAX_REGISTRATION_AGE = 110

# Outward code forms A9, A99, AA9, AA99, A9A, AA9A; inward code 9AA without C I K M O V.
_POSTCODE = re.compile(
    r"^(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2}$"
)
# Pseudo-postcodes for "no fixed abode" / "address not known" (ZZ99 3VZ, ZZ99 3CZ, ZZ99 3WZ ...).
_PSEUDO_POSTCODE = re.compile(r"^ZZ99 [0-9][A-Z]Z$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

Gender = Literal[0, 1, 2, 9]
VerificationType = Literal[0, 1, 2, 3, 4, 5, 6, 7, 999]
AbilityToShare = Literal[0, 1, 2]


def today() -> date:
    """Today in UTC: the LRS runs on UK time, and a day's slack either side changes no age rule."""
    return datetime.now(UTC).date()


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _tidy_name(value: object) -> object:
    if not isinstance(value, str):
        return value
    return " ".join(value.replace("\u2019", "'").split())


def _check_name(value: str) -> str:
    if not 1 <= len(value) <= NAME_MAX:
        raise ValueError(f"must be 1 to {NAME_MAX} characters")
    if not value[0].isalpha():
        raise ValueError("must start with a letter")
    if any(not (ch.isalpha() or ch in " -'") for ch in value):
        raise ValueError("may contain only letters, spaces, hyphens and apostrophes")
    return value


def _tidy_postcode(value: object) -> object:
    if not isinstance(value, str):
        return value
    compact = "".join(value.split()).upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def _check_postcode(value: str) -> str:
    if not (_POSTCODE.match(value) or _PSEUDO_POSTCODE.match(value)):
        raise ValueError("must be a UK postcode, for example SW1A 1AA")
    return value


def _check_uln(value: str) -> str:
    if not is_valid_uln(value):
        raise ValueError("must be a 10-digit ULN with a valid check digit")
    return value


def _check_birth_date(value: date) -> date:
    if value > today():
        raise ValueError("cannot be in the future")
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 254 or not value.isprintable():
        raise ValueError("must be an email address")
    return value


def age_on(born: date, on: date) -> int:
    """Whole years between a birth date and a day (29 February birthdays fall on 1 March)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


PersonName = Annotated[
    str,
    BeforeValidator(_tidy_name),
    AfterValidator(_check_name),
    Field(
        description=f"1-{NAME_MAX} letters, spaces, hyphens or apostrophes, starting with a letter; "
        "runs of spaces collapse and a typographic apostrophe becomes '"
    ),
]
Postcode = Annotated[
    str,
    BeforeValidator(_tidy_postcode),
    AfterValidator(_check_postcode),
    Field(description="A UK postcode in any case and spacing, e.g. SW1A 1AA, or ZZ99 3VZ"),
]
Uln = Annotated[
    str, BeforeValidator(_strip), AfterValidator(_check_uln), Field(description="10 digits with a valid check digit")
]
BirthDate = Annotated[
    IsoDate,
    AfterValidator(_check_birth_date),
    Field(description="YYYY-MM-DD, not in the future"),
]
Email = Annotated[str, BeforeValidator(_strip), AfterValidator(_check_email), Field(max_length=254)]


def _problem(field: str, message: str, value: object) -> ValidationError:
    """A rule over several fields, reported against the field a person would correct."""
    error = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data("request", [InitErrorDetails(type=error, loc=(field,), input=value)])


class _Request(RequestModel):
    """Unknown fields are refused rather than dropped, so a typo never silently loses data. Each
    field is tidied (strip, collapse spaces, normalise the postcode) and checked by its type;
    rules over several fields run only when every field passed its own, so a future birth date
    is one problem, not also an age."""


class LearnerRegistration(_Request):
    """`POST /uln/learners`: one learner to register with the LRS."""

    given_name: PersonName
    family_name: PersonName
    date_of_birth: BirthDate
    gender: Gender
    postcode: Postcode
    verification_type: Annotated[VerificationType, Field(description="How the learner's identity was checked")]
    ability_to_share: Annotated[AbilityToShare, Field(description="0 not known, 1 notice given, 2 refused")]
    previous_family_name: PersonName | None = None
    email_address: Email | None = None

    @model_validator(mode="after")
    def _registrable_age(self) -> Self:
        age = age_on(self.date_of_birth, today())
        if not MIN_REGISTRATION_AGE <= age <= MAX_REGISTRATION_AGE:
            message = (
                f"gives an age of {age}: the LRS registers learners aged "
                f"{MIN_REGISTRATION_AGE} to {MAX_REGISTRATION_AGE}"
            )
            raise _problem("date_of_birth", message, self.date_of_birth.isoformat())
        return self


class DemographicSearch(_Request):
    """`POST /uln/learners/search`: find a learner by who they are."""

    given_name: PersonName
    family_name: PersonName
    date_of_birth: BirthDate
    gender: Gender
    postcode: Postcode
    previous_family_name: PersonName | None = None


class LearnerUpdate(_Request):
    """`PATCH /uln/learners/{uln}`: the fields to change; at least one."""

    given_name: PersonName | None = None
    family_name: PersonName | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
    postcode: Postcode | None = None
    verification_type: VerificationType | None = None
    ability_to_share: AbilityToShare | None = None
    previous_family_name: PersonName | None = None
    email_address: Email | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.to_dict(exclude_none=True):
            raise _problem("body", "give at least one field to change", {})
        return self


class Learner(Model):
    """A learner as the LRS knows them."""

    uln: str
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    gender: int | None = None
    postcode: str | None = None
    previous_family_name: str | None = None


class LearnerSearchResult(Model):
    """A find answered with a match: `exact` (the learner), `possible` (candidates to choose
    from) or `linked` (the LRS substituted the master record; `master_uln` is the ULN to use)."""

    response_code: str
    match: Literal["exact", "possible", "linked"]
    learner: Learner | None = None
    candidates: list[Learner] = Field(default_factory=list)
    master_uln: str | None = None


class LearnerRegistered(Model):
    """The ULN the LRS allocated (WSRC0005) or already held for the same details (WSRC0021)."""

    uln: str
    response_code: str


class LearnerUpdated(Model):
    """The LRS accepted the update (WSRC0006) or found nothing to change (WSRC0020)."""

    uln: str
    response_code: str
    changed: bool


# ---------------------------------------------------------------- LRS registration (docs/SERVICE.md §7)

_UKPRN = re.compile(r"^1[0-9]{7}$")
_ORGANISATION_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")


def _check_ukprn(value: str) -> str:
    if not _UKPRN.match(value):
        raise ValueError("must be a UKPRN: 8 digits starting with 1, for example 10012345")
    return value


def _check_organisation_ref(value: str) -> str:
    if not _ORGANISATION_REF.match(value):
        raise ValueError("must be your LRS organisation reference: up to 20 letters, digits or hyphens")
    return value


def _check_username(value: str) -> str:
    if not value.isprintable() or any(ch.isspace() for ch in value):
        raise ValueError("may not contain spaces or control characters")
    return value


def _check_password(value: str) -> str:
    if not value.isprintable():
        raise ValueError("may not contain control characters")
    return value


Ukprn = Annotated[str, BeforeValidator(_strip), AfterValidator(_check_ukprn), Field(description="8 digits, 1xxxxxxx")]
OrganisationRef = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(_check_organisation_ref),
    Field(description="The LRS organisation reference, for organisations without a UKPRN"),
]
LrsUsername = Annotated[
    str,
    BeforeValidator(_strip),
    Field(min_length=1, max_length=100, description="The LRS user name of the organisation's web service account"),
    AfterValidator(_check_username),
]
LrsPassword = Annotated[
    str,
    Field(min_length=1, max_length=128, description="The account's password: checked with the LRS, never returned"),
    AfterValidator(_check_password),
]


class LrsRegistrationRequest(_Request):
    """`PUT /uln/registration`: the organisation's own LRS account, with its UKPRN or, for an
    organisation without one, its LRS organisation reference (exactly one of the two)."""

    ukprn: Ukprn | None = None
    organisation_ref: OrganisationRef | None = None
    username: LrsUsername
    password: LrsPassword

    def __repr__(self) -> str:  # never the password, whoever prints the model
        return f"LrsRegistrationRequest(ukprn={self.ukprn!r}, organisation_ref={self.organisation_ref!r})"

    __str__ = __repr__

    @model_validator(mode="after")
    def _one_organisation_id(self) -> Self:
        if (self.ukprn is None) == (self.organisation_ref is None):
            raise _problem("ukprn", "give either ukprn or organisation_ref (one of them)", None)
        return self


class LrsRegistrationView(Model):
    """`GET /uln/registration`: whether the organisation is registered with the LRS, and with which
    account; never the password. `needs_attention`: the LRS has since refused the password."""

    registered: bool
    ukprn: str | None = None
    organisation_ref: str | None = None
    username: str | None = None
    checked_at: str | None = Field(default=None, description="When the LRS last accepted the account (UTC, ISO 8601)")
    needs_attention: bool = False
