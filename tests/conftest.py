"""Shared fixtures. `aws` starts moto and creates the bucket, table, topic, queues and secret from
template.yaml's own properties (through the same code the local stack uses), so tests cannot
drift from the infrastructure."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest
from s2s_cli.local.template import LocalResources
from support import iam
from support.helpers import FakeContext
from support.moto_baseline import BASELINE, create_all

REGION = "eu-west-2"

# Never let a test reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "LOG_LEVEL": "INFO",
        "PORTAL_URL": "http://portal.test",
        "SENDER_EMAIL": "no-reply@s2s.test",
    }
)
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


# moto gives every `mock_aws()` a new boto3 session, and each new session re-reads and re-parses
# botocore's JSON service models (DynamoDB, S3, SQS, ...) for every client it makes: about 1 s of
# each test's set-up, most of the suite's time. The models are read-only data, so one loader per
# data path serves every session of the process; what the clients do is unchanged.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def pytest_configure(config: pytest.Config) -> None:
    """Record every AWS call the handlers make, per function, for the IAM check (support/iam.py)."""
    iam.configure(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After the run: every recorded call must be allowed by template.yaml, every grant used."""
    iam.session_finish(session)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    iam.terminal_summary(terminalreporter)


def _reset_caches() -> None:
    from s2s.adapters import lrs_registry
    from s2s.adapters.aws import reset_clients
    from s2s.runtime.settings import get_settings

    reset_clients()
    get_settings.cache_clear()
    lrs_registry.forget_cache()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """moto with every resource of the template; the handlers' environment points at them."""
    from moto import mock_aws

    with mock_aws():
        if BASELINE.names is None:
            names = create_all(REGION, os.environ["SENDER_EMAIL"])
            BASELINE.save(names)
        else:
            names = BASELINE.restore()
        for key, value in names.environment().items():
            monkeypatch.setenv(key, value)
        _reset_caches()
        yield names
        _reset_caches()


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()
