"""The History tab: every stored run; show one, reopen its spec, or compare several; follow,
cancel, resume or retry any of them (whoever started it), or put its best configuration
in the pipeline; filter and sort the list; name, tag, annotate or delete runs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tuidl.tui.backend import Backend, RunSummary


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

    BINDINGS: ClassVar[list[BindingType]] = [
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
        Binding("slash", "filter", "Filter", id="history.filter"),
        Binding("d,delete", "delete", "Delete", id="history.delete"),
        Binding("n", "edit('name')", "Name", id="history.name", show=False),
        Binding("t", "edit('tags')", "Tags", id="history.tags", show=False),
        Binding("N", "edit('note')", "Note", id="history.note", show=False),
    ]

    DEFAULT_CSS = """
    HistoryPanel { height: 1fr; }
    HistoryPanel #history-help { height: auto; color: $text-muted; }
    HistoryPanel DataTable { height: 1fr; }
    """

    def __init__(self, backend: Backend, *, id: str | None = None) -> None:
        """``backend``: the app's, which renames, tags, annotates and deletes runs."""
        super().__init__(id=id)
        self.backend = backend
        self.runs: list[RunSummary] = []
        self.marked: list[str] = []
        # the filter line (store_query.parse_query): the app lists runs through it
        self.filter_text = ""  # the / filter line (not `query`: that is Textual's DOM query)

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
            ("name", "name"),
        ):
            table.add_column(label, key=key)

    # ---- public -------------------------------------------------------------------------
    def show(self, runs: list[RunSummary]) -> None:
        self.runs = runs
        table = self.query_one(DataTable)
        current = self.selected
        table.clear()
        # the newest MAX_ROWS (a table row costs ~0.5 ms to lay out: a store of thousands
        # of runs would take seconds); filters reach the rest. Cells are Text, not markup
        # strings, so no cell is parsed as markup
        for r in runs[:MAX_ROWS]:
            table.add_row(
                Text("●" if r.id in self.marked else " "),
                Text(r.id),
                Text(_when(r.created)),
                _status(r.status),
                Text(r.dataset),
                Text(r.model),
                Text(r.grid),
                Text(f"{r.best_mean:.4f}" if r.best_mean is not None else "-"),
                Text(f"{r.test_accuracy:.4f}" if r.test_accuracy is not None else "-"),
                Text(_label(r)),
                key=r.id,
            )
        # the hint says what is there: no "no stored runs" above a list of runs
        help_text = HELP if runs else EMPTY
        if self.filter_text:
            help_text = f"filter: {self.filter_text} ({len(runs)} runs; / to change)"
        if len(runs) > MAX_ROWS:
            help_text = f"the newest {MAX_ROWS} of {len(runs)} runs: / filters · " + help_text
        self.query_one("#history-help", Static).update(help_text)
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
            runs = self.marked + ([run] if run not in self.marked else [])
            if len(runs) < 2:
                self.app.notify(
                    "mark runs with m, then press c to compare them (and the selected one)",
                    severity="warning",
                )
                return
            self.post_message(self.Action("compare", runs))
            return
        self.post_message(self.Action(action, [run]))

    def action_mark(self) -> None:
        run = self.selected
        if run is None:
            return
        if run in self.marked:
            self.marked.remove(run)
        else:
            self.marked = [*self.marked, run]
        self.show(self.runs)

    # ---- managing runs (each asks the backend in a thread, then lists again) -----------
    def action_filter(self) -> None:
        from tuidl.tui.screens.text_prompt import TextPrompt

        def chosen(text: str | None) -> None:
            if text is not None:
                self.filter_text = text
                self.post_message(self.Action("refresh", []))

        hint = "e.g. model=fc_net best>=0.9 tag=baseline optimizer.lr=1e-3 sort=-best"
        self.app.push_screen(TextPrompt("Filter runs", self.filter_text, hint), chosen)

    def action_delete(self) -> None:
        from tuidl.tui.screens.confirm import ConfirmScreen

        run = self.selected
        runs = self.marked or ([run] if run is not None else [])
        if not runs:
            self.app.notify("no run selected", severity="warning")
            return
        what = f"run {runs[0]}" if len(runs) == 1 else f"{len(runs)} runs ({', '.join(runs)})"
        question = f"Delete {what} and everything stored for it? This cannot be undone."

        def answered(answer: str | None) -> None:
            if answer == "delete":
                self._manage(lambda b: b.delete_runs(runs), f"deleted {what}")
                self.marked = [m for m in self.marked if m not in runs]

        answers = [("keep", "k", "Keep"), ("delete", "d", "Delete")]
        self.app.push_screen(ConfirmScreen(question, answers), answered)

    def action_edit(self, field: str) -> None:
        from tuidl.tui.screens.text_prompt import TextPrompt

        run_id = self.selected
        row = next((r for r in self.runs if r.id == run_id), None)
        if row is None:
            self.app.notify("no run selected", severity="warning")
            return
        value = {"name": row.name, "tags": " ".join(row.tags), "note": row.note}[field]
        hint = {"name": "", "tags": "space-separated; find them with tag=NAME", "note": ""}

        def chosen(text: str | None) -> None:
            if text is None:
                return
            setters = {
                "name": lambda b: b.set_name(run_id, text),
                "tags": lambda b: b.set_tags(run_id, text.split()),
                "note": lambda b: b.set_note(run_id, text),
            }
            self._manage(setters[field], f"run {run_id}: {field} saved")

        title = f"{field.capitalize()} of run {run_id}"
        self.app.push_screen(TextPrompt(title, value, hint[field]), chosen)

    def _manage(self, change: Callable[[Backend], object], done: str) -> None:
        def work() -> str:
            change(self.backend)
            return done

        self.run_worker(work, thread=True, group="history-manage", exit_on_error=False)

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.worker.group != "history-manage":
            return
        if event.state == WorkerState.SUCCESS:
            self.app.notify(str(event.worker.result), timeout=3)
            self.post_message(self.Action("refresh", []))
        elif event.state == WorkerState.ERROR:
            self.app.notify(str(event.worker.error), severity="error", timeout=8)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_act("show")


MAX_ROWS = 300
HELP = (
    "enter show · f follow · x cancel · r resume · R retry · u use its best params · "
    "o open spec · m mark, c compare · / filter · d delete · n name · t tags · N note"
)
EMPTY = "no stored runs yet: a run started here or with `tuidl run` appears here"


def _label(r: RunSummary) -> str:
    tags = " ".join(f"#{t}" for t in r.tags)
    return " ".join(x for x in (r.name, tags) if x) or "-"


def _when(ts: float) -> str:
    if not ts:
        return "-"
    return time.strftime("%m-%d %H:%M", time.localtime(ts))


def _status(status: str) -> Text:
    style = {"finished": "green", "failed": "red", "interrupted": "yellow", "running": "bold"}
    return Text(status, style=style.get(status, ""))
