"""The Pictures screen at 80×24: a stored run's templates and confusion examples, in colour
and under NO_COLOR."""

from __future__ import annotations

import re

import pytest

from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import Spec
from tuidl.experiment.store import Store
from tuidl.tui.app import WorkbenchApp
from tuidl.tui.screens.pictures import PicturesScreen
from tuidl.tui.widgets.charts_view import ChartsView

from .conftest import SIZE, screen_text, wait_for


def finished_run(store_path, registry, model=None) -> str:
    spec = Spec.from_dict(
        {
            "seed": 0,
            "dataset": {"name": "digits"},
            "split": {"num_training": 500, "num_validation": 100, "num_test": 150},
            "model": model or {"name": "linear"},
            "training": {"epochs": 2, "batch_size": 100},
            "cv": {"method": "holdout", "grid": {}},
        }
    )
    with Store(store_path) as store:
        return str(run_spec(spec, store, registry=registry).run_id)


async def open_pictures(app, pilot, run_id):
    await wait_for(pilot, lambda: app.ready)
    app.open_run(run_id, "show")
    await pilot.press("2")
    await wait_for(pilot, lambda: app.query_one(ChartsView).run_id == run_id)
    app.query_one("#chart-tabs").focus()
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, PicturesScreen))


@pytest.mark.parametrize("no_color", [False, True])
async def test_a_stored_runs_templates_and_examples(store_path, registry, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    run_id = finished_run(store_path, registry)
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_pictures(app, pilot, run_id)
        await wait_for(pilot, lambda: "per-class templates" in screen_text(app), 20)
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and all(len(ln) <= 80 for ln in lines)
        assert f"Pictures of run {run_id}" in text
        # four templates side by side at 80 columns, each labelled with its class
        assert any(ln.split() == ["0", "1", "2", "3"] for ln in lines)
        if no_color:
            assert "▀" not in text and "@" in text  # the character ramp
        else:
            assert "▀" in text  # half blocks
        # the examples of the largest confusion, found again from the stored predictions
        await pilot.press("e")
        # the first examples rebuild the split: importing the runner takes seconds (scipy)
        await wait_for(pilot, lambda: re.search(r"row \d+", screen_text(app)), 120)
        text = screen_text(app)
        assert "predicted as" in text and "row " in text
        screen = app.screen
        true, pred = screen._pair
        assert true != pred
        # another cell of the confusion matrix: the choosers pick it
        app.screen.query_one("#pair-pred").value = true
        await wait_for(pilot, lambda: f"true '{true}' predicted as '{true}'" in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PicturesScreen))


async def test_a_model_without_weights_and_a_run_not_in_the_store(store_path, registry):
    run_id = finished_run(store_path, registry, {"name": "knn", "k": 1})
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_pictures(app, pilot, run_id)
        await wait_for(pilot, lambda: "no weights to show" in screen_text(app), 20)
        assert "does not declare first_layer_weights()" in screen_text(app)
        await pilot.press("escape")
        app.push_screen(PicturesScreen("99", store_path))
        await wait_for(pilot, lambda: "no run 99 in the store" in screen_text(app), 20)


async def test_a_live_runs_weights_follow_its_training(store_path, registry):
    """Before the retrain, the screen draws the weights of the fold that last finished an
    epoch, and reloads them while the run goes on."""
    import numpy as np

    from tuidl.experiment import store_pictures

    with Store(store_path) as store:
        spec = {"dataset": {"name": "digits"}, "model": {"name": "linear"}}
        run_id = store.create_run(Spec.from_dict(spec))
        store.set_status(run_id, "running")

        def epoch(e):
            store_pictures.record_live(
                store, run_id, trial=1, fold=2, epoch=e, weights=np.eye(10, 64) * e,
                per_class=True, image_shape=(8, 8), class_names=[str(i) for i in range(10)],
            )  # fmt: skip

        epoch(3)
        app = WorkbenchApp(registry=registry, store_path=store_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.ready)
            app.push_screen(PicturesScreen(str(run_id), store_path, registry))
            await wait_for(pilot, lambda: "config 2, fold 3, epoch 3" in screen_text(app), 20)
            assert "per-class templates" in screen_text(app)
            epoch(4)
            await wait_for(pilot, lambda: "config 2, fold 3, epoch 4" in screen_text(app), 20)
            await pilot.press("e")
            await wait_for(pilot, lambda: "no confusion matrix yet" in screen_text(app))


async def test_the_command_palette_opens_the_pictures_of_a_stored_run(store_path, registry):
    from tuidl.tui.commands import workbench_commands

    run_id = finished_run(store_path, registry)
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        await wait_for(pilot, lambda: app.query_one("#history").runs)
        (cmd,) = [c for c in workbench_commands(app) if c.title == f"Pictures of run {run_id}"]
        cmd.callback()
        await wait_for(pilot, lambda: "per-class templates" in screen_text(app), 20)
