"""The help screen: what each part of the workbench does and every key."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

HELP = """\
# tuidl workbench

Build an experiment in **Pipeline**, start it with **ctrl+r** (or the ▶ Run button), watch it in
**Run**, read the table in **Results**, and find old runs in **History**. Runs are done by the same
runner as `tuidl run`, in their own process: closing this window does not stop them.

## Keys

| key | does |
|---|---|
| ctrl+r / F5 | run the pipeline (cross-validation over the grid) |
| ctrl+g | cancel the run shown, whoever started it (finished folds stay; resumable) |
| ctrl+s / ctrl+o | save / open the spec as TOML (`tuidl run` reads it) |
| ctrl+p | command palette: every action, e.g. "Add preprocessing step: pca" |
| 1 2 3 4 | Pipeline, Run, Results, History (when not typing in a field) |
| F2 | plugins, their components and load errors |
| F1 | this help · ctrl+q quit |
| tab / shift+tab | next / previous field · escape: back to the outline |

**Pipeline outline**: ↑↓ choose a section · enter edit it · a add a step ·
x remove · u / d move the step up / down.

**Forms** come from each component's schema. Type a value; a value that isn't allowed is
flagged in red with what is allowed. In a number or choice field's *search* box, type the values
to try in cross-validation, e.g. `1, 3, 5, 8`: every combination of all search boxes is one
configuration. Sections that don't apply to the model (loss, optimizer… for kNN) are greyed out.

**Run**: the progress bar counts fits (configurations × folds) with an ETA. Charts: loss and
accuracy of the trial in flight, the CV chart (each fold a point, mean ± std), a heatmap for
two-key grids, and the Test pane: the confusion matrix of the retrained best on the test set
(for attribute datasets, accuracy and F1 per attribute; the Results tab lists all metrics).
`[` / `]` switch charts on a small screen. A window opened while a run goes on (started
anywhere: `tuidl run`, `--detach`, another window) follows it here.

**Results**: s cycles the sort column (or click a header), S reverses. ★ marks the best.
u puts the selected configuration in the pipeline.

**History**: enter shows a run's results and charts · f follows it live on the Run tab ·
x cancels it · r resumes it (only its missing folds run) · R retries it (a new run, same
spec) · u puts its best configuration in the pipeline · o reopens its spec in the pipeline ·
m marks runs, c compares the marked runs (and the selected one) · / filters and sorts the
list (model=fc_net best>=0.9 tag=baseline optimizer.lr=1e-3 sort=-best, or words) ·
n names, t tags, N annotates the selected run · d deletes it (or the marked runs), after
asking. The newest 300 runs are listed; a filter reaches the rest.
"""


class HelpText(VerticalScroll, can_focus=True):
    """The help's scrolling body: ↑↓ PageUp/PageDown Home/End as any scroll view, plus the
    pager keys people type without thinking (j/k, space/b, g/G)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
        Binding("b", "page_up", "Page up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "End", show=False),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,f1,q", "dismiss", "Close", id="help.close")
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90%; max-width: 100; height: 90%; border: round $accent;
                            background: $surface; }
    HelpScreen HelpText { height: 1fr; }
    HelpScreen Markdown { height: auto; }
    HelpScreen #help-close { height: 1; color: $text-muted; dock: bottom; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            with HelpText(id="help-text"):
                yield Markdown(HELP)
            yield Static(" ↑↓ PgUp PgDn Home End scroll · escape closes", id="help-close")

    def on_mount(self) -> None:
        self.query_one("#help-text").focus()
