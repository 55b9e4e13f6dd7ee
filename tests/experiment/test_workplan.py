"""The work plan: the runner validates a spec once and hands workers the plan, never the
TOML (see :mod:`tuidl.experiment.workplan`)."""

from __future__ import annotations

import os
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment import runner as runner_mod
from tuidl.experiment.runner import load_data, run_spec
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.store import Store
from tuidl.experiment.work import FINAL, Context, Unit, Worker
from tuidl.experiment.workplan import WorkPlan, build_plan, make_folds, trial_specs

SPY = Path(__file__).with_name("spec_spy_plugin.py")

DIGITS_KFOLD = """
seed = 4
[dataset]
name = "digits"
[split]
num_training = 300
num_test = 100
[[preprocess]]
name = "reshape"
dtype = "float32"
[model]
name = "linear"
[optimizer]
name = "sgd"
[training]
epochs = 1
[cv]
folds = 3
[cv.grid]
"optimizer.lr" = [1e-3, 1e-2]
"model.reg" = [0.0, 1e-2]
"""

DIGITS_RANDOM = """
seed = 3
[dataset]
name = "digits"
[split]
num_training = 300
num_validation = 60
num_test = 100
[model]
name = "linear"
[training]
epochs = 1
[cv]
method = "holdout"
[search]
method = "random"
trials = 4
[search.space]
"optimizer.lr" = {log_uniform = [1e-4, 1e-1]}
"model.reg" = {uniform = [0.0, 0.1]}
"""


def test_a_plan_pickles_and_a_worker_from_it_has_the_trial_specs_workers_used_to_build():
    reg = registry()
    spec = blobs_spec()
    data = load_data(spec, reg)
    work = build_plan(spec, reg, data)
    again = pickle.loads(pickle.dumps(Context(work, run_id=1, data_dir="/nowhere")))
    assert again.seed == work.seed == spec.seed
    worker = Worker(again, data, registry=reg)
    # what a worker process computed from the stored TOML before there was a plan
    stored = loads_spec(spec.to_toml(), stored=True)
    before = trial_specs(stored, reg)
    assert len(before) == 4
    assert [worker.spec_of(i) for i in range(4)] == before
    folds = make_folds(work.spec, data.y_pool, len(data.y_val), work.seed)
    assert len(worker.folds) == len(folds) == 3
    for got, want in zip(worker.folds, folds, strict=True):
        assert np.array_equal(got.train, want.train) and np.array_equal(got.val, want.val)


def test_the_runners_trial_specs_are_the_grid_trials(tmp_path):
    """The runner normalizes each trial once (its search's specs) and workers train
    exactly those: they equal the grid's trial specs, as workers built them before."""
    reg = registry()
    spec = blobs_spec()
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(spec)
        ex = runner_mod._Execution(run_id, store.get_run(run_id), store, 1, reg, None, None)
        assert ex._start_search() == trial_specs(spec, reg)


def test_a_worker_takes_a_searched_trials_spec_from_its_unit_and_validates_nothing(
    monkeypatch,
):
    reg = registry()
    spec = blobs_spec()
    spec.cv.grid = {}
    data = load_data(spec, reg)
    work = build_plan(spec, reg, data)
    work = WorkPlan(work.spec, work.seed, work.folds)  # a search: no trials at the start
    given = list(work.trials)
    worker = Worker(Context(work), data, registry=reg)

    def no(*args, **kwargs):
        raise AssertionError("a worker validated a spec")

    monkeypatch.setattr("tuidl.experiment.spec_check.validate", no)
    monkeypatch.setattr("tuidl.experiment.spec_check.point_spec", no)
    searched = trial_specs(spec, reg)[0]  # any normalized spec: the runner's, in the unit
    searched.optimizer.params["lr"] = 0.5
    (r5,) = worker.run(Unit(0, (5,), specs=(searched,)))
    assert r5.status == "ok", r5.message
    assert worker.spec_of(5) is searched  # kept for the unit's later folds
    assert work.trials == given == []  # nothing added to the plan's list
    (r2,) = worker.run(Unit(0, (2,)))  # a unit that forgot the spec of a trial it needs
    assert r2.status == "failed" and "trial 2: not in this worker's plan" in r2.message
    with pytest.raises(TuidlError, match="trial 7"):
        worker.spec_of(7)


def _spy_on_workers(monkeypatch, tmp_path) -> Path:
    log = tmp_path / "spec-calls.log"
    monkeypatch.setenv("TUIDL_PLUGINS", str(SPY))
    monkeypatch.setenv("TUIDL_SPEC_SPY", str(log))
    monkeypatch.setenv("TUIDL_SPEC_SPY_SKIP", str(os.getpid()))
    return log


def _worker_calls(log: Path) -> tuple[set[str], Counter]:
    """(pids the spy loaded in, calls per function) of the processes other than this one."""
    loaded, calls = set(), Counter()
    for line in log.read_text().splitlines():
        pid, what = line.split()
        if int(pid) == os.getpid():
            continue
        if what == "loaded":
            loaded.add(pid)
        else:
            calls[what] += 1
    return loaded, calls


@pytest.mark.parametrize("text", [DIGITS_KFOLD, DIGITS_RANDOM], ids=["kfold-grid", "random"])
def test_worker_processes_neither_parse_nor_validate_the_spec(text, tmp_path, monkeypatch):
    log = _spy_on_workers(monkeypatch, tmp_path)
    seen = []
    original = runner_mod.ProcessExecutor.run

    def run(self, *args, **kwargs):  # the runner really hands the units to processes
        seen.append(self.workers)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(runner_mod.ProcessExecutor, "run", run)
    with Store(tmp_path / "runs.sqlite") as store:
        out = run_spec(loads_spec(text), store, workers=2, registry=registry())
        trials = store.get_run(out.run_id)["trials"]
    assert out.status == "finished", out.message
    assert seen == [2]
    assert len(trials) == 4 and all(t["status"] == "ok" for t in trials)
    loaded, calls = _worker_calls(log)
    assert len(loaded) == 2, "the spy plugin did not load in both worker processes"
    assert calls == Counter(), f"worker processes parsed or validated the spec: {calls}"


def test_the_final_unit_runs_from_the_plan_too():
    reg = registry()
    spec = blobs_spec()
    data = load_data(spec, reg)
    worker = Worker(Context(build_plan(spec, reg, data)), data, registry=reg)
    (result,) = worker.run(Unit(FINAL, (3,)))
    assert result.status == "ok" and result.test is not None


def test_the_modules_workers_run_in_hold_no_spec_reader_or_checker():
    """The worker side (this process's worker, worker processes, Dask tasks) has nothing
    to parse or validate a spec with: what it needs comes in the plan and the units."""
    from tuidl.experiment import dask_executor, executors, work

    names = ("loads_spec", "load_spec", "validate", "point_spec", "trial_specs", "make_folds")
    for module in (work, executors, dask_executor):
        held = [n for n in names if hasattr(module, n)]
        assert held == [], f"{module.__name__} holds {held}"
