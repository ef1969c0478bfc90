"""The local stack runs several execution environments per function, as Lambda does, so that one
slow request does not hold up every other request to the same function."""

from __future__ import annotations

import inspect
import sys
import threading
from typing import Any

import pytest
from s2s_cli.local.functions import load_worker_handler
from s2s_cli.local.plumbing import Workers

pytestmark = pytest.mark.local


def test_two_requests_to_one_function_run_at_the_same_time() -> None:
    both_inside = threading.Barrier(2, timeout=30)  # serialised invocations could never meet here

    def handler(event: dict[str, Any], context: Any) -> str:
        both_inside.wait()
        return str(event["n"])

    workers = Workers(lambda index: handler, size=4)
    results: list[str] = []
    threads = [threading.Thread(target=lambda n=n: results.append(workers({"n": n}, None))) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["1", "2"] and not both_inside.broken
    assert workers.created == 2


def test_each_environment_handles_one_event_at_a_time_and_there_are_at_most_size() -> None:
    size = 2
    inside = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()
    loaded: list[int] = []

    def load(index: int) -> Any:
        loaded.append(index)
        busy = threading.Lock()

        def handler(event: dict[str, Any], context: Any) -> None:
            nonlocal inside, most
            assert busy.acquire(blocking=False), "an environment got a second event while busy"
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(timeout=30)
            with lock:
                inside -= 1
            busy.release()

        return handler

    workers = Workers(load, size=size)
    threads = [threading.Thread(target=workers, args=({}, None)) for _ in range(5)]
    for thread in threads:
        thread.start()
    while True:  # until both environments are busy (the other three requests wait for one)
        with lock:
            if inside == size:
                break
    release.set()
    for thread in threads:
        thread.join()
    assert sorted(loaded) == [0, 1] and most == size


def test_each_environment_has_its_own_copy_of_the_handler_module() -> None:
    first = load_worker_handler("functions/upload/", "upload_api.lambda_handler", 0)
    second = load_worker_handler("functions/upload/", "upload_api.lambda_handler", 1)
    assert first is sys.modules["upload_api"].lambda_handler
    assert second.__module__ == "upload_api__worker1"
    # The resolver keeps the current request: each environment needs its own.
    assert inspect.unwrap(second).__globals__["app"] is not inspect.unwrap(first).__globals__["app"]


def test_environments_initialise_one_at_a_time(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads share one import system, and two first imports at once can deadlock on a package and
    its submodule, which Python breaks by handing one of them a partly initialised module (seen as a
    500 on a fresh stack's first request). Every handler module, and every worker's copy, therefore
    runs its top-level code holding the one initialisation lock."""
    from s2s_cli.local import calls, functions

    # The probe is no function of template.yaml, so its AWS calls (it makes none) are not recorded.
    monkeypatch.setattr(calls, "maybe_instrument", lambda code_uri, handler, loaded: loaded)
    (tmp_path / "probe_handler.py").write_text(
        "from s2s_cli.local import functions\n"
        "HELD = functions._INIT._is_owned()\n"
        "def handler(event, context):\n"
        "    return HELD\n"
    )
    try:
        assert functions.load_module(str(tmp_path), "probe_handler").HELD is True
        copy = load_worker_handler(str(tmp_path), "probe_handler.handler", 1)
        assert copy({}, None) is True
        assert not functions._INIT._is_owned()
    finally:
        sys.modules.pop("probe_handler", None)


def test_a_failure_inside_the_stack_reaches_its_console() -> None:
    """The handlers' Powertools logger (service `s2s`) filters every root handler for loggers whose
    name contains `s2s`; the stack's own logger must not be one of them, or a 500's traceback is
    silently dropped from the console."""
    import subprocess

    script = (
        "from s2s_cli.local import server\n"
        "server.configure_logging()\n"
        "try:\n"
        "    raise RuntimeError('probe failure')\n"
        "except RuntimeError:\n"
        "    server.log.exception('UploadApiFunction failed')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert "UploadApiFunction failed" in result.stderr and "RuntimeError: probe failure" in result.stderr


def test_concurrent_environments_log_their_own_correlation_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests handled at once by two environments (threads here): each log line carries its
    own request's correlation id, not whichever request set the shared logger's keys last."""
    import json
    import logging

    from s2s.runtime.log import logger
    from s2s_cli.local.functions import per_environment_log_keys
    from support.helpers import FakeContext

    formatter = logger.registered_formatter
    for name in ("append_keys", "remove_keys", "clear_state"):  # undone after the test
        monkeypatch.setattr(formatter, name, getattr(formatter, name))
    monkeypatch.setattr(formatter, "_s2s_per_thread", False, raising=False)
    per_environment_log_keys()

    both_set, both_logged = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)
    lines: dict[str, dict[str, Any]] = {}

    @logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        both_set.wait()  # each environment has set its keys before either logs
        record = logging.LogRecord("s2s", logging.INFO, __file__, 1, "probe", None, None)
        lines[event["id"]] = json.loads(formatter.format(record))
        both_logged.wait()

    threads = [threading.Thread(target=handler, args=({"id": f"request-{i}"}, FakeContext())) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {name: line["correlation_id"] for name, line in lines.items()} == {
        "request-1": "request-1",
        "request-2": "request-2",
    }
    assert all(line["service"] == "s2s" for line in lines.values())
