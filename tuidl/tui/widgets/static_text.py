"""Updating a Static without a relayout of the whole screen when its box stays the same.

``Static.update`` asks for a layout by default, and a layout in Textual is the whole screen's:
every widget arranged again and every line repainted. The Run tab's status and ETA lines
change on every poll of a run (twice a second), so that was a full relayout and repaint each
time, on whichever tab was shown. :func:`set_text` skips an unchanged text, leaves the layout
to the next showing of a hidden widget, and repaints in place when the old and the new text
are both one line that fits the box as it is.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static


def set_text(static: Static, content: str | Text) -> None:
    """Show ``content`` (a str, read as markup by default, or a rich Text) in ``static``."""
    old = static.content
    if type(old) is type(content) and old == content:
        return
    if not all(node.display for node in static.ancestors_with_self if isinstance(node, Widget)):
        static.update(content, layout=False)  # hidden: laid out when its tab or pane shows
        return
    region = static.content_region
    width = region.width
    same_box = region.height == 1 and all(
        (length := _one_line(text)) is not None and length <= width for text in (old, content)
    )
    static.update(content, layout=not same_box)


def _one_line(text: object) -> int | None:
    """The cells of ``text`` if it is one line (markup counted too: never less than shown)."""
    if isinstance(text, Text):
        plain = text.plain
    elif isinstance(text, str):
        plain = text
    else:
        return None
    return None if "\n" in plain else cell_len(plain)
