"""The workbench app: four tabs (Pipeline, Run, Results, History), a status line and the footer.

The app owns the :class:`~tuidl.tui.specdoc.SpecDoc` being edited and a
:class:`~tuidl.tui.backend.Backend`; it never trains. A run is started through the backend (a
separate ``tuidl run`` process) and followed by polling the store from a worker thread.

Layout: messages and bindings up top, then compose, ``@on`` handlers, actions, and the workers
at the bottom, with :meth:`WorkbenchApp.on_worker_state_changed` the one place worker errors go.
Following a run (polling the store until it ends) is the base class
:class:`~tuidl.tui.following.RunFollowing`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from tuidl.errors import TuidlError
from tuidl.tui.backend import Backend, RunView, error_text
from tuidl.tui.following import RunFollowing
from tuidl.tui.screens.workbench import WorkbenchScreen
from tuidl.tui.specdoc import SpecDoc
from tuidl.tui.widgets.charts_view import ChartsView
from tuidl.tui.widgets.history_panel import HistoryPanel
from tuidl.tui.widgets.key_footer import KeyFooter
from tuidl.tui.widgets.pipeline_panel import PipelinePanel
from tuidl.tui.widgets.results_table import ResultsTable
from tuidl.tui.widgets.run_panel import RunPanel
from tuidl.tui.widgets.section_list import SectionList
from tuidl.tui.widgets.static_text import set_text

POLL_SECONDS = 0.5
WIDE = (150, 40)  # columns, rows from which the Run tab shows all charts at once
TABS = ("pipeline", "run", "results", "history")
WATCH_POLLS = 10  # while no run goes on here, look for one started elsewhere every 10 polls
# History's actions on a stored run, whoever started it (tuidl.experiment.control)
RUN_ACTIONS = ("follow", "cancel", "resume", "retry", "use")


class WorkbenchApp(RunFollowing):
    """``WorkbenchApp(registry=..., store_path=..., spec=...)``; tests inject all three."""

    CSS_PATH = "app.tcss"
    TITLE = "tuidl"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+r,f5", "run", "Run", id="app.run", priority=True),
        Binding("ctrl+g", "cancel", "Cancel", id="app.cancel", priority=True),
        Binding("ctrl+s", "save", "Save", id="app.save", priority=True),
        Binding("ctrl+o", "open", "Open", id="app.open", priority=True),
        Binding("f2", "plugins", "Plugins", id="app.plugins"),
        Binding("f3", "sanity", "Check", id="app.sanity", show=False),
        Binding("1", "tab('pipeline')", "Pipeline", id="app.tab.pipeline", show=False),
        Binding("2", "tab('run')", "Run tab", id="app.tab.run", show=False),
        Binding("3", "tab('results')", "Results", id="app.tab.results", show=False),
        Binding("4", "tab('history')", "History", id="app.tab.history", show=False),
        Binding("[", "chart(-1)", "Prev chart", id="app.chart.prev", show=False),
        Binding("]", "chart(1)", "Next chart", id="app.chart.next", show=False),
        Binding("escape", "back", "Back", id="app.back", show=False),
    ]

    def __init__(
        self,
        *,
        registry=None,
        store_path: str | os.PathLike | None = None,
        spec: dict[str, Any] | None = None,
        spec_path: str | os.PathLike | None = None,
        backend: Backend | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # Tab underlines snap instead of sliding: a slide is ~20 extra frames after
            # each tab switch, competing with the next key on a busy machine.
            self.animation_level = "none"
        self.backend = backend or Backend(store_path, registry)
        self.spec_path = Path(spec_path) if spec_path else None
        if spec is None and self.spec_path is not None:
            spec = self.backend.load_spec(self.spec_path)
        self._spec_data = spec
        # The registry (plugins, numpy, the engine) loads after the first frame unless it was
        # given (tests): that is most of the startup time.
        self.doc: SpecDoc | None = None
        if registry is not None or self.backend.registry_loaded:
            self.doc = self._make_doc()
        self.modified = False
        self.poll_seconds = poll_seconds
        self.run_id: str | None = None
        self.view: RunView | None = None  # the run drawn in the Run and Results tabs
        self.live: RunView | None = None  # the run followed live (started here or anywhere)
        self._poll_timer = None
        self._polling = False
        self._dead_polls = 0
        self._saw_active = False  # the followed run was seen going (so its end is news)
        self._starting = False
        self._pipeline: PipelinePanel | None = None  # once the registry is loaded
        self._run_panel = RunPanel(id="run")
        self._results = ResultsTable(id="results")
        self._status = Static("", id="status")

    def get_default_screen(self) -> Screen:
        return WorkbenchScreen(id="_default")

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for the platform, with a prompt escape key on Linux and macOS
        (:mod:`tuidl.tui.driver`)."""
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver":  # not TEXTUAL_DRIVER's, web or Windows
            from tuidl.tui.driver import PromptEscapeDriver

            return PromptEscapeDriver
        return driver

    def _make_doc(self) -> SpecDoc:
        registry, settings = self.backend.registry, self.backend.settings()
        if self._spec_data is None:
            doc = SpecDoc.default(registry, settings)
        else:
            doc = SpecDoc(registry, self._spec_data, settings)
        doc.checker = self.backend.check
        doc.errors()  # warm the learnable and whole-spec caches (in the loader's thread)
        return doc

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # the panes a run's every poll updates are kept at hand: a query walks the whole DOM
        with TabbedContent(initial="tab-pipeline", id="tabs"):
            with TabPane("1 Pipeline", id="tab-pipeline"):
                if self.doc is not None:
                    self._pipeline = PipelinePanel(self.doc, self.backend, id="pipeline")
                    yield self._pipeline
                else:
                    yield Static("loading plugins and components…", id="loading")
            with TabPane("2 Run", id="tab-run"):
                yield self._run_panel
            with TabPane("3 Results", id="tab-results"):
                yield self._results
            with TabPane("4 History", id="tab-history"):
                yield HistoryPanel(self.backend, id="history")
        yield self._status
        yield KeyFooter(id="footer")

    def on_mount(self) -> None:
        self._refresh_status()
        self._apply_size(self.size.width, self.size.height)
        if self.doc is None:
            self._load_registry()
        else:
            self.query_one(SectionList).focus()
            self.call_after_refresh(self._settle_gc)
        self._load_history()
        self._follow_newest()  # a run going on (started anywhere) shows on the Run tab
        # and one started later elsewhere (tuidl run, another window) while none goes on here
        self.set_interval(self.poll_seconds * WATCH_POLLS, self._watch_newest)

    def _install_doc(self, doc: SpecDoc) -> None:
        """The registry is loaded: show the pipeline (the first frame is long out by now)."""
        self.doc = doc
        pane = self.query_one("#tab-pipeline", TabPane)
        for loading in pane.query("#loading"):
            loading.remove()
        self._pipeline = PipelinePanel(doc, self.backend, id="pipeline")
        pane.mount(self._pipeline)
        self.call_after_refresh(self._after_install)

    def _after_install(self) -> None:
        self._refresh_status()
        if self._active_tab() == "pipeline":
            self.query_one(SectionList).focus()
        self._settle_gc()

    def _settle_gc(self) -> None:
        """Startup is over: full garbage collections from now on run between keys
        (:mod:`tuidl.tui.gc_pauses`). Not in tests (headless): the freeze is process-wide."""
        if self.is_headless:
            return
        from tuidl.tui import gc_pauses

        gc_pauses.settle()
        self.set_interval(gc_pauses.FULL_EVERY, gc_pauses.collect_when_idle)

    @property
    def ready(self) -> bool:
        """Whether the registry is loaded and the pipeline shown."""
        return self.doc is not None and self._pipeline is not None

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.screen.set_class(width >= WIDE[0] and height >= WIDE[1], "-wide")
        self.screen.set_class(width < 100, "-narrow")
        self.query_one(ChartsView).set_wide(width >= WIDE[0] and height >= WIDE[1])

    @property
    def spec_doc(self) -> SpecDoc:
        """The spec being edited; only once the registry is loaded (callers check
        :attr:`ready` first). Raises RuntimeError before then: that is a bug in the caller."""
        if self.doc is None:
            raise RuntimeError("the spec is not loaded yet (check WorkbenchApp.ready first)")
        return self.doc

    @property
    def pipeline(self) -> PipelinePanel:
        if self._pipeline is None:
            raise RuntimeError("the pipeline is not shown yet (check WorkbenchApp.ready first)")
        return self._pipeline

    def problems(self) -> dict[str, str]:
        """The spec's problems plus preprocessing steps whose output shape can't be computed."""
        if not self.ready:
            return {}
        errors = self.spec_doc.errors()
        for i, shape in enumerate(self.pipeline.shapes()):
            if shape.startswith("error:"):
                errors.setdefault(f"preprocess.{i}", shape.removeprefix("error: "))
        return errors

    def _refresh_status(self) -> None:
        if self.doc is None:
            set_text(self._status, "loading plugins…")
            return
        t = Text()
        name = str(self.spec_path) if self.spec_path else "untitled spec"
        t.append(name, style="bold")
        if self.modified:
            t.append(" (modified)", style="italic")
        errors = self.problems()
        points, folds = self.doc.grid_points(), self.doc.folds()
        plural = ("s" if points != 1 else "", "s" if folds != 1 else "")
        t.append(f" · {points} config{plural[0]} × {folds} fold{plural[1]}")
        for v in {id(r): r for r in (self.live, self.view) if r is not None}.values():
            t.append(f" · run {v.id} {v.status} {v.done_fits}/{v.total_fits}")
        if errors:
            first = next(iter(errors.values()))
            t.append(
                f" · {len(errors)} problem{'s' if len(errors) > 1 else ''}: ", style="bold red"
            )
            t.append(first, style="red")
        # A redraw message can arrive while the app is shutting down and the status bar is
        # already gone; there is nothing left to update then.
        if self._status.is_attached:
            set_text(self._status, t)

    # ---- handlers -----------------------------------------------------------------------
    @on(PipelinePanel.SpecChanged)
    def _spec_changed(self) -> None:
        self.modified = True
        self._refresh_status()

    @on(PipelinePanel.Redrawn)
    def _pipeline_redrawn(self) -> None:
        self._refresh_status()

    @on(PipelinePanel.AddStepRequested)
    def _add_step_requested(self, event: PipelinePanel.AddStepRequested) -> None:
        self.action_add_step(event.index)

    @on(RunPanel.StartPressed)
    def _start_pressed(self) -> None:
        self.action_run()

    @on(RunPanel.CancelPressed)
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(HistoryPanel.Action)
    def _history_action(self, event: HistoryPanel.Action) -> None:
        if event.action == "refresh":
            self._load_history()
        elif event.action == "compare":
            self._load_compare(*event.run_ids)
        elif event.action in RUN_ACTIONS:
            self.act_on_run(event.action, event.run_ids[0])
        else:
            self._load_run(event.run_ids[0], event.action)

    @on(ResultsTable.UseParams)
    def _use_params(self, event: ResultsTable.UseParams) -> None:
        self.act_on_run("use", event.run_id, event.trial)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-history":
            self._load_history()

    # ---- actions ------------------------------------------------------------------------
    def action_tab(self, name: str) -> None:
        self.query_one("#tabs", TabbedContent).active = f"tab-{name}"
        if name == "pipeline":
            if self.ready:
                with contextlib.suppress(Exception):
                    self.query_one(SectionList).focus()
            return
        target = {
            "results": "#results DataTable",
            "history": "#history DataTable",
            "run": "#run #chart-tabs",
        }[name]
        with contextlib.suppress(Exception):
            self.query_one(target).focus()

    def action_chart(self, step: int) -> None:
        self.action_tab("run") if self._active_tab() != "run" else None
        self.query_one(ChartsView).cycle(step)

    def _active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active.removeprefix("tab-")

    async def action_back(self) -> None:
        """Escape: from a form back to the outline; on the outline it stays put, since on the
        tab bar the next digits typed (``1e-3``) would switch tabs instead of editing."""
        focused = self.focused
        if self._active_tab() == "pipeline":
            if not isinstance(focused, SectionList):
                for outline in self.query(SectionList):
                    outline.focus()
        elif focused is None:
            self.action_tab(self._active_tab())

    def action_help(self) -> None:
        from tuidl.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_sanity(self) -> None:
        """F3: the recipe's sanity checks on the pipeline as it is (``tuidl check``)."""
        if not self.ready:
            self.notify("still loading plugins; try again in a moment", severity="warning")
            return
        errors = self.problems()
        if errors:
            self.notify(f"fix the spec first: {next(iter(errors.values()))}", severity="error")
            return
        self.notify("running the sanity checks (a few seconds)…", timeout=3)
        self._sanity(self.spec_doc.export())

    def action_plugins(self) -> None:
        from tuidl.tui.screens.plugins import PluginsScreen

        self.push_screen(PluginsScreen(self.backend.registry))

    def action_add_step(self, index: int | None = None) -> None:
        from tuidl.tui.screens.pick import PickScreen

        reg = self.backend.registry
        options = [(c.key, c.key, c.summary) for c in reg.components["preprocessor"].values()]
        if not options:
            self.notify(
                "no preprocessing steps are registered (see F2 Plugins)", severity="warning"
            )
            return

        def chosen(name: str | None) -> None:
            if name:
                self.add_step(name, index)

        self.push_screen(PickScreen("Add a preprocessing step", options), chosen)

    def add_step(self, name: str, index: int | None = None) -> None:
        self.action_tab("pipeline")
        self.pipeline.add_step(name, index)
        self.notify(f"added step {name}", timeout=2)

    def set_component(self, section: str, name: str) -> None:
        self.action_tab("pipeline")
        self.pipeline.set_component(section, name)
        self.pipeline.focus_section(section)

    def action_run(self) -> None:
        if not self.ready:
            self.notify("still loading plugins; try again in a moment", severity="warning")
            return
        if self.running:
            self.notify(
                f"run {self.run_id} is still going; cancel it first (ctrl+g)", severity="warning"
            )
            return
        errors = self.problems()
        if errors:
            key, message = next(iter(errors.items()))
            self.notify(f"fix the spec first: {message}", severity="error", timeout=8)
            sections = {s.key for s in self.spec_doc.sections()}
            section = key if key in sections else key.rsplit(".", 1)[0]
            self.action_tab("pipeline")
            self.pipeline.focus_section(section)
            return
        self.action_tab("run")
        self.query_one(RunPanel).set_message("starting the runner…")
        self._starting = True
        self._start_run(self.spec_doc.export())

    def action_cancel(self) -> None:
        """Cancel the run followed (or shown) here, whoever started it."""
        shown = [v for v in (self.live, self.view) if v is not None and not v.finished_states]
        if not shown:
            self.notify("no run in progress", severity="warning")
            return
        self.query_one(RunPanel).set_message(f"cancelling run {shown[0].id}…")
        self._cancel_run(shown[0].id)

    def act_on_run(self, action: str, run_id: str, trial: int | None = None) -> None:
        """History's actions on any stored run (see :data:`RUN_ACTIONS`); ``trial``: the
        configuration "use" copies (the best when None)."""
        if action == "follow":
            self.view = None
            self.action_tab("run")
            self.follow(run_id)
        elif action == "cancel":
            self._cancel_run(run_id)
        elif action in ("resume", "retry"):
            if self.running and self.run_id != run_id:
                self.notify(
                    f"run {self.run_id} is still going; cancel it first (ctrl+g)",
                    severity="warning",
                )
                return
            self._relaunch(action, run_id)
        elif action == "use":
            self._load_params(run_id, trial)

    async def action_quit(self) -> None:
        """ctrl+q: quit, but ask first when the spec has unsaved changes."""
        if not (self.ready and self.modified):
            self.exit()
            return
        from tuidl.tui.screens.confirm import ConfirmScreen

        def answered(answer: str | None) -> None:
            if answer == "quit":
                self.exit()
            elif answer == "save":
                self.action_save(then_quit=True)

        name = self.spec_path.name if self.spec_path else "the untitled spec"
        question = f"{name} has unsaved changes. Runs are kept either way."
        answers = [("save", "s", "Save, then quit"), ("quit", "q", "Quit without saving")]
        self.push_screen(ConfirmScreen(question, answers), answered)

    def action_save(self, then_quit: bool = False) -> None:
        if not self.ready:
            return
        from tuidl.tui.screens.path_prompt import PathPrompt

        def chosen(path: str | None) -> None:
            if path:
                self._save(path)
                if then_quit and not self.modified:
                    self.exit()

        default = str(self.spec_path) if self.spec_path else "experiment.toml"
        self.push_screen(PathPrompt("Save the spec as TOML", default), chosen)

    def _save(self, path: str) -> None:
        try:
            saved = self.backend.save_spec(self.spec_doc.export(), path)
        except TuidlError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.spec_path, self.modified = saved, False
        self._refresh_status()
        self.notify(f"saved {saved}  (run it with: tuidl run {saved})", timeout=4)

    def action_open(self) -> None:
        from tuidl.tui.screens.path_prompt import PathPrompt

        def chosen(path: str | None) -> None:
            if path:
                self.open_spec(path)

        self.push_screen(PathPrompt("Open a spec (TOML)", ""), chosen)

    def open_spec(self, path: str | os.PathLike) -> None:
        if not self.ready:
            self.notify("still loading plugins; try again in a moment", severity="warning")
            return
        try:
            data = self.backend.load_spec(path)
        except TuidlError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self._set_doc(SpecDoc(self.backend.registry, data, self.backend.settings()), Path(path))
        errors = self.spec_doc.errors()
        if errors:
            self.notify(
                f"opened {path} with {len(errors)} problem(s), flagged in red", severity="warning"
            )
        else:
            self.notify(f"opened {path}", timeout=2)

    def _set_doc(self, doc: SpecDoc, path: Path | None, modified: bool = False) -> None:
        doc.checker = self.backend.check
        self.doc = doc
        self.spec_path, self.modified = path, modified
        self.pipeline.set_doc(doc)
        self.action_tab("pipeline")
        self._refresh_status()

    def open_run(self, run_id: str, how: str = "show") -> None:
        self._load_run(run_id, how)

    # ---- the command palette ------------------------------------------------------------
    def action_command_palette(self) -> None:
        from tuidl.tui.commands import WorkbenchPalette

        if self.use_command_palette and not isinstance(self.screen, WorkbenchPalette):
            self.push_screen(WorkbenchPalette(id="--command-palette"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tuidl.tui.commands import workbench_commands

        yield from workbench_commands(self)
        yield from super().get_system_commands(screen)

    # ---- workers (results come back through on_worker_state_changed) ------------------
    @work(thread=True, group="registry", exit_on_error=False)
    def _load_registry(self) -> SpecDoc:
        return self._make_doc()

    @work(thread=True, group="start", exit_on_error=False)
    def _start_run(self, data: dict[str, Any]) -> str:
        self.backend.validate(data)
        return self.backend.start(data)

    @work(thread=True, exclusive=True, group="sanity", exit_on_error=False)
    def _sanity(self, data: dict[str, Any]):
        return self.backend.sanity_check(data)

    @work(thread=True, group="cancel", exit_on_error=False)
    def _cancel_run(self, run_id: str) -> tuple[bool, str]:
        return self.backend.cancel(run_id)

    @work(thread=True, group="relaunch", exit_on_error=False)
    def _relaunch(self, action: str, run_id: str) -> tuple[str, str]:
        if action == "resume":
            self.backend.resume(run_id)
            return action, run_id
        return action, self.backend.retry(run_id)

    @work(thread=True, group="params", exit_on_error=False)
    def _load_params(self, run_id: str, trial: int | None) -> tuple[str, int | None, dict]:
        return run_id, trial, self.backend.params_spec(run_id, trial)

    @work(thread=True, group="load-run", exit_on_error=False)
    def _load_run(self, run_id: str, how: str) -> tuple[str, RunView]:
        return how, self.backend.get_run(run_id)

    @work(thread=True, group="compare", exit_on_error=False)
    def _load_compare(self, *run_ids: str) -> dict[str, Any]:
        return self.backend.compare_runs(list(run_ids))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place the app's own workers report (a widget's workers report to that
        widget: Worker.StateChanged does not bubble)."""
        worker = event.worker
        if event.state == WorkerState.ERROR:
            self._worker_failed(worker)
        elif event.state == WorkerState.SUCCESS:
            self._worker_done(worker, worker.result)

    def _worker_failed(self, worker: Worker) -> None:
        message = error_text(worker.error)
        if worker.group == "poll":
            self._polling = False
        if worker.group == "start":
            self._starting = False
            self.query_one(RunPanel).set_message(Text(f"could not start: {message}", style="red"))
        self.notify(message, severity="error", timeout=10)

    def _worker_done(self, worker: Worker, result: Any) -> None:
        group = worker.group
        if group == "registry":
            self._install_doc(result)
        elif group == "start":
            self.query_one(RunPanel).reset()
            self.query_one(ResultsTable).clear()
            self.view = None
            # check=False: the form may hold a half-typed value by now; it must not stop this
            self.live = RunView(
                id=str(result), status="queued", spec=self.spec_doc.export(check=False)
            )
            self._starting = False
            self.notify(f"run {result} started", timeout=2)
            self.follow(str(result))
        elif group == "poll":
            self._followed(result)
        elif group == "cancel":
            ok, message = result
            self.notify(message, severity="information" if ok else "warning", timeout=6)
            self._poll()
        elif group == "newest":
            if result is not None and result != self.run_id and not self.running:
                self.follow(result)
        elif group == "relaunch":
            action, run_id = result
            self.notify(f"run {run_id} {'resumed' if action == 'resume' else 'started'}", timeout=3)
            self.act_on_run("follow", run_id)
            self._load_history()
        elif group == "params":
            run_id, trial, data = result
            doc = SpecDoc(self.backend.registry, data, self.backend.settings())
            self._set_doc(doc, None, modified=True)
            which = "its best configuration" if trial is None else f"configuration {trial + 1}"
            self.notify(f"the pipeline now has run {run_id}'s {which}", timeout=4)
        elif group == "history":
            for panel in self.query(HistoryPanel).results(HistoryPanel):  # (none: closing)
                panel.show(result)
        elif group == "load-run":
            how, view = result
            if how == "open":
                doc = SpecDoc(self.backend.registry, view.spec, self.backend.settings())
                self._set_doc(doc, None, modified=True)
                self.notify(f"reopened the spec of run {view.id}", timeout=3)
            else:
                self.show_run(view)
                self.action_tab("results")
                if not view.finished_states:
                    self.follow(view.id)  # a run going on keeps updating until it ends
        elif group == "sanity":
            from tuidl.tui.screens.checks import ChecksScreen

            self.push_screen(ChecksScreen(*result))
        elif group == "compare":
            from tuidl.tui.screens.compare import CompareScreen

            self.push_screen(CompareScreen(result))
