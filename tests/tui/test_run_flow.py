"""Running from the workbench: start, follow, the table filling, cancel, and history.

The flow tests use :class:`FakeBackend` (fast, deterministic); the end-to-end tests start the
real runner (``python -m tuidl run --resume ID``) on digits and follow the real store.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

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


# ---- one run control: any run in the store, started anywhere (#11 defects 2, 3, 8, 9) -----


def status_bar(app) -> str:
    return str(app.query_one("#status").content)


def run_status(app) -> str:
    return str(app.query_one("#run-status").content)


def stored_run(store_path, data, ks=(1, 3), folds=2, done=0) -> int:
    """A running kNN run written through the Store API (no runner and no process: it is
    "started elsewhere"), with its first ``done`` units recorded fold-major."""
    from tuidl.experiment.spec import Spec
    from tuidl.experiment.store import Store

    data = copy.deepcopy(data)
    data["cv"]["grid"] = {"model.k": list(ks)}
    data["cv"]["folds"] = folds
    with Store(store_path) as store:
        run_id = store.create_run(Spec.from_dict(data))
        store.start_run(run_id, [(i, {"model.k": k}) for i, k in enumerate(ks)], folds)
    record_units(store_path, run_id, 0, done)
    return run_id


def record_units(store_path, run_id, start, stop, finish=False) -> None:
    """Record units ``start..stop`` (fold-major, as the runner orders them); ``finish``:
    then mark the run finished."""
    from tuidl.experiment.store import Store

    with Store(store_path) as store:
        run = store.get_run(run_id)
        n, folds = len(run["trials"]), run["num_folds"]
        for unit in range(start, stop):
            fold, trial = divmod(unit, n)
            score = 0.8 + 0.01 * trial
            store.record_fold(run_id, trial, fold, status="ok", score=score)
            if fold == folds - 1:
                store.finish_trial(
                    run_id, trial, status="ok", mean=score, std=0.0, train_acc=1.0, fit_seconds=0.1
                )
        if finish:
            store.set_status(run_id, "finished")


# a stand-in for a runner started in another terminal: it records itself as the run's
# process, as `tuidl run` does, and marks the run interrupted on Ctrl+C (SIGINT)
FOREIGN_RUNNER = """
import sys, time
from tuidl.experiment import detach
from tuidl.experiment.store import Store
path, run_id = sys.argv[1], int(sys.argv[2])
detach.note_process(path, run_id)
print("ready", flush=True)
try:
    time.sleep(120)
except KeyboardInterrupt:
    with Store(path) as store:
        store.set_status(run_id, "interrupted", "interrupted; finished folds are stored")
"""


def foreign_runner(store_path, run_id) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", FOREIGN_RUNNER, str(store_path), str(run_id)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def test_a_running_run_opened_from_history_follows_until_it_ends(store_path, registry):
    """Defect 2: 4 → Enter on a running run froze its view at that moment (the Run tab at
    its fits then, the status bar stale) while the run went on to finish."""
    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    older = stored_run(store_path, app.doc.export(), ks=(1, 3), folds=2, done=1)
    newer = stored_run(store_path, app.doc.export(), ks=(5, 7), folds=2, done=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: len(app.query_one("#history").runs) == 2)
        await pilot.press("down", "enter")  # the older run (newest first)
        await wait_for(pilot, lambda: app.view is not None and app.view.id == str(older))
        assert app.view.done_fits == 1 and app.view.status == "running"
        record_units(store_path, older, 1, 4, finish=True)
        await wait_for(pilot, lambda: app.view.status == "finished")
        assert app.view.done_fits == 4
        assert f"run {older} finished 4/4" in status_bar(app)
        assert newer  # still running: not what this window shows


async def test_a_fresh_window_follows_and_cancels_a_run_it_did_not_start(store_path, registry):
    """Defect 3: a fresh window said "no run yet" while a run went on, and ctrl+g said "no
    run in progress" for a run this window did not start."""
    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    run_id = stored_run(store_path, app.doc.export(), ks=(1, 3), folds=2, done=1)
    proc = foreign_runner(store_path, run_id)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.view is not None and app.view.id == str(run_id))
            await pilot.press("2")
            await pilot.pause()
            assert f"run {run_id} running" in screen_text(app)
            assert "no run yet" not in screen_text(app)
            record_units(store_path, run_id, 1, 2)
            await wait_for(pilot, lambda: app.view.done_fits == 2)  # live
            await pilot.press("ctrl+g")
            await wait_for(pilot, lambda: app.view.status == "interrupted")
            assert proc.wait(timeout=30) == 0
            assert not app.running
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_an_open_window_picks_up_a_run_started_elsewhere(store_path, registry):
    """While no run goes on in it, a window looks for one started elsewhere (tuidl run,
    another window) and follows it."""
    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        assert app.view is None
        run_id = stored_run(store_path, app.doc.export(), done=1)
        await wait_for(pilot, lambda: app.view is not None and app.view.id == str(run_id))
        assert app.running and f"run {run_id} running 1/4" in status_bar(app)


async def test_history_actions_follow_cancel_resume_retry(fake_backend):
    """Defect 8: History rows act on any run: x cancels, r resumes, R retries, f follows."""
    # the fake run advances one fit a poll: 7 polls (7 s) to the end, time enough to act
    app = WorkbenchApp(backend=fake_backend, poll_seconds=1.0)
    async with app.run_test(size=SIZE) as pilot:
        small_knn(app, grid=(1, 3, 5), folds=2)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.done_fits >= 1)
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        await pilot.press("x")  # cancel run 1 from its History row
        await wait_for(pilot, lambda: app.view.status == "interrupted")
        assert app.view.done_fits < 6
        await pilot.press("r")  # resume it: followed live on the Run tab to the end
        await wait_for(pilot, lambda: app.query_one("#tabs").active == "tab-run")
        await wait_for(pilot, lambda: app.view.id == "1" and app.view.status == "finished", 20)
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query_one("#history").selected == "1")
        await pilot.press("R")  # retry: a new run with the same spec
        await wait_for(pilot, lambda: app.view is not None and app.view.id == "2")
        assert fake_backend.started[1] == fake_backend.started[0]
        await wait_for(pilot, lambda: app.view.status == "finished", 20)
        await pilot.press("4")
        await wait_for(pilot, lambda: len(app.query_one("#history").runs) == 2)
        await pilot.press("down", "f")  # follow run 1 (ended): shown on the Run tab
        await wait_for(pilot, lambda: app.view is not None and app.view.id == "1")
        assert app.query_one("#tabs").active == "tab-run"


async def test_the_run_control_is_in_the_command_palette(fake_backend):
    """Every History action on a run is a palette command too ("Resume run 1", ...)."""
    from tuidl.tui.commands import workbench_commands

    app = WorkbenchApp(backend=fake_backend, poll_seconds=1.0)
    async with app.run_test(size=SIZE) as pilot:
        small_knn(app, grid=(1, 3, 5), folds=2)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.done_fits >= 1)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: app.view.status == "interrupted")
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        commands = {c.title: c for c in workbench_commands(app)}
        for title in ("Follow run 1", "Cancel run 1", "Retry run 1", "Use best params of run 1"):
            assert title in commands
        commands["Resume run 1"].callback()
        await wait_for(pilot, lambda: app.view.id == "1" and app.view.status == "finished", 20)


async def test_use_these_params_from_history_and_from_results(store_path, registry):
    """Defect 8: u copies a run's best configuration (History) or the selected one
    (Results) into the pipeline, with the grid emptied."""
    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    run_id = stored_run(store_path, app.doc.export(), ks=(1, 3, 5), folds=2, done=6)
    record_units(store_path, run_id, 6, 6, finish=True)  # best: k=5 (the highest score)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        await pilot.press("u")
        await wait_for(pilot, lambda: app.doc.data["model"].get("k") == 5)
        assert app.doc.grid == {} and app.query_one("#tabs").active == "tab-pipeline"
        await pilot.press("4")
        await pilot.press("enter")  # its results
        await wait_for(pilot, lambda: app.query_one("#tabs").active == "tab-results")
        table = app.query_one(ResultsTable).query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        table.move_cursor(row=[table.get_row_at(i)[0].plain for i in range(3)].index("1"))
        await pilot.press("u")
        await wait_for(pilot, lambda: app.doc.data["model"].get("k") == 1)
        assert app.doc.grid == {}


async def test_status_text_names_the_config_the_chart_draws(store_path, registry):
    """Defect 9: the status text said `config 1/4` (the first unfinished config) until
    16/20 fits while the chart drew config 3 (the one in flight). Both name the unit in
    flight now."""
    from tuidl.experiment.store import Store

    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    run_id = stored_run(store_path, app.doc.export(), ks=(1, 3, 5, 8), folds=5, done=14)
    with Store(store_path) as store:  # config 3, fold 4 is training: its curve grows
        store.add_curve(run_id, 2, 3, "loss", [0, 1, 2], [2.0, 1.5, 1.2])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.view is not None and app.view.id == str(run_id))
        assert app.view.curves.label == "config 3, fold 4"
        assert "config 3/4, fold 4/5 (model.k=5)" in run_status(app)
        assert "14/20 fits" in str(app.query_one("#eta").content)


async def test_history_hint_says_no_runs_only_when_there_are_none(store_path, registry):
    """Defect 9: the "no stored runs yet" hint stayed above a list of runs."""
    app = WorkbenchApp(registry=registry, store_path=store_path, poll_seconds=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: "no stored runs yet" in screen_text(app))
        run_id = stored_run(store_path, app.doc.export(), done=4)
        record_units(store_path, run_id, 4, 4, finish=True)
        await pilot.press("g")
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        await pilot.pause()
        assert "no stored runs yet" not in screen_text(app)
        assert "f follow" in screen_text(app)


@pytest.mark.slow
async def test_a_cli_detached_run_is_followed_cancelled_and_resumed_in_a_fresh_window(
    store_path, tmp_path
):
    """#11 done-when: a run started by `tuidl run --detach` appears live on the Run tab of
    a fresh workbench and updates; ctrl+g cancels it; r on History resumes it to the end."""
    from tuidl.cli import main

    spec = tmp_path / "spec.toml"
    spec.write_text(DETACH_SPEC)
    args = ["run", str(spec), "--detach", "--store", str(store_path), "--workers", "1"]
    assert main(args) == 0
    app = real_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.view is not None and app.view.id == "1", 30)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.view.status == "running", 60)
        seen = app.view.done_fits
        await wait_for(pilot, lambda: app.view.done_fits > seen, 60)  # it updates live
        assert "run 1 running" in screen_text(app)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: app.view.status == "interrupted", 60)
        await wait_for(pilot, lambda: app.backend.process_alive("1") is False, 30)
        stopped = app.view.done_fits
        assert stopped < app.view.total_fits, "it finished before it could be cancelled"
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query_one("#history").selected == "1")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.view.id == "1" and app.view.status == "running", 30)
        await wait_for(pilot, lambda: app.view.status == "finished", 120)
        view = app.view
        assert view.done_fits == view.total_fits == 6 and view.test_accuracy is not None
        assert "run 1 finished" in status_bar(app)


DETACH_SPEC = """
seed = 3
[dataset]
name = "digits"
[split]
num_training = 600
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
dtype = "float32"
[model]
name = "linear"
[optimizer]
name = "sgd"
lr = 1e-3
[training]
iterations = 2500
batch_size = 50
[cv]
folds = 3
[cv.grid]
"model.reg" = [1e-3, 1e-1]
"""


def test_status_text_shows_sampled_values_as_g():
    """A random or halving search samples lr = 0.0018548929400038843: the status line
    printed it whole and wrapped to three lines at 80 columns. Values read as %g now, as in
    the results table."""
    from tuidl.tui.backend import RunView, TrialRow
    from tuidl.tui.widgets.run_panel import _status_text

    params = {"optimizer.lr": 0.0018548929400038843, "model.hidden_sizes": [100]}
    view = RunView("1", "running", {}, trials=[TrialRow(0, params)], folds=5, current=(0, 2))
    text = _status_text(view).plain
    assert "(optimizer.lr=0.00185489, model.hidden_sizes=[100])" in text
    assert "0.0018548929400038843" not in text
