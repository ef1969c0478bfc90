"""Settings from the environment: one pydantic model, built and validated on first use, then cached.

Nothing here has a default for where the data lives or who sends the email (table, bucket, topic,
portal, sender): template.yaml sets them for every function, and the local stack and the tests set
them in their own environment. A function deployed without one fails its first event with a
message naming every missing variable, rather than writing to a bucket called `s2s-files`.

The limits have defaults (docs/SERVICE.md §3): they are the service's rules, and the template
passes the deployer's choice."""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# The presigned POST must be used within 15 minutes, a download link within 5 (docs/SERVICE.md §3).
MAX_UPLOAD_URL_SECONDS = 900
MAX_DOWNLOAD_URL_SECONDS = 300

Positive = Annotated[int, Field(ge=1)]


class SettingsError(RuntimeError):
    """The environment does not configure this function: the message names every variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: Annotated[str, Field(min_length=1, validation_alias="TABLE_NAME")]
    bucket_name: Annotated[str, Field(min_length=1, validation_alias="BUCKET_NAME")]
    topic_arn: Annotated[str, Field(min_length=1, validation_alias="TOPIC_ARN")]
    portal_url: Annotated[str, Field(pattern=r"^https?://[^/]+/?$", validation_alias="PORTAL_URL")]
    sender_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", validation_alias="SENDER_EMAIL")]
    max_upload_bytes: Annotated[Positive, Field(validation_alias="MAX_UPLOAD_BYTES")] = 50 * 1024 * 1024
    retention_days: Annotated[Positive, Field(validation_alias="RETENTION_DAYS")] = 60
    upload_url_seconds: Annotated[
        int, Field(ge=1, le=MAX_UPLOAD_URL_SECONDS, validation_alias="UPLOAD_URL_SECONDS")
    ] = MAX_UPLOAD_URL_SECONDS
    download_url_seconds: Annotated[
        int, Field(ge=1, le=MAX_DOWNLOAD_URL_SECONDS, validation_alias="DOWNLOAD_URL_SECONDS")
    ] = MAX_DOWNLOAD_URL_SECONDS
    lrs_endpoint: Annotated[str, Field(validation_alias="LRS_ENDPOINT")] = ""  # the ULN function only
    lrs_secret_arn: Annotated[str, Field(validation_alias="LRS_SECRET_ARN")] = ""
    # ULN batches (docs/SERVICE.md "ULNs in bulk"): the worker's own queue (its next steps), the first
    # poll's delay (doubling to 15 minutes) and how long a batch may wait for the LRS before it fails.
    uln_batch_queue_url: Annotated[str, Field(validation_alias="ULN_BATCH_QUEUE_URL")] = ""
    uln_batch_poll_seconds: Annotated[int, Field(ge=0, le=900, validation_alias="ULN_BATCH_POLL_SECONDS")] = 60
    uln_batch_deadline_hours: Annotated[Positive, Field(validation_alias="ULN_BATCH_DEADLINE_HOURS")] = 48
    # Each organisation's LRS registration is the secret <LRS_SECRET_PREFIX><org>, reached through
    # the role LRS_ORG_ROLE_ARN assumed with the organisation as a session tag (s2s.adapters.lrs_registry).
    lrs_org_role_arn: Annotated[str, Field(validation_alias="LRS_ORG_ROLE_ARN")] = ""
    lrs_secret_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]*$", validation_alias="LRS_SECRET_PREFIX")] = (
        "s2s/lrs/"  # noqa: S105 - a name, not a password
    )
    lrs_secrets_key_id: Annotated[str, Field(validation_alias="LRS_SECRETS_KEY_ID")] = ""
    expiring_within_days: Annotated[Positive, Field(validation_alias="EXPIRING_WITHIN_DAYS")] = 7
    daily_upload_count: Annotated[Positive, Field(validation_alias="DAILY_UPLOAD_COUNT")] = 500
    daily_upload_bytes: Annotated[Positive, Field(validation_alias="DAILY_UPLOAD_BYTES")] = 2 * 1024 * 1024 * 1024
    # Secure messages: the KMS key their bodies are encrypted under (the messages function only), and
    # how many messages an organisation may send per day.
    message_key_id: Annotated[str, Field(validation_alias="MESSAGE_KEY_ID")] = ""
    daily_message_count: Annotated[Positive, Field(validation_alias="DAILY_MESSAGE_COUNT")] = 200
    # The key that signs list cursors: CURSOR_KEY itself (local tools), else the secret named by
    # CURSOR_SECRET_ARN (AWS, the local stack and the tests), else one made per process.
    cursor_key: Annotated[str, Field(validation_alias="CURSOR_KEY")] = ""
    cursor_secret_arn: Annotated[str, Field(validation_alias="CURSOR_SECRET_ARN")] = ""
    # The establishment directory (docs/SERVICE.md §12): an import with fewer establishments than
    # this fraction of the current load's is refused unless an operator accepts it (directory/ACCEPT-SMALLER).
    directory_min_ratio: Annotated[float, Field(ge=0, le=1, validation_alias="DIRECTORY_MIN_RATIO")] = 0.9

    @field_validator("portal_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def read_settings(environ: dict[str, str] | None = None) -> Settings:
    """The settings in `environ` (the process environment by default); empty values count as unset."""
    values = {k: v for k, v in (os.environ if environ is None else environ).items() if v != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"This function's environment is incomplete or wrong: {problems}") from None


@cache
def get_settings() -> Settings:
    """The settings for this process. Tests that change the environment call `get_settings.cache_clear()`."""
    return read_settings()
