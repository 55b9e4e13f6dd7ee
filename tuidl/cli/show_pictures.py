"""The pictures part of ``tuidl show RUN_ID``: the retrained best's first-layer weights
(a linear classifier's per-class templates) after the charts, and with ``--examples
TRUE,PRED`` the test images the best classified as PRED whose true class is TRUE.

Colour follows the terminal: truecolor, 256 or 16 colours (Rich reads ``COLORTERM`` and
``TERM``); a pipe, a file or ``NO_COLOR`` gets a greyscale ramp of characters instead.
"""

from __future__ import annotations

import os
from typing import Any, TextIO


def add_arguments(parser) -> None:
    parser.add_argument(
        "--examples",
        metavar="TRUE,PRED",
        help="show test images of true class TRUE predicted as PRED (names or numbers, e.g. "
        "3,5 or cat,dog; from the confusion matrix of the retrained best)",
    )
    parser.add_argument(
        "--no-weights", action="store_true", help="leave out the first-layer weight pictures"
    )


def color_system(out: TextIO) -> str | None:
    """``"truecolor"``, ``"256"``, ``"standard"``, or ``None`` for no colour (not a
    terminal, ``NO_COLOR`` set, or a terminal without colours)."""
    if not out.isatty() or os.environ.get("NO_COLOR"):
        return None
    from rich.console import Console

    system = Console(file=out).color_system
    return system if system in ("truecolor", "256", "standard") else None


def _width(out: TextIO) -> int:
    if not out.isatty():
        return 80
    return max(40, min(os.get_terminal_size(out.fileno()).columns, 120))


def write(store: Any, run: dict[str, Any], args: Any, out: TextIO) -> None:
    """Print the weight pictures (unless ``--no-charts`` or ``--no-weights``) and the
    ``--examples`` images. A bad ``--examples`` raises :class:`TuidlError`."""
    from tuidl import pictures
    from tuidl.experiment import run_pictures

    width, system = _width(out), color_system(out)
    color = system is not None
    if not (args.no_charts or getattr(args, "no_weights", False)):
        w = run_pictures.weights(store, run)
        if isinstance(w, str):
            out.write(f"\n{w}\n")
        else:
            images = pictures.as_images(w.rows, w.image_shape)
            lines = pictures.grid(images, w.labels, width=width, color=color)
            out.write(f"\n{w.title}\n{pictures.to_text(lines, color_system=system)}\n")
    if getattr(args, "examples", None):
        names = [str(n) for n in (run.get("test") or {}).get("class_names") or []]
        true, pred = run_pictures.parse_pair(args.examples, names) if names else (0, 0)
        ex = run_pictures.examples(store, run, true, pred)
        head = f"test images of true {names[true]!r} predicted as {names[pred]!r}"
        if not ex.rows:
            out.write(f"\n{head}: none among the {_num_test(run)} test rows\n")
            return
        shown = f"the first {len(ex.rows)} of {ex.total}" if ex.total > len(ex.rows) else "all"
        out.write(f"\n{head} ({shown}; labels are test-row numbers)\n")
        if run_pictures.image_shape(ex.image_shape) is None:
            out.write(f"the dataset's rows {list(ex.image_shape)} are no images: rows {ex.rows}\n")
            return
        images = pictures.as_images(ex.images, ex.image_shape)
        labels = [f"row {r}" for r in ex.rows]
        lines = pictures.grid(images, labels, width=width, color=color)
        out.write(pictures.to_text(lines, color_system=system) + "\n")


def _num_test(run: dict[str, Any]) -> int:
    return int((run.get("test") or {}).get("num_test") or 0)
