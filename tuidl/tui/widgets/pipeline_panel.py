"""The pipeline panel: the outline on the left, the selected section's form on the right."""

from __future__ import annotations

import contextlib

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import AwaitMount
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tuidl.errors import TuidlError
from tuidl.tui.backend import Backend, DatasetInfo, error_text
from tuidl.tui.specdoc import Section, SpecDoc
from tuidl.tui.valuetext import format_value
from tuidl.tui.widgets.param_row import ParamRow
from tuidl.tui.widgets.section_editor import SectionEditor
from tuidl.tui.widgets.section_list import ADD_STEP, SectionList


class PipelinePanel(Horizontal):
    """Edits a :class:`SpecDoc` in place; posts :class:`SpecChanged` after every accepted edit."""

    class SpecChanged(Message):
        """The spec was edited (the app marks it modified and refreshes the status bar)."""

    class Redrawn(Message):
        """The outline was redrawn (shapes or problems may have changed)."""

    class AddStepRequested(Message):
        """The user asked to add a step (the app opens the step picker)."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    DEFAULT_CSS = """
    PipelinePanel { height: 1fr; }
    PipelinePanel #editor-pane { width: 1fr; height: 1fr; border-left: vkey $foreground 30%; }
    PipelinePanel #help-line { height: 2; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, doc: SpecDoc, backend: Backend, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.doc = doc
        self.backend = backend
        self.info: DatasetInfo | None = None
        self.info_error: str = ""
        self._info_key: tuple | None = None
        self._shown: str | None = None
        self.editor: SectionEditor | None = None
        self._mounting: AwaitMount | None = None  # the shown editor's mount, for focus_form

    def compose(self) -> ComposeResult:
        yield SectionList(id="sections")
        with Vertical(id="editor-pane"):
            yield Static("", id="help-line", markup=False)

    def on_mount(self) -> None:
        self.refresh_outline(keep="dataset")
        self.show_section("dataset")
        self.reload_dataset_info()

    # ---- public API (the app and the command palette call these) ----------------------
    def set_doc(self, doc: SpecDoc) -> None:
        self.doc = doc
        self.refresh_outline(keep=self._shown or "dataset")
        self.show_section(self._shown or "dataset")
        self.reload_dataset_info()

    def add_step(self, name: str, index: int | None = None) -> None:
        """Add step ``name`` at ``index`` (the end by default) and put the cursor in its form,
        where the user's next keys are meant to go."""
        i = self.doc.add_step(name, index)
        self._structure_changed(f"preprocess.{i}")
        self.focus_form()

    def focus_form(self, selector: str = "") -> None:
        """Focus ``selector`` in the shown form (its first field when empty or absent), once
        the form is mounted: rebuilding a form must not drop the focus to the outline or the
        tab bar, where the next digits typed would switch tabs."""
        self.call_later(self._focus_when_mounted, selector)

    async def _focus_when_mounted(self, selector: str) -> None:
        editor = self.editor
        if editor is None:
            return
        if self._mounting is not None:
            await self._mounting
        if editor is not self.editor or not editor.is_attached:
            return
        if selector:
            for widget in editor.query(selector):
                if widget.focusable:
                    widget.focus()
                    return
        _focus_first_field(editor)

    def remove_step(self, index: int) -> None:
        self.doc.remove_step(index)
        keep = f"preprocess.{min(index, len(self.doc.steps) - 1)}" if self.doc.steps else "split"
        self._structure_changed(keep)

    def move_step(self, index: int, delta: int) -> None:
        target = self.doc.move_step(index, delta)
        self._structure_changed(f"preprocess.{target}")

    def set_component(self, section: str, name: str) -> None:
        self.doc.set_component(section, name)
        self._structure_changed(section)
        if section == "dataset":
            self.reload_dataset_info()

    def focus_section(self, key: str) -> None:
        outline = self.query_one(SectionList)
        outline.select_key(key)
        self.show_section(key)
        outline.focus()

    @property
    def current_section(self) -> str | None:
        return self._shown

    # ---- drawing ------------------------------------------------------------------------
    def shapes(self) -> list[str]:
        return self.doc.step_shapes(self.info.row_shape if self.info else None)

    def refresh_outline(self, keep: str | None = None) -> None:
        self.query_one(SectionList).show(self.doc, self.shapes(), self.doc.errors(), keep)
        self.post_message(self.Redrawn())

    def show_section(self, key: str | None) -> None:
        if key is None:
            return
        self._shown = key
        pane = self.query_one("#editor-pane")
        for old in pane.query(SectionEditor):
            old.remove()
        if key == ADD_STEP:
            editor = SectionEditor(self.doc, Section("add", "Add a step"))
            editor.note = Text(
                "Press Enter (or a) to add a preprocessing step here. Steps run in order; "
                "each is fitted on the training rows of each fold only."
            )
        else:
            sec = next((s for s in self.doc.sections() if s.key == key), None)
            if sec is None:
                return
            editor = SectionEditor(self.doc, sec, self._note(key))
        self._mounting = pane.mount(editor, before="#help-line")
        self.editor = editor
        self.query_one("#help-line", Static).update("")

    def _note(self, key: str) -> Text:
        doc = self.doc
        if key == "dataset":
            return self._dataset_note()
        if key.startswith("preprocess."):
            i = int(key.split(".", 1)[1])
            shapes = self.shapes()
            before = (
                "(N, " + ", ".join(map(str, self.info.row_shape)) + ")"
                if i == 0 and self.info
                else (shapes[i - 1] if i > 0 else "?")
            )
            return Text(f"rows in: {before}  →  out: {shapes[i] if i < len(shapes) else '?'}")
        if key == "model":
            learnable = doc.learnable()
            if learnable is False:
                return Text("Fitted directly: loss, init, optimizer and training don't apply.")
            if learnable:
                return Text("Trained by minibatch gradient descent (see Loss … Training).")
            return Text("")
        if key == "split":
            if self.info:
                test = (
                    f"{self.info.test_shape[0]} official test rows"
                    if self.info.test_shape
                    else "no official test part"
                )
                return Text(f"the dataset has {self.info.train_shape[0]} training rows and {test}.")
            return Text("")
        if key == "cv":
            return self._grid_note()
        return Text("")

    def _dataset_note(self) -> Text:
        if self.info_error:
            return Text(self.info_error, style="red")
        info = self.info
        if info is None:
            return Text("loading the dataset to show shapes and class counts…", style="dim")
        t = Text()
        t.append("train ", style="bold")
        t.append(f"{info.train_shape}  ")
        t.append("test ", style="bold")
        t.append(f"{info.test_shape if info.test_shape else '-'}\n")
        if info.multilabel:
            t.append(f"{len(info.class_names)} attributes (rows having each): ", style="bold")
        else:
            t.append(f"{len(info.class_names)} classes: ", style="bold")
        t.append(
            "  ".join(f"{n}:{c}" for n, c in zip(info.class_names, info.class_counts, strict=False))
        )
        return t

    def _grid_note(self) -> Text:
        doc = self.doc
        t = Text()
        t.append("Search grid ", style="bold")
        t.append(
            "(type values in any number or choice field's 'search' box; a range: "
            "1e-5..1e-2 or log 1e-5..1e-2)\n",
            style="dim",
        )
        if not doc.grid and not doc.space:
            t.append("  no grid: one configuration\n")
        for key, values in doc.grid.items():
            t.append(f"  {key}", style="bold")
            t.append(" = " + format_value(values) + "\n")
        for key, rng in doc.space.items():  # ranges ("log 1e-5..1e-2" in a search box)
            t.append(f"  {key}", style="bold")
            t.append(" ~ " + format_value(rng) + "\n")
        search = doc.data.get("search") or {}
        if search.get("method", "grid") != "grid":
            t.append(f"  searcher {search['method']}: sampled configurations\n")
        points, folds = doc.grid_points(), doc.folds()
        t.append(f"{points} configuration{'s' if points != 1 else ''} × {folds} fold")
        t.append(f"{'s' if folds != 1 else ''} = {points * folds} fits")
        if doc.learnable() is not False:
            t.append("; the best is retrained on all training rows and tested once.")
        return t

    def _refresh_labels(self) -> None:
        self.refresh_outline(keep=self._shown)
        if self.editor is not None and self._shown and self._shown != ADD_STEP:
            self.editor.set_note(self._note(self._shown))

    def _structure_changed(self, keep: str) -> None:
        self.refresh_outline(keep=keep)
        self.show_section(keep)
        self.post_message(self.SpecChanged())

    # ---- handlers -----------------------------------------------------------------------
    @on(SectionList.Highlighted, "#sections")
    def _highlighted(self, event: SectionList.Highlighted) -> None:
        if isinstance(event.list_view, SectionList) and event.list_view.rebuilding:
            return
        key = event.item.name if event.item is not None else None
        if key and key != self._shown:
            self.show_section(key)

    @on(SectionList.Selected, "#sections")
    def _selected(self, event: SectionList.Selected) -> None:
        key = event.item.name
        if key == ADD_STEP:
            self.post_message(self.AddStepRequested(None))
            return
        if self.editor is not None:
            _focus_first_field(self.editor)

    @on(SectionList.StepCommand)
    def _step_command(self, event: SectionList.StepCommand) -> None:
        self._run_step(event.action, event.index)

    @on(SectionEditor.StepButton)
    def _step_button(self, event: SectionEditor.StepButton) -> None:
        self._run_step(event.action, event.index)

    def _run_step(self, action: str, index: int | None) -> None:
        if action == "add":
            self.post_message(self.AddStepRequested(None if index is None else index + 1))
        elif index is not None and action == "remove":
            self.remove_step(index)
        elif index is not None:
            self.move_step(index, -1 if action == "up" else 1)

    @on(SectionEditor.ComponentChosen)
    def _component(self, event: SectionEditor.ComponentChosen) -> None:
        self.set_component(event.section, event.name)
        # the form is rebuilt for the new component: keep the cursor on its chooser
        self.focus_form("#component")

    @on(SectionEditor.ComponentGrid)
    def _component_grid(self, event: SectionEditor.ComponentGrid) -> None:
        try:
            self.doc.edit(event.section, "name", event.text, grid=True)
            event.editor.set_component_grid_error("")
        except TuidlError as exc:
            event.editor.set_component_grid_error(str(exc))
        self._refresh_labels()
        self.post_message(self.SpecChanged())

    @on(ParamRow.Edited)
    def _edited(self, event: ParamRow.Edited) -> None:
        row = event.row
        # the typed text stays as typed: the doc keeps a bad value as pending (a problem that
        # blocks Run and Save), and nothing here writes back into the field being typed in
        with contextlib.suppress(TuidlError):
            self.doc.edit(row.section, row.param.name, event.value, grid=event.grid)
        still = self.doc.pending_for(row.section, row.param.name)
        row.set_error(next((message for _, message in still.values()), ""))
        self._refresh_labels()
        if row.section == "dataset" and not event.grid and not still:
            self.reload_dataset_info()
        self.post_message(self.SpecChanged())

    @on(ParamRow.Focused)
    def _row_focused(self, event: ParamRow.Focused) -> None:
        p = event.row.param
        text = f"{p.name}: {p.help}. Allowed: {p.allowed()}; default {format_value(p.default)!s}."
        if event.row.grid_text is not None:
            text += (
                " Search: lists separated by ';' (100; 50, 50)."
                if p.type == "list"
                else " Search: comma-separated values."
            )
        self.query_one("#help-line", Static).update(text)

    # ---- workers ------------------------------------------------------------------------
    def reload_dataset_info(self) -> None:
        table = self.doc.data.get("dataset", {})
        name = table.get("name")
        if not name:
            return
        key = (name, tuple(sorted((k, repr(v)) for k, v in table.items())))
        if key == self._info_key:
            return
        self._info_key = key
        self.info, self.info_error = None, ""
        self._refresh_labels()
        self._load_info(name, dict(table))

    @work(thread=True, exclusive=True, group="dataset-info", exit_on_error=False)
    def _load_info(self, name: str, params: dict) -> DatasetInfo:
        return self.backend.dataset_info(name, params)

    @on(Worker.StateChanged)
    def _info_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "dataset-info":
            return
        # Worker.StateChanged does not bubble, so this widget's workers never reach the
        # app's router: a failed load is shown here, where the shapes would be
        if event.state == WorkerState.SUCCESS:
            self.info, self.info_error = event.worker.result, ""
            self._refresh_labels()
        elif event.state == WorkerState.ERROR:
            self.info, self.info_error = None, error_text(event.worker.error)
            self._refresh_labels()


def _focus_first_field(editor: SectionEditor) -> None:
    for widget in editor.query("Input, Select, Checkbox, Button"):
        if widget.focusable:
            widget.focus()
            return
