"""Lambda SnapStart, when the stack turns it on (template.yaml's `SnapStart` parameter): Lambda
runs a function's init once when a version is published, snapshots the memory, and starts new
environments by restoring that snapshot instead of importing everything again. A deployer trades
init time for restore time; neither can be measured off AWS (docs/BENCHMARKS.md).

`prepare` registers the runtime hooks of `snapshot_restore_py` (part of Lambda's Python runtime)
only in an environment being initialised for a snapshot, so it costs nothing otherwise:

- before the snapshot: read and validate the settings, and create the function's boto3 clients,
  which loads botocore's service models (a large part of a first request) into the snapshot;
- after a restore: drop the cached clients, so no connection or credential from the snapshot is
  reused; new ones are built from the models already in memory."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from s2s.adapters import aws
from s2s.runtime.settings import get_settings

SNAPSHOT_INIT = "snap-start"  # AWS_LAMBDA_INITIALIZATION_TYPE of an init that will be snapshotted


def prepare(clients: Sequence[str] = (), warm: Callable[[], object] | None = None) -> bool:
    """Register the hooks when this init will be snapshotted; True if it will. `clients` are
    names of `s2s.adapters.aws` factories (e.g. "s3", "dynamodb"); `warm` imports what the first request
    needs."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAPSHOT_INIT:
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    def before_snapshot() -> None:
        get_settings()
        for name in clients:
            getattr(aws, name)()
        if warm is not None:
            warm()

    register_before_snapshot(before_snapshot)
    register_after_restore(aws.reset_clients)
    return True


__all__ = ["SNAPSHOT_INIT", "prepare"]
