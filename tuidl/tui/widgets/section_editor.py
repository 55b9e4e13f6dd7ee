"""The form for one pipeline section, generated from the component's (or the table's) schema."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from tuidl.tui.specdoc import Section, SpecDoc
from tuidl.tui.widgets.param_row import FieldInput, ParamRow

LONG_TITLES = {
    "dataset": "Dataset",
    "split": "Split: train / validation / test rows",
    "model": "Model",
    "loss": "Loss",
    "init": "Weight initialization",
    "optimizer": "Optimizer",
    "training": "Training loop",
    "cv": "Cross-validation and the search grid",
    "run": "Run name and seed",
}


class SectionEditor(VerticalScroll, can_focus=False):
    """Shows one section: its component choice, one :class:`ParamRow` per param, and notes.

    A plugin's component gets the same form as a built-in one: nothing here knows any
    component by name. Sections that don't apply to the chosen model are disabled with a hint.
    """

    class ComponentChosen(Message):
        def __init__(self, section: str, name: str) -> None:
            super().__init__()
            self.section = section
            self.name = name

    class ComponentGrid(Message):
        """Search values for the component itself (``loss.name = ["svm", "softmax"]``)."""

        def __init__(self, section: str, text: str, editor: SectionEditor) -> None:
            super().__init__()
            self.section = section
            self.text = text
            self.editor = editor

    class StepButton(Message):
        def __init__(self, action: str, index: int) -> None:
            super().__init__()
            self.action = action
            self.index = index

    DEFAULT_CSS = """
    SectionEditor { height: 1fr; padding: 0 1; }
    SectionEditor .title { text-style: bold; height: 1; }
    SectionEditor .summary { color: $text-muted; height: auto; margin-bottom: 1; }
    SectionEditor .component-help { color: $text-muted; height: auto; max-height: 3;
                                    margin-bottom: 1; text-style: italic; }
    SectionEditor .hint { color: $warning; height: auto; margin-bottom: 1; }
    SectionEditor .note { height: auto; margin-top: 1; }
    SectionEditor .chooser { height: 1; }
    SectionEditor .chooser > Static { width: 16; }
    SectionEditor .chooser Select { width: 1fr; }
    SectionEditor .chooser Input { width: 1fr; margin-left: 1; }
    SectionEditor .name-error { color: $error; height: auto; display: none; padding-left: 16; }
    SectionEditor .name-error.-shown { display: block; }
    SectionEditor .buttons { height: 1; margin-bottom: 1; }
    SectionEditor .buttons Button { margin-right: 1; min-width: 8; }
    SectionEditor .form:disabled { opacity: 60%; }
    """

    def __init__(
        self, doc: SpecDoc, section: Section, note: str | Text = "", *, id: str | None = None
    ):
        super().__init__(id=id)
        self.doc = doc
        self.section = section
        self.note: str | Text = note
        self._last_grid = doc.grid_text(section.key, "name") if section.kind else ""
        typed = doc.pending_for(section.key, "name").get(True)
        if typed is not None:  # a search list that did not validate: show it as typed
            self._last_grid = str(typed[0])
        self._pending_error = typed[1] if typed else ""

    def compose(self) -> ComposeResult:
        doc, sec = self.doc, self.section
        title = LONG_TITLES.get(sec.key) or (
            f"Preprocessing step {sec.step_index + 1}" if sec.is_step else sec.title
        )
        yield Static(Text(title), classes="title")
        applies = doc.applies(sec.key)
        if not applies:
            yield Static(doc.not_applicable_hint(sec.key), classes="hint", id="na-hint")
        if sec.kind is not None:
            yield from self._chooser(sec.kind, applies)
        if sec.is_step:
            with Horizontal(classes="buttons"):
                yield Button("▲ Up", id="step-up", compact=True)
                yield Button("▼ Down", id="step-down", compact=True)
                yield Button("✕ Remove", id="step-remove", compact=True, variant="error")
        table = doc.table(sec.key) if doc.has_table(sec.key) else {}
        for p in doc.params(sec.key):
            grid = doc.grid_text(sec.key, p.name) if doc.searchable(sec.key, p.name) else None
            row = ParamRow(
                sec.key,
                p,
                table.get(p.name, p.default),
                grid,
                pending=doc.pending_for(sec.key, p.name),
                id=f"p-{p.name}",
            )
            row.disabled = not applies
            yield row
        if not doc.params(sec.key) and sec.kind is not None and doc.component(sec.key):
            yield Static("(no parameters)", classes="summary")
        yield Static(self.note, classes="note", id="note")

    def _chooser(self, kind: str, applies: bool) -> ComposeResult:
        """The component picker of a section naming one (``kind``: its component kind)."""
        doc, sec = self.doc, self.section
        comp = doc.component(sec.key)
        names = doc.registry.names(kind)
        current = doc.table(sec.key).get("name") if doc.has_table(sec.key) else None
        with Horizontal(classes="chooser"):
            yield Static(Text(kind, style="bold"))
            yield Select(
                [(n, n) for n in names],
                value=current if current in names else Select.NULL,
                allow_blank=current not in names,
                prompt=f"choose a {kind}",
                compact=True,
                id="component",
                disabled=not applies,
            )
            if sec.key in ("loss", "init", "optimizer"):
                yield FieldInput(
                    self._last_grid,
                    placeholder=f"search: {', '.join(names[:2])}",
                    compact=True,
                    id="component-grid",
                    disabled=not applies,
                    tooltip=f"{kind}s to compare in cross-validation",
                )
        yield Static("", classes="name-error", id="component-grid-error")
        if comp is not None:
            where = f"  [{comp.plugin}]" if comp.plugin else ""
            summary = Static(Text(comp.summary + where), classes="summary")
            summary.tooltip = comp.help  # the factory's docstring; F2 shows it in full
            yield summary
            # the docstring's first paragraph, for keyboard users too (a tooltip needs a mouse)
            first = " ".join((comp.help or "").split("\n\n")[0].split())
            if first and first.rstrip(".") != comp.summary.rstrip("."):
                yield Static(Text(first), classes="component-help", markup=False)
        elif current and current not in names:
            yield Static(Text(f"unknown {kind} {current!r}"), classes="hint")

    def on_mount(self) -> None:
        if self._pending_error:
            self.set_component_grid_error(self._pending_error)

    # ---- what the panel calls -----------------------------------------------------------
    def set_note(self, text: str | Text) -> None:
        self.note = text
        for note in self.query("#note").results(Static):
            note.update(text)

    def rows(self) -> list[ParamRow]:
        return list(self.query(ParamRow))

    def set_component_grid_error(self, message: str) -> None:
        err = self.query_one("#component-grid-error", Static)
        err.update(message)
        err.set_class(bool(message), "-shown")

    # ---- handlers -----------------------------------------------------------------------
    @on(Select.Changed, "#component")
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        current = self.doc.table(self.section.key).get("name") if self._has_table() else None
        if event.value != current:
            self.post_message(self.ComponentChosen(self.section.key, str(event.value)))

    @on(Input.Changed, "#component-grid")
    def _component_grid(self, event: Input.Changed) -> None:
        event.stop()
        if event.value == self._last_grid:
            return
        self._last_grid = event.value
        self.post_message(self.ComponentGrid(self.section.key, event.value, self))

    @on(Button.Pressed, "#step-up,#step-down,#step-remove")
    def _step_button(self, event: Button.Pressed) -> None:
        event.stop()
        action = (event.button.id or "").split("-", 1)[1]
        self.post_message(self.StepButton(action, self.section.step_index))

    def _has_table(self) -> bool:
        return self.doc.has_table(self.section.key)
