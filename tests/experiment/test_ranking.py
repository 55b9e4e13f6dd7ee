"""Honest ranking: the corrected resampled t-test, the holdout test, "≈ best" and the
one-standard-error rule with its simplicity ordering."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from tuidl.experiment import ranking
from tuidl.experiment.ranking import compare, corrected_t, select, simplicity_key


def _trial(i, scores, params=None, status="ok"):
    s = [x for x in scores if x is not None]
    return {
        "index": i,
        "params": params or {},
        "status": status,
        "fold_scores": scores,
        "mean": sum(s) / len(s) if s else None,
        "std": 0.0,
    }


def test_corrected_t_matches_the_formula():
    d = [0.02, 0.01, 0.03, 0.00, 0.02]
    mean, se, p = corrected_t(d, 1 / 4)
    var = sum((x - 0.016) ** 2 for x in d) / 4
    assert mean == pytest.approx(0.016)
    assert se == pytest.approx(math.sqrt((1 / 5 + 1 / 4) * var))
    assert p == pytest.approx(stats.t.sf(0.016 / se, df=4))


def test_the_correction_is_wider_than_the_naive_paired_test():
    d = [0.02, 0.01, 0.03, 0.00, 0.02]
    _, se, p = corrected_t(d, 1 / 4)
    naive = stats.ttest_rel([1 + x for x in d], [1.0] * 5, alternative="greater").pvalue
    assert naive < 0.05 <= p  # naive calls it worse; corrected does not
    assert se > math.sqrt(sum((x - 0.016) ** 2 for x in d) / 4 / 5)


def test_constant_differences_are_worse_and_none_are_equal():
    assert corrected_t([0.01] * 5, 0.25)[2] == 0.0
    assert corrected_t([0.0] * 5, 0.25)[2] == 1.0
    with pytest.raises(ValueError, match="2 paired folds"):
        corrected_t([0.1], 0.25)


def test_kfold_marks_close_trials_and_not_clearly_worse_ones():
    trials = [
        _trial(0, [0.80, 0.82, 0.79, 0.81, 0.80]),  # best
        _trial(1, [0.79, 0.83, 0.78, 0.80, 0.80]),  # noise-close
        _trial(2, [0.60, 0.61, 0.59, 0.62, 0.60]),  # clearly worse
        _trial(3, [0.10, None, None, None, None], status="pruned"),
        _trial(4, [0.70, None, None, None, None]),  # one fold: no test
    ]
    trials[4]["status"] = "ok"
    comps = compare(trials, method="kfold", folds=5)
    assert comps[0].near_best and comps[0].p == 1.0
    assert comps[1].near_best and not comps[2].near_best
    assert 3 not in comps
    assert comps[4].p is None and not comps[4].near_best
    marks = ranking.marks(trials, method="kfold", folds=5)
    assert marks == {0: "≈", 1: "≈"}


def test_holdout_uses_the_binomial_spread_on_the_validation_rows():
    trials = [_trial(0, [0.60]), _trial(1, [0.59]), _trial(2, [0.40])]
    comps = compare(trials, method="holdout", folds=1, num_validation=1000)
    assert comps[1].near_best and not comps[2].near_best
    se = math.sqrt((0.6 * 0.4 + 0.59 * 0.41) / 1000)
    assert comps[1].se == pytest.approx(se)
    none = compare(trials, method="holdout", folds=1, num_validation=0)
    assert none[1].p is None and not none[1].near_best


def test_simplicity_ordering_is_by_declared_direction_in_grid_order():
    simpler = {"model.reg": "higher", "model.hidden_sizes": "lower", "model.k": "higher"}
    keys = ["model.hidden_sizes", "optimizer.lr", "model.reg"]
    a = {"model.hidden_sizes": [100], "model.reg": 1e-4, "optimizer.lr": 1e-3}
    b = {"model.hidden_sizes": [100], "model.reg": 1e-2, "optimizer.lr": 1e-2}
    c = {"model.hidden_sizes": [50, 50], "model.reg": 1e-1, "optimizer.lr": 1e-3}
    d = {"model.hidden_sizes": [50], "model.reg": 1e-5, "optimizer.lr": 1e-3}
    order = sorted([a, b, c, d], key=lambda p: simplicity_key(p, simpler, keys))
    # fewest units first; equal units: fewer layers, then the higher reg
    assert order == [d, b, a, c]
    assert simplicity_key({"model.k": 10}, simpler, ["model.k"]) < simplicity_key(
        {"model.k": 5}, simpler, ["model.k"]
    )


def test_one_se_picks_the_simplest_within_one_standard_error():
    p = lambda reg: {"model.reg": reg}  # noqa: E731
    trials = [
        _trial(0, [0.80, 0.82, 0.79, 0.81, 0.80], p(1e-4)),  # best, least regularized
        _trial(1, [0.80, 0.81, 0.79, 0.81, 0.80], p(1e-3)),  # within one SE
        _trial(2, [0.60, 0.61, 0.59, 0.62, 0.60], p(1e-1)),  # most regularized, worse
    ]
    comps = compare(trials, method="kfold", folds=5)
    simpler = {"model.reg": "higher"}
    assert select(trials, comps, "best", simpler, ["model.reg"]) == 0
    assert select(trials, comps, "one_se", simpler, ["model.reg"]) == 1
    assert ranking.candidates(comps, "one_se") == [0, 1]
    with pytest.raises(ValueError, match=r"cv\.select"):
        ranking.candidates(comps, "median")


def test_directions_come_from_the_params_declarations():
    from tuidl.experiment.spec import Spec
    from tuidl.plugins.manager import load_registry

    spec = Spec.from_dict(
        {
            "dataset": {"name": "digits"},
            "model": {"name": "fc_net"},
            "cv": {
                "grid": {
                    "model.reg": [1e-3],
                    "model.hidden_sizes": [[10]],
                    "model.dropout": [1.0],
                    "optimizer.lr": [1e-3],
                }
            },
        }
    )
    got = ranking.directions(spec, load_registry(entry_points=False))
    assert got == {
        "model.reg": "higher",
        "model.hidden_sizes": "lower",
        "model.dropout": "lower",
    }


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30])
@pytest.mark.parametrize("t", [-3.0, -0.5, 0.0, 0.3, 1.0, 2.5, 8.0])
def test_t_sf_matches_scipy(t, df):
    assert ranking.t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-14)


def test_ranking_does_not_import_scipy():
    import subprocess
    import sys

    code = (
        "import sys; from tuidl.experiment import ranking; "
        "ranking.corrected_t([0.1, 0.2, 0.0], 0.5); "
        "print(any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
