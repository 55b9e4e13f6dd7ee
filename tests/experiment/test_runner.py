"""The runner: plan, preprocessing cache, CV bookkeeping, best, retrain, resume, parallel."""

from __future__ import annotations

import numpy as np
import pytest
from exp_helpers import CountingStep, blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment import runner as runner_mod
from tuidl.experiment.runner import resume, run_spec, summary
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.spec_check import validate
from tuidl.experiment.store import Store


@pytest.fixture(scope="module")
def reg():
    return registry()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.sqlite") as s:
        yield s


def test_kfold_run_stores_everything(store, reg):
    out = run_spec(blobs_spec(), store, registry=reg)
    assert out.status == "finished"
    run = store.get_run(out.run_id)
    assert run["status"] == "finished" and run["num_folds"] == 3
    assert [t["params"] for t in run["trials"]] == [
        {"optimizer.lr": 0.01, "model.reg": 0.0001},
        {"optimizer.lr": 0.01, "model.reg": 0.01},
        {"optimizer.lr": 0.1, "model.reg": 0.0001},
        {"optimizer.lr": 0.1, "model.reg": 0.01},
    ]
    for t in run["trials"]:
        assert t["status"] == "ok" and None not in t["fold_scores"]
        assert t["mean"] == pytest.approx(np.mean(t["fold_scores"]))
        assert t["std"] == pytest.approx(np.std(t["fold_scores"]))
        assert 0 < t["train_acc"] <= 1 and t["fit_seconds"] > 0
    means = [t["mean"] for t in run["trials"]]
    assert run["best"]["trial"] == int(np.argmax(means))
    test = run["test"]
    assert test["best_trial"] == run["best"]["trial"] and test["num_test"] == 60
    assert np.sum(test["confusion"]) == 60
    assert test["test_accuracy"] == pytest.approx(np.trace(test["confusion"]) / 60)
    assert test["class_names"] == ["c0", "c1", "c2"]
    curves = store.curves(out.run_id, 0, 0)
    assert len(curves["loss"][0]) == 3 * (120 // 20)  # 3 epochs of the fold's 120 rows
    assert curves["val_acc"][0] == [1.0, 2.0, 3.0]
    assert store.curves(out.run_id, run["best"]["trial"], -1)["train_acc"]  # the retrain
    js = summary(store, out.run_id)
    assert js["best"]["params"] == run["best"]["params"]
    assert js["test_accuracy"] == test["test_accuracy"]
    assert len(js["trials"][0]["fold_scores"]) == 3


def test_preprocessing_is_fitted_once_per_fold_not_per_trial(store, reg):
    spec = blobs_spec(cv__folds=5)
    spec.cv.grid = {
        "optimizer.lr": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
        "model.reg": [1e-4, 1e-3, 1e-2, 1e-1],
    }
    spec.training.epochs = 1
    CountingStep.fits = 0
    out = run_spec(spec, store, registry=reg)
    assert len(store.get_run(out.run_id)["trials"]) == 20
    assert CountingStep.fits == 5 + 1  # one per fold, plus the retrain on all training rows


def test_preprocessing_sees_only_the_folds_training_rows(store, reg, monkeypatch):
    seen = []
    original = CountingStep.fit

    def spy(self, X):
        seen.append(len(X))
        return original(self, X)

    monkeypatch.setattr(CountingStep, "fit", spy)
    spec = blobs_spec()
    spec.cv.grid = {}
    run_spec(spec, store, registry=reg)
    assert seen == [120, 120, 120, 180]


def test_holdout_scores_on_the_validation_rows(store, reg):
    spec = blobs_spec(cv__method="holdout")
    out = run_spec(spec, store, registry=reg)
    run = store.get_run(out.run_id)
    assert run["num_folds"] == 1
    for t in run["trials"]:
        assert len(t["fold_scores"]) == 1 and t["std"] == 0.0
        assert t["fold_scores"][0] * 30 == pytest.approx(round(t["fold_scores"][0] * 30))


def test_a_diverging_trial_is_marked_and_the_others_go_on(store, reg):
    spec = blobs_spec()
    spec.cv.grid = {"model.reg": [1e-3, 1e6]}
    spec.optimizer.params["lr"] = 0.1
    out = run_spec(spec, store, registry=reg)
    run = store.get_run(out.run_id)
    ok, bad = run["trials"]
    assert ok["status"] == "ok" and ok["mean"] > 0.5
    assert bad["status"] == "diverged" and "lower optimizer.lr" in bad["message"]
    assert bad["mean"] is None
    assert len(bad["folds"]) == 1  # its other folds were skipped
    assert run["status"] == "finished" and run["best"]["trial"] == 0


def test_a_model_too_large_to_allocate_says_what_did_not_fit(store, reg):
    """Not just "out of memory; use fewer workers": numpy's own words name the array, so a
    user sees it is the model (10**13 hidden units), not the split or the workers."""
    spec = blobs_spec()
    spec.cv.grid = {"model.hidden_sizes": [[8], [10**13]]}
    spec.model.name = "fc_net"
    out = run_spec(spec, store, registry=reg)
    ok, big = store.get_run(out.run_id)["trials"]
    assert ok["status"] == "ok" and big["status"] == "failed"
    assert "out of memory (Unable to allocate" in big["message"]
    assert "10000000000000" in big["message"] and "smaller model" in big["message"]


def test_every_trial_diverging_fails_the_run_with_a_message(store, reg):
    spec = blobs_spec()
    spec.cv.grid = {"model.reg": [1e6]}
    spec.optimizer.params["lr"] = 0.1
    with pytest.raises(TuidlError, match="no trial finished without diverging"):
        run_spec(spec, store, registry=reg)
    assert store.list_runs()[0]["status"] == "failed"


def test_more_folds_than_rows_is_refused_before_a_run_is_stored(store, reg):
    with pytest.raises(TuidlError, match=r"cv\.folds: 5 folds but only 4 training rows"):
        run_spec(blobs_spec(split__num_training=4, cv__folds=5), store, registry=reg)
    assert store.list_runs() == []  # the spec's own rule: no failed run to clean up


def test_invalid_spec_is_refused_before_a_run_is_stored(store, reg):
    with pytest.raises(TuidlError, match=r"^model\.reg: "):
        run_spec(blobs_spec(model__reg=-1.0), store, registry=reg)
    assert store.list_runs() == []


def test_resume_unknown_or_finished_run(store, reg):
    with pytest.raises(TuidlError, match="no run 9 in the store"):
        resume(9, store, registry=reg)
    out = run_spec(blobs_spec(cv__grid={}), store, registry=reg)
    with pytest.raises(TuidlError, match="already finished"):
        resume(out.run_id, store, registry=reg)


def test_queued_run_created_through_the_store_runs_everything(store, reg):
    run_id = store.create_run(blobs_spec())
    assert store.get_run(run_id)["status"] == "queued"
    out = resume(run_id, store, registry=reg)
    assert out.status == "finished"
    assert all(t["status"] == "ok" for t in store.get_run(run_id)["trials"])


def _scores(store, run_id):
    run = store.get_run(run_id)
    return [t["fold_scores"] for t in run["trials"]], run["test"]["test_accuracy"]


def test_cancel_keeps_finished_folds_and_resume_completes_identically(tmp_path, reg):
    reference = Store(tmp_path / "ref.sqlite")
    ref = run_spec(blobs_spec(), reference, registry=reg)
    store = Store(tmp_path / "runs.sqlite")
    seen = []

    def progress(p):
        if p.last is not None:
            seen.append((p.last.trial, p.last.fold))

    out = run_spec(
        blobs_spec(), store, registry=reg, progress=progress, cancel=lambda: len(seen) >= 5
    )
    assert out.status == "interrupted" and "tuidl run --resume" in out.message
    run = store.get_run(out.run_id)
    assert run["status"] == "interrupted" and run["test"] is None
    assert set(store.done_folds(out.run_id)) == set(seen) and len(seen) == 5

    ran = []
    resume(out.run_id, store, registry=reg, progress=lambda p: p.last and ran.append(p.last))
    assert len(ran) == 12 - 5  # only what was missing
    assert store.get_run(out.run_id)["status"] == "finished"
    assert _scores(store, out.run_id) == _scores(reference, ref.run_id)
    assert store.curves(out.run_id, 3, 2) == reference.curves(ref.run_id, 3, 2)


def test_parallel_results_equal_serial(tmp_path, reg):
    spec = loads_spec(DIGITS_SPEC)
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    ra = run_spec(spec, a, workers=1)
    rb = run_spec(spec, b, workers=2)
    assert _scores(a, ra.run_id) == _scores(b, rb.run_id)
    for trial in range(4):
        assert a.curves(ra.run_id, trial, 1) == b.curves(rb.run_id, trial, 1)
    assert a.get_run(ra.run_id)["test"]["confusion"] == b.get_run(rb.run_id)["test"]["confusion"]


DIGITS_SPEC = """
seed = 3
[dataset]
name = "digits"
[split]
num_training = 600
num_validation = 100
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "linear"
[loss]
name = "svm"
[optimizer]
name = "sgd"
lr = 1e-3
[training]
epochs = 3
batch_size = 50
[cv]
method = "kfold"
folds = 3
[cv.grid]
"optimizer.lr" = [1e-3, 1e-2]
"model.reg" = [1e-4, 1e-2]
"""


def test_grid_over_component_names_and_preprocess_params(store):
    spec = loads_spec(DIGITS_SPEC)
    spec.cv.grid = {"loss.name": ["svm", "softmax"], "preprocess.2.mode": ["per_feature", "global"]}
    out = run_spec(spec, store)
    run = store.get_run(out.run_id)
    assert [t["params"]["loss.name"] for t in run["trials"]] == ["svm", "svm", "softmax", "softmax"]
    assert all(t["status"] == "ok" and t["mean"] > 0.6 for t in run["trials"])


KNN_SPEC = """
[dataset]
name = "digits"
[split]
num_training = 500
num_test = 100
shuffle = true
[[preprocess]]
name = "reshape"
dtype = "float64"
[model]
name = "knn"
[cv]
folds = 4
[cv.grid]
"model.k" = [1, 2, 3, 5, 8, 13]
"""


def test_knn_k_grid_computes_distances_once_per_fold_with_identical_results(tmp_path, monkeypatch):
    from tuidl.engine.knn import KNN

    calls = []
    many = KNN.predict_many

    def counting(self, X, ks):  # predict(X) is predict_many(X, [k]) too
        calls.append(list(ks))
        return many(self, X, ks)

    monkeypatch.setattr(KNN, "predict_many", counting)
    grouped = Store(tmp_path / "g.sqlite")
    rg = run_spec(loads_spec(KNN_SPEC), grouped)
    assert calls[:4] == [[1, 2, 3, 5, 8, 13]] * 4  # one distance pass per fold for all k
    assert len(calls) == 5  # and the retrain

    calls.clear()
    monkeypatch.setattr(runner_mod._Execution, "_predicts_many", lambda self, specs: "")
    plain = Store(tmp_path / "p.sqlite")
    rp = run_spec(loads_spec(KNN_SPEC), plain)
    assert len(calls) == 6 * 4 + 1
    assert _scores(grouped, rg.run_id) == _scores(plain, rp.run_id)


def test_grouping_is_declared_by_the_component_not_probed(tmp_path, monkeypatch):
    """The runner groups by the model component's ``extra["predicts_many"]`` alone: it
    builds no model to find out, and a model that does not declare it is not grouped."""
    from tuidl.plugins.manager import get_registry

    reg = get_registry()
    built = []
    create = type(reg).create
    monkeypatch.setattr(
        type(reg),
        "create",
        lambda self, kind, *a, **k: built.append(kind) or create(self, kind, *a, **k),
    )
    specs = [validate(loads_spec(KNN_SPEC.replace('"model.k" = [1, 2, 3, 5, 8, 13]', "")), reg)] * 2
    execution = runner_mod._Execution.__new__(runner_mod._Execution)
    execution.registry = reg
    built.clear()  # validating the spec built its components; deciding must build none
    assert execution._predicts_many(specs) == "k" and built == []
    from dataclasses import replace

    undeclared = replace(reg.get("model", "knn"), extra={})
    monkeypatch.setattr(type(reg), "get", lambda self, kind, name: undeclared)
    assert execution._predicts_many(specs) == "" and built == []


def test_a_component_declaring_predicts_many_of_no_param_fails_at_load():
    from tuidl.plugins import Component, Param

    with pytest.raises(TuidlError, match="extra predicts_many = 'n' names no param; it takes k"):
        Component(
            "model", "m", "a model", lambda k: None, (Param("k", "int", 1, "k"),),
            extra={"predicts_many": "n"},
        )  # fmt: skip


def test_worker_processes_share_each_fold_and_fit_the_chain_once_per_fold(tmp_path):
    """With --workers 2 the first worker to need a fold builds it; the other maps it."""
    from tuidl.experiment import work

    spec = loads_spec(DIGITS_SPEC)
    spec.preprocess.append(type(spec.preprocess[0])("pca", {"k": 20}))
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    ra = run_spec(spec, a, workers=1)
    rb = run_spec(spec, b, workers=2)
    assert _scores(a, ra.run_id) == _scores(b, rb.run_id)  # bit-identical PCA features
    # every fold built exactly once across both workers: count the fold files' builds
    built = []
    original = work.Worker._build

    def spy(self, spec, fold, allocate):
        built.append(fold)
        return original(self, spec, fold, allocate)

    from tuidl.experiment.workplan import build_plan
    from tuidl.plugins.manager import get_registry

    data = _digits_data(spec)
    plan = build_plan(spec, get_registry(), data, seed=0)
    worker = work.Worker(work.Context(plan, data_dir=str(tmp_path)), data)
    worker._build = spy.__get__(worker)
    for fold in (0, 0, 1, 0):
        worker.prepared(worker.trials[0], fold)
    assert built == [0, 1]  # built once each; fold 0's files are still there to map again
    assert len(list((tmp_path / "folds").glob("*.npy"))) == 4
    work.drop_fold(tmp_path, work.fold_tag(worker.trials[0], 0))  # what the executor does
    assert len(list((tmp_path / "folds").glob("*.npy"))) == 2
    worker.release()  # a worker process lets go of its mapping after each unit
    worker.prepared(worker.trials[0], 0)
    assert built == [0, 1, 0]  # a dropped fold is rebuilt if a unit still asks for it


def _digits_data(spec):
    from tuidl.experiment.runner import load_data
    from tuidl.plugins.manager import get_registry

    return load_data(spec, get_registry())


def test_attribute_metrics_name_columns_even_when_names_do_not_match():
    """Per-attribute metrics need one name per target column: a dataset whose names do not
    match gets attr0, attr1, ... rather than losing columns or failing the final unit."""
    from types import SimpleNamespace

    from tuidl.experiment.work import Worker

    Y = np.array([[1, 0, 1], [0, 0, 1]])
    P = np.array([[1, 1, 1], [0, 0, 0]])
    for names in (("only",), ("a", "b", "c", "d")):
        stub = SimpleNamespace(data=SimpleNamespace(class_names=names))
        metrics = Worker._metrics(stub, Y, P, None)
        assert list(metrics["attributes"]) == ["attr0", "attr1", "attr2"]
    stub = SimpleNamespace(data=SimpleNamespace(class_names=("x", "y", "z")))
    metrics = Worker._metrics(stub, Y, P, None)
    assert metrics["attributes"]["z"] == {"accuracy": 0.5, "positives": 2}
    assert metrics["mean"]["accuracy"] == pytest.approx(4 / 6)
