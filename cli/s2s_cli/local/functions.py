"""Load Lambda handlers the way the runtime does: the module named in `Handler`, from the
function's `CodeUri` directory, under its own name (so tests that import it share the module)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from s2s_cli.local.template import ROOT

Handler = Callable[[dict[str, Any], Any], Any]

# Lambda initialises each execution environment in a process of its own; the local stack's
# environments are threads of one process and share its import system. Two first events of two
# functions importing at once can deadlock on a package and its submodule (a handler importing
# Powertools' resolver while a queue consumer imports its batch module), and Python breaks the
# deadlock by handing one thread a partly initialised module: an ImportError, answered as a 500.
# So environments initialise one at a time, as if each had the process to itself.
_INIT = threading.RLock()


def per_environment_log_keys() -> None:
    """Give each thread its own log keys. Powertools' Logger keeps the keys a handler appends
    (`cold_start`, the request id, the HTTP correlation id) in one dict per process, which is right
    in Lambda, where an environment handles one event at a time. The local stack's environments are
    threads of one process sharing the layer's one logger, so one request's lines carried another's
    correlation id. Here the formatter keeps them in Powertools' own per-thread (context variable)
    keys instead; the keys given at construction (service) stay shared. Lambda never runs this."""
    from s2s.runtime.log import logger

    formatter: Any = logger.registered_formatter
    if getattr(formatter, "_s2s_per_thread", False):
        return
    formatter.append_keys = formatter.thread_safe_append_keys
    formatter.remove_keys = formatter.thread_safe_remove_keys
    formatter.clear_state = formatter.thread_safe_clear_keys
    formatter._s2s_per_thread = True


def load_module(code_uri: str, module_name: str) -> ModuleType:
    with _INIT:
        return _load_module(code_uri, module_name)


def _load_module(code_uri: str, module_name: str) -> ModuleType:
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = ROOT / code_uri / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_handler(code_uri: str, handler: str) -> Handler:
    module_name, function = handler.rsplit(".", 1)
    loaded: Handler = getattr(load_module(code_uri, module_name), function)
    # With S2S_RECORD_CALLS set (by the tests), the handler's AWS calls are recorded for the IAM check.
    from s2s_cli.local.calls import maybe_instrument

    return maybe_instrument(code_uri, handler, loaded)


def load_worker_handler(code_uri: str, handler: str, worker: int) -> Handler:
    """The handler of one more execution environment of a function. Worker 0 is the module itself
    (the one tests import); each other worker runs its own copy of the handler module, so that the
    per-invocation state Powertools keeps on the module's resolver (the current event) is its own,
    as it is in each of Lambda's concurrent environments. The shared layer is imported once."""
    if worker == 0:
        return load_handler(code_uri, handler)
    module_name, function = handler.rsplit(".", 1)
    copy_name = f"{module_name}__worker{worker}"
    path = ROOT / code_uri / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(copy_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    with _INIT:
        spec.loader.exec_module(module)
    from s2s_cli.local.calls import maybe_instrument

    return maybe_instrument(code_uri, handler, getattr(module, function))
