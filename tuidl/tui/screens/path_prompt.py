"""Ask for a file path (save or open a spec), with completion from the TOML files nearby."""

from __future__ import annotations

from pathlib import Path

from textual.suggester import SuggestFromList

from tuidl.tui.screens.text_prompt import TextPrompt


class PathPrompt(TextPrompt):
    """Dismisses with the typed path, or ``None`` on escape or an empty field."""

    FIELD = "path"

    def __init__(self, title: str, value: str = "") -> None:
        suggest = SuggestFromList(_nearby_toml(Path.cwd()))
        super().__init__(title, value, "→ accepts a suggestion", suggester=suggest)

    def answer(self, text: str) -> str | None:
        return text or None


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
