"""Ask for one line of text (a run's name, tags, note, History's filter; a spec's path)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from tuidl.tui.widgets.param_row import FieldInput


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the typed text (empty is an answer: it clears), ``None`` on escape.

    The field is a :class:`FieldInput`, so a burst of keys (SSH, a paste) edits in the order
    typed. Subclasses set :attr:`FIELD` (the input's id) and may offer a ``suggester``.
    """

    FIELD = "text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="text.cancel")
    ]

    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical { width: 76; max-width: 95%; height: auto; border: round $accent;
                            background: $surface; padding: 0 1; }
    TextPrompt .prompt-title { text-style: bold; }
    TextPrompt .prompt-hint { color: $text-muted; }
    """

    def __init__(
        self, title: str, value: str = "", hint: str = "", suggester: Suggester | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint
        self.suggester = suggester

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="prompt-title")
            yield FieldInput(self.value, id=self.FIELD, suggester=self.suggester)
            yield Static(
                (self.hint + " · " if self.hint else "") + "enter: ok · escape: cancel",
                classes="prompt-hint",
            )

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(self.answer(event.value.strip()))

    def answer(self, text: str) -> str | None:
        return text
