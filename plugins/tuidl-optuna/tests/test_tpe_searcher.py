"""tuidl-optuna, exercised the way tuidl uses it: through entry-point discovery and the
searcher protocol's setup / ask / should_prune / tell loop.

Nothing here imports ``tuidl_optuna`` except the test that hides Optuna; every searcher
comes from ``load_registry()``. The tests that need Optuna skip cleanly without it.
"""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

from tuidl.api import PrunesFolds, Searcher
from tuidl.errors import TuidlError
from tuidl.plugins.manager import load_registry
from tuidl.plugins.search import Budget, Dimension, SearchProblem, Told

needs_optuna = pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna is not installed"
)
HIDDEN = ([16], [64], [256])
SPACE = (
    Dimension("optimizer.lr", "log_uniform", low=1e-4, high=1e-1),
    Dimension("model.reg", "uniform", low=0.0, high=1.0),
    Dimension("training.batch_size", "int", low=10, high=1000, log=True),
    Dimension("model.hidden_sizes", "choice", values=HIDDEN),
)


@pytest.fixture(scope="module")
def registry():
    return load_registry(environ={"TUIDL_LOAD_PLUGINS": "optuna"})


@pytest.fixture
def make(registry):
    return lambda **params: registry.create("searcher", "tpe", params)


def score(params) -> float:
    """A made-up accuracy peaking at lr 1e-2, reg 0.2, 64 hidden units."""
    lr = math.log10(params["optimizer.lr"])
    bonus = 0.05 if params["model.hidden_sizes"] == [64] else 0.0
    return 0.9 - 0.1 * (lr + 2) ** 2 - 0.2 * (params["model.reg"] - 0.2) ** 2 + bonus


def told(trial, ask, scores, status="ok", folds=5):
    fold_scores = tuple(scores) + (None,) * (folds - len(scores))
    mean = sum(scores) / len(scores) if scores else None
    return Told(trial, dict(ask.params), ask.budget, status, fold_scores, mean)


def drive(searcher, problem, fold_score=score, workers=1):
    """The runner's loop, serially: ask, score fold by fold asking the pruner, tell."""
    searcher.setup(problem)
    history, trial = [], len(problem.history)
    while True:
        asks = searcher.ask(workers)
        if not asks:
            return history
        for ask in asks:
            scores, status = [], "ok"
            for fold in range(ask.budget.folds):
                scores.append(fold_score(ask.params) - 0.01 * fold)
                if fold + 1 < ask.budget.folds:
                    reason = searcher.should_prune(told(trial, ask, scores, "pending"))
                    if reason:
                        status = "pruned"
                        break
            result = told(trial, ask, scores, status)
            searcher.tell(result)
            history.append(result)
            trial += 1


def test_registered_through_the_entry_point(registry):
    info = registry.plugin("optuna")
    assert info.status == "ok", info.error
    assert info.source == "entry point"
    comp = registry.get("searcher", "tpe")
    assert comp.plugin == "optuna"
    assert comp.param("pruner").choices == ("median", "halving", "none")
    with pytest.raises(TuidlError, match="pruner"):
        registry.create("searcher", "tpe", {"pruner": "hyperband"})
    with pytest.raises(TuidlError, match="trials"):
        registry.create("searcher", "tpe", {"trials": 0})


def test_follows_the_searcher_protocol(make):
    searcher = make()
    assert isinstance(searcher, Searcher)
    assert isinstance(searcher, PrunesFolds)


def test_without_optuna_setup_names_the_package(make, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    with pytest.raises(TuidlError, match="pip install optuna"):
        make().setup(SearchProblem(SPACE, seed=0, folds=5))


@needs_optuna
def test_asks_values_of_the_space_on_the_full_budget(make):
    history = drive(make(trials=12, startup=4, pruner="none"), SearchProblem(SPACE, 0, folds=5))
    assert len(history) == 12
    for t in history:
        assert t.budget == Budget(5, None)
        for dim in SPACE:
            assert dim.contains(t.params[dim.key]), (dim.key, t.params[dim.key])
        assert isinstance(t.params["training.batch_size"], int)
        assert t.params["model.hidden_sizes"] in [list(h) for h in HIDDEN] + list(HIDDEN)
    assert [t.trial for t in history] == list(range(12))


@needs_optuna
def test_same_seed_same_search_other_seed_other_search(make):
    def params(seed, param_seed=None):
        problem = SearchProblem(SPACE, seed, folds=3)
        return [t.params for t in drive(make(trials=14, startup=5, seed=param_seed), problem)]

    assert params(0) == params(0)
    assert params(0) != params(1)
    # the searcher's own seed overrides the run seed (a fixed split, another search)
    assert params(0, param_seed=7) == params(1, param_seed=7)
    assert params(0, param_seed=7) != params(0)


@needs_optuna
def test_tpe_beats_its_random_startup(make):
    """After the random startup trials, TPE's proposals score better on average."""
    history = drive(make(trials=40, startup=10, pruner="none"), SearchProblem(SPACE, 3, 1))
    startup = [t.mean for t in history[:10]]
    modelled = [t.mean for t in history[10:]]
    assert sum(modelled) / len(modelled) > sum(startup) / len(startup)
    assert max(t.mean for t in history) > 0.9


@needs_optuna
def test_median_pruner_stops_trials_behind_the_median(make):
    history = drive(make(trials=30, startup=5, pruner="median"), SearchProblem(SPACE, 1, 5))
    pruned = [t for t in history if t.status == "pruned"]
    assert pruned, "nothing pruned"
    assert all(len(t.scores) < 5 for t in pruned)
    assert all(t.status in ("ok", "pruned") for t in history)
    # nothing is pruned before `startup` trials are complete
    assert all(t.status == "ok" for t in history[:5])


@needs_optuna
def test_max_folds_is_never_exceeded_and_pruning_buys_trials(make):
    def run(pruner):
        return drive(
            make(trials=100, max_folds=60, startup=4, pruner=pruner), SearchProblem(SPACE, 2, 5)
        )

    plain, pruned = run("none"), run("halving")
    assert sum(len(t.scores) for t in plain) == 60 and len(plain) == 12
    assert sum(len(t.scores) for t in pruned) <= 60
    assert len(pruned) > len(plain)


@needs_optuna
def test_workers_keep_trials_in_flight_within_the_budget(make):
    searcher = make(trials=100, max_folds=10, startup=2)
    searcher.setup(SearchProblem(SPACE, 0, folds=5, workers=2))
    asks = searcher.ask(2)
    assert len(asks) == 2
    assert searcher.ask(2) == []  # both trials may still use all their folds: wait
    searcher.tell(told(0, asks[0], [0.5, 0.5], "pruned"))
    assert searcher.ask(2) == []  # 2 spent + 5 reserved + 5 > 10
    searcher.tell(told(1, asks[1], [0.6, 0.5], "pruned"))
    assert len(searcher.ask(2)) == 1  # 4 spent + 5 <= 10


@needs_optuna
def test_resume_replays_the_history_and_continues_numbering(make):
    problem = SearchProblem(SPACE, 5, folds=3)
    first = drive(make(trials=8, startup=3), problem)
    assert len(first) == 8
    # a run stopped after 6 trials, the 6th still pending
    history = [*first[:5], told(5, first[5], [], "pending", folds=3)]
    history[4] = Told(4, history[4].params, history[4].budget, "diverged", (None,) * 3, None)
    searcher = make(trials=8, startup=3)
    searcher.setup(SearchProblem(SPACE, 5, folds=3, history=tuple(history)))
    asks = searcher.ask(5)
    # first the unfinished trial, continued to the full budget; then 2 new (6 of 8 exist)
    assert asks[0].trial == 5 and asks[0].budget == Budget(3, None)
    assert asks[0].params == first[5].params
    assert len(asks) == 3 and all(a.trial is None for a in asks[1:])
    for a in asks[1:]:
        assert all(dim.contains(a.params[dim.key]) for dim in SPACE)
    searcher.tell(told(5, asks[0], [0.7, 0.7, 0.7], folds=3))
    assert searcher.ask(5) == []
    study = searcher._study
    states = [t.state.name for t in study.trials]
    assert len(states) == 8 and states.count("RUNNING") == 2  # the two new ones
    assert study.trials[4].state.name == "COMPLETE" and study.trials[4].value == 0.0  # diverged
    assert study.trials[5].value == pytest.approx(0.7)  # the pending one, told after resume


@needs_optuna
def test_history_outside_the_space_is_not_replayed(make):
    ask_like = Told(0, {"optimizer.lr": 5.0, "model.reg": 0.1, "training.batch_size": 10,
                        "model.hidden_sizes": [64]}, Budget(2), "ok", (0.5, 0.5), 0.5)  # fmt: skip
    searcher = make(trials=3, max_folds=6)
    searcher.setup(SearchProblem(SPACE, 0, folds=2, history=(ask_like,)))
    assert len(searcher._study.trials) == 0
    assert len(searcher.ask(5)) == 2  # its folds still count against max_folds
