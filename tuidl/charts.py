"""The plotext figures tuidl draws, shared by the CLI and the TUI.

Every ``draw_*`` function takes a plotext figure (``plt``): in the TUI that is a
``textual_plotext.PlotextPlot``'s ``.plt``; in the CLI, :func:`to_text` makes a fresh one and
returns the rendered string. The functions take plain lists (what the store returns), clear
the figure first, and never raise on empty or partial data: they draw a titled empty chart
so a view can call them while a run is still filling in.

Long curves are downsampled with :func:`downsample` because a plotext redraw costs tens of
milliseconds per thousand points.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

MAX_POINTS = 400
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def new_figure():
    """A standalone plotext figure (not plotext's global one), for rendering to text."""
    from plotext._figure import _figure_class

    return _figure_class()


def to_text(
    draw: Callable[..., Any], *args: Any, width: int = 80, height: int = 20, color: bool = True
) -> str:
    """Run ``draw(fig, *args)`` on a fresh figure of ``width`` × ``height`` and return the text.

    ``color=False`` strips ANSI colours (for pipes, files and monochrome terminals).
    """
    fig = new_figure()
    draw(fig, *args)
    fig.plotsize(width, height)
    text = fig.build()
    return text if color else _ANSI.sub("", text)


def downsample(xs: Sequence[float], ys: Sequence[float], max_points: int = MAX_POINTS):
    """Reduce a curve to at most ``max_points`` by averaging consecutive buckets.

    Bucket means keep the trend of a noisy minibatch loss, which is what a user reads off a
    loss chart; the first and last x of each bucket are averaged too, so the x axis stays true.
    """
    n = len(xs)
    if n <= max_points:
        return list(xs), list(ys)
    step = math.ceil(n / max_points)
    out_x, out_y = [], []
    for start in range(0, n, step):
        bx, by = xs[start : start + step], ys[start : start + step]
        out_x.append(sum(bx) / len(bx))
        out_y.append(sum(by) / len(by))
    return out_x, out_y


def _is_number(v: Any) -> TypeGuard[float]:  # an int passes too (int is a float to mypy)
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _positions(values: Sequence[Any]) -> tuple[list[float], list[str] | None]:
    """x positions for grid values: the values themselves when numeric, else 1..n with labels."""
    if values and all(_is_number(v) for v in values):
        return [float(v) for v in values], None
    return [float(i + 1) for i in range(len(values))], [_label(v) for v in values]


def _label(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _mean_std(scores: Sequence[float | None]) -> tuple[float, float] | None:
    good = [s for s in scores if s is not None and math.isfinite(s)]
    if not good:
        return None
    mean = sum(good) / len(good)
    return mean, math.sqrt(sum((s - mean) ** 2 for s in good) / len(good))


def log_spaced(values: Sequence[Any]) -> bool:
    """Whether numeric grid values read best on a log axis: all positive, spanning at least a
    decade, and spaced more evenly in log than in linear terms (1e-4, 1e-3, 1e-2 is; 1, 2, 3
    is not). Learning rates and regularization strengths are searched this way."""
    if len(values) < 2 or not all(_is_number(v) and v > 0 for v in values):
        return False
    xs = sorted(float(v) for v in values)
    if xs[-1] / xs[0] < 10:
        return False
    if len(xs) == 2:
        return True

    def unevenness(points: list[float]) -> float:
        gaps = [b - a for a, b in itertools.pairwise(points)]
        mean = sum(gaps) / len(gaps)
        return math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean if mean else 0.0

    return unevenness([math.log(x) for x in xs]) <= unevenness(xs)


def draw_cv(
    plt, values: Sequence[Any], fold_scores: Sequence[Sequence[float | None]], xlabel: str
) -> None:
    """The classic "Cross-validation on k" chart.

    ``values[i]`` is the i-th grid value and ``fold_scores[i]`` its per-fold accuracies
    (``None`` for a fold not finished or diverged). Each fold is a point; the mean is a line
    with ±std error bars, as in the CS231n notebook. Non-numeric values (component names, or
    configuration labels such as ``#3`` for a grid over several keys) are categories: their
    means are marked, not joined by a line, since there is no order between them. A numeric
    axis is logarithmic when the values are log-spaced (:func:`log_spaced`).
    """
    plt.clear_figure()
    plt.title(f"Cross-validation on {xlabel}")
    plt.xlabel(xlabel)
    plt.ylabel("accuracy")
    xs, labels = _positions(list(values))
    mx, my, me = [], [], []
    for x, scores in zip(xs, fold_scores, strict=False):
        ms = _mean_std(scores)
        if ms is not None:
            mx.append(x)
            my.append(ms[0])
            me.append(ms[1])
    # error bars, then means, then the fold points: what is drawn later stays on top
    if mx:
        plt.error(mx, my, yerr=me)
        if labels is None:
            plt.plot(mx, my, label="mean ± std")
        else:
            plt.scatter(mx, my, marker="◆", label="mean ± std")
    px, py = [], []
    for x, scores in zip(xs, fold_scores, strict=False):
        for s in scores:
            if s is not None and math.isfinite(s):
                px.append(x)
                py.append(s)
    if px:
        plt.scatter(px, py, marker="dot", label="folds")
    if labels is not None:
        plt.xlim(0.5, len(xs) + 0.5)
    if labels is not None or len(xs) <= 8:
        plt.xticks(xs, labels or [_label(v) for v in values])
    if labels is None and log_spaced(values):
        plt.xscale("log")


def _field(trial: Any, name: str) -> Any:
    # trials come as the store's dicts (CLI) or as the workbench's TrialRow objects
    return trial[name] if isinstance(trial, dict) else getattr(trial, name)


def config_label(index: int) -> str:
    """How a user reads configuration (trial) ``index`` everywhere: ``#1`` for index 0."""
    return f"#{index + 1}"


def cv_series(grid: dict[str, Sequence[Any]], trials: Sequence[Any]):
    """``(values, fold_scores, xlabel)`` for :func:`draw_cv` from a run's grid and trials
    (dicts or objects with ``index``, ``params``, ``fold_scores``, ``status``): over the grid
    value for a one-key grid, over configurations (:func:`config_label`, explained by
    :func:`config_legend`) otherwise. ``None`` for a single trial. Trials that diverged or
    failed contribute no points: their scores mean nothing. The CLI and the workbench both
    call this, so they draw the same chart."""
    if len(trials) < 2:
        return None
    keys = list(grid)
    scores = [
        list(_field(t, "fold_scores")) if _field(t, "status") in _SCORED else [] for t in trials
    ]
    if len(keys) == 1:
        values = list(grid[keys[0]])
        by_value: list[list[float | None]] = [[] for _ in values]
        for t, s in zip(trials, scores, strict=True):
            v = _field(t, "params").get(keys[0])
            if v in values:
                by_value[values.index(v)].extend(s)
        return values, by_value, keys[0]
    return [config_label(_field(t, "index")) for t in trials], scores, "configuration"


_SCORED = ("ok", "pending", "running")


def config_legend(grid: dict[str, Sequence[Any]], trials: Sequence[Any]) -> list[str]:
    """One line per configuration, ``#3  lr=0.001  reg=0.1``, explaining the labels of a CV
    chart over several grid keys; empty for a one-key grid (its axis shows the values)."""
    keys = list(grid)
    if len(keys) < 2:
        return []
    lines = []
    for t in trials:
        params = _field(t, "params")
        text = "  ".join(f"{k.rsplit('.', 1)[-1]}={_label(params.get(k))}" for k in keys)
        lines.append(f"{config_label(_field(t, 'index'))}  {text}")
    return lines


def heatmap_series(grid: dict[str, Sequence[Any]], trials: Sequence[Any]):
    """``(xvalues, yvalues, means, xlabel, ylabel)`` for :func:`draw_heatmap` when the grid
    has exactly two keys (y: the first, x: the second), else ``None``. Cells are placed by
    each trial's params, so the order trials were run in does not matter."""
    keys = list(grid)
    if len(keys) != 2:
        return None
    ys, xs = list(grid[keys[0]]), list(grid[keys[1]])
    means: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for t in trials:
        params, mean = _field(t, "params"), _field(t, "mean")
        a, b = params.get(keys[0]), params.get(keys[1])
        if a in ys and b in xs and mean is not None:
            means[ys.index(a)][xs.index(b)] = mean
    return xs, ys, means, keys[1], keys[0]


def draw_loss(plt, iterations: Sequence[float], losses: Sequence[float]) -> None:
    """Training loss per iteration (downsampled)."""
    plt.clear_figure()
    _loss(plt, iterations, losses)


def _loss(plt, iterations: Sequence[float], losses: Sequence[float]) -> None:
    plt.title("training loss")
    plt.xlabel("iteration")
    pairs = [(i, v) for i, v in zip(iterations, losses, strict=False) if math.isfinite(v)]
    if pairs:
        xs, ys = downsample([p[0] for p in pairs], [p[1] for p in pairs])
        plt.plot(xs, ys, marker="braille")


def draw_accuracy(
    plt,
    epochs: Sequence[float],
    train_acc: Sequence[float],
    val_acc: Sequence[float | None],
    lr: Sequence[float | None] | None = None,
) -> None:
    """Train and validation accuracy per epoch with the train − val gap shaded between
    them, and the learning rate per epoch (``lr``, aligned with ``epochs``) on the right
    axis when it changes; the title says the last gap and the lr (:func:`fit_summary`).
    Over-fitting reads as a widening band, under-fitting as two low curves with none."""
    plt.clear_figure()
    _accuracy(plt, epochs, train_acc, val_acc, lr)


def _finite(v: Any) -> TypeGuard[float]:
    return v is not None and _is_number(v)


def fit_gap(train_acc: Sequence[float], val_acc: Sequence[float | None]) -> list[float | None]:
    """``train − val`` per epoch (``None`` where either is missing): the generalization gap.
    A gap that keeps growing while val stalls is over-fitting; both low with no gap is
    under-fitting."""
    return [
        t - v if _finite(t) and _finite(v) else None
        for t, v in zip(train_acc, val_acc, strict=False)
    ]


def fit_summary(
    train_acc: Sequence[float], val_acc: Sequence[float | None], lr: Sequence[float | None] = ()
) -> str:
    """The accuracy chart's title line: the last epoch's gap and, when it stayed constant,
    the learning rate, e.g. ``gap 0.12 · lr 0.001`` (a changing one has the right axis).
    Empty when there is nothing to say."""
    parts = []
    gaps = [g for g in fit_gap(train_acc, val_acc) if g is not None]
    if gaps:
        parts.append(f"gap {gaps[-1]:.2f}")
    rates = {r for r in (lr or ()) if _finite(r)}
    if len(rates) == 1:
        parts.append(f"lr {rates.pop():.2g}")
    return " · ".join(parts)


_BAND_COLUMNS = 160  # vertical strokes of the shaded gap: more than a chart has columns


def _band(
    epochs: Sequence[float], train_acc: Sequence[float], val_acc: Sequence[float | None]
) -> tuple[list[float], list[float]] | None:
    """The region between the train and val curves as one zig-zag line (val, train, train,
    val, ...) through closely spaced vertical strokes, which plotext draws as a shaded band
    (it has no fill between two curves). ``None`` with fewer than two epochs with both."""
    import numpy as np

    both = [
        (float(e), float(t), float(v))
        for e, t, v in zip(epochs, train_acc, val_acc, strict=False)
        if _finite(t) and _finite(v) and _finite(e)
    ]
    if len(both) < 2 or both[-1][0] <= both[0][0]:
        return None
    e, t, v = (np.array(c) for c in zip(*both, strict=True))
    xs = np.linspace(e[0], e[-1], _BAND_COLUMNS)
    lo, hi = np.interp(xs, e, v), np.interp(xs, e, t)
    up = (np.arange(_BAND_COLUMNS) % 2 == 0)[:, None]
    ys = np.where(up, np.stack([lo, hi], 1), np.stack([hi, lo], 1)).ravel()
    return np.repeat(xs, 2).tolist(), ys.tolist()


def _accuracy(
    plt,
    epochs: Sequence[float],
    train_acc: Sequence[float],
    val_acc: Sequence[float | None],
    lr: Sequence[float | None] | None = None,
) -> None:
    summary = fit_summary(train_acc, val_acc, lr or ())
    # short, so it fits half of an 80-column terminal (plotext drops a title too long)
    plt.title(f"accuracy · {summary}" if summary else "accuracy per epoch")
    plt.xlabel("epoch")
    if not epochs:
        return
    band = _band(epochs, train_acc, val_acc)
    if band is not None:
        # drawn first, so the accuracy lines stay on top; its own fill character keeps it
        # apart without colour (NO_COLOR, pipes)
        plt.plot(*band, label="gap train−val", marker="░")
    plt.plot(list(epochs), list(train_acc), label="train", marker="braille")
    pairs = [(e, v) for e, v in zip(epochs, val_acc, strict=False) if v is not None]
    if pairs:
        # a second marker keeps train and val apart without colour (NO_COLOR, pipes)
        plt.plot([p[0] for p in pairs], [p[1] for p in pairs], label="val", marker="•")
    rates = [(e, r) for e, r in zip(epochs, lr or (), strict=False) if _finite(r)]
    if len({r for _, r in rates}) > 1:
        # a learning rate that changes (decay) gets the right axis; a constant one is in
        # the title only, where a flat line would say no more
        plt.plot(
            [p[0] for p in rates],
            [p[1] for p in rates],
            label="lr (right axis)",
            marker="-",
            yside="right",
        )
        lo, hi = min(r for _, r in rates), max(r for _, r in rates)
        if lo > 0 and hi / lo >= 10:  # a decay over decades reads on a log axis
            plt.yscale("log", yside="right")
            ticks = [lo, math.sqrt(lo * hi), hi]
        else:
            ticks = [lo, (lo + hi) / 2, hi]
        # short labels: plotext's own print learning rates ten digits wide
        plt.yticks(ticks, [f"{t:.2g}" for t in ticks], yside="right")


def draw_curves(
    plt,
    iterations: Sequence[float],
    losses: Sequence[float],
    epochs: Sequence[float],
    train_acc: Sequence[float],
    val_acc: Sequence[float | None],
    lr: Sequence[float | None] | None = None,
) -> None:
    """Loss and accuracy (with the gap and learning rate, see :func:`draw_accuracy`) side
    by side (the CLI's view of one trial)."""
    plt.clear_figure()
    plt.subplots(1, 2)
    _loss(plt.subplot(1, 1), iterations, losses)
    _accuracy(plt.subplot(1, 2), epochs, train_acc, val_acc, lr)


HEALTH_PREFIX = "health:"  # = tuidl.engine.health.CURVE_PREFIX (charts loads no numpy)


def health_series(curves: dict[str, tuple[list, list]]) -> dict[str, dict[str, tuple]]:
    """A fold's stored health curves by statistic: ``{"update_ratio": {"W1": (steps,
    values)}, "dead": {"h1": ...}, ...}`` from its curves (``Store.curves``), whose health
    kinds are ``health:<stat>:<where>``. Empty when the run recorded none."""
    out: dict[str, dict[str, tuple]] = {}
    for kind, series in curves.items():
        if kind.startswith(HEALTH_PREFIX):
            stat, _, where = kind.removeprefix(HEALTH_PREFIX).partition(":")
            out.setdefault(stat, {})[where] = series
    return out


def health_latest(series: dict[str, dict[str, tuple]]) -> dict[str, float]:
    """The last recorded value of every statistic, keyed ``"<stat>:<where>"`` as
    :func:`tuidl.engine.health.hints` takes them."""
    latest = {}
    for stat, by_where in series.items():
        for where, (_, values) in by_where.items():
            finite = [v for v in values if v is not None]
            if finite:
                latest[f"{stat}:{where}"] = float(finite[-1])
    return latest


def draw_health(plt, series: dict[str, dict[str, tuple]], title: str = "") -> None:
    """Per-layer health of one fold: left, each weight's update/weight ratio on a log axis
    with the healthy 1e-3 marked; right, the fraction of dead ReLUs per hidden layer (or,
    for a model without hidden layers, each weight's gradient norm). Series are told apart
    by marker as well as colour."""
    plt.clear_figure()
    ratios, dead, grads = (series.get(k, {}) for k in ("update_ratio", "dead", "grad_norm"))
    if not ratios:
        plt.title(title or "health: none recorded (training.health = false, or not learnable)")
        return
    plt.subplots(1, 2)
    left = plt.subplot(1, 1)
    left.title(title or "updates / weights (healthy ~1e-3)")
    left.xlabel("iteration")
    drawn = {}
    for where, (steps, values) in ratios.items():
        pts = [(x, v) for x, v in zip(steps, values, strict=False) if _finite(v) and v > 0]
        if pts:
            drawn[where] = downsample([p[0] for p in pts], [p[1] for p in pts])
    if drawn:
        xs_all = [x for xs, _ in drawn.values() for x in xs]
        # the reference first, so a ratio sitting right on it stays visible
        left.plot([min(xs_all), max(xs_all)], [1e-3, 1e-3], label="1e-3", marker="-")
        left.yscale("log")
    for i, (where, (xs, ys)) in enumerate(drawn.items()):
        left.plot(xs, ys, label=where, marker=_OVERLAY_MARKERS[i % len(_OVERLAY_MARKERS)])
    right = plt.subplot(1, 2)
    shown, what = (dead, "dead ReLUs (fraction)") if dead else (grads, "gradient norm")
    right.title(what)
    right.xlabel("iteration")
    for i, (where, (steps, values)) in enumerate(shown.items()):
        pts = [(x, v) for x, v in zip(steps, values, strict=False) if _finite(v)]
        if pts:
            xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
            right.plot(xs, ys, label=where, marker=_OVERLAY_MARKERS[i % len(_OVERLAY_MARKERS)])
    if dead:
        right.ylim(0.0, 1.0)


_OVERLAY_MARKERS = ("braille", "•", "+", "x", "*", "o", "@", "#")


def draw_overlay(
    plt,
    series: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
    title: str,
    xlabel: str,
) -> None:
    """Several runs' curves on one chart (``tuidl compare``): ``(label, xs, ys)`` each,
    downsampled, missing points skipped; each series gets its own marker as well as its
    own colour, so they stay apart without colour."""
    plt.clear_figure()
    plt.title(title)
    plt.xlabel(xlabel)
    for i, (label, xs, ys) in enumerate(series):
        pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and math.isfinite(y)]
        if pairs:
            px, py = downsample([p[0] for p in pairs], [p[1] for p in pairs])
            plt.plot(px, py, label=label, marker=_OVERLAY_MARKERS[i % len(_OVERLAY_MARKERS)])


def _cell_color(fraction: float) -> tuple[int, int, int]:
    # dark blue -> yellow: readable on dark and light backgrounds; the numbers carry the
    # information, so monochrome terminals lose nothing but the shading.
    f = min(max(fraction, 0.0), 1.0)
    return (int(40 + 215 * f), int(60 + 180 * f), int(160 - 120 * f))


def _draw_cells(
    plt,
    matrix: Sequence[Sequence[float | None]],
    fmt: Callable[[float], str],
    scale: Callable[[int, int, float], float],
) -> None:
    rows = len(matrix)
    for r, row in enumerate(matrix):
        for c, v in enumerate(row):
            if v is None or not math.isfinite(v):
                continue
            # row 0 at the top, as tables are read
            plt.text(fmt(v), c + 1, rows - r, color=_cell_color(scale(r, c, v)), alignment="center")


def draw_heatmap(
    plt,
    xvalues: Sequence[Any],
    yvalues: Sequence[Any],
    means: Sequence[Sequence[float | None]],
    xlabel: str,
    ylabel: str,
) -> None:
    """Mean CV accuracy over a 2-D grid: ``means[i][j]`` for ``yvalues[i]``, ``xvalues[j]``."""
    plt.clear_figure()
    plt.title(f"mean CV accuracy: {ylabel} × {xlabel}")
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    flat = [v for row in means for v in row if v is not None and math.isfinite(v)]
    lo, hi = (min(flat), max(flat)) if flat else (0.0, 1.0)
    span = (hi - lo) or 1.0
    _draw_cells(plt, means, lambda v: f"{v:.3f}", lambda r, c, v: (v - lo) / span)
    _frame_cells(plt, [_label(v) for v in xvalues], [_label(v) for v in yvalues])


def draw_confusion(plt, matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> None:
    """Confusion matrix of the retrained best on the test set (rows true, columns predicted).

    Cells are shaded by the row-normalized rate, so a class with few test rows still shows
    where its errors go.
    """
    plt.clear_figure()
    plt.title("confusion matrix")
    plt.xlabel("predicted")
    plt.ylabel("true")
    sums = [sum(row) or 1 for row in matrix]
    _draw_cells(plt, matrix, lambda v: str(int(v)), lambda r, c, v: v / sums[r])
    names = [str(n)[:6] for n in class_names]
    _frame_cells(plt, names, names)


ATTRIBUTE_METRICS = ("accuracy", "f1")  # the bars; the tables show ATTRIBUTE_COLUMNS
ATTRIBUTE_COLUMNS = ("accuracy", "precision", "recall", "f1")


def attribute_rows(
    metrics: dict[str, Any] | None,
) -> tuple[list[str], list[tuple[str, dict[str, Any], str]], str] | None:
    """The table of a multi-label run's stored test metrics, for the CLI and the workbench:
    (the :data:`ATTRIBUTE_COLUMNS` the loss reported, rows of (name, metrics, positives)
    ending with the mean row, a note when the loss's metrics hook failed, else ""). None for
    a run with class labels or before the test."""
    per = (metrics or {}).get("attributes")
    if not per:
        return None
    assert metrics is not None
    cols = [c for c in ATTRIBUTE_COLUMNS if any(c in m for m in per.values())]
    rows = [(str(n), m, str(m.get("positives", "-"))) for n, m in per.items()]
    rows.append(("mean", metrics.get("mean", {}), ""))
    error = metrics.get("error")
    return cols, rows, f"{error}; only accuracy is shown" if error else ""


def attribute_series(
    metrics: dict[str, Any] | None,
) -> tuple[list[str], dict[str, list[float]]] | None:
    """What :func:`draw_attributes` takes, from a multi-label run's stored test metrics
    (``{"attributes": {name: {metric: value}}, ...}``): the names and each metric of
    :data:`ATTRIBUTE_METRICS` that every attribute has. None when there are none."""
    per = (metrics or {}).get("attributes")
    if not per:
        return None
    names = list(per)
    series = {
        k: [float(per[n].get(k) or 0.0) for n in names]
        for k in ATTRIBUTE_METRICS
        if all(k in per[n] for n in names)
    }
    return (names, series) if series else None


def draw_attributes(
    plt, names: Sequence[str], metrics: dict[str, Sequence[float]], title: str = ""
) -> None:
    """Per-attribute test metrics of a multi-label run as grouped bars, one group each.

    ``metrics`` maps a metric name (e.g. accuracy, f1) to one value in [0, 1] per name in
    ``names``; the axis is fixed to 0..1 so runs compare at a glance. This replaces the
    confusion matrix, which has no meaning for independent binary attributes.
    """
    plt.clear_figure()
    plt.title(title or "per-attribute test metrics of the retrained best")
    series = {k: [float(v or 0.0) for v in vals] for k, vals in metrics.items() if vals}
    if not names or not series:
        return
    labels = [str(n)[:12] for n in names]
    # distinct fills, so the series stay apart without colour (pipes, NO_COLOR)
    fills = ["█", "▒", "░", "▓"][: len(series)]
    plt.multiple_bar(labels, list(series.values()), labels=list(series), width=0.6, marker=fills)
    # headroom above 1 keeps the legend (drawn top left) off the bars
    plt.ylim(0.0, 1.0 + 0.12 * (len(series) + 1))
    plt.yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "0.25", "0.5", "0.75", "1"])


def _frame_cells(plt, xlabels: list[str], ylabels: list[str]) -> None:
    nx, ny = max(len(xlabels), 1), max(len(ylabels), 1)
    plt.xlim(0.5, nx + 0.5)
    plt.ylim(0.5, ny + 0.5)
    plt.xticks(list(range(1, nx + 1)), xlabels or [""])
    plt.yticks(list(range(ny, 0, -1)), ylabels or [""])
