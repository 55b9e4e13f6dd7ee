"""Running from the workbench: start, follow, the table filling, cancel, and history.

The flow tests use :class:`FakeBackend` (fast, deterministic); the end-to-end tests start the
real runner (``python -m tuidl run --resume ID``) on digits and follow the real store.
"""

from __future__ import annotations

import os

import pytest
from textual.widgets import DataTable

from tuidl.tui.app import WorkbenchApp
from tuidl.tui.widgets.charts_view import ChartsView
from tuidl.tui.widgets.results_table import ResultsTable

from .conftest import SIZE, screen_text, wait_for


def small_knn(app, grid=(1, 3, 5), folds=3):
    doc = app.doc
    doc.set_component("model", "toy_knn") if "toy_knn" in doc.registry.names("model") else None
    doc.set_param("split", "num_training", 300)
    doc.set_param("split", "num_test", 100)
    doc.set_param("cv", "folds", folds)
    doc.set_grid("model", "k", list(grid))
    app.pipeline.set_doc(doc)


async def test_run_fills_the_table_and_finishes(fake_backend):
    app = WorkbenchApp(backend=fake_backend, poll_seconds=0.3)
    async with app.run_test(size=SIZE) as pilot:
        small_knn(app, grid=(1, 3, 5, 8), folds=2)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None)
        assert app.query_one("#tabs").active == "tab-run"
        assert fake_backend.started[0]["cv"]["grid"] == {"model.k": [1, 3, 5, 8]}
        # the table fills while the run goes on (it draws only while its tab is shown)
        await pilot.press("3")
        table = app.query_one(ResultsTable).query_one(DataTable)
        await wait_for(pilot, lambda: app.view.done_fits >= 2, step=0.02)
        await wait_for(pilot, lambda: table.row_count == 4, step=0.02)
        partial = app.view.done_fits
        assert 0 < partial < 8 and app.running
        await wait_for(pilot, lambda: app.view.finished_states, timeout=10)
        assert not app.running
        await pilot.pause()
        text = screen_text(app)
        assert "retrained, test acc 0.9000" in text
        assert "★" in text  # the best is marked
        assert "diverged: loss became nan" in text  # config 3 diverged, with its message
        best = app.view.trials[app.view.best_index]
        assert best.params == {"model.k": 8}


async def test_results_sort(fake_backend):
    app = WorkbenchApp(backend=fake_backend, poll_seconds=0.02)
    async with app.run_test(size=SIZE) as pilot:
        small_knn(app, grid=(1, 3), folds=2)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.finished_states)
        results = app.query_one(ResultsTable)
        table = results.query_one(DataTable)
        first = lambda: table.get_row_at(0)[0].plain  # noqa: E731
        assert first().startswith("2")  # best mean first
        app.action_tab("results")
        await pilot.press("s")  # sort by the next column: the config number
        await pilot.pause()
        assert results.sort_column == "#" and first().startswith("1")
        await pilot.press("s", "S")  # then by k, reversed
        await pilot.pause()
        assert results.sort_column == "model.k" and first().startswith("2")


async def test_cancel(fake_backend):
    app = WorkbenchApp(backend=fake_backend, poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        small_knn(app, grid=(1, 3, 5, 8, 10, 12), folds=5)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.done_fits >= 1)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: app.view.status == "interrupted")
        assert not app.running
        assert "interrupted" in screen_text(app)
        await pilot.press("ctrl+g")  # nothing to cancel now: a warning, not a crash
        await pilot.pause()


async def test_run_refuses_a_spec_with_problems(fake_backend):
    app = WorkbenchApp(backend=fake_backend)
    async with app.run_test(size=SIZE) as pilot:
        app.add_step("pca")  # k=100 > 64 features: its shape can't be computed
        await wait_for(pilot, lambda: app.pipeline.info is not None)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert fake_backend.started == []
        assert app.query_one("#tabs").active == "tab-pipeline"
        assert "problem" in screen_text(app).splitlines()[-2]


async def test_charts_redraw_at_a_bounded_rate(fake_backend):
    app = WorkbenchApp(backend=fake_backend, poll_seconds=0.01)
    async with app.run_test(size=SIZE) as pilot:
        charts = app.query_one(ChartsView)
        draws = []
        original = charts._draw
        charts._draw = lambda view: (draws.append(view.done_fits), original(view))
        small_knn(app, grid=tuple(range(1, 21)), folds=5)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.finished_states, 20)
        await pilot.pause(0.3)
        polls = app.view.total_fits
        assert len(draws) < polls / 2  # 100 updates, far fewer redraws
        assert draws[-1] == app.view.done_fits  # but the last state is always drawn


# ---- end to end: the real runner and store -----------------------------------------------


def real_app(store_path, **kw):
    return WorkbenchApp(store_path=store_path, poll_seconds=0.2, **kw)


@pytest.mark.slow
async def test_end_to_end_small_cv_on_digits(store_path):
    app = real_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)  # the registry loads after the first frame
        small_knn(app, grid=(1, 3), folds=3)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.finished_states, 60)
        view = app.view
        assert view.status == "finished", (view.message, app.backend.log_tail(view.id, 20))
        assert [t.params for t in view.trials] == [{"model.k": 1}, {"model.k": 3}]
        assert all(t.mean is not None and len(t.fold_scores) == 3 for t in view.trials)
        assert view.test_accuracy is not None and view.confusion
        table = app.query_one(ResultsTable).query_one(DataTable)
        assert table.row_count == 2
        # the run is in the store like any other: `tuidl runs` lists it
        from tuidl.experiment.store import Store

        with Store(store_path) as store:
            assert [r["id"] for r in store.list_runs()] == [int(view.id)]


@pytest.mark.slow
async def test_end_to_end_cancel_and_history(store_path):
    app = real_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)  # the registry loads after the first frame
        doc = app.doc
        doc.set_component("model", "linear")
        doc.set_param("split", "num_training", 1000)
        doc.set_param("training", "epochs", 400)
        doc.set_param("cv", "folds", 5)
        doc.grid.clear()
        doc.set_grid("optimizer", "lr", [1e-3, 3e-3, 1e-2, 3e-2])
        app.pipeline.set_doc(doc)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.status == "running", 60)
        await wait_for(pilot, lambda: len(app.view.curves.iterations) > 0, 60)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: app.view.finished_states, 60)
        assert app.view.status == "interrupted", app.backend.log_tail(app.view.id, 20)
        run_id = app.view.id
        await wait_for(pilot, lambda: app.backend.process_alive(run_id) is False, 30)
        # History lists it; o reopens its spec in the pipeline, enter shows its results
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        assert "interrupted" in screen_text(app)
        app.doc.set_component("model", "knn")  # change the pipeline, then reopen the run's spec
        await pilot.press("o")
        await wait_for(pilot, lambda: app.doc.data["model"]["name"] == "linear")
        assert app.doc.grid == {"optimizer.lr": [1e-3, 3e-3, 1e-2, 3e-2]}
        assert app.query_one("#tabs").active == "tab-pipeline"
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one("#tabs").active == "tab-results")
        assert f"run {run_id} · interrupted" in screen_text(app)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
async def test_a_stored_run_can_be_compared(store_path, registry):
    """Two stored runs (written through the Store API, no runner) side by side."""
    from tuidl.experiment.spec import Spec
    from tuidl.experiment.store import Store
    from tuidl.tui.screens.compare import CompareScreen

    app = WorkbenchApp(registry=registry, store_path=store_path)
    with Store(store_path) as store:
        ids = []
        for k_values, score in (([1, 3], 0.9), ([5, 7], 0.8)):
            data = app.doc.export()
            data["cv"]["grid"] = {"model.k": k_values}
            run_id = store.create_run(Spec.from_dict(data))
            store.start_run(run_id, [(i, {"model.k": k}) for i, k in enumerate(k_values)], 2)
            for i in range(2):
                for fold in range(2):
                    store.record_fold(run_id, i, fold, status="ok", score=score - 0.01 * i)
                store.finish_trial(
                    run_id,
                    i,
                    status="ok",
                    mean=score - 0.01 * i,
                    std=0.0,
                    train_acc=1.0,
                    fit_seconds=0.1,
                )
            store.set_status(run_id, "finished")
            ids.append(str(run_id))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: len(app.query_one("#history").runs) == 2)
        await pilot.press("m", "down", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        text = screen_text(app)
        assert f"run {ids[1]} | run {ids[0]}" in text
        assert "cv.grid.model.k" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)


async def test_a_chart_that_fails_to_draw_says_why():
    """A drawing function that raises shows its error in the pane instead of a blank."""
    from textual.app import App

    from tuidl.tui.widgets.chart_plot import ChartPlot

    def broken(plt):
        raise ValueError("no finite values to draw")

    class One(App):
        def compose(self):
            yield ChartPlot(id="p")

    app = One()
    async with app.run_test(size=(60, 12)) as pilot:
        plot = app.query_one(ChartPlot)
        plot.draw(broken)
        await wait_for(pilot, lambda: "chart failed" in screen_text(app))
        assert "ValueError: no finite values to draw" in screen_text(app)
