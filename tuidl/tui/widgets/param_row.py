"""One schema-generated form row: label, value control, search values, inline error."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from tuidl.plugins.schema import Param
from tuidl.tui.specdoc import format_value


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
    """

    def __init__(
        self,
        section: str,
        param: Param,
        value: Any,
        grid_text: str | None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="param-row")
        self.section = section
        self.param = param
        self.value = value
        self.grid_text = grid_text  # None: this param can't be searched
        # what the controls showed last: controls also post Changed when they mount, and
        # those echoes must not count as edits
        self._last: dict[bool, object] = {
            False: value if param.type in ("bool", "choice") else format_value(value),
            True: grid_text or "",
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
                yield Input(
                    self.grid_text,
                    placeholder="search: a, b, c",
                    compact=True,
                    classes="grid",
                    id="grid",
                    tooltip=f"values of {p.name} to search in cross-validation",
                )
        yield Static("", classes="error", markup=False)

    def _control(self):
        p = self.param
        tooltip = f"{p.help} ({p.allowed()})"
        if p.type == "bool":
            return Checkbox(
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
        return Input(
            format_value(self.value),
            placeholder=p.allowed(),
            compact=True,
            classes="value",
            id="value",
            tooltip=tooltip,
        )

    # ---- what the panel calls -----------------------------------------------------------
    def set_error(self, message: str) -> None:
        # the mark keeps an error apart from help text where colour is off (NO_COLOR)
        for error in self.query(".error"):
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
        self.post_message(self.Focused(self))
