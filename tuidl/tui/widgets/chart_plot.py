"""A textual-plotext plot whose drawing and text building happen off the event loop.

plotext builds a chart in pure Python (tens of milliseconds per redraw, more for long curves),
and :class:`textual_plotext.PlotextPlot` does it inside ``render()``, on the event loop. Here
:meth:`ChartPlot.draw` runs the shared ``tuidl.charts`` function and ``build()`` in a thread
worker and ``render()`` returns the finished text, so the interface stays responsive while
charts redraw. The ``.plt`` figure is only ever touched by that one (exclusive) worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import RenderResult
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from tuidl.tui.backend import error_text


class ChartPlot(PlotextPlot):
    """``draw(fn, *args)`` calls ``fn(plt, *args)`` and builds the chart in a worker thread."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._recipe: tuple[Callable[..., Any], tuple[Any, ...], str | None] | None = None
        self._text: Text | None = None
        self._built_size: tuple[int, int] | None = None
        self.builds = 0
        self._lock = threading.Lock()
        self._generation = 0

    def draw(self, fn: Callable[..., Any], *args: Any, title: str | None = None) -> None:
        self._recipe = (fn, args, title)
        self._rebuild()

    def on_resize(self) -> None:
        if self._recipe is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        width, height = self.size.width, self.size.height
        if width <= 0 or height <= 0 or self._recipe is None or not self.is_mounted:
            return
        theme = self._get_plotext_theme_name(self.app.theme)
        self._generation += 1
        self._build(self._recipe, width, height, theme, self._generation)

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def _build(self, recipe, width: int, height: int, theme: str, generation: int) -> None:
        fn, args, title = recipe
        with self._lock:  # a superseded build may still be running: one at a time
            if generation != self._generation:
                return
            plt = self.plt
            fn(plt, *args)
            if title:
                plt.title(title)
            plt.plotsize(width, height)
            plt._set_size(width, height)
            plt.theme(theme)
            text = Text.from_ansi(plt.build())
        self.app.call_from_thread(self._built, text, (width, height), generation)

    @on(Worker.StateChanged)
    def _build_failed(self, event: Worker.StateChanged) -> None:
        # a drawing function that raises (bad data, a plotext quirk) shows why, in place of
        # the chart, instead of leaving the pane silently blank
        if event.worker.group == "chart" and event.state == WorkerState.ERROR:
            self._text = Text(f"chart failed: {error_text(event.worker.error)}", style="red")
            self.refresh()

    def _built(self, text: Text, size: tuple[int, int], generation: int) -> None:
        if generation != self._generation:
            return
        self._text, self._built_size = text, size
        self.builds += 1
        self.refresh()

    def render(self) -> RenderResult:
        if self._text is None:
            return Text("")
        return self._text
