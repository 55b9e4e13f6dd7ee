"""The spec form shows what runs (#11 defects 1, 4, 7, 11, 12, 13): a value that does not
validate blocks Run and Save, keys typed in a burst land in order, a checkbox reads the same
with and without colour, steps are numbered from 1 in grid keys, the spec layer's rules
(loss/dataset targets) apply as you type, and a list param can be searched."""

from __future__ import annotations

import tomllib

from textual import events
from textual.widgets import Input

from tuidl.plugins.manager import load_registry
from tuidl.tui.app import WorkbenchApp
from tuidl.tui.widgets.param_row import BoolField, ParamRow
from tuidl.tui.widgets.section_list import SectionList

from .conftest import SIZE, screen_text, wait_for


def burst(app, *keys: str) -> None:
    """Queue keys all at once, as a terminal delivers them over SSH or in a paste."""
    chars = {"backspace": "\x7f"}
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else chars.get(key)))


def field(app, name: str, which: str = "#value") -> Input:
    return app.query_one(f"#p-{name}", ParamRow).query_one(which)


def outline_line(app, title: str) -> str:
    return next(line for line in screen_text(app).splitlines() if f" {title}" in line[:14])


async def test_an_invalid_field_blocks_run_and_save_and_is_marked(fake_backend, tmp_path):
    """Defect 1: typing `abc` in lr showed red, yet ctrl+r ran (and ctrl+s saved) the last
    valid value. Now both are refused and the outline marks the section."""
    app = WorkbenchApp(backend=fake_backend)
    path = tmp_path / "exp.toml"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.set_component("model", "linear")
        app.pipeline.focus_section("optimizer")
        await pilot.pause()
        lr = field(app, "lr")
        lr.focus()
        lr.value = "abc"
        await pilot.pause()
        assert app.doc.data["optimizer"]["lr"] != "abc"  # the dict keeps the last valid value
        assert "optimizer.lr" in app.doc.errors()
        assert outline_line(app, "Optimizer").lstrip().startswith("! Optimizer")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert fake_backend.started == []
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(path)
        await pilot.press("enter")
        await pilot.pause()
        assert not path.exists()
        # the typed text survives leaving the section and coming back
        app.pipeline.focus_section("model")
        await pilot.pause()
        app.pipeline.focus_section("optimizer")
        await pilot.pause()
        assert field(app, "lr").value == "abc"
        assert app.query_one("#p-lr", ParamRow).has_class("-invalid")
        field(app, "lr").value = "0.05"
        await pilot.pause()
        assert app.doc.errors() == {}
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: fake_backend.started)
        assert fake_backend.started[0]["optimizer"]["lr"] == 0.05


async def test_keys_typed_in_a_burst_land_in_order(registry, store_path):
    """Defect 4: `End BS BS 3 2` on "64" gave "62"/"63" and `C-a C-k 6 4` gave "" when the
    keys arrived together: Textual ran the editing keys after the characters."""
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.set_component("model", "fc_net")
        app.pipeline.focus_section("model")
        await pilot.pause()
        hidden = field(app, "hidden_sizes")
        hidden.focus()
        hidden.value = "64"
        await pilot.pause()
        burst(app, "end", "backspace", "backspace", "3", "2")
        await pilot.pause(0.3)
        assert hidden.value == "32" and app.doc.data["model"]["hidden_sizes"] == [32]
        burst(app, "ctrl+a", "ctrl+k", "6", "4")
        await pilot.pause(0.3)
        assert hidden.value == "64" and app.doc.data["model"]["hidden_sizes"] == [64]


async def test_a_checkbox_reads_the_same_without_colour_and_is_what_is_saved(
    registry, store_path, tmp_path, monkeypatch
):
    """Defect 7: on and off differed only in colour; the focused field was barely marked."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = WorkbenchApp(registry=registry, store_path=store_path)
    path = tmp_path / "exp.toml"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.pipeline.focus_section("split")
        await pilot.pause()
        box = app.query_one("#p-shuffle", ParamRow).query_one(BoolField)
        assert not box.value and "shuffle         [ ] false" in screen_text(app)
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert "shuffle         [x] true" in screen_text(app)
        assert app.doc.data["split"]["shuffle"] is True
        label = app.query_one("#p-shuffle", ParamRow).query_one(".name")
        assert label.rich_style.reverse  # the focused row's name stands out, colour or not
        assert not app.query_one("#p-stratify", ParamRow).query_one(".name").rich_style.reverse
        app._save(str(path))
        assert tomllib.loads(path.read_text())["split"]["shuffle"] is True


async def test_grid_keys_number_steps_as_the_outline_does(registry, store_path, tmp_path):
    """Defect 11: the outline's "2. pca" had the grid key preprocess.1.k; now preprocess.2.k,
    in the form, the saved file and what `tuidl run` reads."""
    from tuidl.experiment.spec import load_spec
    from tuidl.experiment.spec_check import validate

    app = WorkbenchApp(registry=registry, store_path=store_path)
    path = tmp_path / "exp.toml"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.pipeline.info is not None)
        app.add_step("pca")
        await pilot.pause()
        app.pipeline.focus_section("preprocess.1")
        await pilot.pause()
        assert "2. pca" in screen_text(app)
        field(app, "k").value = "20"
        field(app, "k", "#grid").value = "10, 20"
        await pilot.pause()
        assert app.doc.grid["preprocess.2.k"] == [10, 20]
        app._save(str(path))
        spec = load_spec(path)
        assert spec.cv.grid["preprocess.2.k"] == [10, 20]
        validate(spec, registry)
        # moving the step renumbers its grid key with it
        app.query_one(SectionList).focus()
        await pilot.press("u")
        await pilot.pause()
        assert "preprocess.1.k" in app.doc.grid and "preprocess.2.k" not in app.doc.grid


async def test_a_loss_the_dataset_cannot_feed_is_flagged_as_you_choose_it(store_path):
    """Defect 13: the attributes loss on digits passed the form, then failed at start."""
    from tuidl_attributes import plugin as attributes

    registry = load_registry(extra_plugins=[("attributes", attributes)], entry_points=False)
    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.set_component("model", "linear")
        app.set_component("loss", "attributes")
        await pilot.pause()
        problems = app.doc.errors()
        assert "loss.name" in problems and "takes multilabel targets" in problems["loss.name"]
        assert outline_line(app, "Loss").lstrip().startswith("! Loss")
        app.set_component("dataset", "digits_attributes")
        await pilot.pause()
        assert app.doc.errors() == {}


async def test_a_list_param_can_be_searched_from_the_form(registry, store_path, tmp_path):
    """Defect 13: hidden_sizes could not go on the grid; alternatives are separated by ';'."""
    from tuidl.experiment.spec import load_spec
    from tuidl.experiment.spec_check import validate

    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.set_component("model", "fc_net")
        app.pipeline.focus_section("model")
        await pilot.pause()
        field(app, "hidden_sizes", "#grid").value = "100; 50, 50"
        await pilot.pause()
        assert app.doc.grid["model.hidden_sizes"] == [[100], [50, 50]]
        path = tmp_path / "exp.toml"
        app._save(str(path))
        validate(load_spec(path), registry)
        app.pipeline.focus_section("optimizer")
        await pilot.pause()
        app.pipeline.focus_section("model")
        await pilot.pause()
        assert field(app, "hidden_sizes", "#grid").value == "100; 50, 50"


async def test_whole_epochs_are_saved_as_integers(registry, store_path, tmp_path):
    """Defect 12: `epochs = 400` typed in the form was saved as `epochs = 400.0`."""
    app = WorkbenchApp(registry=registry, store_path=store_path)
    path = tmp_path / "exp.toml"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.set_component("model", "linear")
        app.pipeline.focus_section("training")
        await pilot.pause()
        field(app, "epochs").value = "400"
        await pilot.pause()
        app._save(str(path))
        assert "epochs = 400\n" in path.read_text()


async def test_a_seed_numpy_cannot_take_is_flagged_in_the_form(fake_backend):
    """#15 item 8, in the form: the seed's declared range applies as you type."""
    app = WorkbenchApp(backend=fake_backend)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.pipeline.focus_section("run")
        await pilot.pause()
        field(app, "seed").value = str(2**32)
        await pilot.pause()
        assert "4294967295" in app.query_one("#p-seed", ParamRow).error
        assert outline_line(app, "Seed").lstrip().startswith("! Seed")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert fake_backend.started == []


async def test_save_keeps_the_comments_of_a_hand_written_spec(registry, store_path, tmp_path):
    """#11: the workbench's Save dropped every comment of the spec it had opened."""
    path = tmp_path / "mine.toml"
    path.write_text(
        "# my digits run\n"
        '[dataset]\nname = "digits"\n\n'
        "[split]\nnum_training = 600   # small, for speed\nnum_test = 100\n\n"
        '[model]\nname = "knn"\nk = 3               # tried 1 and 5 too\n'
    )
    app = WorkbenchApp(registry=registry, store_path=store_path, spec_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.ready)
        app.pipeline.focus_section("model")
        await pilot.pause()
        field(app, "k").value = "7"
        await pilot.pause()
        app._save(str(path))
    text = path.read_text()
    assert text.startswith("# my digits run\n")
    assert "num_training = 600   # small, for speed" in text
    assert "k = 7" in text and "# tried 1 and 5 too" in text


async def test_a_burst_into_the_save_and_history_prompts_lands_in_order(registry, store_path):
    from tuidl.tui.screens.path_prompt import PathPrompt
    from tuidl.tui.screens.text_prompt import TextPrompt

    app = WorkbenchApp(registry=registry, store_path=store_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for screen, field in (
            (PathPrompt("Save", "spec.toml"), "#path"),
            (TextPrompt("Filter", "ab"), "#text"),
        ):
            app.push_screen(screen)
            await pilot.pause()
            burst(app, "end", "backspace", "backspace", "x", "y")
            await pilot.pause(0.3)
            value = app.screen.query_one(field, Input).value
            assert value == ("spec.toxy" if field == "#path" else "xy"), value
            app.pop_screen()
            await pilot.pause()
