"""A small picker: choose one of a list (a preprocessing step, a run, a component)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class PickScreen(ModalScreen[str | None]):
    """Dismisses with the chosen option's id, or ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="pick.cancel")
    ]

    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical { width: 70; max-width: 95%; height: auto; max-height: 90%;
                            border: round $accent; background: $surface; padding: 0 1; }
    PickScreen #pick-title { text-style: bold; height: 1; }
    PickScreen OptionList { height: auto; max-height: 18; }
    """

    def __init__(self, title: str, options: list[tuple[str, str, str]]) -> None:
        """``options`` are ``(id, name, description)``."""
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="pick-title")
            yield OptionList(
                *[
                    Option(Text.assemble((name, "bold"), "  ", (desc, "dim")), id=oid)
                    for oid, name, desc in self.options
                ],
                id="pick-list",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
