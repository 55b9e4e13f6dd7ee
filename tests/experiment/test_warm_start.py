"""Halving rungs continue the previous rung's training (Ask.warm_start, checkpoint)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from exp_helpers import blobs_spec, registry

from tuidl.engine.optim import SGD, Adagrad, Adam, Momentum, Nesterov, RMSProp
from tuidl.errors import TuidlError
from tuidl.experiment import checkpoint
from tuidl.experiment.components import build_trial
from tuidl.experiment.runner import load_data, run_spec
from tuidl.experiment.space import dimensions
from tuidl.experiment.spec import Spec, loads_spec
from tuidl.experiment.spec_check import validate
from tuidl.experiment.store import Store
from tuidl.experiment.trainer import ListSink, train
from tuidl.experiment.work import Context, Worker, continued_from
from tuidl.experiment.workplan import build_plan
from tuidl.plugins.builtin.searchers import HalvingSearcher
from tuidl.plugins.search import Budget, SearchProblem, Told

NET = """
[dataset]
name = "digits"
[split]
num_training = 600
num_validation = 0
num_test = 100
[[preprocess]]
name = "reshape"
dtype = "float32"
[model]
name = "fc_net"
hidden_sizes = [24]
batchnorm = true
dropout = 0.7
[loss]
name = "softmax"
[init]
name = "he"
[optimizer]
name = "adam"
lr = 3e-3
lr_decay = 0.9
[training]
epochs = 9
batch_size = 50
sampling = "epoch"
schedule = "cosine"
keep_best = true
[cv]
method = "kfold"
folds = 3
"""


@pytest.fixture(scope="module")
def reg():
    return registry()


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20)).astype(np.float32)
    y = (X[:, :10].argmax(1)).astype(np.int64)
    return X[:240], y[:240], X[240:], y[240:]


def _pieces(reg, rows, pieces, *, patience=0, tmp=None):
    """Train in ``pieces`` (epochs to reach, in order), saving and loading the state between
    them as the runner does; the last result and the model's final state."""
    spec = validate(loads_spec(NET), reg)
    Xtr, ytr, Xv, yv = rows
    state, result, model = None, None, None
    tmp.mkdir(exist_ok=True)
    for n, epochs in enumerate(pieces):
        rng = np.random.default_rng(5)
        parts = build_trial(spec, reg, Xtr, ytr, 10, rng)
        model = parts.model
        result = train(
            model,
            parts.optimizer,
            Xtr,
            ytr,
            Xv,
            yv,
            rng=rng,
            epochs=epochs,
            batch_size=50,
            sampling="epoch",
            schedule="cosine",
            patience=patience,
            horizon=pieces[-1],
            resume=state,
            snapshot=True,
        )
        assert result.state is not None
        assert checkpoint.save(tmp, 0, n, result.state)
        state = checkpoint.load(tmp, 0, n)
        assert state is not None
    return result, model.get_state()


def test_training_in_rungs_is_the_uninterrupted_training(reg, rows, tmp_path):
    """1, then on to 3, then on to 9 epochs (through files) is bit for bit the 9-epoch
    training: batchnorm, dropout (drawn from the saved generator), Adam's moments, a
    per-epoch decay under a cosine schedule over 9 epochs, and the best check kept."""
    whole, a = _pieces(reg, rows, [9], tmp=tmp_path / "a")
    rungs, b = _pieces(reg, rows, [1, 3, 9], tmp=tmp_path / "b")
    for group in a:
        for name in a[group]:
            np.testing.assert_array_equal(a[group][name], b[group][name], err_msg=name)
    assert rungs.val_acc == whole.val_acc and rungs.best_epoch == whole.best_epoch
    assert rungs.resumed_at == 3.0 and whole.resumed_at == 0.0


def test_a_schedule_spans_the_horizon_not_the_rung(reg, rows, tmp_path):
    """Without the horizon a 1-epoch rung would decay its cosine to 0 in one epoch: the
    continuation would not be the 9-epoch training (the test can fail)."""
    spec = validate(loads_spec(NET), reg)
    Xtr, ytr, Xv, yv = rows
    lrs = {}
    for horizon in (None, 9):
        rng = np.random.default_rng(5)
        parts = build_trial(spec, reg, Xtr, ytr, 10, rng)
        sink = ListSink()
        train(
            parts.model, parts.optimizer, Xtr, ytr, Xv, yv, rng=rng, epochs=1, batch_size=50,
            sampling="epoch", schedule="cosine", horizon=horizon, sink=sink,
        )  # fmt: skip
        lrs[horizon] = sink.epochs[-1][3]  # the rate of the rung's last step
    assert lrs[9] > 10 * lrs[None]


def test_a_state_saved_after_early_stopping_trains_no_further(reg, rows, tmp_path):
    first, _ = _pieces(reg, rows, [9], patience=1, tmp=tmp_path / "a")
    assert first.state.stopped  # patience 1 stops this training (else the test tests nothing)
    spec = validate(loads_spec(NET), reg)
    Xtr, ytr, Xv, yv = rows
    rng = np.random.default_rng(5)
    parts = build_trial(spec, reg, Xtr, ytr, 10, rng)
    again = train(
        parts.model, parts.optimizer, Xtr, ytr, Xv, yv, rng=rng, epochs=27, batch_size=50,
        sampling="epoch", patience=1, resume=first.state,
    )  # fmt: skip
    assert again.iterations == first.iterations and again.val_acc == first.val_acc


@pytest.mark.parametrize("make", [SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam])
def test_every_builtin_optimizer_continues_exactly(make):
    rng = np.random.default_rng(1)
    p0 = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in p0.items()} for _ in range(6)]
    whole, p = make(lr=0.1), {k: v.copy() for k, v in p0.items()}
    for g in grads:
        whole.step(p, g)
    first, q = make(lr=0.1), {k: v.copy() for k, v in p0.items()}
    for g in grads[:3]:
        first.step(q, g)
    saved = first.get_state()
    first.step(q, grads[3])  # the saved copy must not see this step
    q = {k: v.copy() for k, v in p0.items()}
    redo = make(lr=0.1)
    for g in grads[:3]:
        redo.step(q, g)
    second = make(lr=0.1)
    second.set_state(saved, q)
    for g in grads[3:]:
        second.step(q, g)
    for k in p:
        np.testing.assert_array_equal(p[k], q[k])


def test_optimizer_state_that_does_not_fit_is_refused():
    opt = Adam()
    p = {"W": np.zeros((2, 2))}
    opt.step(p, {"W": np.ones((2, 2))})
    with pytest.raises(ValueError, match="no entry for parameter 'V'"):
        Adam().set_state(opt.get_state(), {"V": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="shape"):
        Adam().set_state(opt.get_state(), {"W": np.zeros((3, 2))})


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a zip", b"\x93NUMPY garbage"])
def test_a_bad_or_missing_state_file_reads_as_none(tmp_path, content):
    assert checkpoint.load(tmp_path, 1, 0) is None
    checkpoint.path(tmp_path, 1, 0).write_bytes(content)
    assert checkpoint.load(tmp_path, 1, 0) is None
    assert checkpoint.load(None, 1, 0) is None


def test_a_state_with_a_pickled_object_is_not_unpickled(tmp_path):
    """The files are read with allow_pickle=False: an object array is refused, not run."""
    np.savez(
        checkpoint.path(tmp_path, 0, 0),
        allow_pickle=True,
        __layout__=np.array('{"model": {"__array__": "a0"}}'),
        a0=np.array([object()], dtype=object),
    )
    assert checkpoint.load(tmp_path, 0, 0) is None


def test_a_worker_continues_a_rung_where_it_stopped(reg, tmp_path):
    """Trial 1 (9 epochs) warm-started from trial 0 (its first epoch, horizon 9) ends where
    trial 0's fold would have after 9 uninterrupted epochs; its fold says so."""
    base = validate(loads_spec(NET), reg)
    short = Spec.from_dict({**base.to_dict(), "training": {**base.to_dict()["training"]}})
    short.training.epochs = 1.0
    data = load_data(base, reg)
    plan = build_plan(loads_spec(NET), reg, data, seed=0)
    rungs = replace(plan, trials=[short, base])
    worker = Worker(Context(rungs, state_dir=str(tmp_path)), data, registry=reg)
    Xtr, ytr, Xev, yev = worker.prepared(base, 0)
    worker._train(0, 0, Xtr, ytr, Xev, yev, horizon=9.0)
    assert checkpoint.path(tmp_path, 0, 0).exists()
    rung = worker._train(1, 0, Xtr, ytr, Xev, yev, horizon=None, warm=0)
    assert rung.message == "continued trial #1 from epoch 1"
    other = Worker(Context(replace(plan, trials=[base])), data, registry=reg)
    whole = other._train(0, 0, *other.prepared(base, 0))
    assert rung.score == whole.score and rung.train_acc == whole.train_acc


def test_halving_over_epochs_trains_only_the_new_epochs(tmp_path, reg):
    """A run: each promoted trial's folds continue its lower rung (3 epochs: rungs of 1 and
    3), so the epochs trained are 1 per configuration plus 2 per promotion."""
    spec = blobs_spec(**{"cv.folds": 3})
    spec.cv.grid = {}
    data = spec.to_dict()
    data["optimizer"] = {"name": "adam", "lr": 1e-2}
    data["search"] = {
        "method": "halving",
        "trials": 9,
        "eta": 3,
        "min_budget": 1,
        "space": {"model.reg": {"log_uniform": [1e-5, 1e-1]}},
    }
    store = Store(tmp_path / "h.sqlite")
    out = run_spec(Spec.from_dict(data), store, registry=reg)
    assert out.status == "finished"
    run = store.get_run(out.run_id)
    full = [t for t in run["trials"] if "training.epochs" not in t["params"]]
    assert full and all(t["status"] == "ok" for t in full)
    for t in full:
        for f in t["folds"]:
            assert f["message"].startswith("continued trial #") and "from epoch 1" in f["message"]
            assert continued_from(f["message"]) == 1.0
            lr = store.curves(out.run_id, t["index"], f["fold"], max_points=None)["lr"][0]
            assert list(lr) == [2.0, 3.0]  # epochs 2 and 3 only: epoch 1 was its rung's


def test_a_warm_start_from_another_configuration_is_refused(tmp_path, reg):
    """The runner checks what a (plugin) searcher asks: same params, fewer epochs."""
    from tuidl.experiment.scheduler import Scheduling
    from tuidl.plugins.search import Ask, Budget

    s = Scheduling.__new__(Scheduling)
    s.searcher_component = type("C", (), {"key": "mine"})()
    s.plan = type("P", (), {"trials": []})()
    from tuidl.experiment.grid import Trial

    s.plan.trials = [Trial(0, {"model.reg": 0.1, "training.epochs": 1.0})]
    s._check_warm_start(0, {"model.reg": 0.1, "training.epochs": 3.0})
    for params in (
        {"model.reg": 0.2, "training.epochs": 3.0},
        {"model.reg": 0.1, "training.epochs": 1.0},
    ):
        with pytest.raises(TuidlError, match="searcher mine asked to warm-start from trial 0"):
            s._check_warm_start(0, params)
    with pytest.raises(TuidlError, match="trial 5, which does not exist"):
        s._check_warm_start(5, {})
    assert Ask({}, Budget(1, 3.0), warm_start=0).warm_start == 0


def _drive(s, workers=2):
    """Ask and tell until the searcher has nothing more (scores from the config's lr, so
    the ranking is fixed), ``workers`` asks in flight at a time; every ask, in order."""
    asked, flight, n = [], [], 0
    while True:
        for a in s.ask(workers - len(flight)):
            asked.append(a)
            flight.append((n, a))
            n += 1
        if not flight:
            return asked
        i, a = flight.pop(0)
        score = -abs(np.log10(a.params["optimizer.lr"]) + 2)  # best near lr = 1e-2
        s.tell(Told(i, a.params, a.budget, "ok", (score,) * 3, score))


@pytest.mark.parametrize("cap", [30.0, 60.0, 100.0])
def test_halving_never_spends_more_than_its_total_budget(cap):
    """Epochs summed over trials and folds, counting a warm-started rung's new epochs only:
    1 + 2 + 6 per configuration taken to the top, times 3 folds."""
    s = HalvingSearcher(trials=1000, eta=3, min_budget=1, resource="epochs", total_budget=cap)
    s.setup(SearchProblem(space=dimensions(_space_spec()), seed=0, folds=3, epochs=9.0))
    asked = _drive(s)
    cost = {1.0: 1, 3.0: 2, None: 6}
    spent = 3 * sum(cost[a.budget.epochs] for a in asked)
    assert spent <= cap and spent == s.spent
    assert any(a.budget.epochs is None for a in asked)  # something reached the full budget
    assert all(a.warm_start is not None for a in asked if a.budget.epochs != 1.0)
    assert f"at most {cap:g} epochs (summed over trials and folds) in all" in s.describe()


def test_a_resumed_halving_counts_what_its_history_spent():
    space = dimensions(_space_spec())
    s = HalvingSearcher(trials=1000, eta=3, min_budget=1, resource="epochs", total_budget=60)
    s.setup(SearchProblem(space=space, seed=0, folds=3, epochs=9.0))
    first = s.ask(4)
    history = [
        Told(i, {**a.params, "training.epochs": 1.0}, Budget(3, 1.0), "ok", (0.5,) * 3, 0.5)
        for i, a in enumerate(first)
    ]
    again = HalvingSearcher(trials=1000, eta=3, min_budget=1, resource="epochs", total_budget=60)
    again.setup(SearchProblem(space=space, seed=0, folds=3, epochs=9.0, history=history))
    assert again.spent == 4 * 3
    assert 3 * sum({1.0: 1, 3.0: 2, None: 6}[a.budget.epochs] for a in _drive(again)) <= 60 - 12


def _space_spec():
    spec = blobs_spec()
    spec.cv.grid = {}
    data = spec.to_dict()
    data["search"] = {"method": "halving", "space": {"optimizer.lr": {"log_uniform": [1e-4, 1]}}}
    return Spec.from_dict(data)


def test_a_state_is_not_kept_when_the_disk_would_get_too_full(reg, rows, tmp_path):
    """Kept states must never take the room the store and fold files need: below the
    reserve nothing is written (the next rung then trains from scratch)."""
    import shutil

    result, _ = _pieces(reg, rows, [1], tmp=tmp_path / "a")
    free = shutil.disk_usage(tmp_path).free
    assert not checkpoint.save(tmp_path, 5, 0, result.state, keep_free=free)
    assert not checkpoint.path(tmp_path, 5, 0).exists()
    assert checkpoint.save(tmp_path, 5, 0, result.state, keep_free=0)
    assert checkpoint.reserve(10**9) == 2**30 and checkpoint.reserve(10**12) == 10**11


def test_a_total_budget_below_one_configuration_is_refused_by_spec_check():
    s = HalvingSearcher(trials=10, eta=3, min_budget=1, resource="epochs", total_budget=20)
    with pytest.raises(TuidlError, match=r"^search.total_budget: 20 is less than one config"):
        s.setup(SearchProblem(space=dimensions(_space_spec()), seed=0, folds=3, epochs=9.0))
    ok = HalvingSearcher(trials=10, eta=3, min_budget=1, resource="epochs", total_budget=27)
    ok.setup(SearchProblem(space=dimensions(_space_spec()), seed=0, folds=3, epochs=9.0))
