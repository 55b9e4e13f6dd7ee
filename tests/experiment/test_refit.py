"""cv.refit and cv.select in a run: the holdout model is tested without a second training,
only the selectable models are kept, a lost model is re-derived, one_se picks the simplest."""

from __future__ import annotations

from pathlib import Path

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment import ranking, refit, work
from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import Spec
from tuidl.experiment.store import Store


@pytest.fixture(scope="module")
def reg():
    return registry()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.sqlite") as s:
        yield s


def _count_trainings(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = work.train_loop

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(work, "train_loop", counting)
    return calls


def _holdout(**over) -> Spec:
    return blobs_spec(cv__method="holdout", **over)


def test_holdout_reuses_the_trials_model_without_a_second_training(store, reg, monkeypatch):
    calls = _count_trainings(monkeypatch)
    out = run_spec(_holdout(), store, registry=reg)
    run = store.get_run(out.run_id)
    assert out.status == "finished" and len(calls) == 4  # the 2 x 2 grid, nothing more
    best = next(t for t in run["trials"] if t["index"] == run["test"]["best_trial"])
    assert run["test"]["train_acc"] == best["train_acc"]  # the very model that was scored
    assert run["test"]["test_accuracy"] is not None


def test_retrain_trains_the_best_again(store, reg, monkeypatch):
    calls = _count_trainings(monkeypatch)
    out = run_spec(_holdout(cv__refit="retrain"), store, registry=reg)
    assert out.status == "finished" and len(calls) == 5


def test_kfold_defaults_to_retrain_and_refuses_reuse(store, reg, monkeypatch):
    calls = _count_trainings(monkeypatch)
    run_spec(blobs_spec(), store, registry=reg)
    assert len(calls) == 4 * 3 + 1
    with pytest.raises(TuidlError, match=r"cv\.refit: got 'reuse' with cv\.method = 'kfold'"):
        blobs_spec(cv__refit="reuse")


def test_only_the_current_best_model_is_kept_and_the_folder_goes(store, reg, monkeypatch):
    seen: list[list[str]] = []
    folders: list[Path] = []
    real = refit.discard

    def watching(folder, keep):
        real(folder, keep)
        folders.append(Path(folder))
        seen.append(sorted(p.name for p in Path(folder).glob("trial*.npz")))

    monkeypatch.setattr(refit, "discard", watching)
    run_spec(_holdout(), store, registry=reg)
    assert len(seen) == 4 and all(len(names) == 1 for names in seen)
    assert not folders[0].exists()  # removed with the run


def test_a_lost_model_is_re_derived_with_the_same_result(tmp_path, reg, monkeypatch):
    with Store(tmp_path / "a.sqlite") as a:
        want = a.get_run(run_spec(_holdout(), a, registry=reg).run_id)["test"]

    def wipe(folder, keep):  # as if the run was resumed: its temporary folder is gone
        for p in Path(folder).glob("trial*.npz"):
            p.unlink()

    monkeypatch.setattr(refit, "discard", wipe)
    calls = _count_trainings(monkeypatch)
    with Store(tmp_path / "b.sqlite") as b:
        got = b.get_run(run_spec(_holdout(), b, registry=reg).run_id)["test"]
    assert len(calls) == 5  # the 4 trials, then the best's holdout fold once more
    assert got["test_accuracy"] == want["test_accuracy"]
    assert got["confusion"] == want["confusion"]


def test_a_schedule_reaches_the_trainer(store, reg, monkeypatch):
    seen = []
    real = work.train_loop

    def spy(*a, **kw):
        seen.append((kw["schedule"], kw["warmup_epochs"]))
        return real(*a, **kw)

    monkeypatch.setattr(work, "train_loop", spy)
    spec = _holdout(training__schedule="cosine", training__warmup_epochs=0.5)
    assert run_spec(spec, store, registry=reg).status == "finished"
    assert set(seen) == {("cosine", 0.5)}


def test_one_se_tests_the_simplest_trial_within_one_se(store, reg):
    spec = blobs_spec(cv__select="one_se")
    spec.cv.grid = {"model.reg": [1e-4, 1e-3, 1e-2, 3.0]}
    out = run_spec(spec, store, registry=reg)
    run = store.get_run(out.run_id)
    comps = ranking.compare(run["trials"], method="kfold", folds=3)
    pool = ranking.candidates(comps, "one_se")
    picked = run["test"]["best_trial"]
    assert len(pool) > 1 and picked in pool
    regs = {t["index"]: t["params"]["model.reg"] for t in run["trials"]}
    assert regs[picked] == max(regs[i] for i in pool)


def test_the_default_select_is_the_best(store, reg):
    out = run_spec(blobs_spec(), store, registry=reg)
    run = store.get_run(out.run_id)
    assert run["test"]["best_trial"] == run["best"]["trial"]


def test_spec_check_says_which_model_is_tested(tmp_path, capsys):
    from tuidl.cli import main

    root = Path(__file__).resolve().parents[2] / "examples"
    assert main(["spec", "check", str(root / "cs231n_fc_net.toml")]) == 0
    assert "then the selected trial's own model is tested" in capsys.readouterr().out
    assert main(["spec", "check", str(root / "digits_knn.toml")]) == 0
    assert "then 1 retrain" in capsys.readouterr().out


def test_a_holdout_random_search_tests_its_best_trials_model_without_retraining(
    store, reg, monkeypatch
):
    spec = blobs_spec(cv__method="holdout")
    spec.cv.grid = {}
    data = spec.to_dict()
    data["search"] = {
        "method": "random",
        "trials": 5,
        "space": {
            "optimizer.lr": {"log_uniform": [1e-3, 1.0]},
            "model.reg": {"log_uniform": [1e-5, 1e-1]},
        },
    }
    calls = _count_trainings(monkeypatch)
    out = run_spec(Spec.from_dict(data), store, registry=reg)
    run = store.get_run(out.run_id)
    assert out.status == "finished" and len(run["trials"]) == 5
    assert len(calls) == 5  # one training per sampled trial, none for the test
    best = next(t for t in run["trials"] if t["index"] == run["test"]["best_trial"])
    assert run["test"]["train_acc"] == best["train_acc"]
