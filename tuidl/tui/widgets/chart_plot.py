"""A textual-plotext plot whose drawing and text building happen off the event loop.

plotext builds a chart in pure Python (tens of milliseconds per redraw, more for long curves),
and :class:`textual_plotext.PlotextPlot` does it inside ``render()``, on the event loop. Here
:meth:`ChartPlot.draw` runs the shared ``tuidl.charts`` function, ``build()`` and the cutting
into screen lines in a thread worker, and ``render_line()`` hands out the finished lines, so
the interface stays responsive while charts redraw; showing a tab again rebuilds nothing that
was built for that size. The ``.plt`` figure is only ever touched by that one (exclusive) worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.segment import Segment
from rich.text import Text
from textual import on, work
from textual.app import RenderResult
from textual.strip import Strip
from textual.timer import Timer
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from tuidl.tui.backend import error_text
from tuidl.tui.last_input import seconds_since_input

INPUT_QUIET = 0.5  # seconds without a key before a chart builds


class ChartPlot(PlotextPlot):
    """``draw(fn, *args)`` calls ``fn(plt, *args)`` and builds the chart in a worker thread."""

    ALLOW_SELECT = False  # a chart is a picture: its lines carry no text-selection offsets

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._recipe: tuple[Callable[..., Any], tuple[Any, ...], str | None] | None = None
        self._text: Text | None = None  # what render() shows when there are no strips
        self._strips: list[Strip] | None = None  # the built chart, line by line
        self._built_size: tuple[int, int] | None = None
        self.builds = 0
        self._lock = threading.Lock()
        self._generation = 0
        # what the last build was asked for: the recipe, and the size and theme
        self._wanted_recipe: tuple[Callable[..., Any], tuple[Any, ...], str | None] | None = None
        self._wanted: tuple[int, int, str] | None = None
        self._after_input: Timer | None = None  # a build put off until the keys pause

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
        # A hidden chart is 0 × 0 (so it builds nothing) and gets its size back when its
        # tab is shown: what it had built for that size and data is still good. A build
        # holds the GIL for tens of milliseconds, time the next key would wait for.
        # (the recipe by identity: draw() makes a new one each time, and its data can be long)
        if self._recipe is self._wanted_recipe and self._wanted == (width, height, theme):
            return
        # and while a person types, the build waits for a pause in the keys
        wait = INPUT_QUIET - seconds_since_input()
        if wait > 0:
            if self._after_input is None:
                self._after_input = self.set_timer(wait, self._typed)
            return
        self._wanted_recipe, self._wanted = self._recipe, (width, height, theme)
        self._generation += 1
        self._build(self._recipe, width, height, theme, self._generation)

    def _typed(self) -> None:
        self._after_input = None
        self._rebuild()

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def _build(self, recipe, width: int, height: int, theme: str, generation: int) -> None:
        fn, args, title = recipe
        console = self.app.console  # only its style parser is used: no output
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
            # the lines as the screen draws them, cut here: on the event loop that is
            # about 12 ms for a 60 × 28 chart, on every repaint of it
            lines = Segment.split_and_crop_lines(text.render(console), width, pad=True)
            strips = [Strip(line, width) for line in lines]
        self.app.call_from_thread(self._built, strips, (width, height), generation)

    @on(Worker.StateChanged)
    def _build_failed(self, event: Worker.StateChanged) -> None:
        # a drawing function that raises (bad data, a plotext quirk) shows why, in place of
        # the chart, instead of leaving the pane silently blank
        if event.worker.group == "chart" and event.state == WorkerState.ERROR:
            self._text = Text(f"chart failed: {error_text(event.worker.error)}", style="red")
            self._strips = None
            self.refresh()

    def _built(self, strips: list[Strip], size: tuple[int, int], generation: int) -> None:
        if generation != self._generation:
            return
        base = self.rich_style  # for any cell plotext left unstyled, as render() would
        self._strips = [strip.apply_style(base) for strip in strips]
        self._text, self._built_size = None, size
        self.builds += 1
        self.refresh()

    def render_line(self, y: int) -> Strip:
        strips = self._strips
        if strips is None:  # nothing built yet, or the error
            return super().render_line(y)
        width = self.size.width
        line = strips[y] if y < len(strips) else Strip.blank(width)
        return line.adjust_cell_length(width)

    def render(self) -> RenderResult:
        if self._text is None:
            return Text("")
        return self._text
