"""The shared plotext figures: they render real data, partial data and empty data."""

import math

import pytest

from tuidl import charts


def test_cv_chart_shows_points_mean_and_labels():
    text = charts.to_text(
        charts.draw_cv,
        [1, 3, 5],
        [[0.25, 0.27, 0.26], [0.24, None, 0.25], [0.30, 0.28, 0.29]],
        "k",
        width=70,
        height=18,
        color=False,
    )
    assert "Cross-validation on k" in text
    assert "•" in text  # fold points
    assert "\x1b[" not in text  # colour stripped on request
    assert "0.30" in text or "0.29" in text  # y axis spans the scores


def test_cv_chart_for_non_numeric_values_uses_labels():
    text = charts.to_text(
        charts.draw_cv,
        ["svm", "softmax"],
        [[0.3], [0.4]],
        "loss.name",
        width=60,
        height=12,
        color=False,
    )
    assert "svm" in text and "softmax" in text


@pytest.mark.parametrize(
    "draw,args",
    [
        (charts.draw_cv, ([], [], "k")),
        (charts.draw_loss, ([], [])),
        (charts.draw_accuracy, ([], [], [])),
        (charts.draw_heatmap, ([], [], [], "lr", "reg")),
        (charts.draw_confusion, ([], [])),
        (charts.draw_curves, ([], [], [], [], [])),
    ],
)
def test_empty_data_draws_without_error(draw, args):
    assert charts.to_text(draw, *args, width=40, height=10, color=False)


def test_heatmap_and_confusion_print_their_numbers():
    heat = charts.to_text(
        charts.draw_heatmap,
        [1e-7, 5e-7],
        [2.5e4, 5e4],
        [[0.381, 0.392], [0.377, None]],
        "lr",
        "reg",
        width=60,
        height=12,
        color=False,
    )
    for cell in ("0.381", "0.392", "0.377"):
        assert cell in heat
    conf = charts.to_text(
        charts.draw_confusion,
        [[5, 1], [2, 7]],
        ["cat", "dog"],
        width=40,
        height=10,
        color=False,
    )
    assert "cat" in conf and "dog" in conf and "7" in conf


def test_downsample_bounds_points_and_keeps_the_trend():
    xs = list(range(10_000))
    ys = [math.exp(-x / 3000) for x in xs]
    dx, dy = charts.downsample(xs, ys, max_points=200)
    assert len(dx) <= 200
    assert dx[0] < 50 and dx[-1] > 9_900
    assert dy == sorted(dy, reverse=True)
    assert charts.downsample([1, 2], [3, 4]) == ([1, 2], [3, 4])
