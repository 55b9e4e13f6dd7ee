"""The pipeline panel: schema-generated forms, inline errors, the chain, the grid, N/A hints."""

from __future__ import annotations

import tomllib

from textual.widgets import Checkbox, Input, Select

from tuidl.tui.app import WorkbenchApp
from tuidl.tui.screens.pick import PickScreen
from tuidl.tui.widgets.param_row import ParamRow
from tuidl.tui.widgets.pipeline_panel import PipelinePanel
from tuidl.tui.widgets.section_list import SectionList

from .conftest import SIZE, screen_text, wait_for


def make_app(registry, store_path, **kw):
    return WorkbenchApp(registry=registry, store_path=store_path, **kw)


async def test_first_frame_at_80x24(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pipeline.info is not None)
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        assert "1 Pipeline" in lines[0] and "4 History" in lines[0]
        assert "Dataset   digits" in text
        assert "1. reshape → 64" in text
        assert "^r Run" in lines[-1] and "f1 Help" in lines[-1]
        assert "5 configs × 5 folds" in lines[-2]
        assert isinstance(app.focused, SectionList)


async def test_dataset_shapes_and_class_counts(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(PipelinePanel)
        await wait_for(pilot, lambda: panel.info is not None)
        text = screen_text(app)
        assert "train (1797, 8, 8)" in text
        assert "10 classes: 0:178" in text


async def test_build_a_chain_with_the_keyboard(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # the outline has focus: add a step
        assert isinstance(app.screen, PickScreen)
        names = [o[0] for o in app.screen.options]
        await pilot.press(*(["down"] * names.index("mean_subtraction")), "enter")
        await pilot.pause()
        doc = app.doc
        assert [s["name"] for s in doc.steps] == ["reshape", "mean_subtraction"]
        app.add_step("pca")
        await pilot.pause()
        assert [s["name"] for s in doc.steps] == ["reshape", "mean_subtraction", "pca"]
        # the step editor shows the pca form; the outline its output shape
        text = screen_text(app)
        assert "3. pca" in text and "Preprocessing step 3" in text
        assert "larger than the row size D=64" in text  # pca's default k is too big here
        # move pca up with the key, then remove it with x
        outline = app.query_one(SectionList)
        outline.focus()
        await pilot.press("u")
        await pilot.pause()
        assert [s["name"] for s in doc.steps] == ["reshape", "pca", "mean_subtraction"]
        assert outline.current == "preprocess.1"
        await pilot.press("x")
        await pilot.pause()
        assert [s["name"] for s in doc.steps] == ["reshape", "mean_subtraction"]
        assert app.modified


async def test_step_output_shapes_and_their_errors(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(PipelinePanel)
        await wait_for(pilot, lambda: panel.info is not None)
        app.add_step("bias_trick")
        await pilot.pause()
        assert "2. bias_trick → 65" in screen_text(app)
        # pca before reshape cannot work on (8, 8) images: the shape column says why
        app.add_step("pca", 0)
        await pilot.pause()
        shapes = panel.shapes()
        assert shapes[0].startswith("error:") and "reshape" in shapes[0]


async def test_invalid_value_is_flagged_inline_with_the_schema_message(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        app.pipeline.focus_section("model")
        await pilot.pause()
        row = app.query_one("#p-k", ParamRow)
        field = row.query_one("#value", Input)
        field.focus()
        field.value = "0"
        await pilot.pause()
        assert row.has_class("-invalid")
        assert "parameter 'k' got '0'; allowed: an int >= 1" in row.error
        assert "allowed: an int >= 1" in screen_text(app)
        assert app.doc.data["model"]["k"] == 1  # the bad value never reaches the spec
        field.value = "7"
        await pilot.pause()
        assert not row.has_class("-invalid")
        assert app.doc.data["model"]["k"] == 7


async def test_search_values_build_the_grid(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        app.pipeline.focus_section("model")
        await pilot.pause()
        row = app.query_one("#p-k", ParamRow)
        grid = row.query_one("#grid", Input)
        assert grid.value == "1, 3, 5, 8, 10"
        grid.value = "1, 2, x"
        await pilot.pause()
        assert row.has_class("-invalid") and "'x'" in row.error
        grid.value = "2, 4"
        await pilot.pause()
        assert app.doc.grid == {"model.k": [2, 4]}
        assert "2 configs × 5 folds" in screen_text(app)
        # the distance choice is searchable too
        app.query_one("#p-distance", ParamRow).query_one("#grid", Input).value = "l1, l2"
        await pilot.pause()
        assert app.doc.grid_points() == 4


async def test_knn_like_models_disable_the_learning_sections(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        app.set_component("model", "toy_knn")
        await pilot.pause()
        assert app.doc.learnable() is False
        assert "n/a" in screen_text(app)
        app.pipeline.focus_section("optimizer")
        await pilot.pause()
        hint = str(app.pipeline.editor.query_one("#na-hint").render())
        assert "toy_knn is fitted directly" in hint and "optimizer settings don't apply" in hint
        assert "linear" in hint  # it names a learnable model to pick instead
        rows = app.pipeline.editor.rows()
        assert rows and all(r.disabled for r in rows)
        assert app.query_one("#component", Select).disabled
        # learnable again: enabled
        app.set_component("model", "linear")
        await pilot.pause()
        app.pipeline.focus_section("optimizer")
        await pilot.pause()
        assert not any(r.disabled for r in app.pipeline.editor.rows())
        assert "n/a" not in screen_text(app)


async def test_a_plugin_component_gets_a_form_with_no_ui_code(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        app.add_step("fancy_scale")
        await pilot.pause()
        editor = app.pipeline.editor
        rows = {r.param.name: r for r in editor.rows()}
        assert set(rows) == {"factor", "mode", "enabled", "tags"}
        assert isinstance(rows["factor"].query_one("#value"), Input)
        assert isinstance(rows["mode"].query_one("#value"), Select)
        assert isinstance(rows["enabled"].query_one("#value"), Checkbox)
        assert rows["tags"].grid_text == ""  # lists can be searched too ("1, 2; 3")
        assert "Scale every feature by a factor" in screen_text(app)
        field = rows["factor"].query_one("#value", Input)
        field.value = "11"
        await pilot.pause()
        assert "allowed: a float in [0.0, 10.0]" in rows["factor"].error
        field.value = "3.5"
        rows["tags"].query_one("#value", Input).value = "4, 5"
        await pilot.pause()
        assert app.doc.steps[-1] == {
            "name": "fancy_scale",
            "factor": 3.5,
            "mode": "fast",
            "enabled": True,
            "tags": [4, 5],
        }
        # and the Plugins screen lists the plugin with its components
        await pilot.press("f2")
        await pilot.pause()
        text = screen_text(app)
        assert "myplugin" in text and "FAILED" not in text


async def test_plugins_screen_shows_load_errors(store_path, tmp_path):
    from tuidl.plugins.manager import load_registry

    bad = tmp_path / "broken_plugin.py"
    bad.write_text("raise RuntimeError('boom at import')\n")
    reg = load_registry([bad], entry_points=False, environ={})
    app = make_app(reg, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        text = screen_text(app)
        assert "broken_plugin" in text and "FAILED" in text
        assert "boom at import" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, type(None))


async def test_save_and_open_round_trip(registry, store_path, tmp_path):
    app = make_app(registry, store_path)
    path = tmp_path / "exp.toml"
    async with app.run_test(size=SIZE) as pilot:
        app.add_step("pca")
        app.set_component("model", "linear")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        prompt = app.screen.query_one("#path", Input)
        prompt.value = str(path)
        await pilot.press("enter")
        await pilot.pause()
        assert path.exists() and not app.modified
        data = tomllib.loads(path.read_text())
        assert [s["name"] for s in data["preprocess"]] == ["reshape", "pca"]
        assert data["model"]["name"] == "linear" and "optimizer" in data
        from tuidl.experiment.spec import Spec
        from tuidl.experiment.spec_check import validate

        validate(Spec.from_dict(data), registry)  # what `tuidl run` reads
    app2 = make_app(registry, store_path, spec_path=path)
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app2.doc.export() == app.doc.export()
        assert str(path) in screen_text(app2)


async def test_knn_spec_is_saved_without_learning_tables(registry, store_path, tmp_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        app.set_component("model", "toy_knn")
        await pilot.pause()
        data = app.doc.export()
        assert not {"loss", "init", "optimizer", "training"} & set(data)


async def test_command_palette_has_an_entry_for_every_action(registry, store_path):
    from tuidl.tui.commands import workbench_commands

    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE):
        titles = [c.title for c in workbench_commands(app)]
        for title in (
            "Run",
            "Cancel run",
            "Save spec…",
            "Open spec…",
            "Plugins",
            "Help",
            "Add preprocessing step: pca",
            "Add preprocessing step: fancy_scale",
            "Remove preprocessing step 1: reshape",
            "Set model: linear",
            "Go to History",
        ):
            assert title in titles, title
        cmd = next(c for c in workbench_commands(app) if c.title == "Add preprocessing step: pca")
        cmd.callback()
        assert [s["name"] for s in app.doc.steps] == ["reshape", "pca"]


async def test_help_screen(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert "ctrl+r" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, SectionList)


async def test_large_terminal_layout(registry, store_path):
    app = make_app(registry, store_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert len(lines) == 50
        assert app.screen.has_class("-wide")


async def test_a_dataset_that_fails_to_load_shows_why(registry, store_path, monkeypatch):
    """A dataset component that raises (a plugin bug, a bad file) must not leave the note on
    "loading…" forever: the error is shown where the shapes would be."""
    from tuidl.tui.backend import Backend

    def broken(self, name, params):
        raise ValueError("object too deep for desired array")

    monkeypatch.setattr(Backend, "dataset_info", broken)
    app = make_app(registry, store_path)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(PipelinePanel)
        await wait_for(pilot, lambda: panel.info_error != "")
        await pilot.pause()
        assert "ValueError: object too deep" in screen_text(app)


def test_settings_forms_are_the_spec_layers_declaration(registry, store_path):
    """The run/split/training/cv forms are generated from the spec layer's own Param
    declarations (tuidl.experiment.spec_schema), not from a copy that could drift; the
    spec's dataclasses take their fields and defaults from the same declarations."""
    from tuidl.experiment.spec_schema import SETTINGS
    from tuidl.tui.backend import Backend

    settings = Backend(store_path, registry).settings()
    assert set(settings) == {"run", "split", "training", "cv"}
    for table, params in settings.items():
        assert params is SETTINGS[table], table
