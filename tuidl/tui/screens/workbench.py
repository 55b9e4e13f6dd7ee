"""The workbench's own default screen (the tabs, the status line and the footer live on it)."""

from __future__ import annotations

from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget


class WorkbenchScreen(Screen[None]):
    """The workbench's screen: a focus change repaints only the widgets it restyles.

    Textual's Screen repaints itself whole (every line, then ~10 KB to the terminal) when
    its ``focused`` changes, right after the frame a tab switch or a dialog asked for; the
    widgets that gain and lose focus already repaint what their focus styles change."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
