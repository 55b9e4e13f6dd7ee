"""Helpers for a plugin's own tests: load it the way users get it, run tuidl's contract
checks on its components, and train a tiny real experiment with it plugged in.

::

    from tuidl.testing import assert_contract, load_plugin, run_tiny

    def test_plugin_loads():
        registry = load_plugin("focal_loss")          # the ENTRY-POINT name, not "focal"

    def test_contract():
        assert_contract(load_plugin("focal_loss").get("loss", "focal"))

    def test_it_trains():
        result = run_tiny(loss={"name": "focal", "gamma": 1.0}, registry=load_plugin("focal_loss"))
        assert result["best"]["mean"] > 0.5

Nothing here needs pytest; failures raise ``AssertionError`` with the reason, so any test
runner shows them.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tuidl.engine.gradcheck import numeric_gradient, rel_error, roundoff
from tuidl.plugins.contract import CheckResult, check_component
from tuidl.plugins.manager import load_registry
from tuidl.plugins.registry import Registry
from tuidl.plugins.schema import Component

__all__ = [
    "TINY_SPEC",
    "assert_contract",
    "load_plugin",
    "numeric_gradient",
    "rel_error",
    "roundoff",
    "run_tiny",
    "tiny_spec",
]

# A spec that trains in about a second on the built-in digits (1,797 8x8 images): 240
# training rows, 2-fold CV, 60 test rows, a linear softmax model trained by Adam for 4 epochs.
TINY_SPEC: dict[str, Any] = {
    "name": "tuidl.testing tiny run",
    "seed": 0,
    "dataset": {"name": "digits"},
    "split": {"num_training": 240, "num_validation": 0, "num_test": 60, "shuffle": True},
    "preprocess": [{"name": "reshape"}, {"name": "mean_subtraction"}],
    "model": {"name": "linear", "reg": 1e-4},
    "loss": {"name": "softmax"},
    "init": {"name": "small_random"},
    "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"epochs": 4, "batch_size": 40},
    "cv": {"method": "kfold", "folds": 2},
}


def load_plugin(
    name: str,
    *,
    paths: Iterable[str | os.PathLike] = (),
    environ: Mapping[str, str] | None = None,
) -> Registry:
    """A registry of the built-ins plus only the installed plugin ``name`` (its entry-point
    name: the left side of ``name = "module"`` under ``[project.entry-points.tuidl]``), or
    plus the local plugin files ``paths`` (then ``name`` is a file's stem).

    Raises ``AssertionError`` when the plugin is not found (not installed: run
    ``pip install -e .``) or failed to load, with its error.
    """
    env = dict(os.environ if environ is None else environ)
    env["TUIDL_LOAD_PLUGINS"] = name
    env.pop("TUIDL_DISABLE_PLUGINS", None)
    env["TUIDL_PLUGINS"] = ""
    registry = load_registry(paths, environ=env)
    info = next((p for p in registry.plugins if p.name == name), None)
    if info is None:
        hint = " ".join(registry.warnings)
        raise AssertionError(
            f"plugin {name!r} is not installed (run `pip install -e .` in its folder) and no "
            f"plugin file of that name was given; {hint}".rstrip("; ")
        )
    if info.status != "ok":
        error = info.error if info.error.startswith("failed to load") else f"failed: {info.error}"
        raise AssertionError(f"plugin {name!r} {error}")
    return registry


def assert_contract(
    component: Component, *, seed: int = 0, ranges: bool = True, allow_skip: bool = False
) -> CheckResult:
    """Run ``tuidl plugins check``'s contract tests on ``component`` (at its defaults and,
    with ``ranges``, at the bounds, choices and random draws of its params) and return the
    result. Raises ``AssertionError`` with the failing check and point when it failed, and
    when it was skipped (a dataset that cannot load with its defaults) unless
    ``allow_skip``."""
    result = check_component(component, seed=seed, ranges=ranges)
    if result.status == "failed" or (result.status == "skipped" and not allow_skip):
        raise AssertionError(f"{component.label}: contract check {result.status}: {result.reason}")
    return result


def tiny_spec(**sections: Any) -> dict[str, Any]:
    """:data:`TINY_SPEC` with whole sections replaced: ``loss="focal"`` or
    ``loss={"name": "focal", "gamma": 1.0}``, ``preprocess=[...]``, ``training={...}``.
    A string stands for ``{"name": string}``. A dataset of your own needs at least 300
    rows (240 training, 60 test) unless you also pass ``split``."""
    spec = copy.deepcopy(TINY_SPEC)
    for key, value in sections.items():
        spec[key] = {"name": value} if isinstance(value, str) else copy.deepcopy(value)
    return spec


def run_tiny(
    spec: Mapping[str, Any] | None = None,
    *,
    registry: Registry | None = None,
    store: str | os.PathLike | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """Run a real experiment in this process and return its summary (the shape of
    ``tuidl run --json``: ``status``, ``trials`` with ``fold_scores``/``mean``, ``best``,
    ``test_accuracy``).

    ``spec`` is a TOML-shaped dict (default :func:`tiny_spec` with ``sections``);
    ``registry`` is the one holding your plugin (default: everything installed). The store
    is a temporary file unless ``store`` names one. Raises ``AssertionError`` unless the run
    finished with every trial ok, showing the trials' messages; a spec error raises
    :class:`tuidl.TuidlError` as ``tuidl run`` would report it.
    """
    from tuidl.errors import TuidlError
    from tuidl.experiment.runner import resume, summary
    from tuidl.experiment.spec import Spec
    from tuidl.experiment.spec_check import validate
    from tuidl.experiment.store import Store

    data = dict(spec) if spec is not None else tiny_spec(**sections)
    registry = registry if registry is not None else load_registry()
    user_spec = Spec.from_dict(data)
    validate(user_spec, registry)  # a spec error is the caller's: TuidlError, as the CLI says
    with tempfile.TemporaryDirectory(prefix="tuidl-testing-") as tmp:
        path = Path(store) if store is not None else Path(tmp) / "runs.sqlite"
        with Store(path) as db:
            run_id = db.create_run(user_spec)
            message = ""
            try:
                message = resume(run_id, db, workers=1, registry=registry).message
            except TuidlError as exc:  # e.g. every trial failed: report the trials below
                message = str(exc)
            result = summary(db, run_id)
    bad = [t for t in result["trials"] if t["status"] != "ok"]
    if result["status"] != "finished" or bad:
        detail = "; ".join(f"trial {t['params']}: {t['status']}: {t['message']}" for t in bad)
        raise AssertionError(f"the run ended {result['status']}: {message}; {detail}")
    return result
