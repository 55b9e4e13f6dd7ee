"""The sanity checks' results (``tuidl check`` from the workbench): one row per check."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# the mark carries the verdict, so it reads without colour too (NO_COLOR)
MARKS = {"pass": ("✓ pass", "green"), "fail": ("✗ FAIL", "bold red"), "n/a": ("– n/a ", "dim")}


def checks_text(label: str, checks: list[Any]) -> Text:
    t = Text()
    t.append(f"Sanity checks of {label}\n\n", style="bold")
    for c in checks:
        mark, style = MARKS.get(c.status, (c.status, ""))
        t.append(mark, style=style)
        t.append(f"  {c.name}", style="bold")
        if c.measured or c.expected:
            t.append(f": {c.measured}")
            if c.expected:
                t.append(f" (expected {c.expected})", style="dim")
        t.append("\n")
        if c.hint:
            t.append(f"        {c.hint}\n", style="italic" if c.status != "fail" else "")
    failed = sum(c.status == "fail" for c in checks)
    t.append(
        f"\n{failed} check(s) failed: fix them before a long run" if failed else "\nall clear",
        style="bold red" if failed else "green",
    )
    return t


class ChecksScreen(ModalScreen[None]):
    """Shows :func:`checks_text`; escape or q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="checks.close")
    ]

    DEFAULT_CSS = """
    ChecksScreen { align: center middle; }
    ChecksScreen > Vertical { width: 96; max-width: 98%; height: auto; max-height: 95%;
                              border: round $accent; background: $surface; padding: 0 1; }
    ChecksScreen VerticalScroll { height: auto; max-height: 30; }
    ChecksScreen #checks-close { color: $text-muted; }
    """

    def __init__(self, label: str, checks: list[Any]) -> None:
        super().__init__()
        self.label, self.checks = label, checks

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="checks-body"):
                yield Static(checks_text(self.label, self.checks), id="checks-text")
            yield Static("escape closes · the same checks: tuidl check SPEC", id="checks-close")

    def on_mount(self) -> None:
        self.query_one("#checks-body").focus()
