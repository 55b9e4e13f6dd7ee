"""The History tab: every stored run; show one, reopen its spec, or compare two; follow,
cancel, resume or retry any of them (whoever started it), or put its best configuration
in the pipeline."""

from __future__ import annotations

import contextlib
import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tuidl.tui.backend import RunSummary


class HistoryPanel(Vertical):
    """Posts :class:`Action` messages; the app loads runs in workers and routes them."""

    class Action(Message):
        """``action`` is "show", "open" (its spec into the pipeline), "compare", "refresh",
        or one of the run control's: "follow" (live on the Run tab), "cancel", "resume",
        "retry" (a new run, same spec and seed) or "use" (its best configuration into the
        pipeline)."""

        def __init__(self, action: str, run_ids: list[str]) -> None:
            super().__init__()
            self.action = action
            self.run_ids = run_ids

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "act('show')", "Show", id="history.show"),
        Binding("o", "act('open')", "Open spec", id="history.open"),
        Binding("m,space", "mark", "Mark", id="history.mark"),
        Binding("c", "act('compare')", "Compare", id="history.compare"),
        Binding("g", "act('refresh')", "Refresh", id="history.refresh", show=False),
        Binding("f", "act('follow')", "Follow", id="history.follow"),
        Binding("x", "act('cancel')", "Cancel run", id="history.cancel"),
        Binding("r", "act('resume')", "Resume", id="history.resume"),
        Binding("R", "act('retry')", "Retry", id="history.retry", show=False),
        Binding("u", "act('use')", "Use params", id="history.use"),
    ]

    DEFAULT_CSS = """
    HistoryPanel { height: 1fr; }
    HistoryPanel #history-help { height: auto; color: $text-muted; }
    HistoryPanel DataTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[RunSummary] = []
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="history-help")
        yield DataTable(id="runs", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (
            (" ", "mark"),
            ("run", "id"),
            ("when", "when"),
            ("status", "status"),
            ("dataset", "dataset"),
            ("model", "model"),
            ("grid", "grid"),
            ("best", "best"),
            ("test", "test"),
        ):
            table.add_column(label, key=key)

    # ---- public -------------------------------------------------------------------------
    def show(self, runs: list[RunSummary]) -> None:
        self.runs = runs
        table = self.query_one(DataTable)
        current = self.selected
        table.clear()
        for r in runs:
            table.add_row(
                "●" if r.id in self.marked else " ",
                r.id,
                _when(r.created),
                _status(r.status),
                r.dataset,
                r.model,
                r.grid,
                f"{r.best_mean:.4f}" if r.best_mean is not None else "-",
                f"{r.test_accuracy:.4f}" if r.test_accuracy is not None else "-",
                key=r.id,
            )
        # the hint says what is there: no "no stored runs" above a list of runs
        self.query_one("#history-help", Static).update(HELP if runs else EMPTY)
        if current is not None:
            with contextlib.suppress(Exception):
                table.move_cursor(row=table.get_row_index(current))

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    # ---- actions ------------------------------------------------------------------------
    def action_act(self, action: str) -> None:
        run = self.selected
        if action == "refresh":
            self.post_message(self.Action("refresh", []))
            return
        if run is None:
            self.app.notify("no run selected", severity="warning")
            return
        if action == "compare":
            others = [m for m in self.marked if m != run]
            if not others:
                self.app.notify(
                    "mark a run with m, then select another and press c", severity="warning"
                )
                return
            self.post_message(self.Action("compare", [others[-1], run]))
            return
        self.post_message(self.Action(action, [run]))

    def action_mark(self) -> None:
        run = self.selected
        if run is None:
            return
        if run in self.marked:
            self.marked.remove(run)
        else:
            self.marked = [*self.marked[-1:], run]
        self.show(self.runs)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_act("show")


HELP = (
    "enter show · f follow · x cancel · r resume · R retry · u use its best params · "
    "o open spec · m mark, c compare"
)
EMPTY = "no stored runs yet: a run started here or with `tuidl run` appears here"


def _when(ts: float) -> str:
    if not ts:
        return "-"
    return time.strftime("%m-%d %H:%M", time.localtime(ts))


def _status(status: str) -> Text:
    style = {"finished": "green", "failed": "red", "interrupted": "yellow", "running": "bold"}
    return Text(status, style=style.get(status, ""))
