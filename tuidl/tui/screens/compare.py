"""Two stored runs side by side: what differs in their specs, their results and CV charts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tuidl.tui.backend import RunView


class CompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="compare.close")
    ]

    DEFAULT_CSS = """
    CompareScreen #diff { height: auto; max-height: 8; padding: 0 1; }
    CompareScreen #columns { height: 1fr; }
    CompareScreen .column { width: 1fr; padding: 0 1; }
    CompareScreen .column Static { height: auto; }
    CompareScreen PlotextPlot { height: 1fr; min-height: 8; }
    """

    def __init__(self, a: RunView, b: RunView) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        yield VerticalScroll(Static(_diff(self.a, self.b)), id="diff")
        with Horizontal(id="columns"):
            for i, run in enumerate((self.a, self.b)):
                with Vertical(classes="column"):
                    yield Static(_column(run))
                    yield PlotextPlot(id=f"cv-{i}")
        yield Footer()

    def on_mount(self) -> None:
        from tuidl import charts

        for i, run in enumerate((self.a, self.b)):
            plt = self.query_one(f"#cv-{i}").plt
            keys = run.grid_keys
            if len(keys) == 1:
                values = list(run.spec["cv"]["grid"][keys[0]])
                scores: list[list[float | None]] = [[] for _ in values]
                for t in run.trials:
                    if t.params.get(keys[0]) in values:
                        scores[values.index(t.params[keys[0]])].extend(t.fold_scores)
                charts.draw_cv(plt, values, scores, keys[0])
            else:
                labels = [f"#{t.index + 1}" for t in run.trials]
                charts.draw_cv(plt, labels, [list(t.fold_scores) for t in run.trials], "config")


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def _diff(a: RunView, b: RunView) -> Text:
    fa, fb = _flatten(a.spec), _flatten(b.spec)
    keys = sorted(set(fa) | set(fb))
    t = Text()
    t.append(f"Spec differences: run {a.id} | run {b.id}\n", style="bold")
    diffs = [k for k in keys if fa.get(k) != fb.get(k)]
    if not diffs:
        t.append("  none: the same spec\n")
    for k in diffs:
        t.append(f"  {k}: ", style="bold")
        t.append(f"{fa.get(k, '-')!r}  |  {fb.get(k, '-')!r}\n")
    return t


def _column(run: RunView) -> Text:
    t = Text()
    t.append(f"run {run.id}", style="bold")
    t.append(f" · {run.status} · {run.spec.get('dataset', {}).get('name', '?')} · ")
    t.append(f"{run.spec.get('model', {}).get('name', '?')}\n")
    if run.best_index is not None and run.best_index < len(run.trials):
        best = run.trials[run.best_index]
        params = ", ".join(f"{k}={v}" for k, v in best.params.items()) or "the spec"
        t.append(f"best: {params}\n")
        if best.mean is not None:
            t.append(f"  cv {best.mean:.4f} ± {best.std or 0:.4f}\n")
    if run.test_accuracy is not None:
        t.append("  test accuracy ")
        t.append(f"{run.test_accuracy:.4f}\n", style="bold green")
    t.append(f"{len(run.trials)} configs, {run.done_fits}/{run.total_fits} fits")
    return t
