"""The footer: one line with the keys that work where the focus is, the focused pane's first.

Textual's own ``Footer`` rebuilds itself (a widget per key, each styled through the whole
CSS machinery) after every focus change, whether or not the keys changed; on a tab switch
that was a fifth of the main thread's time and a second repaint after the first. This one
draws a single line of text and repaints only when the set of keys it shows changes.

What it shows is what ``Footer`` shows, in the same order: the screen's active bindings with
``show=True``, one per action (the focused widget's first, then its containers', then the
app's), dimmed when the action is disabled, and the command palette's key on the right.
A click on a key presses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from textual import events
from textual.content import Content
from textual.style import Style
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen


DIM = Style(dim=True)
NO_STYLE = Style()


class FooterEntry(NamedTuple):
    key: str  # the key to press (the binding's first key)
    display: str  # how the key is shown, e.g. ^r
    description: str
    enabled: bool


class KeyFooter(Widget, can_focus=False):
    """``KeyFooter()``: docked at the bottom of a screen; keeps itself up to date."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-footer--key", "key-footer--description"}

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None, show_command_palette: bool = True) -> None:
        super().__init__(id=id)
        self.show_command_palette = show_command_palette
        self.entries: tuple[FooterEntry, ...] = ()
        self.palette: FooterEntry | None = None
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of what was drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen or not self.app.app_focus:
            return
        entries, palette = self._collect()
        if (entries, palette) != (self.entries, self.palette):
            self.entries, self.palette = entries, palette
            self.refresh()

    def _collect(self) -> tuple[tuple[FooterEntry, ...], FooterEntry | None]:
        active = self.screen.active_bindings
        seen: set[str] = set()
        entries = []
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            entries.append(FooterEntry(binding.key, display, binding.description, enabled))
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, _tooltip = found
                display = self.app.get_key_display(binding)
                palette = FooterEntry(binding.key, display, binding.description, enabled)
        return tuple(entries), palette

    def render(self) -> Content:
        # Content, not a rich Text: no conversion on every repaint (this one is per tab switch)
        key_style = self.get_visual_style("key-footer--key", partial=True)
        text_style = self.get_visual_style("key-footer--description", partial=True)
        parts: list[tuple[str, Style]] = []
        spans: list[tuple[int, int, str]] = []
        at = 0
        for entry in self.entries:
            key, text = f" {entry.display} ", f"{entry.description} "
            dim = DIM if not entry.enabled else NO_STYLE
            parts += [(key, key_style + dim), (text, text_style + dim)]
            spans.append((at, at + len(key) + len(text), entry.key))
            at += len(key) + len(text)
        line = Content.assemble(*parts)
        if self.palette is not None:
            entry = self.palette
            right = Content.assemble(
                ("▏", DIM), (entry.display, key_style), (f" {entry.description} ", text_style)
            )
            width = self.size.width
            line = line.truncate(max(0, width - right.cell_length))
            line = line.pad_right(max(0, width - right.cell_length - line.cell_length))
            spans.append((line.cell_length, line.cell_length + right.cell_length, entry.key))
            line = line + right
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        entries = [*self.entries, *([self.palette] if self.palette else [])]
        for (start, end, key), entry in zip(self._spans, entries, strict=True):
            if start <= event.x < end:
                event.stop()
                if entry.enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
