"""A test plugin that records every spec parse and validation in the process it loads in.

Loaded through ``TUIDL_PLUGINS``, the way ``--plugin`` reaches every worker process the
runner starts (a worker loads its registry, and so this file, before it builds its
:class:`~tuidl.experiment.work.Worker`). With ``TUIDL_SPEC_SPY`` naming a file, it wraps the
spec readers and checkers in their own modules and wherever a ``tuidl`` module imported
them by name, and appends ``"<pid> <function>"`` to the file for every call; it first
appends ``"<pid> loaded"``, so a test can tell that it ran in the workers at all. In the
process named by ``TUIDL_SPEC_SPY_SKIP`` (the test's own: its runner validates once, by
design, and it must stay unpatched for the tests after it) it does nothing.

It registers no components.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys

WATCHED = {
    "tuidl.experiment.spec": ("loads_spec", "load_spec", "loads_spec_data"),
    "tuidl.experiment.spec_check": ("validate", "point_spec"),
    # where the folds are cut and the grid normalized (work.py before the plan, after it
    # the plan's module): a worker gets both from its plan
    "tuidl.experiment.work": ("make_folds", "trial_specs"),
    "tuidl.experiment.workplan": ("make_folds", "trial_specs", "build_plan"),
}


def _record(log: str, what: str) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()} {what}\n")


def _install(log: str) -> None:
    wrapped = {}  # id(original) -> wrapper
    for module_name, names in WATCHED.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # the plan's module exists only once the plan does
            continue
        for name in names:
            original = getattr(module, name, None)
            if original is None or id(original) in wrapped:
                continue

            def spy(*args, _original=original, _name=name, **kwargs):
                _record(log, _name)
                return _original(*args, **kwargs)

            wrapped[id(original)] = functools.wraps(original)(spy)
    # every tuidl module that holds one of them by name (``from ... import validate``)
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("tuidl"):
            continue
        for attr, value in list(vars(module).items()):
            if callable(value) and id(value) in wrapped:
                setattr(module, attr, wrapped[id(value)])
    _record(log, "loaded")


_LOG = os.environ.get("TUIDL_SPEC_SPY")
if _LOG and os.environ.get("TUIDL_SPEC_SPY_SKIP") != str(os.getpid()):
    _install(_LOG)
