"""One schema-generated form row: label, value control, search values, inline error.

Also the two controls the forms use instead of Textual's own: :class:`FieldInput` (an Input
whose editing keys take effect in the order typed, even in a burst) and :class:`BoolField`
(a checkbox that reads ``[x] true`` / ``[ ] false``, so its state needs no colour).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from tuidl.plugins.schema import Param
from tuidl.tui.valuetext import format_value

# Input's own bindings that edit the text or move the cursor (not submit, not the clipboard)
_EDITING = ("cursor_", "delete_", "home", "end", "select_all")


class FieldInput(Input):
    """An :class:`Input` whose editing keys (backspace, end, ctrl+k, ...) act in ``_on_key``.

    Textual runs an Input's key *bindings* only after the key has gone round the app's
    binding check, while printable keys are inserted at once; in a burst (SSH, a paste, fast
    typing while the app is busy) ``End BS BS 3 2`` then arrived as ``3 2 End BS BS``. Handling
    the editing keys where the characters are handled keeps them in the order typed.
    """

    _ACTIONS: ClassVar[dict[str, str]] = {
        key.strip(): b.action
        for b in Input.BINDINGS
        if isinstance(b, Binding) and b.action.startswith(_EDITING)
        for key in b.key.split(",")
    }

    async def _on_key(self, event: events.Key) -> None:
        action = self._ACTIONS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        self._restart_blink()
        await self.run_action(action)


class BoolField(Checkbox):
    """A checkbox that shows its state as ``[x] true`` / ``[ ] false``: readable without
    colour (NO_COLOR, a monochrome terminal) and in the words the saved TOML uses."""

    @property
    def _button(self):  # Textual draws the state from this
        from textual.content import Content

        return Content("[x] true" if self.value else "[ ] false")


class ParamRow(Vertical):
    """A row for one :class:`Param`; the control is chosen from the param's type.

    ``bool`` → checkbox, ``choice`` → select, everything else → a text input checked against
    the schema. A second input (for numbers and choices) holds the values to search in the CV
    grid, as ``1, 3, 5``. The row does not validate itself: it posts :class:`Edited` and the
    pipeline panel answers with :meth:`set_error` (the schema's message, or ``""``).
    """

    class Edited(Message):
        """The user changed the value (``grid=False``) or the search values (``grid=True``)."""

        def __init__(self, row: ParamRow, value: Any, grid: bool) -> None:
            super().__init__()
            self.row = row
            self.value = value
            self.grid = grid

    class Focused(Message):
        """A control in this row got focus (the panel shows the param's help)."""

        def __init__(self, row: ParamRow) -> None:
            super().__init__()
            self.row = row

    DEFAULT_CSS = """
    ParamRow { height: auto; }
    ParamRow > Horizontal { height: 1; }
    ParamRow .name { width: 16; }
    ParamRow .value { width: 1fr; min-width: 8; }
    ParamRow .grid { width: 1fr; min-width: 8; margin-left: 1; }
    ParamRow .error { color: $error; height: auto; display: none; padding-left: 16; }
    ParamRow.-invalid .error { display: block; }
    ParamRow.-invalid .name { color: $error; text-style: bold; }
    ParamRow.-focused .name { text-style: bold reverse; }
    ParamRow BoolField { border: none; padding: 0; }
    """

    def __init__(
        self,
        section: str,
        param: Param,
        value: Any,
        grid_text: str | None,
        *,
        pending: dict[bool, tuple[Any, str]] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="param-row")
        self.section = section
        self.param = param
        self.value = value
        self.grid_text = grid_text  # None: this param can't be searched
        # what the user typed that did not validate (value / search), with the message: a
        # rebuilt form shows it again instead of the last valid value
        self.pending = dict(pending or {})
        if False in self.pending:
            self.value = self.pending[False][0]
        if True in self.pending:
            self.grid_text = str(self.pending[True][0])
        # what the controls showed last: controls also post Changed when they mount, and
        # those echoes must not count as edits
        self._last: dict[bool, object] = {
            False: self.value if param.type in ("bool", "choice") else self._text(self.value),
            True: self.grid_text or "",
        }

    @property
    def key(self) -> str:
        return f"{self.section}.{self.param.name}"

    def compose(self) -> ComposeResult:
        p = self.param
        with Horizontal():
            yield Label(p.name, classes="name")
            yield self._control()
            if self.grid_text is not None:
                yield FieldInput(
                    self.grid_text,
                    placeholder="search: 64; 128, 64" if p.type == "list" else "search: a, b, c",
                    compact=True,
                    classes="grid",
                    id="grid",
                    tooltip=f"values of {p.name} to search in cross-validation",
                )
        yield Static("", classes="error", markup=False)

    def on_mount(self) -> None:
        messages = [m for _, m in self.pending.values() if m]
        if messages:
            self.set_error(messages[0])

    def _text(self, value: Any) -> str:
        return value if isinstance(value, str) and False in self.pending else format_value(value)

    def _control(self):
        p = self.param
        tooltip = f"{p.help} ({p.allowed()})"
        if p.type == "bool":
            return BoolField(
                "", bool(self.value), compact=True, classes="value", id="value", tooltip=tooltip
            )
        if p.type == "choice":
            options = [(format_value(c), c) for c in p.choices or ()]
            value = self.value if self.value in (p.choices or ()) else Select.NULL
            return Select(
                options,
                value=value,
                allow_blank=p.nullable or value is Select.NULL,
                compact=True,
                classes="value",
                id="value",
                tooltip=tooltip,
            )
        return FieldInput(
            self._text(self.value),
            placeholder=p.allowed(),
            compact=True,
            classes="value",
            id="value",
            tooltip=tooltip,
        )

    # ---- what the panel calls -----------------------------------------------------------
    def set_error(self, message: str) -> None:
        # the mark keeps an error apart from help text where colour is off (NO_COLOR)
        for error in self.query(".error").results(Static):
            error.update(f"✗ {message}" if message else "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self.query_one(".error", Static).render()) if self.has_class("-invalid") else ""

    # ---- handlers -----------------------------------------------------------------------
    def _post(self, value: object, grid: bool) -> None:
        if self._last[grid] == value:
            return
        self._last[grid] = value
        self.post_message(self.Edited(self, value, grid=grid))

    @on(Input.Changed, "#value")
    def _value_text(self, event: Input.Changed) -> None:
        event.stop()
        self._post(event.value, grid=False)

    @on(Checkbox.Changed, "#value")
    def _value_bool(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._post(event.value, grid=False)

    @on(Select.Changed, "#value")
    def _value_choice(self, event: Select.Changed) -> None:
        event.stop()
        self._post(None if event.value is Select.NULL else event.value, grid=False)

    @on(Input.Changed, "#grid")
    def _grid_text(self, event: Input.Changed) -> None:
        event.stop()
        self._post(event.value, grid=True)

    def on_descendant_focus(self) -> None:
        # a class, not :focus-within, so the name label restyles at once (Textual does not
        # restyle descendants when only an ancestor's pseudo-class changes)
        self.add_class("-focused")
        self.post_message(self.Focused(self))

    def on_descendant_blur(self) -> None:
        self.remove_class("-focused")
