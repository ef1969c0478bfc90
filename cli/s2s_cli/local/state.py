"""Where the running local stack keeps its data, so that `s2s local token` works from any folder.

`s2s local serve` records its data folder (absolute) and process id in a per-user state file,
`$XDG_STATE_HOME/s2s/local-stack.json` (else `~/.local/state/s2s/local-stack.json`), and removes
it when it stops. Commands that need the stack's data folder look, in order, at `--data-dir`,
the `S2S_DATA_DIR` environment variable, that state file (when its process is still running),
and `.s2s-local` in the current folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from s2s_cli.client import UsageError

DATA_DIR_ENV = "S2S_DATA_DIR"
DEFAULT_DATA_DIR = Path(".s2s-local")


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "s2s" / "local-stack.json"


def serve_data_dir(explicit: Path | None) -> Path:
    """The folder `s2s local serve` uses: `--data-dir`, else S2S_DATA_DIR, else ./.s2s-local."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(DATA_DIR_ENV)
    return Path(from_env) if from_env else DEFAULT_DATA_DIR


def record(data_dir: Path, api_url: str | None) -> Path:
    """Say that this process serves the stack whose data is in `data_dir`."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}")
    partial.write_text(json.dumps({"data_dir": str(data_dir.resolve()), "api_url": api_url, "pid": os.getpid()}))
    partial.replace(path)
    return path


def forget() -> None:
    """Remove the state file if it is still this process's (another stack may have started since)."""
    path = state_file()
    current = _read(path)
    if current is not None and current.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def running() -> dict[str, Any] | None:
    """The running stack's record, or None when there is none or its process has gone."""
    current = _read(state_file())
    if current is None or not isinstance(current.get("pid"), int) or not _alive(current["pid"]):
        return None
    return current


def find_data_dir(explicit: Path | None) -> Path:
    """The data folder of the stack a command talks to (see the module docstring)."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env)
    current = running()
    if current is not None:
        return Path(current["data_dir"])
    if DEFAULT_DATA_DIR.is_dir():
        return DEFAULT_DATA_DIR
    raise UsageError(
        "no running local stack found: start one with `s2s local serve`, or name its data folder "
        f"with --data-dir or {DATA_DIR_ENV}"
    )


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
