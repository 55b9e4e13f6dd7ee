"""The Pictures screen (``p`` on the Run tab's charts): a run's first-layer weights and the
test images of one confusion pair, drawn by :mod:`tuidl.pictures` (half blocks in colour;
a character ramp under ``NO_COLOR``).

The data come from the store (:mod:`tuidl.experiment.run_pictures`) in thread workers: the
examples rebuild the run's split once (seconds for CIFAR-10), then any pair is instant.
While the run trains, the weights are those of the fold that last finished an epoch,
reloaded every :data:`LIVE_REFRESH` seconds; once it is tested, the retrained best's. The
pair starts at the largest off-diagonal cell of the confusion matrix, the mistake most worth
a look; the two choosers pick any other cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Label, Select, Static, TabbedContent, TabPane

from tuidl.tui.backend import error_text

LIVE_REFRESH = 2.0


class PicturesScreen(ModalScreen[None]):
    """Weights and confusion examples of stored run ``run_id``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="pictures.close"),
        Binding("w", "show('weights')", "Weights", id="pictures.weights"),
        Binding("e", "show('examples')", "Examples", id="pictures.examples"),
    ]

    DEFAULT_CSS = """
    PicturesScreen { align: center middle; }
    PicturesScreen #pictures { width: 100%; height: 100%; background: $surface; }
    PicturesScreen #pictures-title { height: 1; text-style: bold; padding: 0 1; }
    PicturesScreen #pictures-tabs { height: 1fr; }
    PicturesScreen #pictures-tabs ContentSwitcher { height: 1fr; }
    PicturesScreen TabPane { height: 1fr; padding: 0; }
    PicturesScreen #pair { height: 3; }
    PicturesScreen #pair Label { padding: 1 1 0 1; }
    PicturesScreen #pair Select { width: 1fr; }
    PicturesScreen .body { height: 1fr; }
    PicturesScreen .note { color: $text-muted; padding: 0 1; }
    PicturesScreen #pictures-keys { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, run_id: str, store_path: Path, registry: Any = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.store_path = Path(store_path)
        self.registry = registry
        self.run: dict[str, Any] | None = None
        self.weights: Any = None  # run_pictures.WeightRows or the sentence why not
        self._data: Any = None  # the run's split, once the examples needed it
        self._pair: tuple[int, int] | None = None
        self._refresh: Timer | None = (
            None  # reloads a live run's weights every LIVE_REFRESH seconds
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="pictures"):
            yield Static(f"Pictures of run {self.run_id}", id="pictures-title")
            with TabbedContent(initial="weights", id="pictures-tabs"):
                with TabPane("Weights", id="weights"), VerticalScroll(classes="body"):
                    yield Static("loading…", id="weights-body", classes="note")
                with TabPane("Examples", id="examples"):
                    with Horizontal(id="pair"):
                        yield Label("true")
                        yield Select([], id="pair-true", prompt="true class", allow_blank=True)
                        yield Label("predicted")
                        yield Select([], id="pair-pred", prompt="predicted", allow_blank=True)
                    with VerticalScroll(classes="body"):
                        yield Static("loading…", id="examples-body", classes="note")
            yield Static("w weights · e examples · tab, ↑↓ scroll · esc close", id="pictures-keys")

    def on_mount(self) -> None:
        self._load()

    @property
    def color(self) -> bool:
        return not self.app.no_color

    def _width(self) -> int:
        return max(20, self.size.width - 3)  # the scroll bar and a margin

    # ---- loading ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="pictures-load", exit_on_error=False)
    def _load(self) -> None:
        from tuidl.experiment import run_pictures
        from tuidl.experiment.store import Store

        try:
            if not self.store_path.exists():
                raise FileNotFoundError(f"there is no run store at {str(self.store_path)!r}")
            with Store(self.store_path, create=False) as store:
                run = store.get_run(int(self.run_id))
                weights = run_pictures.weights(store, run)
        except Exception as exc:
            self.app.call_from_thread(self._failed, error_text(exc))
            return
        self.app.call_from_thread(self._loaded, run, weights)

    def _failed(self, message: str) -> None:
        for body in ("#weights-body", "#examples-body"):
            self.query_one(body, Static).update(Text(message))

    def _loaded(self, run: dict[str, Any], weights: Any) -> None:
        from tuidl.experiment import run_pictures

        self.run, self.weights = run, weights
        self._draw_weights()
        live = run.get("status") in ("queued", "running")
        if live and self._refresh is None:
            self._refresh = self.set_interval(LIVE_REFRESH, self._load)
        elif not live and self._refresh is not None:
            self._refresh.stop()
            self._refresh = None
        if self._pair is not None:
            return  # the examples are set up; the user's pair stays
        test = run.get("test") or {}
        names = [str(n) for n in test.get("class_names") or []]
        pair = run_pictures.biggest_confusion(test.get("confusion"))
        if pair is None:
            self.query_one("#examples-body", Static).update(
                "a multi-label run has no confusion matrix to pick examples from"
                if test.get("metrics")
                else "no confusion matrix yet: examples come from the test of the retrained best"
            )
            return
        options = [(f"{i} {n}" if n != str(i) else n, i) for i, n in enumerate(names)]
        true_sel, pred_sel = (
            self.query_one("#pair-true", Select),
            self.query_one("#pair-pred", Select),
        )
        true_sel.set_options(options)
        pred_sel.set_options(options)
        with self.prevent(Select.Changed):
            true_sel.value, pred_sel.value = pair
        self._examples(*pair)

    def _draw_weights(self) -> None:
        from tuidl import pictures

        body = self.query_one("#weights-body", Static)
        w = self.weights
        if w is None:
            return
        if isinstance(w, str):
            body.update(Text(w))
            return
        images = pictures.as_images(w.rows, w.image_shape)
        lines = pictures.grid(images, w.labels, width=self._width(), color=self.color)
        body.update(Group(Text(w.title, style="bold"), *lines))

    # ---- examples --------------------------------------------------------------------------
    @on(Select.Changed, "#pair-true, #pair-pred")
    def _pair_changed(self) -> None:
        t = self.query_one("#pair-true", Select).value
        p = self.query_one("#pair-pred", Select).value
        if isinstance(t, int) and isinstance(p, int) and (t, p) != self._pair:
            self._examples(t, p)

    def _examples(self, true: int, pred: int) -> None:
        self._pair = (true, pred)
        if self._data is None:
            self.query_one("#examples-body", Static).update(
                Text("loading the run's test rows…", style="dim")
            )
        self._load_examples(true, pred)

    @work(thread=True, exclusive=True, group="pictures-examples", exit_on_error=False)
    def _load_examples(self, true: int, pred: int) -> None:
        from tuidl.experiment import run_pictures
        from tuidl.experiment.store import Store

        assert self.run is not None
        try:
            if self._data is None:
                self._data = run_pictures.test_data(self.run, self.registry)
            with Store(self.store_path, create=False) as store:
                ex = run_pictures.examples(
                    store, self.run, true, pred, registry=self.registry, data=self._data
                )
        except Exception as exc:
            self.app.call_from_thread(
                self.query_one("#examples-body", Static).update, Text(error_text(exc))
            )
            return
        self.app.call_from_thread(self._draw_examples, true, pred, ex)

    def _draw_examples(self, true: int, pred: int, ex: Any) -> None:
        from tuidl import pictures
        from tuidl.experiment import run_pictures

        if (true, pred) != self._pair:
            return  # a newer pair was chosen meanwhile
        names = [str(n) for n in (self.run or {}).get("test", {}).get("class_names") or []]
        head = f"true {names[true]!r} predicted as {names[pred]!r}: "
        body = self.query_one("#examples-body", Static)
        if not ex.rows:
            body.update(Text(head + "no test row"))
            return
        # the pictures' labels are the test-row numbers ("row 14")
        shown = f", the first {len(ex.rows)} shown" if ex.total > len(ex.rows) else ""
        title = Text(head + f"{ex.total} test rows{shown}")
        if run_pictures.image_shape(ex.image_shape) is None:
            body.update(Group(title, Text(f"rows {ex.rows}: the dataset's rows are no images")))
            return
        images = pictures.as_images(ex.images, ex.image_shape)
        labels = [f"row {r}" for r in ex.rows]
        lines = pictures.grid(images, labels, width=self._width(), color=self.color)
        body.update(Group(title, *lines))

    # ---- actions ---------------------------------------------------------------------------
    def action_show(self, tab: str) -> None:
        self.query_one("#pictures-tabs", TabbedContent).active = tab

    def on_resize(self) -> None:
        self._draw_weights()
