"""LRS registrations for tests: an organisation registered with the fake LRS's development account,
kept exactly as `PUT /uln/registration` keeps it (through the same store, outside any handler, so
the set-up makes no LRS call and is not part of the IAM records)."""

from __future__ import annotations

from s2s.adapters import lrs_registry
from s2s.domain.lrs import LrsCredentials
from s2s.services.registration import account_value
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_UKPRN, DEFAULT_USERNAME

DEVELOPMENT_ACCOUNT = LrsCredentials(DEFAULT_UKPRN, DEFAULT_USERNAME, DEFAULT_PASSWORD)


def register_with_lrs(org: str, credentials: LrsCredentials = DEVELOPMENT_ACCOUNT) -> None:
    """Keep `credentials` as `org`'s LRS registration (`8231234`, or `823LLLL` for an LA)."""
    lrs_registry.write(org, account_value(credentials, registered_by="test-setup"))
    lrs_registry.forget_cache()


def registered_value(org: str) -> dict[str, object] | None:
    """What the store holds for `org`, read afresh (password included: for assertions only)."""
    return lrs_registry.read(org, fresh=True)
