"""How the workbench feels to drive from the keyboard: help that scrolls, focus that stays
where the user is, readable widgets at 80 columns and without colour (issue #11's defects
5, 6, 10 and 14). Each test drives the real app with Pilot and reads the screen as text."""

from __future__ import annotations

import pytest

from tuidl.tui.app import WorkbenchApp

from .conftest import SIZE, screen_text


def make_app(registry, store_path, **kw):
    return WorkbenchApp(registry=registry, store_path=store_path, **kw)


async def test_help_scrolls_from_the_keyboard_to_the_last_row(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        first = screen_text(app)
        assert "ctrl+r" in first
        assert "a filter reaches the rest" not in first  # cut at 80×24: it must scroll
        for keys in (["end"], ["home", "pagedown", "pagedown", "pagedown"], ["home"] + ["j"] * 40):
            await pilot.press(*keys)
            await pilot.pause()
            assert "History" in screen_text(app)
        await pilot.press("home", "G")
        await pilot.pause()
        assert "a filter reaches the rest" in screen_text(app)
        await pilot.press("g")
        await pilot.pause()
        assert "# tuidl workbench" in screen_text(app) or "tuidl workbench" in screen_text(app)


async def test_focus_stays_where_the_user_is(registry, store_path, tmp_path, monkeypatch):
    from textual.widgets import Input, Select

    from tuidl.tui.widgets.section_list import SectionList

    monkeypatch.chdir(tmp_path)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.pipeline.focus_section("model")
        await pilot.pause()
        await pilot.press("enter")  # into the model form: its chooser
        await pilot.pause()
        assert isinstance(app.focused, Select)
        await pilot.press("enter", "down", "enter")  # choose another model from the dropdown
        await pilot.pause(0.2)
        assert app.doc.data["model"]["name"] != "knn"
        assert isinstance(app.focused, Select) and app.focused.id == "component"
        await pilot.press("tab")
        await pilot.pause()
        field = app.focused
        assert isinstance(field, Input)
        for dialog, answer in (("ctrl+s", "escape"), ("ctrl+o", "escape"), ("ctrl+s", "enter")):
            await pilot.press(dialog)
            await pilot.pause()
            await pilot.press(answer)
            await pilot.pause(0.2)
            assert app.focused is field, (dialog, answer, app.focused)
        # with the cursor still in the field, a number typed goes into it, not to the tabs
        await pilot.press("end", "1", "e", "-", "3")
        await pilot.pause()
        assert app.query_one("#tabs").active == "tab-pipeline"
        assert field.value.endswith("1e-3")
        # escape: back to the outline, and a second one stays there (not on the tab bar)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.focused, SectionList)
        # adding a step puts the cursor in the new step's form
        steps = len(app.doc.steps)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert len(app.doc.steps) == steps + 1
        assert app.pipeline.current_section == f"preprocess.{steps}"
        assert app.focused is not None and app.pipeline.editor in app.focused.ancestors


async def test_component_choosers_are_readable_at_80_columns(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.doc.set_component("model", "linear")
        app.pipeline.set_doc(app.doc)
        for section, name in (("loss", "softmax"), ("optimizer", "sgd"), ("model", "linear")):
            app.pipeline.focus_section(section)
            await pilot.pause(0.1)
            row = next(line for line in screen_text(app).splitlines() if f"▏ {section} " in line)
            assert f" {name} " in row, row  # not cut to its first letter


async def test_footer_leads_with_the_keys_of_the_focused_pane(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert footer.split()[:4] == ["a", "Add", "step", "x"]  # the outline's step keys
        await pilot.press("2")
        await pilot.pause()
        assert "Next chart" in screen_text(app).splitlines()[-1]
        await pilot.press("3")
        await pilot.pause()
        assert screen_text(app).splitlines()[-1].split()[:2] == ["s", "Sort"]


async def test_the_footer_follows_focus_and_repaints_only_when_its_keys_change(
    registry, store_path
):
    from tuidl.tui.widgets.key_footer import KeyFooter

    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.query_one(KeyFooter)

        def last_line() -> str:
            return screen_text(app).splitlines()[-1]

        assert last_line().split()[:2] == ["a", "Add"]  # the outline has focus
        assert last_line().rstrip().endswith("▏^p palette")  # the palette key, on the right
        await pilot.press("4")  # History: its table's keys lead, the app's follow
        await pilot.pause()
        assert last_line().split()[:3] == ["o", "Open", "spec"], last_line()
        assert "Add step" not in last_line()
        # focus moving between widgets with the same keys repaints nothing
        drawn = footer.entries
        repaints = []
        footer.refresh = lambda *a, **k: repaints.append(1)  # type: ignore[method-assign]
        app.screen.refresh_bindings()
        assert footer.entries is drawn and not repaints
        del footer.refresh
        await pilot.press("1")
        await pilot.pause()
        assert last_line().split()[:2] == ["a", "Add"]
        # a click on a key presses it: F1 opens the help
        x = last_line().index("f1 Help")
        await pilot.click(KeyFooter, offset=(x + 1, 0))
        await pilot.pause()
        from tuidl.tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)


async def test_an_idle_run_tab_paints_nothing(registry, store_path, monkeypatch):
    """No run: no bouncing progress bar, no sliding underline, no frames at all."""
    import asyncio

    from textual._compositor import Compositor

    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    frames: list[int] = []
    render_update = Compositor.render_update

    def counted(self, *args, **kwargs):
        frames.append(1)
        return render_update(self, *args, **kwargs)

    monkeypatch.setattr(Compositor, "render_update", counted)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.5)
        assert not app.query_one("#progress").display  # nothing to count yet
        frames.clear()
        await asyncio.sleep(1.0)
        assert frames == []


async def test_charts_build_on_their_tab_and_only_once_per_size_and_data(registry, store_path):
    from tuidl.tui.backend import Curves, RunView
    from tuidl.tui.widgets.chart_plot import ChartPlot

    from .conftest import wait_for

    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # the plots mount after the first frame and draw empty
        plot = app.query_one("#plot-loss", ChartPlot)
        await wait_for(pilot, lambda: plot.builds > 0)
        builds = plot.builds
        await pilot.press("1", "2")
        await pilot.pause(0.3)
        assert plot.builds == builds  # shown again: what it built still fits
        await pilot.press("1")
        curves = Curves([1.0, 2.0, 3.0], [2.3, 1.9, 1.7], label="config 1, fold 1")
        app.show_run(RunView("5", "running", {"cv": {}}, curves=curves))
        await pilot.pause(0.3)
        assert plot.builds == builds  # the Run tab is hidden: nothing built
        await pilot.press("2")
        await wait_for(pilot, lambda: plot.builds > builds)
        assert "loss · config 1, fold 1" in screen_text(app)
        assert app.query_one("#progress").display


async def test_a_chart_waits_for_a_pause_in_the_keys(registry, store_path, monkeypatch):
    """A plotext build holds the GIL for tens of ms: while keys come, it waits."""
    from tuidl.tui import last_input
    from tuidl.tui.backend import Curves, RunView
    from tuidl.tui.widgets.chart_plot import INPUT_QUIET, ChartPlot

    from .conftest import wait_for

    monkeypatch.setattr(last_input, "_last", float("-inf"))
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        plot = app.query_one("#plot-loss", ChartPlot)
        await wait_for(pilot, lambda: plot.builds > 0)
        builds = plot.builds
        last_input.note_input()  # what the driver does for every key it reads
        curves = Curves([1.0, 2.0, 3.0], [2.3, 1.9, 1.7], label="config 1, fold 1")
        app.show_run(RunView("5", "running", {"cv": {}}, curves=curves))
        await pilot.pause(INPUT_QUIET / 3)
        assert plot.builds == builds
        await wait_for(pilot, lambda: plot.builds > builds, timeout=5)
        assert "loss · config 1, fold 1" in screen_text(app)


async def test_a_poll_redraws_the_run_without_a_relayout(registry, store_path, monkeypatch):
    """A followed run updates the status, ETA and progress lines twice a second: in place,
    not through a relayout (and full repaint) of the screen, on its tab and off it."""
    from textual.screen import Screen

    from tuidl.tui.backend import RunView

    layouts: list[int] = []
    refresh_layout = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        layouts.append(1)
        return refresh_layout(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        view = RunView("5", "running", {"cv": {}}, total_fits=40, done_fits=10)
        app.show_run(view)
        for tab in ("2", "1"):
            await pilot.press(tab)
            await pilot.pause(0.3)
            layouts.clear()
            for done in range(11, 15):
                view.done_fits = done
                app.show_run(view)
                await pilot.pause(0.05)
            assert layouts == [], tab
            assert "run 5 running 14/40" in screen_text(app)
        await pilot.press("2")
        await pilot.pause()
        assert "14/40 fits" in screen_text(app)  # shown again: the ETA line is current


async def test_the_palette_closed_while_it_gathers_commands_does_not_end_the_app(
    registry, store_path
):
    """ctrl+p, escape on a busy machine: the palette's worker finishes after it closed."""
    from tuidl.tui.commands import WorkbenchPalette

    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, WorkbenchPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WorkbenchPalette)
        palette._list_visible = not palette._list_visible  # what the late worker does
        await pilot.pause()
        assert app.is_running and app.return_code is None


async def test_moving_focus_does_not_repaint_the_whole_screen(registry, store_path, monkeypatch):
    """Textual's Screen repaints every line when its focus changes, right after the frame a
    tab switch asked for; the workbench's screen leaves that to the widgets concerned."""
    from textual._compositor import Compositor, LayoutUpdate

    from tuidl.tui.widgets.section_list import SectionList

    updates: list[str] = []
    render_update = Compositor.render_update

    def recorded(self, *args, **kwargs):
        update = render_update(self, *args, **kwargs)
        updates.append(type(update).__name__)
        return update

    monkeypatch.setattr(Compositor, "render_update", recorded)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        for tab in ("3", "4", "1"):
            updates.clear()
            await pilot.press(tab)
            await pilot.pause(0.2)
            assert updates and LayoutUpdate.__name__ not in updates, (tab, updates)
        assert isinstance(app.focused, SectionList)


async def test_errors_read_as_errors_without_colour(registry, store_path, monkeypatch):
    from tuidl.tui.widgets.param_row import ParamRow

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.pipeline.focus_section("model")
        await pilot.pause()
        row = app.query_one("#p-k", ParamRow)
        row.query_one("#value").focus()
        await pilot.press("ctrl+a", "ctrl+k", "0", "tab")
        await pilot.pause()
        text = screen_text(app)
        assert "✗ " in text and "allowed: an int >= 1" in text


async def test_quit_asks_first_when_the_spec_has_unsaved_changes(
    registry, store_path, tmp_path, monkeypatch
):
    from tuidl.tui.screens.confirm import ConfirmScreen

    monkeypatch.chdir(tmp_path)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.doc.set_param("cv", "folds", 3)
        app.modified = True
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        assert "unsaved changes" in screen_text(app)
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("s")  # save, then quit
        await pilot.pause()
        await pilot.press("enter")  # the path prompt's default name
        await pilot.pause(0.3)
    assert (tmp_path / "experiment.toml").exists()
    assert not app.is_running


async def test_quit_without_changes_just_quits(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running


async def test_sanity_checks_run_from_the_workbench(registry, store_path):
    from tuidl.tui.screens.checks import ChecksScreen

    from .conftest import wait_for

    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.doc.set_component("model", "linear")
        app.pipeline.set_doc(app.doc)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChecksScreen), timeout=60)
        text = screen_text(app)
        assert "Sanity checks of" in text and "initial loss" in text
        assert "gradient check" in text and "✓ pass" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ChecksScreen)


@pytest.mark.parametrize("no_color", [False, True])
async def test_health_pane_draws_the_run_and_says_what_is_wrong(
    registry, store_path, monkeypatch, no_color
):
    from tuidl.tui.backend import Curves, RunView

    if no_color:  # the ⚠ marks and the markers carry it without colour
        monkeypatch.setenv("NO_COLOR", "1")

    steps = [10.0, 20.0, 30.0]
    health = {
        "update_ratio": {"W1": (steps, [0.2, 0.3, 0.4]), "W2": (steps, [1e-3] * 3)},
        "dead": {"h1": (steps, [0.1, 0.4, 0.8])},
    }
    view = RunView(
        "7",
        "running",
        {"cv": {}},
        curves=Curves([1.0], [2.3], label="config 1, fold 1", health=health),
    )
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_run(view)
        app.action_tab("run")
        app.query_one("ChartsView").select("health")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "Health" in text  # the tab
        assert "⚠ updates are 4e-01 of the weights in W1" in text
        assert "80% of the ReLUs in h1" in text
        assert "updates/weights · config 1, fold 1" in text  # the chart drew


async def test_a_long_failure_message_wraps_instead_of_being_cut(registry, store_path):
    from tuidl.tui.backend import RunView

    tail = "and says what to do: set loss.name to softmax, svm or squared_hinge"
    message = (
        "loss attributes expects multi-label targets but dataset digits has class labels " + tail
    )
    view = RunView("3", "failed", {"cv": {}}, message=message)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_run(view)
        app.action_tab("run")
        await pilot.pause(0.3)
        flat = " ".join(screen_text(app).split())
        assert "set loss.name to softmax, svm or squared_hinge" in flat


def test_docs_and_help_list_every_key_binding_of_the_workbench():
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    from textual.binding import Binding
    from textual.widgets import Input

    import tuidl.tui
    from tuidl.tui.screens.help import HELP

    docs = Path(__file__).resolve().parents[2] / "docs" / "tui.md"
    table = HELP[HELP.index("| where | key | does |") : HELP.index("\n\n## The tabs")]
    block = docs.read_text().split("<!-- keys:begin -->\n")[1].split("\n<!-- keys:end -->")[0]
    assert block == table  # docs/tui.md carries the help screen's table verbatim
    keys_column = " ".join(row.split("|")[2] for row in table.splitlines()[2:])
    spelled = {"ctrl+": "ctrl+", "slash": "/", "delete": "d", "shift+up": "u", "shift+down": "d"}
    missing = []
    for mod in pkgutil.walk_packages(tuidl.tui.__path__, "tuidl.tui."):
        module = importlib.import_module(mod.name)
        ours = [o for o in vars(module).values() if getattr(o, "__module__", "") == mod.name]
        for obj in ours:
            if not isinstance(obj, type) or issubclass(obj, Input):  # text editing keys
                continue
            for b in obj.__dict__.get("BINDINGS", []):
                if not isinstance(b, Binding) or b.action in ("app.pop_screen", "dismiss"):
                    continue
                for key in b.key.split(","):
                    shown = spelled.get(key, key)
                    shown = {"f1": "F1", "f2": "F2", "f3": "F3", "f5": "F5"}.get(shown, shown)
                    if not re.search(rf"(^|[\s/·]){re.escape(shown)}($|[\s/·,])", keys_column):
                        missing.append(f"{obj.__name__}: {key}")
    assert not missing, missing


async def test_the_form_shows_the_components_help_without_a_mouse(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.pipeline.focus_section("model")  # kNN: its docstring says how it votes
        await pilot.pause(0.2)
        flat = " ".join(screen_text(app).split())
        assert "k-nearest neighbours: each test row takes the" in flat
        assert "majority label of its k closest rows." in flat
