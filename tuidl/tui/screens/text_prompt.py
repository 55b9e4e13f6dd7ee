"""Ask for one line of text (a run's name, tags, note, History's filter)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the typed text (empty is an answer: it clears), ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="text.cancel")
    ]

    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical { width: 76; max-width: 95%; height: auto; border: round $accent;
                            background: $surface; padding: 0 1; }
    TextPrompt #text-title { text-style: bold; }
    TextPrompt #text-hint { color: $text-muted; }
    """

    def __init__(self, title: str, value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="text-title")
            yield Input(self.value, id="text")
            yield Static(
                (self.hint + " · " if self.hint else "") + "enter: ok · escape: cancel",
                id="text-hint",
            )

    @on(Input.Submitted, "#text")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())
