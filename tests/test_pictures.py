"""The terminal picture renderer: half blocks in colour, a character ramp without."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tuidl import pictures

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def test_images_are_scaled_each_to_its_own_range():
    rows = np.array([[0.0, 2.0, 4.0, 4.0], [-1.0, -1.0, -1.0, -1.0]])
    imgs = pictures.as_images(rows, (2, 2))
    assert imgs.shape == (2, 2, 2, 1)
    assert imgs[0].ravel().tolist() == [0.0, 0.5, 1.0, 1.0]
    assert imgs[1].ravel().tolist() == [0.5] * 4  # a constant image is mid grey
    assert pictures.as_images(np.zeros((1, 12)), (2, 2, 3)).shape == (1, 2, 2, 3)
    with pytest.raises(ValueError, match="not an image shape"):
        pictures.as_images(np.zeros((1, 10)), (10,))


def test_resize_repeats_pixels_up_and_averages_them_down():
    img = np.arange(4.0).reshape(2, 2, 1)
    up = pictures.resize(img, 4, 4)[..., 0]
    assert up[:2, :2].tolist() == [[0, 0], [0, 0]] and up[3, 3] == 3
    down = pictures.resize(img, 1, 1)
    assert down.item() == pytest.approx(1.5)


def test_colour_cells_are_half_blocks_of_two_pixels():
    img = np.zeros((2, 1, 1))
    img[0] = 1.0  # white on top, black below
    (line,) = pictures.picture(img, (1, 1), color=True)
    assert line.plain == "▀"
    text = pictures.to_text([line], color_system="truecolor")
    assert "38;2;255;255;255" in text and "48;2;0;0;0" in text


def test_without_colour_a_ramp_of_characters_draws_the_picture():
    ramp = np.linspace(0, 1, 10).reshape(1, 10, 1)
    (line,) = pictures.picture(ramp, (10, 1), color=False)
    assert line.plain == pictures.RAMP
    assert line.spans == [] and not line.style  # no colour at all


@pytest.mark.parametrize(
    "system,pattern",
    [
        ("truecolor", r"^(0|2|38;2;\d+;\d+;\d+;48;2;\d+;\d+;\d+)$"),
        ("256", r"^(0|2|38;5;\d+;48;5;\d+)$"),
        ("standard", r"^(0|2|(3[0-7]|9[0-7]);(4[0-7]|10[0-7]))$"),
    ],
)
def test_each_colour_system_gets_its_own_codes(system, pattern):
    rng = np.random.default_rng(0)
    lines = pictures.grid(rng.random((2, 8, 8, 3)), ["a", "b"], width=80, color=True)
    text = pictures.to_text(lines, color_system=system)
    codes = set(SGR.findall(text))
    assert codes and all(re.match(pattern, c) for c in codes), codes


def test_a_grid_fits_80_columns_with_labels_under_the_pictures():
    imgs = np.random.default_rng(1).random((10, 32, 32, 3))
    lines = pictures.grid(imgs, [f"class {i}" for i in range(10)], width=80, color=False)
    text = pictures.to_text(lines, color_system=None)
    assert all(len(line) <= 80 for line in text.splitlines())
    # four 16-cell pictures a row: 3 rows of 8 lines and a label line each
    assert len(lines) == 3 * 9
    assert "class 0" in lines[8].plain and "class 3" in lines[8].plain
    narrow = pictures.grid(imgs[:2], ["a", "b"], width=20, color=False)
    assert pictures.tile_for(20) == pictures.SMALL_TILE and len(narrow[0].plain) == 17
