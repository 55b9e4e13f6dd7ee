"""Several stored runs side by side: each one's best configuration and scores, the spec keys
whose values differ, and charts overlaying their best trials' fold scores, loss and
validation accuracy. The data comes from ``Backend.compare_runs``
(:func:`tuidl.experiment.store_export.compare_runs`)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tuidl.tui.widgets.key_footer import KeyFooter


class CompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="compare.close")
    ]

    DEFAULT_CSS = """
    CompareScreen #summary { height: auto; max-height: 14; padding: 0 1; }
    CompareScreen #diff { height: auto; max-height: 10; padding: 0 1; }
    CompareScreen #charts { height: 1fr; }
    CompareScreen PlotextPlot { width: 1fr; height: 1fr; min-height: 8; }
    """

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        yield VerticalScroll(Static(_summary(self.data)), id="summary")
        yield VerticalScroll(Static(_diff(self.data)), id="diff")
        with Horizontal(id="charts"):
            yield PlotextPlot(id="cv")
            yield PlotextPlot(id="loss")
            yield PlotextPlot(id="val")
        yield KeyFooter()

    def on_mount(self) -> None:
        from textual_plotext import PlotextPlot

        from tuidl import charts

        runs = self.data["runs"]
        labels = [f"run {r['id']}" for r in runs]
        charts.draw_cv(
            self.query_one("#cv", PlotextPlot).plt,
            labels,
            [r["fold_scores"] for r in runs],
            "run (best configuration)",
        )
        for chart, kind, title, xlabel in (
            ("#loss", "loss", "training loss (best, fold 1)", "iteration"),
            ("#val", "val_acc", "validation accuracy (best, fold 1)", "epoch"),
        ):
            series = [
                (label, *r["curves"].get(kind, ([], [])))
                for label, r in zip(labels, runs, strict=True)
            ]
            charts.draw_overlay(self.query_one(chart, PlotextPlot).plt, series, title, xlabel)


def _acc(v: float | None) -> str:
    return f"{v:.4f}" if v is not None else "-"


def _summary(data: dict[str, Any]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("run", "name", "status", "dataset", "model", "best params", "cv", "test"):
        table.add_column(col, justify="right" if col in ("run", "cv", "test") else "left")
    for r in data["runs"]:
        best = r["best"]
        params = ", ".join(f"{k}={v}" for k, v in (best or {}).get("params", {}).items())
        cv = f"{best['mean']:.4f} ± {best['std'] or 0:.4f}" if best else "-"
        label = " ".join([r["name"], *(f"#{t}" for t in r["tags"])]).strip()
        table.add_row(
            str(r["id"]),
            label or "-",
            r["status"],
            r["dataset"],
            r["model"],
            params or "-",
            cv,
            Text(_acc(r["test_accuracy"]), style="bold green"),
        )
    return table


def _diff(data: dict[str, Any]) -> Text | Table:
    diffs = data["differences"]
    if not diffs:
        return Text("Spec differences: none, the same spec", style="bold")
    title = "Spec differences: " + " | ".join(f"run {r['id']}" for r in data["runs"])
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("key", style="bold")
    for r in data["runs"]:
        table.add_column(f"run {r['id']}")
    for key, values in diffs:
        table.add_row(key, *("-" if v is None else str(v) for v in values))
    return table
