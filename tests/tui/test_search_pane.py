"""The workbench's Search pane (configurations over lr × reg, best against compute) and
the Results table's ≈ marks."""

from __future__ import annotations

from tuidl.tui.app import WorkbenchApp
from tuidl.tui.backend import RunView, TrialRow

from .conftest import SIZE, screen_text


def _view() -> RunView:
    rows = [
        (1e-4, 1e-5, "ok", [0.90, 0.91, 0.90]),
        (1e-3, 1e-3, "ok", [0.90, 0.90, 0.91]),
        (1e-2, 1e-1, "ok", [0.50, 0.52, 0.51]),
        (3e-4, 3e-1, "pruned", [0.30, None, None]),
        (1e-1, 1e-4, "diverged", [None, None, None]),
    ]
    trials = []
    for i, (lr, reg, status, scores) in enumerate(rows):
        good = [s for s in scores if s is not None]
        mean = sum(good) / len(good) if status == "ok" else None
        trials.append(
            TrialRow(
                index=i,
                params={"optimizer.lr": lr, "model.reg": reg},
                fold_scores=scores,
                mean=mean,
                std=0.005 if mean is not None else None,
                status=status,
            )
        )
    spec = {"cv": {"method": "kfold", "folds": 3}, "training": {"epochs": 4}}
    return RunView("9", "finished", spec, trials=trials, folds=3, best_index=0)


async def test_the_search_pane_draws_the_configurations_and_the_best_so_far(registry, store_path):
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_run(_view())
        app.action_tab("run")
        app.query_one("ChartsView").select("search")
        await pilot.pause(0.8)
        text = screen_text(app)
        assert "Search" in text  # the tab
        assert "≤ 1 pt from best" in text  # the scatter's accuracy groups
        assert "○○ pruned" in text and "diverged/failed" in text  # apart from the rest
        assert "best so far" in text  # the progress chart


async def test_results_marks_configs_not_worse_than_the_best(registry, store_path):
    from tuidl.tui.widgets.results_table import ResultsTable

    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_run(_view())
        app.action_tab("results")
        await pilot.pause(0.5)
        app.query_one(ResultsTable).show(_view(), force=True)
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "1 ★" in text and "2 ≈" in text
        assert "3 ≈" not in text  # clearly worse
        assert "1 more ≈ best" in text


async def test_a_cycles_the_search_charts_parameters(registry, store_path):
    view = _view()
    for t in view.trials:
        t.params["training.batch_size"] = 10 * (t.index + 1)
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_run(view)
        app.action_tab("run")
        charts = app.query_one("ChartsView")
        charts.select("search")
        await pilot.pause(0.5)
        assert "model.reg (log)" in screen_text(app)
        charts.action_axes()  # lr × batch_size
        await pilot.pause(0.8)
        assert "training.batch_size" in screen_text(app)
