"""The search charts: which two parameters, log axes, accuracy groups, pruned and diverged
trials apart, and the best accuracy against compute."""

from __future__ import annotations

import math

from tuidl import charts
from tuidl import charts_search as cs
from tuidl.cli import report


def _t(i, lr, reg, mean, status="ok", scores=None, epochs=None):
    params = {"optimizer.lr": lr, "model.reg": reg, "model.hidden_sizes": [10]}
    if epochs is not None:
        params["training.epochs"] = epochs
    return {
        "index": i,
        "params": params,
        "status": status,
        "message": "",
        "mean": mean if status == "ok" else None,
        "std": 0.0,
        "fold_scores": scores if scores is not None else [mean, mean],
        "train_acc": None,
        "fit_seconds": 1.0,
    }


TRIALS = [
    _t(0, 1e-4, 1e-5, 0.90),
    _t(1, 1e-3, 1e-3, 0.895),
    _t(2, 1e-2, 1e-1, 0.86),
    _t(3, 3e-2, 1e-2, 0.50),
    _t(4, 1e-1, 1e-4, None, status="diverged", scores=[None, None]),
    _t(5, 3e-4, 3e-1, None, status="pruned", scores=[0.4, None]),
    _t(6, 2e-4, 2e-2, None, status="pending", scores=[None, None]),
]


def test_lr_and_reg_are_chosen_and_drawn_on_log_axes():
    assert cs.search_axes(TRIALS) == ("optimizer.lr", "model.reg")
    xkey, ykey, groups, xlog, ylog = cs.scatter_series(TRIALS)
    assert (xkey, ykey, xlog, ylog) == ("optimizer.lr", "model.reg", True, True)
    by = {label: list(zip(xs, ys, strict=True)) for label, _, _, xs, ys in groups}
    assert by["≤ 1 pt from best"] == [(1e-4, 1e-5), (1e-3, 1e-3)]
    assert by["≤ 5 pts"] == [(1e-2, 1e-1)]
    assert by["lower"] == [(3e-2, 1e-2)]
    assert by["pruned"] == [(3e-4, 3e-1)]
    assert by["diverged/failed"] == [(1e-1, 1e-4)]
    assert sum(len(v) for v in by.values()) == 6  # the pending trial is not placed


def test_pruned_and_diverged_trials_have_their_own_markers_in_the_text():
    series = cs.scatter_series(TRIALS)
    text = charts.to_text(cs.draw_scatter, *series, width=80, height=20, color=False)
    assert "○" in text and "x" in text and "●" in text
    assert "optimizer.lr (log)" in text or "model.reg (log)" in text
    assert cs.legend_line(series).endswith("○ pruned: 1 · x diverged/failed: 1")


def test_fewer_than_two_varying_numbers_draw_no_scatter():
    one = [_t(0, 1e-3, 1e-3, 0.5), _t(1, 1e-2, 1e-3, 0.6)]
    assert cs.search_axes(one) is None and cs.scatter_series(one) is None
    assert cs.scatter_series(one, axes=("optimizer.lr", "model.reg")) is not None


def test_the_spec_order_breaks_ties_between_other_params():
    trials = [
        {"index": i, "params": {"a": i, "b": 2 * i, "c": 3 * i}, "status": "ok", "mean": 0.5}
        for i in range(3)
    ]
    assert cs.search_axes(trials, ["c", "b", "a"]) == ("c", "b")


def test_progress_is_the_best_so_far_against_epochs_and_pruned_trials_cost_less():
    trials = [
        _t(0, 1e-3, 1e-3, 0.7, epochs=10),
        _t(1, 1e-3, 1e-2, None, status="pruned", scores=[0.3, None], epochs=10),
        _t(2, 1e-2, 1e-3, 0.8, epochs=5),
    ]
    xs, ys, unit, pruned = cs.progress_series(trials, {"training": {"epochs": 10}})
    assert unit == "epochs"
    assert xs == [20.0, 30.0, 40.0] and ys == [0.7, 0.7, 0.8] and pruned == [30.0]
    text = charts.to_text(cs.draw_progress, xs, ys, unit, pruned, width=60, height=15)
    assert "best accuracy found vs epochs spent" in charts._ANSI.sub("", text)


def test_progress_counts_fits_for_a_model_without_epochs_and_waits_for_a_finish():
    trials = [_t(0, 1, 1, 0.5), _t(1, 2, 2, 0.6)]
    xs, ys, unit, _ = cs.progress_series(trials, {})
    assert (xs, ys, unit) == ([2.0, 4.0], [0.5, 0.6], "fits")
    none = [_t(0, 1, 1, None, status="diverged", scores=[None, None])]
    assert cs.progress_series(none, {}) is None
    empty_text = charts.to_text(cs.draw_progress, [1.0], [math.nan], "fits")
    assert "best accuracy found" in charts._ANSI.sub("", empty_text)


def test_show_draws_the_search_charts_for_a_search_and_not_for_a_two_key_grid():
    run = {
        "id": 1,
        "spec": {"cv": {"method": "kfold", "folds": 2}, "dataset": {}, "model": {}},
        "trials": TRIALS,
        "test": None,
    }

    class NoCurves:
        def curves(self, *a):
            return {}

    text = charts._ANSI.sub("", report.charts_text(NoCurves(), run, color=False))
    assert "configurations tried: optimizer.lr × model.reg" in text
    assert "best accuracy found vs epochs spent" not in text  # no epochs in this spec
    assert "best accuracy found vs fits spent" in text
    run["spec"]["cv"]["grid"] = {"optimizer.lr": [1e-4, 1e-3], "model.reg": [1e-5, 1e-3]}
    run["trials"] = TRIALS[:2]
    text = report.charts_text(NoCurves(), run, color=False)
    assert "configurations tried" not in text  # the heatmap shows it


def test_axis_pairs_and_the_check_name_the_choices():
    assert cs.numeric_keys(TRIALS) == ["optimizer.lr", "model.reg"]
    assert cs.axis_pairs(TRIALS) == [("optimizer.lr", "model.reg")]
    assert cs.check_axes(TRIALS, ("model.reg", "optimizer.lr")) == ""
    why = cs.check_axes(TRIALS, ("model.k", "optimizer.lr"))
    assert why.startswith("model.k is not") and "choose from: optimizer.lr, model.reg" in why
    assert "exactly two" in cs.check_axes(TRIALS, ("optimizer.lr",))


def test_show_axes_picks_the_scatter_and_a_bad_one_is_one_error_line(tmp_path, capsys):
    from tuidl.cli import main
    from tuidl.experiment.store import Store

    with Store(tmp_path / "r.sqlite") as store:
        spec_toml = (
            "seed = 0\n[dataset]\nname = 'digits'\n[model]\nname = 'knn'\n"
            "[cv]\nmethod = 'kfold'\nfolds = 2\n"
        )
        from tuidl.experiment.spec import loads_spec

        run_id = store.create_run(loads_spec(spec_toml))
        store.start_run(run_id, [(t["index"], t["params"]) for t in TRIALS[:4]], 2)
        for t in TRIALS[:4]:
            for f, s in enumerate(t["fold_scores"]):
                store.record_fold(run_id, t["index"], f, status="ok", score=s)
    argv = ["show", str(run_id), "--store", str(tmp_path / "r.sqlite")]
    assert main([*argv, "--axes", "model.reg,optimizer.lr"]) == 0
    assert "configurations tried: model.reg × optimizer.lr" in capsys.readouterr().out
    assert main([*argv, "--axes", "model.k,optimizer.lr"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "choose from: optimizer.lr, model.reg" in err


def test_an_empty_scatter_on_log_axes_draws_a_titled_empty_chart():
    pending = [_t(i, 10.0**-i, 10.0**-i, None, status="pending", scores=[None]) for i in range(3)]
    series = cs.scatter_series(pending)
    assert series[2] == [] and series[3] and series[4]
    text = charts.to_text(cs.draw_scatter, *series, width=60, height=12, color=False)
    assert "configurations tried" in text
