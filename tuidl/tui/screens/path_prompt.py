"""Ask for a file path (save or open a spec), with completion from the TOML files nearby."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static


class PathPrompt(ModalScreen[str | None]):
    """Dismisses with the typed path, or ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="path.cancel")
    ]

    DEFAULT_CSS = """
    PathPrompt { align: center middle; }
    PathPrompt > Vertical { width: 70; max-width: 95%; height: auto; border: round $accent;
                            background: $surface; padding: 0 1; }
    PathPrompt #path-title { text-style: bold; }
    PathPrompt #path-hint { color: $text-muted; }
    """

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        nearby = _nearby_toml(Path.cwd())
        with Vertical():
            yield Static(self.title_text, id="path-title")
            yield Input(self.value, id="path", suggester=SuggestFromList(nearby))
            yield Static("enter: ok · escape: cancel · → accepts a suggestion", id="path-hint")

    @on(Input.Submitted, "#path")
    def _submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)


def _nearby_toml(root: Path) -> list[str]:
    """TOML files in ``root`` and one level down (bounded: never walks a whole home folder)."""
    found: list[str] = []
    for pattern in ("*.toml", "*/*.toml"):
        for p in sorted(root.glob(pattern)):
            if not any(part.startswith(".") for part in p.relative_to(root).parts):
                found.append(str(p.relative_to(root)))
            if len(found) >= 200:
                return found
    return found
