"""The help screen: what each part of the workbench does and every key."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

HELP = """\
# tuidl workbench

Build an experiment in **Pipeline**, start it with **ctrl+r** (or the ▶ Run button), watch it in
**Run**, read the table in **Results**, and find old runs in **History**. Runs are done by the same
runner as `tuidl run`, in their own process: closing this window does not stop them.

## Every key

| where | key | does |
|---|---|---|
| anywhere | ctrl+r / F5 | run the pipeline (cross-validation over the grid or search) |
| | ctrl+g | cancel the run shown, whoever started it (finished folds stay; resumable) |
| | ctrl+s / ctrl+o | save / open the spec as TOML (`tuidl run` reads it; comments kept) |
| | F3 | sanity checks: initial loss, reg, overfit 20 rows, gradients (`tuidl check`) |
| | ctrl+p | command palette: every action, e.g. "Add preprocessing step: pca" |
| | 1 2 3 4 | Pipeline, Run, Results, History (when not typing in a field) |
| | F1 / F2 | this help / plugins, their components, help and load errors |
| | ctrl+q | quit (asks first when the spec has unsaved changes) |
| | tab / shift+tab | next / previous field |
| | escape | back to the outline (it stays there) |
| outline | ↑ ↓ · enter | choose a section · edit it |
| | a · x · u / d | add a step · remove it · move it up / down |
| Run tab | [ / ] | previous / next chart (Curves, CV, Heatmap, Test, Health, Search) |
| | p | pictures: first-layer weights, test images of a confusion |
| | a | next pair of axes for the Search scatter |
| Results | s / S | cycle the sort column / reverse it |
| | u | put the selected configuration in the pipeline |
| History | enter | show the run's results and charts |
| | f · x · r · R | follow it live · cancel it · resume it · retry it (a new run) |
| | u · o | its best configuration / its whole spec into the pipeline |
| | m · c | mark runs · compare the marked runs (and the selected one) |
| | / | filter and sort: `model=fc_net best>=0.9 tag=baseline sort=-best` |
| | n · t · N | name · tags · note of the selected run |
| | d | delete it (or the marked runs), after asking |
| | g | refresh the list |
| this help | ↑ ↓ PgUp PgDn Home End, j k space b g G | scroll · escape, F1 or q closes |
| pictures | w · e | weights · examples; escape closes |

## The tabs

**Pipeline**: forms come from each component's schema. Type a value; a value that isn't
allowed is flagged with ✗ and what is allowed, and Run and Save are refused while any is
(the outline marks the section with `!`). In a number or choice field's *search* box, type
the values to try, e.g. `1, 3, 5, 8`, or a range `log 1e-5..1e-2` for random search: every
combination of all search boxes is one configuration. Sections that don't apply to the model
(loss, optimizer… for kNN) are greyed out.

**Run**: the progress bar counts fits (configurations × folds) with an ETA. Charts: loss and
accuracy of the trial in flight (the train − val gap shaded, the learning rate), the CV chart
(each fold a point, mean ± std; configurations explained under it), a heatmap for two-key
grids, the Test pane (confusion matrix, or per-attribute metrics), per-layer Health (update /
weight ratios, dead ReLUs, with what is out of range in words) and the Search scatter. A
window opened while a run goes on (started anywhere: `tuidl run`, `--detach`, another window)
follows it here.

**Results**: ★ marks the best, ≈ the configurations not significantly worse than it.

**History**: the newest 300 runs; a filter reaches the rest.
"""


class HelpText(VerticalScroll, can_focus=True):
    """The help's scrolling body: ↑↓ PageUp/PageDown Home/End as any scroll view, plus the
    pager keys people type without thinking (j/k, space/b, g/G)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
        Binding("b", "page_up", "Page up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "End", show=False),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
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
