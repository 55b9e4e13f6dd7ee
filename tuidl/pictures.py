"""Small images in the terminal, shared by the CLI and the workbench: a model's first-layer
weights (a linear classifier's per-class templates, a net's first-layer features) and test
images of a confusion pair.

With colour, each cell is a half block ``▀`` whose foreground is the upper pixel and whose
background the lower one: two square pixels per cell, in any terminal, over SSH and inside
Textual, with no graphics protocol. Rich turns the RGB into 256 or 16 colours where the
terminal has no truecolor. Without colour (``NO_COLOR``, a pipe, a monochrome terminal) a
cell is one pixel drawn with a greyscale ramp of characters (:data:`RAMP`, dark to bright).

Why not a library: rich-pixels and textual-image render half blocks too (textual-image also
Kitty/Sixel, which do not pass through Textual's compositor or every SSH client), but both
take Pillow images, add Pillow as a dependency, and draw nothing under NO_COLOR; the
renderer here is the resampling and two loops below.

Every image is scaled to its own range (min → black, max → white), as the CS231n notes show
weights: a template's sign and shape matter, not its scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from tuidl.experiment.run_pictures import image_shape

RAMP = " .:-=+*#%@"
TILE = (16, 8)  # a picture's size in cells (width, height): 16 × 16 pixels with colour
SMALL_TILE = (8, 4)


def as_images(rows: Any, shape: Sequence[int]) -> np.ndarray:
    """(N, H, W, C) images in [0, 1], each scaled to its own min and max (a constant image
    is mid grey), from N rows of any shape whose size is H·W·C (raw images or flat weight
    rows in the features' order). Raises ``ValueError`` when ``shape`` is no image shape or
    the rows' size does not match it."""
    hwc = image_shape(shape)
    if hwc is None:
        raise ValueError(f"per-row shape {tuple(shape)} is not an image shape")
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), *hwc)
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    span = x.max(axis=(1, 2, 3), keepdims=True) - lo
    out = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.5)
    return np.nan_to_num(out, nan=0.5)


def _area(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights averaging each output cell's share of the input pixels: a
    box filter downscaling, pixel repetition upscaling."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    m = np.clip(overlap, 0.0, None)
    return m / m.sum(axis=1, keepdims=True)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """An (H, W, C) image resampled to (height, width, C)."""
    return np.einsum("ij,jkc,lk->ilc", _area(img.shape[0], height), img, _area(img.shape[1], width))


def _rgb(px: np.ndarray) -> tuple[int, int, int]:
    v = np.clip(np.rint(px * 255), 0, 255).astype(int)
    if len(v) == 1:
        return int(v[0]), int(v[0]), int(v[0])
    return int(v[0]), int(v[1]), int(v[2])


def picture(img: np.ndarray, tile: tuple[int, int] = TILE, *, color: bool = True) -> list[Text]:
    """One (H, W, C) image in [0, 1] as ``tile[1]`` lines of ``tile[0]`` cells."""
    w, h = tile
    lines = []
    if color:
        px = resize(img, 2 * h, w)
        for r in range(h):
            line = Text()
            for c in range(w):
                top, bottom = _rgb(px[2 * r, c]), _rgb(px[2 * r + 1, c])
                line.append("▀", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
            lines.append(line)
        return lines
    px = resize(img, h, w)
    grey = px[..., 0] if px.shape[2] == 1 else px @ np.array([0.299, 0.587, 0.114])
    idx = np.clip((grey * len(RAMP)).astype(int), 0, len(RAMP) - 1)
    return [Text("".join(RAMP[i] for i in row)) for row in idx]


def tile_for(width: int) -> tuple[int, int]:
    """The picture size for a view ``width`` columns wide: :data:`TILE` where at least two
    fit side by side, else :data:`SMALL_TILE`."""
    return TILE if width >= 2 * TILE[0] + 1 else SMALL_TILE


def grid(
    images: np.ndarray,
    labels: Sequence[str],
    *,
    width: int = 80,
    color: bool = True,
    tile: tuple[int, int] | None = None,
) -> list[Text]:
    """Pictures side by side, as many per row as fit in ``width`` columns, each with its
    label (cut to the picture's width) under it."""
    w, h = tile or tile_for(width)
    per_row = max(1, (width + 1) // (w + 1))
    out: list[Text] = []
    for start in range(0, len(images), per_row):
        pics = [picture(img, (w, h), color=color) for img in images[start : start + per_row]]
        names = list(labels[start : start + per_row])
        for r in range(h):
            out.append(Text(" ").join(p[r] for p in pics))
        out.append(Text(" ".join(str(n)[:w].center(w) for n in names).rstrip(), style="dim"))
    return out


_SYSTEMS = {"truecolor": "TRUECOLOR", "256": "EIGHT_BIT", "standard": "STANDARD"}


def to_text(lines: Sequence[Text], *, color_system: str | None) -> str:
    """The lines as a string: with ANSI colours in ``color_system`` (``"truecolor"``,
    ``"256"``, ``"standard"``: each RGB becomes the nearest colour there), or plain text
    for ``None``. (The escape codes are written here, not by a Rich console, which caches
    a style's codes for the first colour system it meets.)"""
    if color_system is None:
        return "\n".join(line.plain for line in lines)
    from rich.color import ColorSystem
    from rich.console import Console

    system = ColorSystem[_SYSTEMS[color_system]]
    console = Console(width=10_000)
    out = []
    for line in lines:
        parts = []
        for seg in line.render(console, end=""):
            style = seg.style
            codes: list[str] = []
            if style is not None:
                if style.dim:
                    codes.append("2")
                if style.color is not None:
                    codes.extend(style.color.downgrade(system).get_ansi_codes(True))
                if style.bgcolor is not None:
                    codes.extend(style.bgcolor.downgrade(system).get_ansi_codes(False))
            parts.append(f"\x1b[{';'.join(codes)}m{seg.text}\x1b[0m" if codes else seg.text)
        out.append("".join(parts))
    return "\n".join(out)
