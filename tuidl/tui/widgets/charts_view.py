"""The run's charts: loss and accuracy of the trial in flight, the CV chart, heatmap, the
search (configurations tried over two parameters, marked by accuracy, pruned trials apart;
best accuracy against compute: :mod:`tuidl.charts_search`), confusion and health.

Narrow terminals show one pane at a time under a row of tabs; wide ones (the app adds the
``-wide`` class) show all six in a 3 × 2 grid. Redraws are bounded: :meth:`ChartsView.show`
only redraws a chart whose data changed, at most :data:`MAX_HZ` times a second, and the shared
drawing functions downsample long curves.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Static, Tab, Tabs

from tuidl.tui.backend import RunView
from tuidl.tui.widgets.static_text import set_text

MAX_HZ = 4.0


PLOTS = ("loss", "acc", "cv", "heatmap", "scatter", "progress", "confusion", "health")
# the "confusion" pane shows the test result: a confusion matrix for class labels, the
# per-attribute metrics for a multi-label run
PANES = (
    ("curves", "Curves"),
    ("cv", "CV"),
    ("heatmap", "Heatmap"),
    ("search", "Search"),
    ("confusion", "Test"),
    ("health", "Health"),
)


class ChartsView(Vertical):
    """Four chart panes fed from a :class:`RunView`; plots are created lazily on first mount."""

    # shown in the footer while the charts have focus (the app's own [ ] work from any tab)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("[", "cycle(-1)", "Prev chart", id="charts.prev"),
        Binding("]", "cycle(1)", "Next chart", id="charts.next"),
        Binding("p", "pictures", "Pictures", id="charts.pictures"),
        Binding("a", "axes", "Search axes", id="charts.axes", show=False),
    ]

    DEFAULT_CSS = """
    ChartsView { height: 1fr; }
    ChartsView #chart-tabs { height: 2; }
    ChartsView.-wide #chart-tabs { display: none; }
    ChartsView #chart-grid { grid-size: 1 1; height: 1fr; }
    ChartsView.-wide #chart-grid { grid-size: 3 2; grid-gutter: 0 1; }
    ChartsView .pane { display: none; height: 1fr; }
    ChartsView .pane.-active { display: block; }
    ChartsView.-wide .pane { display: block; }
    ChartsView #pane-curves { layout: horizontal; }
    ChartsView #pane-search { layout: horizontal; }
    ChartsView #cv-legend { height: auto; max-height: 4; color: $text-muted; }
    ChartsView .empty { color: $text-muted; height: 1fr; content-align: center middle; }
    ChartsView .hint { color: $text-muted; height: 1; }
    ChartsView #health-hints { height: auto; max-height: 4; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn: dict[str, Any] = {}
        self._last_draw = 0.0
        self._pending: RunView | None = None
        self.active = "curves"
        self._switched_for_knn = False
        self._ready = False
        self._plots: dict = {}
        self._flush_timer: Timer | None = None
        self.run_id: str | None = None  # the run drawn, whose pictures p opens
        self._space_view: RunView | None = None  # what the Search pane draws when shown
        self._axes = 0  # which pair of parameters the Search pane draws (a cycles them)

    def compose(self) -> ComposeResult:
        yield Tabs(*[Tab(label, id=f"tab-{key}") for key, label in PANES], id="chart-tabs")
        with Grid(id="chart-grid"):
            yield Horizontal(classes="pane -active", id="pane-curves")
            with Vertical(classes="pane", id="pane-cv"):
                # what each configuration label (#1, #2…) of a multi-key grid stands for
                yield Static("", id="cv-legend")
            with Vertical(classes="pane", id="pane-heatmap"):
                yield Static(
                    "a heatmap needs a grid over exactly two keys",
                    classes="empty",
                    id="heatmap-empty",
                )
            yield Horizontal(classes="pane", id="pane-search")
            with Vertical(classes="pane", id="pane-confusion"):
                yield Static(
                    "p: the weights and the test images of a confusion, as pictures",
                    classes="hint",
                    id="pictures-hint",
                )
            with Vertical(classes="pane", id="pane-health"):
                # what is out of its healthy range, in words (tuidl.engine.health.hints)
                yield Static("", id="health-hints")

    def on_mount(self) -> None:
        # plotext and textual-plotext load after the first frame
        self.call_after_refresh(self._mount_plots)

    def _mount_plots(self) -> None:
        from tuidl.tui.widgets.chart_plot import ChartPlot

        plots = {name: ChartPlot(id=f"plot-{name}") for name in PLOTS}
        plots["heatmap"].display = False
        try:
            self.query_one("#pane-curves").mount(plots["loss"], plots["acc"])
            self.query_one("#pane-cv").mount(plots["cv"], before="#cv-legend")
            self.query_one("#pane-heatmap").mount(plots["heatmap"], before="#heatmap-empty")
            self.query_one("#pane-search").mount(plots["scatter"], plots["progress"])
            self.query_one("#pane-confusion").mount(plots["confusion"], before="#pictures-hint")
            self.query_one("#pane-health").mount(plots["health"], before="#health-hints")
        except NoMatches:  # the app closed before the first refresh (tests)
            return
        # a plot keeps what it is asked to draw and builds it once it is mounted and sized
        self._plots = plots
        self._plots_mounted()

    def _plots_mounted(self) -> None:
        self._ready = True
        self._draw_empty()
        if self._pending is not None:
            self.show(self._pending, force=True)

    def _draw_empty(self) -> None:
        from tuidl import charts

        self._plot("loss").draw(charts.draw_loss, [], [])
        self._plot("acc").draw(charts.draw_accuracy, [], [], [])
        self._plot("cv").draw(charts.draw_cv, [], [], "value")
        self._plot("confusion").draw(charts.draw_confusion, [], [])
        self._plot("health").draw(charts.draw_health, {})
        self._draw_space(None)

    def _plot(self, name: str):
        return self._plots[name]

    # ---- public -------------------------------------------------------------------------
    def select(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"

    def action_cycle(self, step: int) -> None:
        self.cycle(step)

    def cycle(self, step: int = 1) -> None:
        keys = [k for k, _ in PANES]
        self.select(keys[(keys.index(self.active) + step) % len(keys)])

    def action_pictures(self) -> None:
        """Open the Pictures screen (first-layer weights, confusion examples) of the run
        drawn here."""
        if self.run_id is None:
            self.notify("no run yet: start one, or open one from History", severity="warning")
            return
        from tuidl.tui.screens.pictures import PicturesScreen

        backend = self.app.backend  # type: ignore[attr-defined]
        self.app.push_screen(PicturesScreen(self.run_id, backend.store_path, backend.registry))

    def action_axes(self) -> None:
        """Draw the Search pane's next pair of varying parameters."""
        from tuidl import charts_search as cs

        view = self._space_view
        spec = view.spec if view is not None else {}
        keys = list((spec.get("cv") or {}).get("grid", {}))
        pairs = cs.axis_pairs(view.trials if view is not None else [], keys)
        if len(pairs) < 2:
            self.notify("the search chart has no other pair of varying numeric parameters")
            return
        self._axes = (self._axes + 1) % len(pairs)
        self.notify(f"search chart: {' × '.join(pairs[self._axes])}", timeout=2)
        self.select("search")
        self._draw_space(view)

    def set_wide(self, wide: bool) -> None:
        self.set_class(wide, "-wide")

    def clear(self) -> None:
        self._drawn.clear()
        self._pending = None
        if self._ready:
            self._draw_empty()

    def show(self, view: RunView, force: bool = False) -> None:
        """Redraw from ``view``, at most :data:`MAX_HZ` times a second (unless ``force``)."""
        now = time.monotonic()
        if not self._ready:
            self._pending = view
            return
        if not force and now - self._last_draw < 1.0 / MAX_HZ:
            self._pending = view
            if self._flush_timer is None:
                self._flush_timer = self.set_timer(1.0 / MAX_HZ, self._flush)
            return
        self._last_draw = now
        self._pending = None
        self.run_id = view.id
        self._draw(view)

    def _flush(self) -> None:
        self._flush_timer = None
        if self._pending is not None:
            self.show(self._pending, force=True)

    # ---- drawing ------------------------------------------------------------------------
    def _changed(self, name: str, data: Any) -> bool:
        if self._drawn.get(name) == data:
            return False
        self._drawn[name] = data
        return True

    def _draw(self, view: RunView) -> None:
        from tuidl import charts

        c = view.curves
        loss_key = (c.label, len(c.iterations), c.losses[-1:], view.finished_states)
        if self._changed("loss", loss_key):
            title = f"loss · {c.label}" if c.label else None
            if not c.iterations and view.finished_states:
                title = "no curves: kNN is fitted directly"
                if self.active == "curves" and not self._switched_for_knn:
                    # nothing to watch here; the CV chart is what such a run is about
                    self._switched_for_knn = True
                    self.select("cv")
            self._plot("loss").draw(
                charts.draw_loss, list(c.iterations), list(c.losses), title=title
            )
        acc_key = (c.label, tuple(c.epochs), tuple(c.train_acc), tuple(c.val_acc), tuple(c.lr))
        if self._changed("acc", acc_key):
            self._plot("acc").draw(
                charts.draw_accuracy,
                list(c.epochs),
                list(c.train_acc),
                list(c.val_acc),
                list(c.lr),
            )
        self._draw_search(view)
        self._draw_health(c)
        conf_key = (repr(view.confusion), tuple(view.class_names), repr(view.test_metrics))
        if self._changed("confusion", conf_key):
            attrs = charts.attribute_series(view.test_metrics)
            if attrs is not None:
                title = "per-attribute test metrics of the best"
                if view.test_accuracy is not None:
                    title += f" (mean acc {view.test_accuracy:.4f})"
                self._plot("confusion").draw(charts.draw_attributes, *attrs, title=title)
            elif view.confusion:
                title = None
                if view.test_accuracy is not None:
                    title = f"confusion of the best (test acc {view.test_accuracy:.4f})"
                self._plot("confusion").draw(
                    charts.draw_confusion, view.confusion, list(view.class_names), title=title
                )
            else:
                self._plot("confusion").draw(
                    charts.draw_confusion,
                    [],
                    [],
                    title="confusion matrix: after the best is retrained and tested",
                )

    def _draw_health(self, c) -> None:
        from tuidl import charts
        from tuidl.engine.health import hints

        key = (c.label, tuple((k, len(v)) for k, v in c.health.get("update_ratio", {}).items()))
        if not self._changed("health", key):
            return
        title = f"updates/weights · {c.label}" if c.label and c.health else ""
        self._plot("health").draw(charts.draw_health, c.health, title)
        problems = hints(charts.health_latest(c.health)) if c.health else []
        text = "\n".join(f"⚠ {h}" for h in problems) or (
            "✓ update/weight ratios, gradients and ReLUs look healthy" if c.health else ""
        )
        set_text(self.query_one("#health-hints", Static), text)

    def _draw_search(self, view: RunView) -> None:
        from tuidl import charts

        grid = view.spec.get("cv", {}).get("grid", {})
        scores = [(t.status, tuple(t.fold_scores)) for t in view.trials]
        cv_key = (tuple(grid), tuple(scores))
        if self._changed("cv", cv_key):
            series = charts.cv_series(grid, view.trials)
            if series is None:
                self._plot("cv").draw(charts.draw_cv, [], [], "value")
            else:
                self._plot("cv").draw(charts.draw_cv, *series)
            legend = "   ".join(charts.config_legend(grid, view.trials))
            set_text(self.query_one("#cv-legend", Static), legend)
        heat_key = (tuple(grid), tuple((t.mean,) for t in view.trials))
        if self._changed("heatmap", heat_key):
            plot = self._plots["heatmap"]
            empty = self.query_one("#heatmap-empty")
            heat = charts.heatmap_series(grid, view.trials)
            plot.display, empty.display = heat is not None, heat is None
            if heat is not None:
                plot.draw(charts.draw_heatmap, *heat)
        self._draw_space(view)

    def _draw_space(self, view: RunView | None) -> None:
        """The Search pane: the sampled configurations and the best against compute."""
        from tuidl import charts_search as cs

        self._space_view = view
        if view is not None and not (self.active == "search" or self.has_class("-wide")):
            return  # hidden: drawn when its tab is chosen (two plotext builds per update)
        trials = view.trials if view is not None else []
        spec = view.spec if view is not None else {}
        keys = list((spec.get("cv") or {}).get("grid", {}))
        pairs = cs.axis_pairs(trials, keys)
        axes = pairs[self._axes % len(pairs)] if pairs else None
        scatter = cs.scatter_series(trials, keys, axes)
        progress = cs.progress_series(trials, spec)
        if not self._changed("search", repr((scatter, progress))):
            return
        if scatter is None:
            title = "configurations tried: needs two numeric parameters that vary"
            self._plot("scatter").draw(cs.draw_scatter, "", "", [], title=title)
        else:
            self._plot("scatter").draw(cs.draw_scatter, *scatter)
        if progress is None:
            self._plot("progress").draw(
                cs.draw_progress, [], [], "fits", title="best accuracy found: none yet"
            )
        else:
            self._plot("progress").draw(cs.draw_progress, *progress)

    # ---- handlers -----------------------------------------------------------------------
    @on(Tabs.TabActivated, "#chart-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        key = (event.tab.id or "tab-curves").removeprefix("tab-")
        self.active = key
        for pane in self.query(".pane"):
            pane.set_class(pane.id == f"pane-{key}", "-active")
        if key == "search" and self._ready:
            self._draw_space(self._space_view)
