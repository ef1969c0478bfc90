"""One set of the template's resources per test process, copied into each test's moto (the `aws`
fixture in tests/conftest.py)."""

from __future__ import annotations

import copy
import copyreg
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from s2s_cli.local.template import LocalResources, create_resources


class Baseline:
    """moto's state just after `create_resources`, copied once per process and restored into each
    test's fresh `mock_aws()`: creating the table, bucket, queues, topic, secret and key through
    moto costs some 0.25 s (and an RSA key for KMS) per test, copying them about 5 ms. Each test
    still starts from a reset moto, gets the same resources, and shares no object with another
    test: the copies are deep. The services are those `create_resources` and the SES identity
    touch; any other service is empty, as moto's reset leaves it."""

    SERVICES = ("dynamodb", "s3", "sqs", "sns", "secretsmanager", "kms", "ses")

    def __init__(self) -> None:
        self.names: LocalResources | None = None
        self.state: dict[tuple[str, str, str], Any] = {}

    @staticmethod
    def _backends(service: str) -> Any:
        from moto.backends import get_backend

        return get_backend(service)  # type: ignore[call-overload]

    @staticmethod
    @contextmanager
    def _fresh_locks() -> Iterator[None]:
        """Deep copies get new locks where moto's objects hold one (SQS queues): a lock cannot
        be copied, and a copy must not share its original's. A condition is made afresh on its
        copied lock (copying its fields would keep the old lock's bound methods)."""
        kinds: dict[Any, Any] = {
            type(threading.Lock()): lambda _lock: (threading.Lock, ()),
            type(threading.RLock()): lambda _lock: (threading.RLock, ()),
            threading.Condition: lambda condition: (threading.Condition, (condition._lock,)),
        }
        saved = {kind: copyreg.dispatch_table.get(kind) for kind in kinds}
        copyreg.dispatch_table.update(kinds)
        try:
            yield
        finally:
            for kind, previous in saved.items():
                if previous is None:
                    copyreg.dispatch_table.pop(kind, None)
                else:
                    copyreg.dispatch_table[kind] = previous

    def save(self, names: LocalResources) -> None:
        with self._fresh_locks():
            for service in self.SERVICES:
                for account, regions in self._backends(service).items():
                    for region, backend in regions.items():
                        self.state[(service, account, region)] = copy.deepcopy(backend)
            self.names = copy.deepcopy(names)

    def restore(self) -> LocalResources:
        assert self.names is not None
        with self._fresh_locks():
            for (service, account, region), state in self.state.items():
                # The whole backend is replaced, not its fields: its objects point back at it
                # (an SNS topic at its backend), and a deep copy keeps those links inside the copy.
                self._backends(service)[account][region] = copy.deepcopy(state)
            return copy.deepcopy(self.names)


BASELINE = Baseline()


def create_all(region: str, sender_email: str) -> LocalResources:
    """Every resource of the template in the running moto, as `create_resources` makes them, and
    the SES identity the notify function sends from."""
    import boto3

    names = create_resources(
        dynamodb=boto3.client("dynamodb", region_name=region),
        s3=boto3.client("s3", region_name=region),
        sns=boto3.client("sns", region_name=region),
        sqs=boto3.client("sqs", region_name=region),
        secrets=boto3.client("secretsmanager", region_name=region),
        kms=boto3.client("kms", region_name=region),
    )
    ses = boto3.client("ses", region_name=region)
    ses.verify_email_identity(EmailAddress=sender_email)
    return names
