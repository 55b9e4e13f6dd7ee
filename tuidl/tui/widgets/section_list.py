"""The pipeline outline: dataset, split, each step with its output shape, model, ..."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import ListItem, ListView

from tuidl.experiment.spec_schema import DEFAULT_EPOCHS
from tuidl.tui.specdoc import Section, SpecDoc

ADD_STEP = "add-step"


class _Row(ListItem):
    """One outline row; draws its own text so it can be updated before it is mounted."""

    def __init__(self, text: Text, key: str) -> None:
        super().__init__(name=key)
        self.text = text

    def render(self) -> Text:
        return self.text

    def set_text(self, text: Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()


class SectionList(ListView):
    """A keyboard-first list of the spec's sections; the highlighted one is shown in the editor."""

    class StepCommand(Message):
        """``action`` is "add", "remove", "up" or "down", for step ``index`` (or the end)."""

        def __init__(self, action: str, index: int | None) -> None:
            super().__init__()
            self.action = action
            self.index = index

    BINDINGS: ClassVar[list[BindingType]] = [
        # shown in the footer while the outline has focus: the keys of the pane in use
        Binding("a", "step('add')", "Add step", id="step.add"),
        Binding("x,delete", "step('remove')", "Remove", id="step.remove"),
        Binding("u,shift+up", "step('up')", "Up", id="step.up"),
        Binding("d,shift+down", "step('down')", "Down", id="step.down"),
    ]

    DEFAULT_CSS = """
    SectionList { width: 30; height: 1fr; }
    SectionList ListItem { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: list[str] = []
        self._rebuilding = False  # items are being replaced (highlights then are not the user's)
        self._pending = 0  # the index to highlight once they are mounted

    def show(
        self, doc: SpecDoc, shapes: list[str], errors: dict[str, str], keep: str | None
    ) -> None:
        """Redraw the rows from ``doc``; keep the highlight on section ``keep`` when it exists.

        Same rows as before (any edit that isn't structural): labels are updated in place.
        Otherwise the items are rebuilt and the highlight restored once they are mounted.
        """
        width = max(self.size.width - 2, 20) if self.size.width else 26
        rows: list[tuple[str, Text]] = []
        for sec in doc.sections():
            rows.append((sec.key, _row_text(doc, sec, shapes, errors, width)))
            if sec.key == "split" and not doc.steps:
                rows.append((ADD_STEP, Text("  + add step (a)", style="dim")))
            if sec.is_step and sec.step_index == len(doc.steps) - 1:
                rows.append((ADD_STEP, Text("  + add step (a)", style="dim")))
        keys = [k for k, _ in rows]
        if keys == self.keys and len(self.children) == len(rows):
            for item, (_, text) in zip(self.query(_Row), rows, strict=False):
                item.set_text(text)
            if keep in keys and self.index != keys.index(keep):
                self.index = keys.index(keep)
            return
        old_index = self.index or 0
        self.keys = keys
        index = keys.index(keep) if keep in keys else min(old_index, len(rows) - 1)
        self._rebuilding = True
        self._pending = index
        self.clear()
        self.extend([_Row(t, k) for k, t in rows])
        self.call_after_refresh(self._restore)

    def _restore(self) -> None:
        self.index = self._pending
        self._rebuilding = False

    @property
    def rebuilding(self) -> bool:
        return self._rebuilding

    @property
    def current(self) -> str | None:
        if self.index is None or not 0 <= self.index < len(self.keys):
            return None
        return self.keys[self.index]

    def select_key(self, key: str) -> None:
        if key in self.keys:
            if self.rebuilding:
                self._pending = self.keys.index(key)
            else:
                self.index = self.keys.index(key)

    def action_step(self, action: str) -> None:
        key = self.current or ""
        index = int(key.split(".", 1)[1]) if key.startswith("preprocess.") else None
        if action != "add" and index is None:
            self.app.notify("select a preprocessing step first", severity="warning")
            return
        self.post_message(self.StepCommand(action, index))


def _row_text(
    doc: SpecDoc, sec: Section, shapes: list[str], errors: dict[str, str], width: int
) -> Text:
    bad = any(k == sec.key or k.startswith(sec.key + ".") for k in errors)
    applies = doc.applies(sec.key)
    mark = Text("! ", style="bold red") if bad else Text("  ")
    if sec.is_step:
        i = sec.step_index
        name = doc.steps[i].get("name", "?")
        shape = shapes[i] if i < len(shapes) else "?"
        if shape.startswith("error"):
            short, style = "✗ shape", "bold red"
        else:
            short, style = "→ " + shape.removeprefix("(N, ").removesuffix(")"), "dim"
        head = f"{i + 1}. "
        room = width - len(mark) - 2 - len(head) - len(short) - 1
        if len(name) > room:
            name = name[: max(room - 1, 3)] + "…"
        body = Text(head + name, style="bold")
        body.append(" " + short, style=style)
        return mark + Text("  ") + body
    label = f"{sec.title:<10}"
    if not applies:
        return mark + Text(label, style="dim") + Text("n/a", style="dim italic")
    return mark + Text(label, style="bold") + Text(_detail(doc, sec.key))


def _detail(doc: SpecDoc, key: str) -> str:
    table = doc.data.get(key, {})
    if key == "split":
        return "/".join(
            str(table.get(k, "?")) for k in ("num_training", "num_validation", "num_test")
        )
    if key == "training":
        if table.get("epochs") is not None:
            return f"{table['epochs']:g} ep · bs {table.get('batch_size', '?')}"
        if table.get("iterations"):
            return f"{table['iterations']} it · bs {table.get('batch_size', '?')}"
        # neither given: the spec layer trains DEFAULT_EPOCHS epochs
        return f"{DEFAULT_EPOCHS:g} ep · bs {table.get('batch_size', '?')}"
    if key == "run":
        return f"{doc.data.get('seed', 0)}" + (
            f" · {doc.data['name']}" if doc.data.get("name") else ""
        )
    if key == "cv":
        method = table.get("method", "kfold")
        folds = doc.folds()
        how = "holdout" if method == "holdout" else f"{folds}-fold"
        return f"{how} · {doc.grid_points()} pts"
    return str(table.get("name", "-"))
