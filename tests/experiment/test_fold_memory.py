"""How many folds' features worker processes hold at once (the CV memory budget).

A fold's features are about as large as the preprocessed training split, so the runner caps
the distinct folds in flight (``FOLD_MEMORY_BUDGET``), runs a single trial in-process when
only one fold fits, deletes a fold's shared files once its units are done, and a worker
process lets go of its mapping after each unit. Results stay identical to a serial run.
"""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.experiment import executors
from tuidl.experiment import runner as runner_mod
from tuidl.experiment.executors import _FoldSlots
from tuidl.experiment.runner import load_data, resume, run_spec
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.store import Store
from tuidl.experiment.work import (
    Context,
    Data,
    Unit,
    Worker,
    feature_bytes_per_row,
    fold_tag,
)
from tuidl.experiment.workplan import build_plan, trial_specs
from tuidl.plugins.manager import get_registry

GRID_SPEC = """
seed = 3
[dataset]
name = "digits"
[split]
num_training = 600
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "linear"
[loss]
name = "softmax"
[optimizer]
name = "sgd"
lr = 1e-3
[training]
epochs = 2
batch_size = 50
[cv]
folds = 3
[cv.grid]
"optimizer.lr" = [1e-3, 1e-2]
"model.reg" = [1e-4, 1e-2]
"""

SINGLE_SPEC = GRID_SPEC.split("[cv.grid]")[0]


def _scores(store, run_id):
    run = store.get_run(run_id)
    return [t["fold_scores"] for t in run["trials"]], run["test"]["test_accuracy"]


# -- the executor's fold slots ---------------------------------------------------------------


def _slots(limit):
    dropped = []
    return _FoldSlots(lambda u: f"f{u.fold}", limit, dropped.append), dropped


def test_one_fold_slot_holds_back_the_next_fold_until_the_last_unit_is_done():
    slots, dropped = _slots(1)
    a0, a1, b0 = Unit(0, (0,)), Unit(0, (1,)), Unit(1, (0,))
    assert slots.admit(a0)
    slots.started(a0)
    assert slots.admit(a1)  # same fold: always admitted
    slots.started(a1)
    assert not slots.admit(b0)  # a second fold would be held at once
    assert not slots.admit(b0)  # (asking again changes nothing)
    slots.finished(a0)
    assert not slots.admit(b0) and dropped == []
    slots.finished(a1)  # fold 0 is done and the queue has moved on: its files go
    assert dropped == ["f0"]
    assert slots.admit(b0)
    slots.started(b0)
    slots.finished(b0)
    assert dropped == ["f0"]  # fold 1 may still get units
    slots.exhausted()
    assert dropped == ["f0", "f1"]
    slots.exhausted()
    assert dropped == ["f0", "f1"]


def test_a_fold_done_before_the_queue_moves_on_is_dropped_when_it_does():
    slots, dropped = _slots(1)
    a0, b0 = Unit(0, (0,)), Unit(1, (0,))
    assert slots.admit(a0)
    slots.started(a0)
    slots.finished(a0)
    assert dropped == []
    assert slots.admit(b0)
    assert dropped == ["f0"]


def test_two_fold_slots_let_two_folds_run_and_drop_each_when_done():
    slots, dropped = _slots(2)
    units = [Unit(0, (0,)), Unit(1, (0,)), Unit(2, (0,))]
    assert slots.admit(units[0])
    slots.started(units[0])
    assert slots.admit(units[1])
    slots.started(units[1])
    assert not slots.admit(units[2])
    slots.finished(units[1])  # the queue is at fold 2 now: fold 1 is done
    assert dropped == ["f1"]
    assert slots.admit(units[2])
    slots.started(units[2])
    slots.finished(units[0])
    assert dropped == ["f1", "f0"]


def test_a_unit_with_nothing_to_run_moves_the_queue_on_without_a_slot():
    """On resume, a fold whose units are all done or closed must not wait for a slot."""
    slots, dropped = _slots(1)
    a0, b0, b1 = Unit(0, (0,)), Unit(1, (0,)), Unit(1, (1,))
    assert slots.admit(a0)
    slots.started(a0)
    slots.passed(b0)  # fold 1's first unit is skipped: no waiting, and fold 0 may go
    assert not slots.admit(b1)  # a unit that does run still needs the slot
    slots.finished(a0)
    assert dropped == ["f0"] and slots.admit(b1)


def test_without_fold_of_everything_is_admitted_and_nothing_dropped():
    slots = _FoldSlots(None, 1, lambda tag: pytest.fail("dropped"))
    for fold in range(3):
        assert slots.admit(Unit(fold, (0,)))
        slots.started(Unit(fold, (0,)))
    for fold in range(3):
        slots.finished(Unit(fold, (0,)))
    slots.exhausted()


# -- the estimate and the plan ---------------------------------------------------------------


def _spec_with(preprocess):
    text = SINGLE_SPEC.split("[[preprocess]]")[0] + "".join(
        f'[[preprocess]]\nname = "{name}"\n' + "".join(f"{k} = {v}\n" for k, v in params.items())
        for name, params in preprocess
    )
    text += SINGLE_SPEC[SINGLE_SPEC.index("[model]") :]
    return loads_spec(text)


@pytest.mark.parametrize(
    ("preprocess", "dtype", "expected"),
    [
        ([("reshape", {}), ("mean_subtraction", {})], np.uint8, 3072 * 4),
        ([("reshape", {"dtype": '"float64"'}), ("mean_subtraction", {})], np.uint8, 3072 * 8),
        ([("reshape", {}), ("pca", {"k": 20})], np.uint8, 20 * 4),
        ([("reshape", {}), ("pca", {"variance": 0.9})], np.uint8, 3072 * 4),  # size unknown
        ([("reshape", {}), ("mean_subtraction", {})], np.float64, 3072 * 4),  # cast
        ([("mean_subtraction", {})], np.float64, 3072 * 8),
        ([], np.uint8, 3072),
    ],
)
def test_feature_bytes_per_row_estimates_the_chains_output(preprocess, dtype, expected):
    X = np.zeros((2, 32, 32, 3), dtype=dtype)
    spec = _spec_with(preprocess)
    assert feature_bytes_per_row(spec, get_registry(), X) == expected


def _parallelism(tmp_path, text, workers, budget, monkeypatch):
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", budget)
    reg = get_registry()
    spec = loads_spec(text)
    with Store(tmp_path / f"p{budget}.sqlite") as store:
        run_id = store.create_run(spec)
        ex = runner_mod._Execution(run_id, store.get_run(run_id), store, workers, reg, None, None)
        return ex._parallelism(load_data(ex.spec, reg), trial_specs(ex.user_spec, reg))


def test_one_fold_at_a_time_runs_a_single_trial_in_this_process(tmp_path, monkeypatch):
    # digits: 600 rows x 64 float32 features = 153,600 bytes per fold
    fold = 600 * 64 * 4
    assert _parallelism(tmp_path, SINGLE_SPEC, 2, fold, monkeypatch) == (1, 1)
    assert _parallelism(tmp_path, SINGLE_SPEC, 2, 2 * fold, monkeypatch) == (2, 2)
    assert _parallelism(tmp_path, SINGLE_SPEC, 4, 2 * fold, monkeypatch) == (2, 2)
    assert _parallelism(tmp_path, SINGLE_SPEC, 1, 10 * fold, monkeypatch) == (1, 1)


def test_one_fold_at_a_time_still_runs_a_grid_on_every_worker(tmp_path, monkeypatch):
    fold = 600 * 64 * 4
    assert _parallelism(tmp_path, GRID_SPEC, 2, fold, monkeypatch) == (2, 1)
    assert _parallelism(tmp_path, GRID_SPEC, 8, fold, monkeypatch) == (4, 1)  # 4 per fold
    assert _parallelism(tmp_path, GRID_SPEC, 8, 2 * fold, monkeypatch) == (8, 2)
    assert _parallelism(tmp_path, GRID_SPEC, 2, 0, monkeypatch) == (2, 1)


def test_the_default_budget_has_room_for_one_cifar10_fold_and_many_small_ones():
    assert runner_mod.FOLD_MEMORY_BUDGET < 2 * 50000 * 3072 * 4  # float32 CIFAR-10 folds
    assert runner_mod.FOLD_MEMORY_BUDGET // (1797 * 64 * 8) > 64  # all of digits, float64


def test_fewer_processes_than_asked_are_explained_once_on_stderr(tmp_path, monkeypatch, capsys):
    """The run says why it uses fewer processes than --workers (and how to change it), so
    a single big trial running in one process is not a mystery; one line, even in a pipe."""
    from tuidl.cli import main

    spec = tmp_path / "single.toml"
    spec.write_text(SINGLE_SPEC)
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", 1)
    argv = ["run", str(spec), "--store", str(tmp_path / "r.sqlite"), "--workers", "2"]
    assert main([*argv, "--no-charts"]) == 0
    err = capsys.readouterr().err
    assert err.count("running in this process instead of 2") == 1
    assert "TUIDL_FOLD_MEMORY" in err
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", 2**30)  # both folds fit: no note
    assert main([*argv, "--no-charts"]) == 0
    assert "instead of" not in capsys.readouterr().err


def test_the_budget_comes_from_the_environment_in_mib(tmp_path, monkeypatch):
    from tuidl.errors import TuidlError

    assert runner_mod.fold_memory_budget({}) == runner_mod.FOLD_MEMORY_BUDGET
    assert runner_mod.fold_memory_budget({"TUIDL_FOLD_MEMORY": "4096"}) == 4096 * 2**20
    assert runner_mod.fold_memory_budget({"TUIDL_FOLD_MEMORY": "0.5"}) == 2**19
    for bad in ("0", "-3", "lots", "nan", "inf"):
        with pytest.raises(TuidlError, match=r"TUIDL_FOLD_MEMORY=.*a number above 0"):
            runner_mod.fold_memory_budget({"TUIDL_FOLD_MEMORY": bad})
    # a machine with memory to spare lets a single trial's folds run in parallel again
    fold_mib = 600 * 64 * 4 / 2**20
    monkeypatch.setenv("TUIDL_FOLD_MEMORY", str(2 * fold_mib))
    assert _parallelism(tmp_path, SINGLE_SPEC, 2, 1, monkeypatch) == (2, 2)


# -- whole runs ------------------------------------------------------------------------------


class _Log:
    """What the executor's fold slots saw: folds in flight after each start, folds dropped."""

    def __init__(self) -> None:
        self.most: list[int] = []
        self.drops: list[str] = []


@pytest.fixture
def recording(monkeypatch):
    log = _Log()

    class Recording(_FoldSlots):
        def __init__(self, fold_of, limit, drop):
            def drop_and_record(tag):
                log.drops.append(tag)
                drop(tag)

            super().__init__(fold_of, limit, drop_and_record)

        def started(self, unit):
            super().started(unit)
            log.most.append(len(self.running))

    monkeypatch.setattr(executors, "_FoldSlots", Recording)
    return log


def _tags(text):
    spec = loads_spec(text)
    from tuidl.experiment.workplan import trial_specs

    first = trial_specs(spec, get_registry())[0]
    return [fold_tag(first, fold) for fold in range(spec.cv.folds)]


def test_a_grid_with_room_for_one_fold_equals_serial_and_frees_each_fold(
    tmp_path, monkeypatch, recording
):
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    ra = run_spec(loads_spec(GRID_SPEC), a, workers=1)
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", 1)
    rb = run_spec(loads_spec(GRID_SPEC), b, workers=2)
    assert _scores(a, ra.run_id) == _scores(b, rb.run_id)
    assert a.curves(ra.run_id, 1, 2) == b.curves(rb.run_id, 1, 2)
    assert len(recording.most) == 12 and max(recording.most) == 1  # one fold in flight
    assert recording.drops == _tags(GRID_SPEC)  # each fold's files deleted, in order


def test_a_single_trial_with_room_for_one_fold_runs_here_identically(tmp_path, monkeypatch):
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    ra = run_spec(loads_spec(SINGLE_SPEC), a, workers=1)
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", 1)

    def no_pool(*args, **kwargs):
        raise AssertionError("no worker processes for one trial and one fold at a time")

    monkeypatch.setattr(runner_mod, "ProcessExecutor", no_pool)
    rb = run_spec(loads_spec(SINGLE_SPEC), b, workers=2)
    assert _scores(a, ra.run_id) == _scores(b, rb.run_id)


def test_a_single_trial_with_room_for_two_folds_uses_both_workers(tmp_path, monkeypatch, recording):
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    ra = run_spec(loads_spec(SINGLE_SPEC), a, workers=1)
    rb = run_spec(loads_spec(SINGLE_SPEC), b, workers=2)  # the default budget: 2 folds fit
    assert _scores(a, ra.run_id) == _scores(b, rb.run_id)
    assert max(recording.most) == 2
    assert sorted(recording.drops) == sorted(_tags(SINGLE_SPEC))


def test_cancel_while_the_next_fold_is_held_back_then_resume_is_identical(
    tmp_path, monkeypatch, recording
):
    ref = Store(tmp_path / "ref.sqlite")
    rr = run_spec(loads_spec(GRID_SPEC), ref, workers=1)
    monkeypatch.setattr(runner_mod, "FOLD_MEMORY_BUDGET", 1)
    store = Store(tmp_path / "runs.sqlite")
    seen = []
    out = run_spec(
        loads_spec(GRID_SPEC),
        store,
        workers=2,
        progress=lambda p: p.last is not None and seen.append(p.last),
        cancel=lambda: len(seen) >= 3,
    )
    assert out.status == "interrupted"
    # fold 1 waits for fold 0's last unit: the cancel lands with it held back
    assert len(store.done_folds(out.run_id)) in (3, 4)
    assert {fold for _, fold in store.done_folds(out.run_id)} == {0}
    assert max(recording.most) == 1
    assert resume(out.run_id, store, workers=2).status == "finished"
    assert _scores(store, out.run_id) == _scores(ref, rr.run_id)


# -- the worker side -------------------------------------------------------------------------


def test_a_worker_process_lets_go_of_a_shared_fold_after_each_unit(tmp_path, monkeypatch):
    spec = loads_spec(GRID_SPEC)
    load_data(spec, get_registry()).save(tmp_path)
    data = Data.load(tmp_path)
    work = build_plan(spec, get_registry(), data)
    worker = Worker(Context(work, data_dir=str(tmp_path)), data)
    monkeypatch.setattr(executors, "_worker", worker)
    (result,) = executors._run_unit(Unit(1, (0,)))
    assert result.status == "ok"
    assert worker._cache is None  # the mapping is gone; the files stay for the next unit
    assert len(list((tmp_path / "folds").glob("*.npy"))) == 2
    worker.prepared(worker.trials[0], 1)
    assert worker.preprocess_fits == 1  # mapped again, not rebuilt


def test_a_private_cache_survives_release():
    spec = loads_spec(GRID_SPEC)
    data = load_data(spec, get_registry())
    worker = Worker(Context(build_plan(spec, get_registry(), data)), data)
    worker.prepared(worker.trials[0], 0)
    worker.release()
    worker.prepared(worker.trials[0], 0)
    assert worker.preprocess_fits == 1
