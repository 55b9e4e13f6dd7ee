"""The views of honest ranking: the CLI table's "vs best" column and lines, --json's
vs_best and tested, and the workbench table's ≈ marks, all from one rule."""

from __future__ import annotations

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.cli import report
from tuidl.experiment.runner import run_spec, summary
from tuidl.experiment.store import Store


def _run(method="kfold", refit=None, select="best", tested=0):
    cv = {"method": method, "folds": 5, "grid": {"model.reg": [1e-4, 1e-3, 1e-1]}}
    if refit is not None:
        cv["refit"], cv["select"] = refit, select
    scores = [
        [0.80, 0.82, 0.79, 0.81, 0.80],
        [0.80, 0.81, 0.79, 0.81, 0.80],
        [0.60, 0.61, 0.59, 0.62, 0.60],
    ]
    trials = [
        {
            "index": i,
            "params": {"model.reg": r},
            "status": "ok",
            "message": "",
            "fold_scores": s,
            "mean": sum(s) / 5,
            "std": 0.01,
            "train_acc": 0.9,
            "fit_seconds": 1.0,
        }
        for i, (r, s) in enumerate(zip([1e-4, 1e-3, 1e-1], scores, strict=True))
    ]
    return {
        "id": 1,
        "spec": {"cv": cv, "split": {"num_validation": 0}},
        "trials": trials,
        "best": {"trial": 0, "params": trials[0]["params"], "mean": 0.804, "std": 0.01},
        "test": {
            "best_trial": tested,
            "test_accuracy": 0.8,
            "num_test": 100,
            "metrics": None,
        },
    }


def test_the_table_marks_near_best_and_worse():
    lines = report.results_table(_run()).splitlines()
    assert "vs best" in lines[0]
    assert "≈" in lines[2] and "≈" in lines[3] and "<" in lines[4]


def test_best_text_counts_the_near_best_and_names_the_test():
    text = report.best_text(_run())
    assert "≈ best: 2 of 3 configs are not significantly worse" in text
    assert "corrected resampled t-test" in text
    assert "test accuracy of the retrained best" in text  # a run stored before cv.refit


def test_one_se_names_the_tested_config_and_reuse_says_so():
    run = _run(method="holdout", refit="auto", select="one_se", tested=1)
    text = report.best_text(run)
    assert "tested: config #2 (cv.select = one_se" in text
    assert "holdout model (reused, no second training)" in text
    assert report.results_table(run).splitlines()[3].startswith(">")


def test_json_has_vs_best_and_tested(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        out = run_spec(blobs_spec(cv__method="holdout"), store, registry=registry())
        got = summary(store, out.run_id)
    best = got["best"]["trial"]
    assert got["tested"] == {"trial": best, "refit": "reuse"}
    assert got["trials"][best]["vs_best"] == {"diff": 0.0, "se": 0.0, "p": 1.0, "near_best": True}
    for t in got["trials"]:
        assert set(t["vs_best"]) == {"diff", "se", "p", "near_best"}


def test_the_workbench_marks_the_same_trials():
    from tuidl.tui.backend import RunView, TrialRow
    from tuidl.tui.widgets.results_table import _near_best, _summary

    run = _run()
    view = RunView(
        id="1",
        status="finished",
        spec=run["spec"],
        trials=[
            TrialRow(
                index=t["index"],
                params=t["params"],
                fold_scores=t["fold_scores"],
                mean=t["mean"],
                std=t["std"],
                status="ok",
            )
            for t in run["trials"]
        ],
        best_index=0,
        test_accuracy=0.8,
    )
    assert _near_best(view) == {0, 1}
    text = _summary(view).plain
    assert "1 more ≈ best" in text and "retrained, test acc" in text


@pytest.mark.parametrize("spec", [{}, {"cv": None}, {"cv": {"method": "kfold", "folds": "x"}}])
def test_an_unreadable_spec_costs_the_marks_not_the_table(spec):
    from tuidl.tui.backend import RunView, TrialRow
    from tuidl.tui.widgets.results_table import _near_best

    view = RunView(id="1", status="finished", spec=spec, trials=[TrialRow(0, {})])
    assert _near_best(view) == set()
