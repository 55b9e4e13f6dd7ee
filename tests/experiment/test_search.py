"""Search beyond the grid: the [search] table, the built-in searchers, fold pruning, resume."""

from __future__ import annotations

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment.runner import resume, run_spec, summary
from tuidl.experiment.scheduler import prune_reason
from tuidl.experiment.space import dimensions, refine
from tuidl.experiment.spec import Spec, loads_spec
from tuidl.experiment.spec_check import validate
from tuidl.experiment.store import Store
from tuidl.plugins import Component, hookimpl
from tuidl.plugins.builtin.searchers import HalvingSearcher
from tuidl.plugins.manager import load_registry
from tuidl.plugins.search import Budget, SearchProblem, Told


@pytest.fixture(scope="module")
def reg():
    return registry()


def _search_spec(method="random", folds=3, prune=False, **params):
    spec = blobs_spec(**{"cv.folds": folds, "cv.prune": prune})
    spec.cv.grid = {}
    data = spec.to_dict()
    data["search"] = {
        "method": method,
        **params,
        "space": {
            "optimizer.lr": {"log_uniform": [1e-4, 1.0]},
            "model.reg": {"log_uniform": [1e-5, 1e-1]},
        },
    }
    return Spec.from_dict(data)


def _interrupted_after(spec, store, reg, folds: int):
    """Run ``spec`` and cancel it once ``folds`` folds have finished (a Ctrl+C mid-run)."""
    seen = []
    return run_spec(
        spec,
        store,
        registry=reg,
        progress=lambda p: p.last and seen.append(p.last),
        cancel=lambda: len(seen) >= folds,
    )


def _trials(store, run_id):
    return store.get_run(run_id)["trials"]


# -- the spec ---------------------------------------------------------------------------------


SPACE_TOML = """
[dataset]
name = "digits"
[model]
name = "fc_net"
[search]
method = "random"
trials = 4
[search.space]
"optimizer.lr" = {log_uniform = [1e-5, 1e-2]}
"model.hidden_sizes" = {choice = [[100], [200, 100]]}
"training.batch_size" = {int = [32, 256], log = true}
"loss.name" = ["svm", "softmax"]
"""


def test_search_table_round_trips_through_toml():
    spec = loads_spec(SPACE_TOML)
    text = spec.to_toml()
    assert '"optimizer.lr" = {log_uniform = [1e-05, 0.01]}' in text
    assert '"training.batch_size" = {int = [32, 256], log = true}' in text
    assert loads_spec(text).to_dict() == spec.to_dict()
    kinds = [(d.key, d.kind, d.is_log) for d in dimensions(spec)]
    assert kinds == [
        ("optimizer.lr", "log_uniform", True),
        ("model.hidden_sizes", "choice", False),
        ("training.batch_size", "int", True),
        ("loss.name", "choice", False),
    ]
    # a spec without [search] is written as before
    assert "[search]" not in loads_spec(SPACE_TOML.split("[search]")[0]).to_toml()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"optimizer.lr" = {log_uniform = [1e-2, 1e-5]}', "low 0.01 must be below high"),
        ('"optimizer.lr" = {log_uniform = [0, 1e-2]}', "log scale needs low > 0"),
        ('"optimizer.lr" = {int = [0, 8], log = true}', "log scale needs low > 0"),
        ('"optimizer.lr" = {loguniform = [1e-5, 1e-2]}', "unknown distribution 'loguniform'"),
        ('"optimizer.lrr" = {uniform = [0.1, 0.2]}', "search.space.optimizer.lrr: names nothing"),
        ('"model.dropout" = {uniform = [0.5, 1.5]}', "reaches 1.5"),
        ('"dataset.path" = ["a", "b"]', "fixed for a run"),
        ('"optimizer.lr" = 0.1', "expected a distribution"),
    ],
)
def test_bad_ranges_are_one_line_errors_naming_the_key(entry, message):
    text = SPACE_TOML.split("[search.space]")[0] + "[search.space]\n" + entry + "\n"
    with pytest.raises(TuidlError, match=r"^search\.space") as err:
        validate(loads_spec(text), load_registry(entry_points=False))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_grid_refuses_a_range_and_unknown_searcher_params():
    reg = load_registry(entry_points=False)
    text = SPACE_TOML.replace('method = "random"\ntrials = 4', 'method = "grid"')
    with pytest.raises(TuidlError, match=r"grid takes lists.*method = \"random\""):
        validate(loads_spec(text), reg)
    with pytest.raises(TuidlError, match=r"^search\.trialz: unknown key; searcher random takes"):
        validate(loads_spec(SPACE_TOML.replace("trials = 4", "trialz = 4")), reg)
    with pytest.raises(TuidlError, match=r"^search\.method"):
        validate(loads_spec(SPACE_TOML.replace('"random"', '"nope"')), reg)


def test_set_reaches_a_searched_key():
    spec = loads_spec(SPACE_TOML, ['search.space."optimizer.lr"={uniform = [0.1, 0.2]}'])
    assert spec.search.space["optimizer.lr"] == {"uniform": [0.1, 0.2]}


# -- searchers --------------------------------------------------------------------------------


DIGITS_SEARCH = """
seed = 3
[dataset]
name = "digits"
[split]
num_training = 300
num_test = 100
[model]
name = "linear"
[training]
epochs = 2
[cv]
folds = 3
[search]
method = "random"
trials = 4
[search.space]
"optimizer.lr" = {log_uniform = [1e-4, 1e-1]}
"model.reg" = {uniform = [0.0, 0.1]}
"""


def test_random_search_is_reproducible_with_workers_and_keeps_within_the_space(tmp_path):
    a, b, c = (Store(tmp_path / f"{n}.sqlite") for n in "abc")
    ra = run_spec(loads_spec(DIGITS_SEARCH), a)
    rb = run_spec(loads_spec(DIGITS_SEARCH), b, workers=2)
    ta, tb = _trials(a, ra.run_id), _trials(b, rb.run_id)
    assert len(ta) == 4 and [t["params"] for t in ta] == [t["params"] for t in tb]
    assert [t["fold_scores"] for t in ta] == [t["fold_scores"] for t in tb]
    for t in ta:
        assert 1e-4 <= t["params"]["optimizer.lr"] <= 1e-1
        assert 0.0 <= t["params"]["model.reg"] <= 0.1
    rc = run_spec(loads_spec(DIGITS_SEARCH), c, seed=9)
    assert [t["params"] for t in _trials(c, rc.run_id)] != [t["params"] for t in ta]


def test_halving_with_workers_finishes(tmp_path):
    text = DIGITS_SEARCH.replace(
        'method = "random"\ntrials = 4', 'method = "halving"\ntrials = 6\nmin_budget = 0.5'
    )
    store = Store(tmp_path / "h.sqlite")
    out = run_spec(loads_spec(text), store, workers=2)
    trials = _trials(store, out.run_id)
    assert out.status == "finished"
    assert {t["status"] for t in trials} == {"ok", "pruned"}
    # 6 configurations, eta 3: the top 2 go on, and an early leader may have gone on too
    assert 2 <= sum(t["status"] == "ok" for t in trials) <= 3


def test_halving_promotes_the_best_and_prunes_the_rest(tmp_path, reg):
    store = Store(tmp_path / "h.sqlite")
    out = run_spec(_search_spec("halving", trials=9, eta=3, min_budget=1), store, registry=reg)
    assert out.status == "finished"
    trials = _trials(store, out.run_id)
    low = [t for t in trials if t["params"].get("training.epochs") == 1.0]
    full = [t for t in trials if "training.epochs" not in t["params"]]
    assert len(low) == 9 and len(full) == 3  # 3 epochs, eta 3: rungs of 1 and 3 epochs
    assert all(
        t["status"] == "pruned" and "halving searcher at 1 of 3 epochs" in t["message"] for t in low
    )
    assert all(t["status"] == "ok" for t in full)
    ranked = sorted(low, key=lambda t: -t["mean"])[:3]
    promoted = {tuple(sorted(t["params"].items())) for t in full}
    # asynchronous: a promotion happens as soon as a trial is in the top third so far
    assert (
        len(
            {
                tuple(sorted((k, v) for k, v in t["params"].items() if k != "training.epochs"))
                for t in ranked
            }
            & promoted
        )
        >= 2
    )
    assert store.get_run(out.run_id)["best"]["trial"] in {t["index"] for t in full}


def test_halving_over_folds_continues_the_same_trials(tmp_path, reg):
    store = Store(tmp_path / "f.sqlite")
    out = run_spec(
        _search_spec("halving", folds=3, trials=6, eta=3, min_budget=1, resource="folds"),
        store,
        registry=reg,
    )
    trials = _trials(store, out.run_id)
    assert len(trials) == 6  # folds: a promoted trial gets more folds, not a new row
    full = [t for t in trials if t["status"] == "ok"]
    assert len(full) == 2 and all(None not in t["fold_scores"] for t in full)
    for t in trials:
        if t["status"] == "pruned":
            assert t["fold_scores"][1:] == [None, None]
            assert "at 1 of 3 folds" in t["message"] and t["mean"] is not None


def test_halving_rungs_and_replay():
    s = HalvingSearcher(trials=3, eta=3, min_budget=1, resource="folds")
    problem = SearchProblem(space=dimensions(_search_spec()), seed=0, folds=5)
    s.setup(problem)
    assert s.budgets == [2, 5]
    asks = s.ask(3)
    assert [a.budget for a in asks] == [Budget(2)] * 3
    for i, a in enumerate(asks):
        s.tell(Told(i, a.params, a.budget, "ok", (0.5 + i / 10, 0.5, None, None, None), 0.5))
    (promo,) = s.ask(1)
    assert promo.trial == 2 and promo.budget == Budget(5)
    # the same state rebuilt from the store's view: trial 2 was running its next folds
    history = [
        Told(0, asks[0].params, Budget(2), "pending", (0.5, 0.5, None, None, None), 0.5),
        Told(1, asks[1].params, Budget(2), "pending", (0.6, 0.5, None, None, None), 0.55),
        Told(2, asks[2].params, Budget(3), "pending", (0.7, 0.5, 0.6, None, None), 0.6),
    ]
    again = HalvingSearcher(trials=3, eta=3, min_budget=1, resource="folds")
    again.setup(SearchProblem(space=problem.space, seed=0, folds=5, history=history))
    (cont,) = again.ask(5)
    assert cont.trial == 2 and cont.budget == Budget(5)


def test_resumed_search_continues_where_it_stopped(tmp_path, reg):
    reference = Store(tmp_path / "ref.sqlite")
    ref = run_spec(_search_spec(trials=4), reference, registry=reg)
    store = Store(tmp_path / "runs.sqlite")
    out = _interrupted_after(_search_spec(trials=4), store, reg, 5)
    assert out.status == "interrupted"
    ran = []
    resume(out.run_id, store, registry=reg, progress=lambda p: p.last and ran.append(p.last))
    assert len(ran) == 12 - 5  # the missing folds only: the search did not start again
    got, want = _trials(store, out.run_id), _trials(reference, ref.run_id)
    assert [t["params"] for t in got] == [t["params"] for t in want]
    assert [t["fold_scores"] for t in got] == [t["fold_scores"] for t in want]


def test_resumed_halving_finishes_with_the_same_number_of_trials(tmp_path, reg):
    spec = _search_spec("halving", trials=9, eta=3, min_budget=1)
    reference = Store(tmp_path / "ref.sqlite")
    ref = run_spec(spec, reference, registry=reg)
    store = Store(tmp_path / "runs.sqlite")
    out = _interrupted_after(spec, store, reg, 10)
    assert out.status == "interrupted"
    resume(out.run_id, store, registry=reg)
    got, want = _trials(store, out.run_id), _trials(reference, ref.run_id)
    assert store.get_run(out.run_id)["status"] == "finished"
    assert len(got) == len(want)
    assert [t["params"] for t in got] == [t["params"] for t in want]  # serial: the same run


# -- fold pruning -----------------------------------------------------------------------------


def test_prune_rule_is_the_corrected_t_test():
    best = [0.9, 0.91, 0.89, None, None]
    assert prune_reason(
        [0.5, 0.52, 0.49, None, None], best, folds=5, alpha=0.05, best=0
    ).startswith("after 3 of 5 folds, behind trial #1 by")
    assert prune_reason([0.5, None, None, None, None], best, folds=5, alpha=0.05, best=0) == ""
    # a hair behind with the usual fold-to-fold noise: not shown to be worse
    assert prune_reason([0.91, 0.88, 0.89, None, None], best, folds=5, alpha=0.05, best=0) == ""


def test_fold_pruning_marks_hopeless_trials(tmp_path, reg):
    spec = blobs_spec(**{"cv.folds": 5, "cv.prune": True})
    spec.cv.grid = {"optimizer.lr": [1e-1, 1e-6, 1e-7], "model.reg": [1e-4]}
    store = Store(tmp_path / "p.sqlite")
    out = run_spec(spec, store, registry=reg)
    trials = _trials(store, out.run_id)
    assert out.status == "finished" and trials[0]["status"] == "ok"
    pruned = [t for t in trials if t["status"] == "pruned"]
    assert pruned, [t["fold_scores"] for t in trials]
    for t in pruned:
        assert "corrected t-test" in t["message"] and t["fold_scores"][-1] is None
    shown = summary(store, out.run_id)["trials"]  # what --json writes
    assert {t["status"] for t in shown} >= {"ok", "pruned"}
    assert all(t["message"] for t in shown if t["status"] == "pruned")


def test_prune_is_off_by_default_and_the_grid_is_unchanged(tmp_path, reg):
    spec = blobs_spec()
    assert spec.cv.prune is False
    store = Store(tmp_path / "g.sqlite")
    out = run_spec(spec, store, registry=reg)
    assert [t["status"] for t in _trials(store, out.run_id)] == ["ok"] * 4
    assert [t["params"] for t in _trials(store, out.run_id)] == [
        {"optimizer.lr": a, "model.reg": b} for a in (1e-2, 1e-1) for b in (1e-4, 1e-2)
    ]


# -- a searcher from a plugin -----------------------------------------------------------------


class _Firsts:
    """A plugin searcher: the first value of every choice, then done."""

    def setup(self, problem):
        self.problem, self.asked = problem, bool(problem.history)

    def ask(self, n):
        if self.asked:
            return []
        self.asked = True
        from tuidl.plugins.search import Ask

        return [Ask({d.key: d.values[0] for d in self.problem.space}, self.problem.full)]

    def tell(self, result):
        self.told = result


class _Plugin:
    @hookimpl
    def register_searchers(self, register):
        register(Component("searcher", "firsts", "the first of every list", _Firsts))


def test_a_plugin_searcher_runs_through_the_hook(tmp_path):
    from exp_helpers import BlobsPlugin

    reg = load_registry(
        extra_plugins=[("blobs", BlobsPlugin()), ("firsts", _Plugin())], entry_points=False
    )
    spec = blobs_spec()
    data = spec.to_dict()
    data["search"] = {"method": "firsts"}
    store = Store(tmp_path / "p.sqlite")
    out = run_spec(Spec.from_dict(data), store, registry=reg)
    (trial,) = _trials(store, out.run_id)
    assert trial["params"] == {"optimizer.lr": 1e-2, "model.reg": 1e-4} and trial["status"] == "ok"


# -- coarse to fine ---------------------------------------------------------------------------


def test_refine_narrows_on_the_same_scale():
    spec = _search_spec()
    spec.cv.grid = {"model.reg": [1e-4, 1e-3, 1e-2, 1e-1]}
    spec.search.space = {
        "optimizer.lr": {"log_uniform": [1e-4, 1.0]},
        "loss.name": ["svm", "softmax"],
    }
    top = [
        {"model.reg": 1e-3, "optimizer.lr": 1e-2, "loss.name": "svm"},
        {"model.reg": 1e-2, "optimizer.lr": 3e-2, "loss.name": "svm"},
    ]
    new = refine(dimensions(spec), top)
    lo, hi = new["optimizer.lr"]["log_uniform"]
    assert 1e-4 < lo < 1e-2 and 3e-2 < hi < 1.0  # around the top, inside the old range
    assert isinstance(new["model.reg"], list) and len(new["model.reg"]) == 4
    assert 1e-4 < new["model.reg"][0] < 1e-3 and 1e-2 < new["model.reg"][-1] < 1e-1
    ratios = [b / a for a, b in zip(new["model.reg"], new["model.reg"][1:], strict=False)]
    assert max(ratios) / min(ratios) < 1.05  # evenly spread on the log scale
    assert new["loss.name"] == {"choice": ["svm"]}


KNN_GRID = """
seed = 0
[dataset]
name = "digits"
[split]
num_training = 300
num_test = 100
[[preprocess]]
name = "reshape"
[model]
name = "knn"
[cv]
folds = 3
[cv.grid]
"model.k" = [1, 3, 5, 8, 13, 21, 34]
"""


def test_run_refine_writes_a_narrower_spec_and_runs_it(tmp_path, monkeypatch, capsys):
    from tuidl.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "knn.toml").write_text(KNN_GRID)
    store = str(tmp_path / "runs.sqlite")
    assert main(["run", "knn.toml", "--store", store, "--no-charts", "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["run", "--refine", "1", "--store", store, "--no-charts", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "wrote the refined spec of run 1 to run1-refined.toml" in err
    refined = loads_spec((tmp_path / "run1-refined.toml").read_text())
    ks = refined.cv.grid["model.k"]
    run1 = Store(tmp_path / "runs.sqlite").get_run(1)
    top = [t["params"]["model.k"] for t in run1["trials"] if t["status"] == "ok"]
    assert 1 < len(ks) <= 7 and min(ks) >= 1 and max(ks) <= 34
    assert max(ks) - min(ks) < 34 - 1  # narrower than the coarse grid
    run2 = Store(tmp_path / "runs.sqlite").get_run(2)
    assert run2["status"] == "finished" and "refined from run 1" in run2["name"]
    assert top  # the coarse run had results to narrow around
    assert main(["run", "--refine", "9", "--store", store]) == 2
    assert capsys.readouterr().err.startswith("error: no run 9")
    assert main(["run", "knn.toml", "--refine", "1", "--store", store]) == 2


def test_refine_refuses_an_unfinished_run():
    from tuidl.experiment.refine import refined_spec

    run = {"id": 4, "status": "interrupted", "spec_toml": KNN_GRID, "trials": []}
    with pytest.raises(TuidlError, match=r"^run 4 is interrupted; --refine .*--resume 4"):
        refined_spec(run)


def test_spec_new_offers_a_search_that_checks_when_uncommented(capsys):
    import re

    from tuidl.cli.spec_cmd import template

    text = template("digits")
    assert "# [search]" in text and "# searchers: grid, random, halving" in text
    on = re.sub(r'^# (\[search|method|trials|"training|"optimizer)', r"\1", text, flags=re.M)
    spec = loads_spec(on)
    assert spec.search.method == "random" and spec.search.params == {"trials": 20}
    validate(spec, load_registry(entry_points=False))
    assert loads_spec(spec.to_toml()).to_dict() == spec.to_dict()


def test_spec_check_describes_the_search(tmp_path, capsys):
    from tuidl.cli import main

    path = tmp_path / "s.toml"
    path.write_text(DIGITS_SEARCH.replace('"random"\ntrials = 4', '"halving"\nmin_budget = 0.5'))
    assert main(["spec", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "halving search over optimizer.lr, model.reg: 27 configurations" in out
    assert "rungs of 0.667, 2 epochs" in out


def test_the_workbench_form_takes_a_range_and_saves_a_search():
    from tuidl.experiment.spec_schema import SETTINGS
    from tuidl.tui.specdoc import SpecDoc

    reg = load_registry(entry_points=False)
    doc = SpecDoc.default(reg, SETTINGS)
    doc.set_component("model", "linear")
    assert doc.edit("optimizer", "lr", "log 1e-5..1e-2", grid=True) == [1e-5, 1e-2]
    assert doc.edit("training", "batch_size", "32..256", grid=True) == [32, 256]
    assert doc.grid_text("optimizer", "lr") == "log 1e-05..0.01"
    assert doc.grid_points() == 20  # a range makes the search random, 20 trials
    with pytest.raises(TuidlError, match=r"^search\.space\.optimizer\.lr: uniform: low"):
        doc.edit("optimizer", "lr", "1e-2..1e-5", grid=True)
    assert "optimizer.lr" in doc.errors()
    doc.edit("optimizer", "lr", "log 1e-5..1e-2", grid=True)
    spec = validate(Spec.from_dict(doc.export()), reg)
    assert spec.search.method == "random"
    assert spec.search.space == {
        "optimizer.lr": {"log_uniform": [1e-5, 1e-2]},
        "training.batch_size": {"int": [32, 256]},
    }
    doc.edit("optimizer", "lr", "1e-3, 1e-2", grid=True)  # a list replaces the range
    assert "optimizer.lr" not in doc.space and doc.grid["optimizer.lr"] == [1e-3, 1e-2]


def test_views_show_the_searched_keys_and_a_rungs_epochs():
    from tuidl.cli.report import grid_keys

    run = {
        "spec": {"cv": {"grid": {"model.k": [1]}}, "search": {"space": {"optimizer.lr": {}}}},
        "trials": [{"params": {"model.k": 1, "optimizer.lr": 0.1, "training.epochs": 1.0}}],
    }
    assert grid_keys(run) == ["model.k", "optimizer.lr", "training.epochs"]


def test_halving_over_epochs_refuses_a_searched_epochs_key():
    text = DIGITS_SEARCH.replace('"random"\ntrials = 4', '"halving"\nmin_budget = 0.5')
    text += '"training.epochs" = {uniform = [1.0, 3.0]}\n'
    with pytest.raises(TuidlError, match=r"^search\.space\.training\.epochs: halving sets"):
        validate(loads_spec(text), load_registry(entry_points=False))


def test_a_trials_mean_does_not_depend_on_the_order_its_folds_arrived():
    """Folds of a continued or parallel trial arrive in any order; summed in arrival order,
    two trials with the same fold scores got means a bit apart and the tie went wrong."""
    from tuidl.experiment.bookkeeping import Bookkeeping
    from tuidl.experiment.work import FoldResult

    scores = [0.9333333333333333, 0.9666666666666667, 0.9833333333333333, 0.9666666666666667]
    scores.append(0.9083333333333333)
    means = []
    for order in ((0, 1, 2, 3, 4), (0, 1, 2, 4, 3)):
        book = Bookkeeping()
        book.run_id = 1
        book.store = type(
            "S", (), {"finish_trial": lambda self, *a, **kw: means.append(kw["mean"])}
        )()
        book.results = {0: {f: FoldResult(0, f, "ok", scores[f]) for f in order}}
        book._finish_trial(0, "ok", "")
    assert means[0] == means[1]


def test_a_pruned_trial_stays_pruned_when_the_run_resumes(tmp_path, reg):
    spec = blobs_spec(**{"cv.folds": 5, "cv.prune": True})
    spec.cv.grid = {"optimizer.lr": [1e-1, 1e-6, 1e-7], "model.reg": [1e-4]}
    reference = Store(tmp_path / "ref.sqlite")
    want = _trials(reference, run_spec(spec, reference, registry=reg).run_id)
    assert any(t["status"] == "pruned" for t in want)
    store = Store(tmp_path / "runs.sqlite")
    out = _interrupted_after(spec, store, reg, 9)
    assert out.status == "interrupted"
    assert resume(out.run_id, store, registry=reg).status == "finished"
    got = _trials(store, out.run_id)
    assert [(t["status"], t["fold_scores"], t["message"]) for t in got] == [
        (t["status"], t["fold_scores"], t["message"]) for t in want
    ]  # the reason too: a resume does not re-judge a pruned trial


def test_the_workbench_refine_command_writes_and_opens_the_spec(tmp_path, monkeypatch):
    from tuidl.cli import main
    from tuidl.tui.backend import Backend
    from tuidl.tui.commands import _refine

    monkeypatch.chdir(tmp_path)
    (tmp_path / "knn.toml").write_text(KNN_GRID)
    store = str(tmp_path / "runs.sqlite")
    assert main(["run", "knn.toml", "--store", store, "--no-charts", "--workers", "1"]) == 0

    class App:
        def __init__(self):
            self.backend = Backend(store, load_registry(entry_points=False))
            self.opened, self.notes = [], []

        def open_spec(self, path):
            self.opened.append(path)

        def notify(self, text, **kw):
            self.notes.append((text, kw.get("severity")))

    app = App()
    _refine(app, "1")
    assert [p.name for p in app.opened] == ["run1-refined.toml"]
    assert "model.k" in loads_spec((tmp_path / "run1-refined.toml").read_text()).cv.grid
    _refine(app, "7")  # no such run: one error note, nothing opened
    assert app.notes[-1][1] == "error" and len(app.opened) == 1


def test_random_does_not_repeat_a_configuration_of_a_discrete_space():
    from tuidl.plugins.builtin.searchers import RandomSearcher
    from tuidl.plugins.search import Dimension

    space = (Dimension("model.k", "int", low=1, high=200, log=True),)
    s = RandomSearcher(12)
    s.setup(SearchProblem(space=space, seed=0, folds=3))
    ks = [a.params["model.k"] for a in s.ask(12)]
    assert len(set(ks)) == 12  # log scale over 1..200: k = 1 alone is 7.6% a draw
    # a resume rebuilds what was seen from the stored trials, and asks the same rest
    history = [
        Told(i, {"model.k": k}, Budget(3), "ok", (0.5, 0.5, 0.5), 0.5) for i, k in enumerate(ks[:3])
    ]
    again = RandomSearcher(12)
    again.setup(SearchProblem(space=space, seed=0, folds=3, history=history))
    assert [a.params["model.k"] for a in again.ask(12)] == ks[3:]
