"""History manages runs: filter the list, name, tag and annotate a run, delete after asking,
and compare several runs at once."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tuidl.experiment.spec import Spec
from tuidl.experiment.store import Store
from tuidl.tui.app import WorkbenchApp

from .conftest import SIZE, screen_text, wait_for


def _runs(app, store_path, n=3):
    """``n`` finished kNN runs over different k, written through the Store API."""
    ids = []
    with Store(store_path) as store:
        for i in range(n):
            data = app.doc.export()
            data["cv"]["grid"] = {"model.k": [1 + 2 * i, 3 + 2 * i]}
            run_id = store.create_run(Spec.from_dict(data))
            store.start_run(run_id, [(t, {"model.k": 1 + 2 * i + 2 * t}) for t in range(2)], 2)
            for t in range(2):
                for fold in range(2):
                    store.record_fold(run_id, t, fold, status="ok", score=0.9 - i / 10)
                    store.add_curve(run_id, t, fold, "loss", [1, 2, 3], [2.0, 1.0 - i / 10, 0.5])
                store.finish_trial(
                    run_id, t, status="ok", mean=0.9 - i / 10, std=0.0, train_acc=1.0,
                    fit_seconds=0.1,
                )  # fmt: skip
            store.set_status(run_id, "finished")
            ids.append(str(run_id))
    return ids


async def _answer(pilot, app, text):
    await wait_for(pilot, lambda: bool(app.screen.query(Input)))
    app.screen.query_one(Input).value = text
    await pilot.press("enter")


async def test_filter_name_tag_note_and_delete_after_asking(store_path, registry):
    app = WorkbenchApp(registry=registry, store_path=store_path)
    ids = _runs(app, store_path)
    history = None
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        history = app.query_one("#history")
        await wait_for(pilot, lambda: len(history.runs) == 3)
        # the newest run is selected: name, tag and annotate it
        await pilot.press("n")
        await _answer(pilot, app, "wide net")
        await pilot.press("t")
        await _answer(pilot, app, "baseline knn")
        await pilot.press("N")
        await _answer(pilot, app, "k=5 looks best")
        await wait_for(pilot, lambda: history.runs[0].note == "k=5 looks best")
        assert history.runs[0].name == "wide net" and history.runs[0].tags == ("baseline", "knn")
        table = history.query_one(DataTable)
        assert str(table.get_cell(ids[2], "name")) == "wide net #baseline #knn"
        # filter by tag, then by a grid value, then clear
        await pilot.press("slash")
        await _answer(pilot, app, "tag=baseline")
        await wait_for(pilot, lambda: [r.id for r in history.runs] == [ids[2]])
        assert "filter: tag=baseline (1 runs" in screen_text(app)
        await pilot.press("slash")
        await _answer(pilot, app, "model.k=3 sort=best")
        await wait_for(pilot, lambda: [r.id for r in history.runs] == [ids[1], ids[0]])
        await pilot.press("slash")
        await _answer(pilot, app, "")
        await wait_for(pilot, lambda: len(history.runs) == 3)
        # a bad filter is a message, not a crash
        await pilot.press("slash")
        await _answer(pilot, app, "best>=high")
        await pilot.pause(0.3)
        assert app.is_running
        history.filter_text = ""
        # delete asks first; escape keeps the run
        await pilot.press("d")
        await wait_for(pilot, lambda: "Delete run" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause(0.2)
        with Store(store_path) as store:
            assert len(store.list_runs()) == 3
        gone = history.selected
        await pilot.press("d")
        await wait_for(pilot, lambda: f"Delete run {gone}" in screen_text(app))
        await pilot.press("d")
        await wait_for(pilot, lambda: len(history.runs) == 2)
    kept = [int(i) for i in reversed(ids) if i != gone]
    with Store(store_path) as store:
        assert [r["id"] for r in store.list_runs()] == kept
        assert store.curves(int(ids[0]), 0, 1)["loss"] == ([1.0, 2.0, 3.0], [2.0, 1.0, 0.5])
        assert store.tags(int(ids[2])) == ["baseline", "knn"]


async def test_compare_three_marked_runs(store_path, registry):
    from tuidl.tui.screens.compare import CompareScreen

    app = WorkbenchApp(registry=registry, store_path=store_path)
    ids = _runs(app, store_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: len(app.query_one("#history").runs) == 3)
        await pilot.press("m", "down", "m", "down", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        text = screen_text(app)
        assert f"Spec differences: run {ids[2]} | run {ids[1]} | run {ids[0]}" in text
        assert "cv.grid.model.k" in text
        assert "training loss (best, fold 1)" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)


def test_setting_tags_with_a_bad_one_changes_nothing(store_path, registry):
    import pytest

    from tuidl.errors import TuidlError
    from tuidl.tui.backend import Backend

    app = WorkbenchApp(registry=registry, store_path=store_path)
    [run_id] = _runs(app, store_path, n=1)
    backend = Backend(store_path, registry)
    assert backend.set_tags(run_id, ["a", "b"]) == ["a", "b"]
    with pytest.raises(TuidlError, match="tag 'no good' is not allowed"):
        backend.set_tags(run_id, ["a", "no good"])
    assert backend.list_runs()[0].tags == ("a", "b")
    assert backend.set_tags(run_id, ["b", "c"]) == ["b", "c"]
    [row] = backend.list_runs("tag=c")
    assert row.tags == ("b", "c")
