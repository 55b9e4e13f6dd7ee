"""The results table: one row per configuration, sortable, the best highlighted.

Columns: the grid values, mean ± std of the fold scores, every fold score, train accuracy, time
and status. Diverged or failed configurations say so, and the selected row's message is shown
in full under the table. The summary line on top has the best and its test accuracy.
"""

from __future__ import annotations

import contextlib
import math
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tuidl.tui.backend import RunView, TrialRow

FIXED_COLUMNS = ("mean ± std", "folds", "train", "time", "status")


class ResultsTable(Vertical):
    """A :class:`DataTable` of trials plus a summary and a detail line."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("s", "sort", "Sort", id="results.sort"),
        Binding("S", "sort_reverse", "Reverse", id="results.reverse", show=False),
    ]

    DEFAULT_CSS = """
    ResultsTable { height: 1fr; }
    ResultsTable #summary { height: auto; max-height: 2; }
    ResultsTable DataTable { height: 1fr; }
    ResultsTable #detail { height: auto; max-height: 3; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: RunView | None = None
        self.sort_column = "mean ± std"
        self.sort_reverse = True
        self._columns: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("no results yet", id="summary")
        table = DataTable(id="table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="detail", markup=False)

    # ---- public -------------------------------------------------------------------------
    def show(self, view: RunView) -> None:
        self.view = view
        self.query_one("#summary", Static).update(_summary(view))
        keys = view.grid_keys
        columns = ["#", *[_short(k) for k in keys], *FIXED_COLUMNS]
        table = self.query_one(DataTable)
        selected = self._selected_index()
        if columns != self._columns:
            table.clear(columns=True)
            for label, key in zip(columns, ["#", *keys, *FIXED_COLUMNS], strict=True):
                table.add_column(label, key=key)
            self._columns = columns
            if self.sort_column not in ["#", *keys, *FIXED_COLUMNS]:
                self.sort_column = "mean ± std"
        else:
            table.clear()
        for trial in self._sorted(view.trials):
            best = trial.index == view.best_index
            cells = [_cell(f"{trial.index + 1}{' ★' if best else ''}", best)]
            cells += [_cell(_fmt(trial.params.get(k)), best) for k in keys]
            cells += [
                _cell(_mean_std(trial), best),
                _cell(" ".join(_score(s) for s in trial.fold_scores) or "-", best),
                _cell(_score(trial.train_acc), best),
                _cell(f"{trial.seconds:.1f}s" if trial.seconds is not None else "-", best),
                _status_cell(trial),
            ]
            table.add_row(*cells, key=str(trial.index))
        if selected is not None:
            with contextlib.suppress(Exception):
                table.move_cursor(row=table.get_row_index(str(selected)))
        self._show_detail()

    def clear(self) -> None:
        self.view = None
        self.query_one(DataTable).clear(columns=True)
        self._columns = []
        self.query_one("#summary", Static).update("no results yet")
        self.query_one("#detail", Static).update("")

    # ---- sorting ------------------------------------------------------------------------
    def _sorted(self, trials: list[TrialRow]) -> list[TrialRow]:
        col = self.sort_column

        def key(t: TrialRow):
            if col == "#":
                v = t.index
            elif col == "mean ± std":
                v = t.mean
            elif col == "train":
                v = t.train_acc
            elif col == "time":
                v = t.seconds
            elif col in ("status", "folds"):
                v = t.status
            else:
                v = t.params.get(col)
            missing = v is None or (isinstance(v, float) and math.isnan(v))
            # missing values always last, whatever the direction
            return (missing != self.sort_reverse, _sortable(v))

        return sorted(trials, key=key, reverse=self.sort_reverse)

    def action_sort(self) -> None:
        order = [c.key.value for c in self.query_one(DataTable).columns.values()]
        if not order:
            return
        i = order.index(self.sort_column) if self.sort_column in order else -1
        self.sort_column = order[(i + 1) % len(order)]
        self.sort_reverse = self.sort_column in ("mean ± std", "train")
        self._resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def _resort(self) -> None:
        if self.view is not None:
            self.show(self.view)
        self.app.notify(
            f"sorted by {self.sort_column} ({'descending' if self.sort_reverse else 'ascending'})",
            timeout=2,
        )

    def _selected_index(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return int(key.value) if key.value is not None else None

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        i = self._selected_index()
        if self.view is None or i is None or i >= len(self.view.trials):
            detail.update("")
            return
        t = self.view.trials[i]
        params = ", ".join(f"{k} = {_fmt(v)}" for k, v in t.params.items()) or "the spec as is"
        text = f"config {t.index + 1}: {params}"
        if t.message:
            text += f"\n{t.status}: {t.message}"
        detail.update(text)

    # ---- handlers -----------------------------------------------------------------------
    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = event.column_key.value
        if col == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = col
            self.sort_reverse = col in ("mean ± std", "train")
        self._resort()

    @on(DataTable.RowHighlighted)
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()


def _summary(view: RunView) -> Text:
    t = Text()
    done = sum(1 for x in view.trials if x.status in ("ok", "diverged", "failed"))
    t.append(f"run {view.id} · {view.status} · {done}/{len(view.trials)} configs")
    if view.best_index is not None and view.best_index < len(view.trials):
        best = view.trials[view.best_index]
        params = ", ".join(f"{_short(k)}={_fmt(v)}" for k, v in best.params.items())
        t.append("\nbest ★ ", style="bold")
        t.append(f"{params or 'the spec'}: {_mean_std(best)}", style="bold")
    if view.test_accuracy is not None:
        t.append(" · test accuracy of the retrained best ")
        t.append(f"{view.test_accuracy:.4f}", style="bold green")
    return t


def _cell(text: str, best: bool) -> Text:
    return Text(text, style="bold reverse" if best else "")


def _status_cell(trial: TrialRow) -> Text:
    style = {"diverged": "bold red", "failed": "bold red", "running": "bold", "pending": "dim"}
    label = trial.status
    if trial.message and trial.status in ("diverged", "failed"):
        label += ": " + trial.message
    return Text(label[:48], style=style.get(trial.status, ""))


def _mean_std(t: TrialRow) -> str:
    if t.mean is None:
        return "-"
    return f"{t.mean:.4f} ± {t.std or 0:.4f}"


def _score(s: float | None) -> str:
    if s is None or (isinstance(s, float) and not math.isfinite(s)):
        return "·"
    return f"{s:.3f}"


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _short(key: str) -> str:
    """``model.k`` → ``k`` (the model's params are what most grids search); others stay whole."""
    return key.removeprefix("model.")


def _sortable(v):
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (1, float(v) if math.isfinite(float(v)) else -math.inf, "")
    return (2, 0.0, str(v))
