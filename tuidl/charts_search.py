"""Charts of a search, shared by the CLI (``tuidl run``'s report, ``tuidl show``) and the
workbench's Search pane: where the sampled configurations lie and how fast the best grew.

- :func:`scatter_series` / :func:`draw_scatter`: every trial placed by two of its
  parameters (the classic learning rate × regularization plot), on log axes where the
  values are log-spaced (:func:`tuidl.charts.log_spaced`), marked by accuracy relative to
  the best: within 1 point, within 5 points, lower. Pruned trials (stopped early by the
  searcher: their partial mean) and diverged or failed ones (no score) get their own
  markers, so they read apart from the finished ones at a glance.
- :func:`progress_series` / :func:`draw_progress`: the best mean accuracy found so far
  against the compute spent, trial by trial in the order they were planned (the order a
  searcher proposed them). Compute is epochs (folds run × the trial's epochs) for a spec
  that trains in epochs, fits (folds run) otherwise; a pruned trial costs only the folds
  it ran.

Trials are the store's dicts or the workbench's ``TrialRow`` objects (``index``,
``params``, ``fold_scores``, ``mean``, ``status``). The functions never raise on partial
data: the series functions return ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tuidl.charts import _field, _is_number, log_spaced

PREFERRED_AXES = ("lr", "reg")
"""Parameter names drawn first when a search varies them: the classic lr × reg plot."""

# (label, marker, colour) per group; diverged/failed get an x, pruned a hollow dot
GROUPS = (
    ("≤ 1 pt from best", "●", "green"),
    ("≤ 5 pts", "●", "yellow"),
    ("lower", "●", "red"),
    ("pruned", "○", "gray"),
    ("diverged/failed", "x", "magenta"),
)


def numeric_keys(trials: Sequence[Any], keys: Sequence[str] = ()) -> list[str]:
    """The numeric parameters whose values vary across ``trials``, in drawing order:
    ``lr`` and ``reg`` first (by the last part of the dotted key), then in ``keys`` order
    (the spec's), then alphabetically."""
    values: dict[str, set[float]] = {}
    for t in trials:
        for k, v in (_field(t, "params") or {}).items():
            if _is_number(v):
                values.setdefault(k, set()).add(float(v))
    varying = [k for k, vs in values.items() if len(vs) > 1]
    order = {k: i for i, k in enumerate(keys)}

    def rank(k: str) -> tuple[int, int, str]:
        last = k.rsplit(".", 1)[-1]
        pref = PREFERRED_AXES.index(last) if last in PREFERRED_AXES else len(PREFERRED_AXES)
        return (pref, order.get(k, len(order)), k)

    return sorted(varying, key=rank)


def search_axes(trials: Sequence[Any], keys: Sequence[str] = ()) -> tuple[str, str] | None:
    """The two parameters drawn by default: the first two :func:`numeric_keys`; ``None``
    with fewer than two."""
    varying = numeric_keys(trials, keys)
    return (varying[0], varying[1]) if len(varying) >= 2 else None


def axis_pairs(trials: Sequence[Any], keys: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Every pair of :func:`numeric_keys`, the default pair first (what the workbench's
    Search pane cycles through)."""
    varying = numeric_keys(trials, keys)
    return [(a, b) for i, a in enumerate(varying) for b in varying[i + 1 :]]


def check_axes(trials: Sequence[Any], axes: Sequence[str], keys: Sequence[str] = ()) -> str:
    """``""`` when ``axes`` names two numeric parameters that vary in ``trials``, else why
    not (for a one-line error naming the choices)."""
    varying = numeric_keys(trials, keys)
    bad = [a for a in axes if a not in varying]
    if len(axes) != 2 or bad:
        what = f"{', '.join(bad)} is not" if bad else "give exactly two keys,"
        choices = ", ".join(varying) or "none: fewer than two numeric parameters vary"
        return f"{what} a numeric parameter that varies in this run; choose from: {choices}"
    return ""


def _score(t: Any) -> float | None:
    mean = _field(t, "mean")
    if _is_number(mean):
        return float(mean)
    good = [s for s in (_field(t, "fold_scores") or []) if _is_number(s)]
    return sum(good) / len(good) if good else None


def scatter_series(
    trials: Sequence[Any], keys: Sequence[str] = (), axes: tuple[str, str] | None = None
):
    """``(xkey, ykey, groups, xlog, ylog)`` for :func:`draw_scatter`, or ``None`` when fewer
    than two numeric parameters vary. ``groups``: ``[(label, marker, colour, xs, ys)]`` in
    :data:`GROUPS` order, empty groups left out. ``axes`` picks the two parameters (else
    :func:`search_axes`)."""
    axes = axes or search_axes(trials, keys)
    if axes is None:
        return None
    xkey, ykey = axes
    placed = []
    for t in trials:
        p = _field(t, "params") or {}
        x, y = p.get(xkey), p.get(ykey)
        if _is_number(x) and _is_number(y):
            placed.append((t, float(x), float(y)))
    if not placed:
        return None
    ok = [_score(t) for t, _, _ in placed if _field(t, "status") == "ok"]
    best = max((s for s in ok if s is not None), default=None)
    points: dict[str, tuple[list[float], list[float]]] = {g[0]: ([], []) for g in GROUPS}
    for t, x, y in placed:
        status, score = _field(t, "status"), _score(t)
        if status == "pruned":
            group = "pruned"
        elif status in ("diverged", "failed"):
            group = "diverged/failed"
        elif status != "ok" or score is None or best is None:
            continue  # pending or running: not placed yet
        elif best - score <= 0.01:
            group = GROUPS[0][0]
        elif best - score <= 0.05:
            group = GROUPS[1][0]
        else:
            group = GROUPS[2][0]
        points[group][0].append(x)
        points[group][1].append(y)
    groups = [(label, m, c, *points[label]) for label, m, c in GROUPS if points[label][0]]
    xs = [x for _, x, _ in placed]
    ys = [y for _, _, y in placed]
    return xkey, ykey, groups, log_spaced(sorted(set(xs))), log_spaced(sorted(set(ys)))


def draw_scatter(
    plt,
    xkey: str,
    ykey: str,
    groups: Sequence[tuple[str, str, str, Sequence[float], Sequence[float]]],
    xlog: bool = False,
    ylog: bool = False,
    title: str = "",
) -> None:
    """The sampled configurations over ``xkey`` × ``ykey`` (see :func:`scatter_series`)."""
    plt.clear_figure()
    plt.title(title or f"configurations tried: {xkey} × {ykey}")
    plt.xlabel(xkey + (" (log)" if xlog else ""))
    plt.ylabel(ykey + (" (log)" if ylog else ""))
    for label, marker, color, xs, ys in groups:
        plt.scatter(list(xs), list(ys), marker=marker, color=color, label=label)
    if not any(g[3] for g in groups):
        return  # nothing placed yet: plotext cannot put an empty plot on log axes
    if xlog:
        plt.xscale("log")
    if ylog:
        plt.yscale("log")


def _epochs(t: Any, spec: Mapping[str, Any]) -> float | None:
    p = _field(t, "params") or {}
    e = p.get("training.epochs", (spec.get("training") or {}).get("epochs"))
    return float(e) if _is_number(e) else None


def progress_series(trials: Sequence[Any], spec: Mapping[str, Any]):
    """``(compute, best_so_far, unit, pruned_compute)`` for :func:`draw_progress`, or
    ``None`` before any trial finished ok. ``compute[i]``: the epochs (or fits) spent up to
    and including the i-th finished-or-stopped trial in plan order; ``best_so_far[i]``:
    the best mean of the ok trials among them (``nan`` before the first);
    ``pruned_compute``: where the pruned trials stopped."""
    in_epochs = any(_epochs(t, spec) for t in trials)
    unit = "epochs" if in_epochs else "fits"
    spent, best = 0.0, -math.inf
    xs: list[float] = []
    ys: list[float] = []
    pruned: list[float] = []
    ordered = sorted(trials, key=lambda t: _field(t, "index"))
    for t in ordered:
        status = _field(t, "status")
        if status not in ("ok", "pruned", "diverged", "failed"):
            continue
        folds = sum(1 for s in (_field(t, "fold_scores") or []) if s is not None)
        folds = max(folds, 1)  # a diverged fold has no score but cost its training
        spent += folds * ((_epochs(t, spec) or 1.0) if in_epochs else 1.0)
        score = _score(t)
        if status == "ok" and score is not None:
            best = max(best, score)
        if status == "pruned":
            pruned.append(spent)
        xs.append(spent)
        ys.append(best if best > -math.inf else math.nan)
    if not any(math.isfinite(y) for y in ys):
        return None
    return xs, ys, unit, pruned


def draw_progress(
    plt,
    compute: Sequence[float],
    best: Sequence[float],
    unit: str,
    pruned: Sequence[float] = (),
    title: str = "",
) -> None:
    """The best accuracy found against compute spent (see :func:`progress_series`)."""
    plt.clear_figure()
    plt.title(title or f"best accuracy found vs {unit} spent")
    plt.xlabel(f"{unit} spent")
    plt.ylabel("best mean accuracy")
    pts = [(x, y) for x, y in zip(compute, best, strict=False) if math.isfinite(y)]
    if not pts:
        return
    sx, sy = [pts[0][0]], [pts[0][1]]
    for x, y in pts[1:]:  # a step: the best only changes when a trial finishes
        sx += [x, x]
        sy += [sy[-1], y]
    plt.plot(sx, sy, marker="braille", label="best so far")
    by_x = dict(pts)
    marks = [(x, by_x[x]) for x in pruned if x in by_x]
    if marks:
        plt.scatter([x for x, _ in marks], [y for _, y in marks], marker="○", label="pruned")
    lo = min(y for _, y in pts)
    hi = max(y for _, y in pts)
    if hi > lo:
        plt.ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))


def legend_line(series: Any) -> str:
    """A one-line summary of the scatter groups, for text views: ``● ≤ 1 pt from best: 3
    · ○ pruned: 2``."""
    if series is None:
        return ""
    return " · ".join(f"{m} {label}: {len(xs)}" for label, m, _, xs, _ in series[2])


__all__ = [
    "GROUPS",
    "axis_pairs",
    "check_axes",
    "draw_progress",
    "draw_scatter",
    "legend_line",
    "numeric_keys",
    "progress_series",
    "scatter_series",
    "search_axes",
]
