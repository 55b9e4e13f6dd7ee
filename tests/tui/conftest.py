"""Fixtures for the workbench tests: a fixed terminal size, an isolated store, a registry with
a test plugin, a fake backend for fast flow tests, and a plain-text screen capture.

Screens are checked as text (see docs/tui.md for why there are no SVG snapshots): a capture
is what a person reads in the terminal, and comparing text is stable across Textual releases.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time

import pytest

from tuidl.plugins.manager import load_registry
from tuidl.tui.backend import Backend, Curves, RunSummary, RunView, TrialRow
from tuidl.tui.specdoc import SpecDoc

from . import myplugin

SIZE = (80, 24)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests in a fresh event loop (no pytest-asyncio needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


def screen_text(app) -> str:
    """The screen as plain text, one line per terminal row (what capture-pane would show)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.fixture(scope="session")
def registry():
    return load_registry(extra_plugins=[("myplugin", myplugin)], entry_points=False, environ={})


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "runs.sqlite"


class FakeBackend(Backend):
    """The real backend for specs and the store path, with runs simulated in memory.

    Every :meth:`get_run` advances the run by one fold; :meth:`cancel` marks it interrupted.
    Config 3 diverges, to show a failed row. Flow tests stay fast and deterministic.
    """

    def __init__(self, registry, store_path):
        super().__init__(store_path, registry)
        self.runs: dict[str, RunView] = {}
        self.steps: dict[str, int] = {}
        self.started: list[dict] = []

    def start(self, data):
        run_id = str(len(self.runs) + 1)
        grid = data.get("cv", {}).get("grid", {})
        doc = SpecDoc(self.registry, data, self.settings())
        combos = doc.grid_combinations()
        folds = doc.folds()
        trials = [TrialRow(i, c, [None] * folds) for i, c in enumerate(combos)]
        self.runs[run_id] = RunView(
            run_id,
            "queued",
            copy.deepcopy(data),
            time.time(),
            trials,
            folds,
            0,
            len(trials) * folds,
            started=time.time(),
        )
        self.steps[run_id] = 0
        self.started.append(data)
        assert grid is not None
        return run_id

    def cancel(self, run_id, wait=60.0):
        view = self.runs[run_id]
        if view.status in ("queued", "running"):
            view.status = "interrupted"
            view.message = "interrupted; finished folds are stored"
            return True, f"run {run_id} stopped"
        return False, f"run {run_id} is not running (status: {view.status})"

    def resume(self, run_id):
        self.runs[run_id].status = "queued"
        self.runs[run_id].message = ""

    def retry(self, run_id):
        return self.start(self.runs[run_id].spec)

    def process_alive(self, run_id):
        return None

    def get_run(self, run_id):
        view = self.runs[run_id]
        if view.status in ("queued", "running"):
            self._advance(view)
        return copy.deepcopy(view)

    def _advance(self, view):
        view.status = "running"
        step = self.steps[view.id]
        n = len(view.trials)
        if step < n * view.folds:
            trial = view.trials[step % n]
            fold = step // n
            if trial.index == 2 and n > 2:
                trial.status, trial.message = "diverged", "loss became nan at iteration 3; lower lr"
            elif trial.status != "diverged":
                trial.fold_scores[fold] = 0.5 + 0.05 * trial.index + 0.01 * fold
                trial.status = "running"
                if all(s is not None for s in trial.fold_scores):
                    scores = trial.fold_scores
                    trial.mean = sum(scores) / len(scores)
                    trial.std = 0.01
                    trial.seconds = 0.1
                    trial.status = "ok"
            view.done_fits = step + 1
            view.current = (trial.index, fold)
            view.curves = Curves(
                list(range(step + 2)),
                [2.0 / (i + 1) for i in range(step + 2)],
                [1, 2],
                [0.4, 0.6],
                [0.3, 0.5],
                label=f"config {trial.index + 1}, fold {fold + 1}",
            )
            self.steps[view.id] = step + 1
            ok = [t for t in view.trials if t.status == "ok"]
            if ok:
                view.best_index = max(ok, key=lambda t: t.mean).index
            return
        view.status = "finished"
        view.finished = time.time()
        view.test_accuracy = 0.9
        view.class_names = [str(i) for i in range(3)]
        view.confusion = [[5, 1, 0], [0, 6, 0], [1, 0, 7]]

    def list_runs(self, query=""):
        return [
            RunSummary(
                v.id,
                v.status,
                v.created,
                v.spec["dataset"]["name"],
                v.spec["model"]["name"],
                ", ".join(v.grid_keys),
                None,
                v.test_accuracy,
            )
            for v in reversed(self.runs.values())
        ]


@pytest.fixture
def fake_backend(registry, store_path):
    return FakeBackend(registry, store_path)


async def wait_for(pilot, condition, timeout: float = 10.0, step: float = 0.05) -> None:
    """Pause until ``condition()`` is true (workers and timers need real time to finish)."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(step)
        waited += step
    await pilot.pause()
