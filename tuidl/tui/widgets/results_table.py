"""The results table: one row per configuration, sortable, the best highlighted.

Columns: the grid values, mean ± std of the fold scores, every fold score, train accuracy, time
and status. Diverged or failed configurations say so, and the selected row's message is shown
in full under the table. The summary line on top has the best and its test accuracy.
The best is marked ★, and every configuration that is not significantly worse than it ≈
(:mod:`tuidl.experiment.ranking`: a test that allows for overlapping training folds).
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Static, TabbedContent

from tuidl.experiment.refit import stored_mode
from tuidl.tui.backend import RunView, TrialRow
from tuidl.tui.valuetext import format_scalar
from tuidl.tui.widgets.static_text import set_text

MAX_HZ = 1.0
FIXED_COLUMNS = ("mean ± std", "folds", "train", "time", "status")


class ResultsTable(Vertical):
    """A :class:`DataTable` of trials plus a summary and a detail line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="results.sort"),
        Binding("S", "sort_reverse", "Reverse", id="results.reverse", show=False),
        Binding("u", "use_params", "Use params", id="results.use"),
    ]

    class UseParams(Message):
        """Use these params: put configuration ``trial`` of run ``run_id`` in the pipeline."""

        def __init__(self, run_id: str, trial: int) -> None:
            super().__init__()
            self.run_id = run_id
            self.trial = trial

    DEFAULT_CSS = """
    ResultsTable { height: 1fr; }
    ResultsTable #summary { height: auto; max-height: 3; }
    ResultsTable DataTable { height: 1fr; }
    ResultsTable #detail { height: auto; max-height: 3; color: $text-muted; }
    ResultsTable #attributes { height: auto; max-height: 12; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: RunView | None = None
        self.sort_column = "mean ± std"
        self.sort_reverse = True
        self._columns: list[str] = []
        self._rows: dict[str, list[Text]] = {}
        self._order: list[str] = []
        self._dirty = False
        self._last_draw = 0.0
        self._flush_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("no results yet", id="summary")
        yield DataTable(id="table", cursor_type="row", zebra_stripes=False)
        yield Static("", id="attributes", markup=False)
        yield Static("", id="detail", markup=False)

    # ---- public -------------------------------------------------------------------------
    def show(self, view: RunView, force: bool = False) -> None:
        """Draw ``view``, lazily: a hidden table only remembers it, and while a run goes on a
        visible one redraws at most :data:`MAX_HZ` times a second (a DataTable redraw costs
        tens of milliseconds, and the event loop must stay responsive)."""
        self.view = view
        now = time.monotonic()
        if not force and (not self._visible() or now - self._last_draw < 1.0 / MAX_HZ):
            self._dirty = True
            if self._visible() and self._flush_timer is None:
                self._flush_timer = self.set_timer(1.0 / MAX_HZ, self._flush)
            return
        self._dirty = False
        self._last_draw = now
        self._draw(view)

    def _visible(self) -> bool:
        pane = self.parent
        return bool(
            self.is_mounted
            and (pane is None or pane.display)
            and self.screen.is_active
            and self.app.query_one("#tabs", TabbedContent).active == getattr(pane, "id", None)
        )

    def _flush(self) -> None:
        self._flush_timer = None
        if self._dirty and self.view is not None:
            self.show(self.view, force=True)

    def on_show(self) -> None:
        if self._dirty and self.view is not None:
            self.show(self.view, force=True)

    def _draw(self, view: RunView) -> None:
        """Update the table from ``view``: cells in place when the rows are the same ones."""
        self._set_static("#summary", _summary(view))
        attributes = _attributes(view)
        self.query_one("#attributes").display = attributes is not None
        if attributes is not None:
            self._set_static("#attributes", attributes)
        keys = view.grid_keys
        columns = ["#", *[_short(k) for k in keys], *FIXED_COLUMNS]
        table = self.query_one(DataTable)
        selected = self._selected_index()
        marks = _near_best(view)
        rows = {str(t.index): self._cells(t, view, marks) for t in view.trials}
        order = [str(t.index) for t in self._sorted(view.trials)]
        same_rows = columns == self._columns and list(self._rows) == sorted(rows, key=int)
        if same_rows and order == self._order:
            col_keys = ["#", *keys, *FIXED_COLUMNS]
            for key, cells in rows.items():
                old = self._rows[key]
                for col, new, before in zip(col_keys, cells, old, strict=True):
                    if new != before:
                        table.update_cell(key, col, new, update_width=True)
            self._rows = rows
            self._show_detail()
            return
        if columns != self._columns:
            table.clear(columns=True)
            for label, key in zip(columns, ["#", *keys, *FIXED_COLUMNS], strict=True):
                table.add_column(label, key=key)
            self._columns = columns
            if self.sort_column not in ["#", *keys, *FIXED_COLUMNS]:
                self.sort_column = "mean ± std"
        else:
            table.clear()
        for key in order:
            table.add_row(*rows[key], key=key)
        self._rows = {k: rows[k] for k in sorted(rows, key=int)}
        self._order = order
        if selected is not None:
            with contextlib.suppress(Exception):
                table.move_cursor(row=table.get_row_index(str(selected)))
        self._show_detail()

    def _cells(self, trial: TrialRow, view: RunView, marks: set[int] | None = None) -> list[Text]:
        best = trial.index == view.best_index
        mark = " ★" if best else (" ≈" if trial.index in (marks or ()) else "")
        cells = [_cell(f"{trial.index + 1}{mark}", best)]
        cells += [_cell(_fmt(trial.params.get(k)), best) for k in view.grid_keys]
        cells += [
            _cell(_mean_std(trial), best),
            _cell(" ".join(_score(s) for s in trial.fold_scores) or "-", best),
            _cell(_score(trial.train_acc), best),
            _cell(f"{trial.seconds:.1f}s" if trial.seconds is not None else "-", best),
            _status_cell(trial),
        ]
        return cells

    def _set_static(self, selector: str, text: str | Text) -> None:
        """Update a Static only when its text changed, relaying out only when it must."""
        set_text(self.query_one(selector, Static), text)

    def clear(self) -> None:
        self.view = None
        self.query_one(DataTable).clear(columns=True)
        self._columns, self._rows, self._order = [], {}, []
        self.query_one("#summary", Static).update("no results yet")
        self.query_one("#detail", Static).update("")

    # ---- sorting ------------------------------------------------------------------------
    def _sorted(self, trials: list[TrialRow]) -> list[TrialRow]:
        col = self.sort_column

        def key(t: TrialRow) -> tuple[bool, tuple[int, float, str]]:
            v: object
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
        keys = self.view.grid_keys if self.view is not None else []
        order = ["mean ± std", "#", *keys, "train", "time", "status"]
        i = order.index(self.sort_column) if self.sort_column in order else -1
        self.sort_column = order[(i + 1) % len(order)]
        self.sort_reverse = self.sort_column in ("mean ± std", "train")
        self._resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def _resort(self) -> None:
        self._order = []
        if self.view is not None:
            self.show(self.view, force=True)
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

    def action_use_params(self) -> None:
        i = self._selected_index()
        if self.view is None or i is None:
            self.app.notify("no configuration selected", severity="warning")
            return
        self.post_message(self.UseParams(self.view.id, i))

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        i = self._selected_index()
        if self.view is None or i is None or i >= len(self.view.trials):
            set_text(detail, "")
            return
        t = self.view.trials[i]
        params = ", ".join(f"{k} = {_fmt(v)}" for k, v in t.params.items()) or "the spec as is"
        text = f"config {t.index + 1}: {params}"
        if t.message:
            text += f"\n{t.status}: {t.message}"
        set_text(detail, text)

    # ---- handlers -----------------------------------------------------------------------
    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = event.column_key.value
        if col is None:  # every column is added with a key (its label); never None here
            return
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
    done = sum(1 for x in view.trials if x.status in ("ok", "diverged", "failed", "pruned"))
    t.append(f"run {view.id} · {view.status} · {done}/{len(view.trials)} configs")
    if view.best_index is not None and view.best_index < len(view.trials):
        best = view.trials[view.best_index]
        params = ", ".join(f"{_short(k)}={_fmt(v)}" for k, v in best.params.items())
        t.append("\nbest ★ ", style="bold")
        t.append(f"{params or 'the spec'}: {_mean_std(best)}", style="bold")
    near = _near_best(view)
    if len(near) > 1:
        t.append(f" · {len(near) - 1} more ≈ best")
    if view.test_accuracy is not None:
        # short: at 80 columns the long params of a grid point already fill the line
        reused = stored_mode(view.spec or {}) == "reuse"
        t.append(" · holdout model, test acc " if reused else " · retrained, test acc ")
        t.append(f"{view.test_accuracy:.4f}", style="bold green")
    return t


def _near_best(view: RunView) -> set[int]:
    """The trials not significantly worse than the best (the best included), by the one
    rule the CLI's table and ``--json`` use too."""
    from tuidl.experiment.ranking import for_run

    trials = [
        {
            "index": t.index,
            "params": t.params,
            "status": t.status,
            "mean": t.mean,
            "std": t.std,
            "fold_scores": t.fold_scores,
        }
        for t in view.trials
    ]
    try:
        comps = for_run(view.spec or {}, trials)
    except Exception:  # a spec the views cannot read: no marks rather than no table
        return set()
    return {i for i, c in comps.items() if c.near_best}


def _attributes(view: RunView) -> Text | None:
    """The per-attribute test metrics of a multi-label run, one line per attribute and a
    mean line; None for a run with class labels or before the test."""
    from tuidl.charts import attribute_rows

    shaped = attribute_rows(view.test_metrics)
    if shaped is None:
        return None
    cols, rows, note = shaped
    title = "test, per attribute"
    width = max(len(title), *(len(name) for name, _, _ in rows))
    t = Text()
    t.append(f"{title:<{width}}", style="bold")
    t.append("".join(f"{c:>10}" for c in cols) + f"{'positives':>11}", style="bold")
    for name, m, positives in rows:
        t.append(f"\n{name:<{width}}")
        t.append("".join(f"{_score(m.get(c)):>10}" for c in cols) + f"{positives:>11}")
    if note:
        t.append(f"\n{note}", style="yellow")
    return t


def _cell(text: str, best: bool) -> Text:
    return Text(text, style="bold reverse" if best else "")


def _status_cell(trial: TrialRow) -> Text:
    style = {
        "diverged": "bold red",
        "failed": "bold red",
        "pruned": "yellow",  # stopped early on purpose: not an error, not a full result
        "running": "bold",
        "pending": "dim",
    }
    label = trial.status
    if trial.message and trial.status in ("diverged", "failed", "pruned"):
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
    return "-" if v is None else format_scalar(v)


def _short(key: str) -> str:
    """``model.k`` → ``k`` (the model's params are what most grids search); others stay whole."""
    return key.removeprefix("model.")


def _sortable(v: object) -> tuple[int, float, str]:
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (1, float(v) if math.isfinite(float(v)) else -math.inf, "")
    return (2, 0.0, str(v))
