"""Following a run live: the workbench polls the store for one run until it ends.

:class:`RunFollowing` is the part of :class:`~tuidl.tui.app.WorkbenchApp` that keeps the Run
and Results tabs in step with a run started anywhere (here, ``tuidl run``, another window). It
never trains: each poll reads the store in a worker thread through the backend, and the app's
``on_worker_state_changed`` hands the result back to :meth:`RunFollowing._followed`.
"""

from __future__ import annotations

from textual import work
from textual.app import App
from textual.timer import Timer

from tuidl.tui.backend import Backend, RunSummary, RunView
from tuidl.tui.widgets.history_panel import HistoryPanel
from tuidl.tui.widgets.results_table import ResultsTable
from tuidl.tui.widgets.run_panel import RunPanel

DEAD_POLLS = 3  # polls a runner may be gone before its unfinished run counts as failed


class RunFollowing(App[None]):
    """The run-following state and methods of the workbench app (which sets the attributes)."""

    backend: Backend
    poll_seconds: float
    run_id: str | None  # the run followed
    view: RunView | None  # the run drawn in the Run and Results tabs
    live: RunView | None  # the run followed live (started here or anywhere)
    _poll_timer: Timer | None
    _polling: bool  # a poll is in flight
    _dead_polls: int
    _saw_active: bool  # the followed run was seen going (so its end is news)
    _starting: bool  # a run is being started here
    _run_panel: RunPanel  # the Run tab's panel and the Results tab's table
    _results: ResultsTable

    def _refresh_status(self) -> None:
        """Redraw the status line; the app defines what it shows."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._starting or (self.live is not None and not self.live.finished_states)

    def show_run(self, view: RunView) -> None:
        """Draw a run (live or stored) in the Run and Results tabs."""
        self.view = view
        self._run_panel.show(view, force_charts=view.finished_states)
        self._results.show(view, force=view.finished_states)
        self._refresh_status()

    # ---- following a run ----------------------------------------------------------------
    def follow(self, run_id: str) -> None:
        """Draw run ``run_id`` (from the store, started anywhere) live until it ends."""
        self.run_id = run_id
        self._dead_polls = 0
        self._saw_active = False
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_interval(self.poll_seconds, self._poll)
        self._poll()

    def _poll(self) -> None:
        if self.run_id is not None and not self._polling:
            self._polling = True
            self._fetch_run(self.run_id)

    def _followed(self, view: RunView) -> None:
        self._polling = False
        if view.id != self.run_id or not self._run_panel.is_attached:  # the app is closing
            return
        if view.process == "gone" and not view.finished_states:
            self._dead_polls += 1  # a runner that just ended gets a moment to mark the run
            if self._dead_polls >= DEAD_POLLS:
                view.message = (
                    f"the runner exited without finishing; see its log {view.log_path or ''}; "
                    "r on History resumes it"
                )
                view.status = "failed"
        self._saw_active = self._saw_active or not view.finished_states
        self.live = view
        if self.view is None or self.view.id == view.id:
            self.show_run(view)
        else:
            self._refresh_status()
        if view.finished_states and self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
            if self._saw_active:
                self._finished(view)

    def _finished(self, view: RunView) -> None:
        text = f"run {view.id} {view.status}"
        if view.best_index is not None and view.best_index < len(view.trials):
            best = view.trials[view.best_index]
            if best.mean is not None:
                text += f": best cv {best.mean:.4f}"
        if view.test_accuracy is not None:
            text += f", test accuracy {view.test_accuracy:.4f}"
        self.notify(
            text, severity="information" if view.status == "finished" else "warning", timeout=6
        )
        self._load_history()

    def _watch_newest(self) -> None:
        if not self.running:
            self._follow_newest()

    @work(thread=True, exclusive=True, group="newest", exit_on_error=False)
    def _follow_newest(self) -> str | None:
        return self.backend.newest_active()

    @work(thread=True, group="poll", exit_on_error=False)
    def _fetch_run(self, run_id: str) -> RunView:
        return self.backend.get_run(run_id)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load_history(self) -> list[RunSummary]:
        return self.backend.list_runs(self.query_one(HistoryPanel).filter_text)  # its filter line
