"""Command-palette entries for every workbench action (ctrl+p).

Built from the registry and the current spec each time the palette opens, so a plugin's
step appears as "Add preprocessing step: <name>" with no UI code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.command import CommandPalette
from textual.css.query import NoMatches

from tuidl.errors import TuidlError
from tuidl.tui.specdoc import COMPONENT_SECTIONS
from tuidl.tui.widgets.history_panel import HistoryPanel

if TYPE_CHECKING:
    from tuidl.tui.app import WorkbenchApp


class WorkbenchPalette(CommandPalette):
    """Textual's command palette, but closing it while it still gathers commands is safe.

    Its gathering worker can finish after escape has taken the palette off the screen; the
    list's watchers then query children that are gone and NoMatches ends the app (seen on a
    busy machine: ctrl+p, escape). Here those updates of a closed palette are dropped.
    """

    def _watch__list_visible(self) -> None:
        with contextlib.suppress(NoMatches):
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        with contextlib.suppress(NoMatches):
            await super()._watch__show_busy()


def workbench_commands(app: WorkbenchApp) -> Iterator[SystemCommand]:
    if not app.ready:
        return
    reg = app.backend.registry
    doc = app.spec_doc
    yield SystemCommand("Run", "Start cross-validation over the grid (ctrl+r)", app.action_run)
    yield SystemCommand("Cancel run", "Stop the run in progress (ctrl+g)", app.action_cancel)
    yield SystemCommand(
        "Sanity checks",
        "Initial loss, reg, overfit 20 rows, gradient check, in seconds (F3)",
        app.action_sanity,
    )
    yield SystemCommand("Save spec…", "Save the pipeline as TOML (ctrl+s)", app.action_save)
    yield SystemCommand("Open spec…", "Open a TOML spec (ctrl+o)", app.action_open)
    yield SystemCommand(
        "Plugins", "Plugins, their components and load errors (F2)", app.action_plugins
    )
    yield SystemCommand("Help", "Keys and how the workbench works (F1)", app.action_help)
    for tab in ("pipeline", "run", "results", "history"):
        yield SystemCommand(
            f"Go to {tab.capitalize()}", f"Show the {tab} tab", partial(app.action_tab, tab)
        )
    for comp in reg.components["preprocessor"].values():
        yield SystemCommand(
            f"Add preprocessing step: {comp.key}", comp.summary, partial(app.add_step, comp.key)
        )
    for i, step in enumerate(doc.steps):
        name = step.get("name", "?")
        yield SystemCommand(
            f"Remove preprocessing step {i + 1}: {name}",
            "Remove it from the chain",
            partial(_step, app, "remove", i),
            discover=False,
        )
        if i > 0:
            yield SystemCommand(
                f"Move step {i + 1} up: {name}",
                "Reorder the chain",
                partial(_step, app, "up", i),
                discover=False,
            )
        if i < len(doc.steps) - 1:
            yield SystemCommand(
                f"Move step {i + 1} down: {name}",
                "Reorder the chain",
                partial(_step, app, "down", i),
                discover=False,
            )
    for section, kind in COMPONENT_SECTIONS.items():
        for comp in reg.components[kind].values():
            yield SystemCommand(
                f"Set {section}: {comp.key}",
                comp.summary,
                partial(app.set_component, section, comp.key),
                discover=False,
            )
    for sec in doc.sections():
        yield SystemCommand(
            f"Edit section: {sec.title}",
            "Jump to it in the pipeline",
            partial(_edit, app, sec.key),
            discover=False,
        )
    for run in app.query_one("#history", HistoryPanel).runs[:50]:
        label = f"run {run.id} ({run.dataset}, {run.model}, {run.status})"
        yield SystemCommand(
            f"Open run {run.id}",
            f"Show the results and charts of {label}",
            partial(app.open_run, run.id, "show"),
        )
        yield SystemCommand(
            f"Reopen spec of run {run.id}",
            f"Load the spec of {label} into the pipeline",
            partial(app.open_run, run.id, "open"),
            discover=False,
        )
        # the run control's actions on any stored run (History's f, x, r, R, u)
        for action, title, help_text in (
            ("follow", "Follow run", "Follow it live on the Run tab"),
            ("cancel", "Cancel run", "Stop it cleanly, whoever started it"),
            ("resume", "Resume run", "Run only its missing folds"),
            ("retry", "Retry run", "Start a new run with its spec and seed"),
            ("use", "Use best params of run", "Put its best configuration in the pipeline"),
        ):
            yield SystemCommand(
                f"{title} {run.id}",
                f"{help_text}: {label}",
                partial(app.act_on_run, action, run.id),
                discover=False,
            )
        yield SystemCommand(
            f"Refine run {run.id}",
            f"Coarse to fine: write a spec narrowed around the best trials of {label} "
            "and open it (^r runs it)",
            partial(_refine, app, run.id),
            discover=False,
        )
        yield SystemCommand(
            f"Pictures of run {run.id}",
            f"First-layer weights and confusion examples of {label}",
            partial(_pictures, app, run.id),
            discover=False,
        )
    for key, label in (
        ("curves", "loss and accuracy"),
        ("cv", "CV"),
        ("heatmap", "heatmap"),
        ("confusion", "test (confusion matrix or per-attribute metrics)"),
    ):
        yield SystemCommand(
            f"Show chart: {label}", "In the Run tab", partial(_chart, app, key), discover=False
        )
    yield SystemCommand(
        "Sort results",
        "Cycle the results table's sort column (s)",
        partial(_sort, app),
        discover=False,
    )


def _refine(app: WorkbenchApp, run_id: str) -> None:
    """Write ``run<ID>-refined.toml`` here (as ``tuidl run --refine``) and open it."""
    try:
        path = app.backend.refine(run_id)
    except TuidlError as exc:
        app.notify(str(exc), severity="error", timeout=8)
        return
    app.open_spec(path)
    app.notify(f"wrote {path}: the space narrowed around run {run_id}'s best; ^r runs it")


def _pictures(app: WorkbenchApp, run_id: str) -> None:
    from tuidl.tui.screens.pictures import PicturesScreen

    app.push_screen(PicturesScreen(run_id, app.backend.store_path, app.backend.registry))


def _step(app: WorkbenchApp, action: str, index: int) -> None:
    app.action_tab("pipeline")
    if action == "remove":
        app.pipeline.remove_step(index)
    else:
        app.pipeline.move_step(index, -1 if action == "up" else 1)


def _edit(app: WorkbenchApp, key: str) -> None:
    app.action_tab("pipeline")
    app.pipeline.focus_section(key)


def _chart(app: WorkbenchApp, key: str) -> None:
    from tuidl.tui.widgets.charts_view import ChartsView

    app.action_tab("run")
    app.query_one(ChartsView).select(key)


def _sort(app: WorkbenchApp) -> None:
    from tuidl.tui.widgets.results_table import ResultsTable

    app.action_tab("results")
    app.query_one(ResultsTable).action_sort()
