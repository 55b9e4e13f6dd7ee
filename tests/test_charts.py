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


def test_log_spaced_values_get_a_log_axis_and_even_steps_do_not():
    assert charts.log_spaced([1e-4, 1e-3, 1e-2])
    assert charts.log_spaced([1e-7, 1e-6])  # two values a decade or more apart
    assert not charts.log_spaced([1e-7, 5e-7])
    assert charts.log_spaced([0.001, 0.003, 0.01, 0.03, 0.1])
    assert not charts.log_spaced([1, 2, 3, 4])
    assert not charts.log_spaced([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    assert not charts.log_spaced([0.0, 0.1, 1.0])  # zero has no log
    assert not charts.log_spaced(["svm", "softmax"])


def _trial(index, params, scores, status="ok"):
    return {"index": index, "params": params, "fold_scores": scores, "status": status, "mean": None}


def test_cv_series_over_several_keys_labels_configs_from_one_and_explains_them():
    grid = {"optimizer.lr": [1e-3, 1e-2], "loss.reg": [0.1, 1.0]}
    trials = [
        _trial(i, {"optimizer.lr": lr, "loss.reg": reg}, [0.5, 0.6])
        for i, (lr, reg) in enumerate([(1e-3, 0.1), (1e-3, 1.0), (1e-2, 0.1), (1e-2, 1.0)])
    ]
    trials[2]["status"] = "diverged"
    values, scores, xlabel = charts.cv_series(grid, trials)
    assert values == ["#1", "#2", "#3", "#4"] and xlabel == "configuration"
    assert scores[2] == []  # a diverged config has no points
    legend = charts.config_legend(grid, trials)
    assert legend[0] == "#1  lr=0.001  reg=0.1" and legend[3] == "#4  lr=0.01  reg=1"
    assert charts.config_legend({"model.k": [1, 3]}, trials[:2]) == []


def test_categorical_cv_chart_marks_means_without_joining_them():
    args = (["#1", "#2", "#3"], [[0.2, 0.3], [0.9, 0.8], [0.2, 0.25]], "configuration")
    text = charts.to_text(charts.draw_cv, *args, width=60, height=16, color=False)
    assert "◆" in text  # means are markers
    # a line from #1 (low) to #2 (high) would draw braille/line glyphs between them
    assert not any(ch in text for ch in "⠁⠂⠄⡀⢀⠠⠐⠈")


def test_heatmap_series_places_cells_by_params_not_by_order():
    grid = {"a": [1, 2], "b": [10, 20]}
    trials = [
        {"index": 0, "params": {"a": 2, "b": 20}, "mean": 0.9},
        {"index": 1, "params": {"a": 1, "b": 10}, "mean": 0.1},
    ]
    xs, ys, means, xlabel, ylabel = charts.heatmap_series(grid, trials)
    assert (xs, ys, xlabel, ylabel) == ([10, 20], [1, 2], "b", "a")
    assert means == [[0.1, None], [None, 0.9]]


def test_confusion_axes_say_true_and_predicted():
    text = charts.to_text(
        charts.draw_confusion, [[3, 1], [0, 4]], ["cat", "dog"], width=50, height=12, color=False
    )
    assert "predicted" in text and "true" in text


def test_train_and_val_curves_differ_without_colour():
    text = charts.to_text(
        charts.draw_accuracy,
        [1, 2, 3],
        [0.5, 0.7, 0.9],
        [0.4, 0.5, 0.6],
        width=60,
        height=14,
        color=False,
    )
    assert "•" in text  # val's marker; train is drawn in braille


EPOCHS = [1, 2, 3, 4, 5, 6]
TRAIN = [0.4, 0.6, 0.75, 0.85, 0.92, 0.97]
VAL = [0.38, 0.5, 0.55, 0.56, 0.55, 0.54]


def test_gap_is_shaded_between_the_curves_and_named_in_the_title():
    text = charts.to_text(
        charts.draw_accuracy, EPOCHS, TRAIN, VAL, [1e-3] * 6, width=70, height=18, color=False
    )
    assert "gap train−val" in text  # the legend names the band
    assert text.count("░") > 40  # a shaded band, not a line
    # over-fitting reads off the title: the last gap, and the constant lr
    assert "gap 0.43" in text and "lr 0.001" in text
    # the band lies between the curves: none of it below val (late epochs, low rows)
    rows = [r for r in text.splitlines() if r[:4].strip().replace(".", "").isdigit()]
    assert "░" not in rows[-1]
    assert "░" not in rows[-2][len(rows[-2]) // 2 :]


def test_a_changing_learning_rate_gets_the_right_axis():
    lr = [1e-3 * 0.5**i for i in range(6)]
    text = charts.to_text(
        charts.draw_accuracy, EPOCHS, TRAIN, VAL, lr, width=70, height=18, color=False
    )
    assert "lr (right axis)" in text
    assert "0.001" in text and "3.1e-05" in text  # short right-axis labels, log-spaced
    assert "lr 0.001" not in text  # the title leaves a changing lr to the axis


def test_gap_and_lr_are_optional_and_partial_data_draws():
    # old callers (no lr), one epoch (no band), missing val values (holdout not yet scored)
    assert "gap" not in charts.to_text(
        charts.draw_accuracy, [1], [0.5], [None], width=40, height=10, color=False
    )
    text = charts.to_text(
        charts.draw_curves,
        [0, 1, 2],
        [2.0, 1.5, 1.2],
        [1, 2, 3],
        [0.5, 0.7, 0.9],
        [0.4, None, 0.6],
        [None, None, None],
        width=80,
        height=14,
        color=False,
    )
    assert "accuracy · gap 0.30" in text


def test_fit_gap_and_summary():
    assert charts.fit_gap([0.9, 0.8], [0.7, None]) == pytest.approx([0.2, None])
    assert charts.fit_summary([0.9], [0.7], [0.01, 0.01]) == "gap 0.20 · lr 0.01"
    assert charts.fit_summary([0.9], [None], [0.01, 0.005]) == ""
