"""The Run tab: start and cancel, progress over trials × folds with ETA, and the live charts."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

from tuidl.tui.backend import RunView
from tuidl.tui.valuetext import format_scalar
from tuidl.tui.widgets.charts_view import ChartsView
from tuidl.tui.widgets.static_text import set_text


class RunPanel(Vertical):
    """Buttons post :class:`StartPressed` / :class:`CancelPressed`; the app does the work."""

    class StartPressed(Message):
        pass

    class CancelPressed(Message):
        pass

    DEFAULT_CSS = """
    RunPanel { height: 1fr; }
    RunPanel #run-bar { height: 1; }
    RunPanel #run-bar Button { margin-right: 1; min-width: 10; }
    RunPanel #progress { width: 1fr; }
    RunPanel #progress Bar { width: 1fr; }
    RunPanel #eta { width: auto; min-width: 16; padding-left: 1; }
    RunPanel #run-status { height: auto; max-height: 4; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: RunView | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-bar"):
            yield Button("▶ Run", id="start", compact=True, variant="success")
            yield Button("■ Cancel", id="cancel", compact=True, variant="error", disabled=True)
            # hidden until there is a run to count: an indeterminate bar (total=None) would
            # repaint itself 15 times a second for nothing
            bar = ProgressBar(total=1, show_eta=False, show_percentage=True, id="progress")
            bar.display = False
            yield bar
            yield Static("", id="eta")
        yield Static("no run yet: build the pipeline, then press ctrl+r", id="run-status")
        yield ChartsView(id="charts")

    # ---- public -------------------------------------------------------------------------
    def show(self, view: RunView, force_charts: bool = False) -> None:
        self.view = view
        active = view.status in ("queued", "running")
        self.query_one("#cancel", Button).disabled = not active
        self.query_one("#start", Button).disabled = active
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(view.total_fits, 1), progress=view.done_fits)
        bar.display = True
        set_text(self.query_one("#eta", Static), _eta_text(view))
        set_text(self.query_one("#run-status", Static), _status_text(view))
        self.query_one(ChartsView).show(view, force=force_charts)

    def set_message(self, text: str | Text) -> None:
        set_text(self.query_one("#run-status", Static), text)

    def reset(self) -> None:
        self.view = None
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#start", Button).disabled = False
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=1, progress=0)
        bar.display = False
        set_text(self.query_one("#eta", Static), "")
        self.query_one(ChartsView).clear()

    # ---- handlers -----------------------------------------------------------------------
    @on(Button.Pressed, "#start")
    def _start(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.StartPressed())

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.CancelPressed())


def _eta_text(view: RunView) -> str:
    done = f"{view.done_fits}/{view.total_fits} fits"
    if view.status in ("queued", "running"):
        eta = view.eta
        return f"{done} · ETA {_duration(eta)}" if eta is not None else f"{done} · ETA …"
    if view.started and view.finished:
        return f"{done} · took {_duration(view.finished - view.started)}"
    return done


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _status_text(view: RunView) -> Text:
    t = Text()
    style = {
        "finished": "bold green",
        "running": "bold",
        "failed": "bold red",
        "interrupted": "bold yellow",
    }.get(view.status, "")
    t.append(f"run {view.id} ", style="bold")
    t.append(view.status, style=style)
    n = len(view.trials)
    # the unit in flight, the one the charts draw (the same RunView.current)
    if view.status in ("queued", "running") and view.current is not None:
        index, fold = view.current
        trial = next((x for x in view.trials if x.index == index), None)
        # %g floats: a sampled lr=0.0018548929400038843 would wrap the line at 80 columns
        params = (
            ", ".join(f"{k}={format_scalar(v)}" for k, v in trial.params.items()) if trial else ""
        )
        if fold < 0:
            t.append(f" · retraining config {index + 1}")
        else:
            t.append(f" · config {index + 1}/{n}, fold {fold + 1}/{view.folds}")
        if params:
            t.append(f" ({params})")
    if view.best_index is not None and view.best_index < n:
        best = view.trials[view.best_index]
        if best.mean is not None:
            t.append(f" · best {best.mean:.4f}")
    if view.test_accuracy is not None:
        t.append(f" · test {view.test_accuracy:.4f}", style="bold green")
    if view.message:
        t.append(f" · {view.message}", style="red" if view.status == "failed" else "")
    return t
