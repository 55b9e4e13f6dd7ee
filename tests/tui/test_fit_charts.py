"""The Run tab's accuracy chart at 80×24: the train − val gap shaded and the learning rate
on the right axis, readable without colour too."""

from __future__ import annotations

import pytest

from tuidl.tui.app import WorkbenchApp
from tuidl.tui.widgets.charts_view import ChartsView

from .conftest import SIZE, FakeBackend, screen_text, wait_for


class DecayingLr(FakeBackend):
    """The fake runs, with a learning rate that halves every epoch."""

    def get_run(self, run_id):
        view = super().get_run(run_id)
        view.curves.lr = [0.01 * 0.5**i for i in range(len(view.curves.epochs))]
        return view


@pytest.mark.parametrize("no_color", [False, True])
async def test_the_gap_and_lr_show_on_the_run_tab(registry, store_path, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = WorkbenchApp(backend=DecayingLr(registry, store_path), poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.view is not None and app.view.curves.epochs)
        charts = app.query_one(ChartsView)
        await wait_for(pilot, lambda: "accuracy · gap 0.10" in screen_text(app), 20)
        text = screen_text(app)
        assert charts.active == "curves"
        assert "░" in text  # the shaded band between train and val
        assert "0.01" in text and "0.005" in text  # the lr's own axis, on the right
