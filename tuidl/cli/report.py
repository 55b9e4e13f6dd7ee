"""Text and chart shaping for stored runs, shared by ``tuidl run``, ``tuidl show``,
``tuidl runs`` and the TUI.

Everything takes the plain dicts :class:`tuidl.experiment.store.Store` returns
(``get_run``, ``list_runs``, ``curves``). The chart helpers return the data each
:mod:`tuidl.charts` function takes (:func:`curve_args`; the CV and heatmap data come from
:func:`tuidl.charts.cv_series` and :func:`tuidl.charts.heatmap_series`, which the workbench
calls too, so both draw the same charts); :func:`charts_text` renders them for a
terminal. plotext is imported only when a chart is drawn.
"""

from __future__ import annotations

import math
import time
from typing import Any


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ",".join(fmt_value(x) for x in v) + "]"
    return str(v)


def fmt_acc(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    if s < 10:
        return f"{s:.1f}s"
    s = round(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def grid_keys(run: dict[str, Any]) -> list[str]:
    """The columns of the params: grid keys, searched keys, a rung's epochs."""
    from tuidl.experiment.space import searched_keys

    return searched_keys(run["spec"], [t["params"] for t in run.get("trials", [])])


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def vs_best(run: dict[str, Any]) -> dict[int, str]:
    """``{trial: "≈" | "<"}``: not significantly worse than the best, or worse (see
    :mod:`tuidl.experiment.ranking`); trials without a test are left out."""
    from tuidl.experiment.ranking import NEAR_MARK, for_run

    comps = for_run(run["spec"], run["trials"])
    return {i: NEAR_MARK if c.near_best else "<" for i, c in comps.items() if c.p is not None}


def results_table(run: dict[str, Any]) -> str:
    """One row per trial: its grid values, mean ± std, whether it is worse than the best
    (``≈``: not significantly, ``<``: yes), fold scores, train accuracy, fit seconds and
    status; the best trial is marked with ``*``, the tested one (when ``cv.select``
    picked another) with ``>``."""
    keys = grid_keys(run)
    best = run.get("best")
    best_index = best["trial"] if best else None
    tested = (run.get("test") or {}).get("best_trial")
    marks = vs_best(run)
    headers = ["", "#", *keys, "mean ± std", "vs best", "folds", "train", "fit", "status"]
    rows = []
    for t in run["trials"]:
        mean = (
            f"{t['mean']:.4f} ± {t['std']:.4f}"
            if t["mean"] is not None and t["std"] is not None
            else "-"
        )
        folds = " ".join(fmt_acc(s) for s in t["fold_scores"])
        status = t["status"] if not t["message"] else f"{t['status']}: {t['message']}"
        rows.append(
            [
                "*" if t["index"] == best_index else (">" if t["index"] == tested else ""),
                str(t["index"] + 1),
                *(fmt_value(t["params"].get(k)) for k in keys),
                mean,
                marks.get(t["index"], ""),
                folds,
                fmt_acc(t["train_acc"]),
                fmt_seconds(t["fit_seconds"]),
                status,
            ]
        )
    right = {1, 2 + len(keys), *range(4 + len(keys), 7 + len(keys))}
    return _table(headers, rows, right)


def best_text(run: dict[str, Any]) -> str:
    """The best trial and the retrained best's test accuracy, in a few lines."""
    from tuidl.charts import config_label

    lines = []
    best = run.get("best")
    if best is None:
        lines.append("best: none yet (no trial finished ok)")
    else:
        params = ", ".join(f"{k} = {fmt_value(v)}" for k, v in best["params"].items())
        lines.append(
            f"best: config {config_label(best['trial'])}"
            + (f" ({params})" if params else "")
            + f", mean CV accuracy {best['mean']:.4f} ± {best['std']:.4f}"
        )
    marks = vs_best(run)
    near = sum(1 for m in marks.values() if m != "<")
    if best is not None and len(marks) > 1:
        kfold = run["spec"].get("cv", {}).get("method") == "kfold"
        how = (
            "corrected resampled t-test, which allows for the folds' shared training rows"
            if kfold
            else "binomial test on the validation rows"
        )
        lines.append(
            f"≈ best: {near} of {len(marks)} configs are not significantly worse than the "
            f"best ({how}, one-sided at 0.05)"
        )
    test = run.get("test")
    tested = (test or {}).get("best_trial")
    if best is not None and tested is not None and tested != best["trial"]:
        select = run["spec"].get("cv", {}).get("select", "best")
        lines.append(
            f"tested: config {config_label(tested)} (cv.select = {select}: the simplest "
            "config within one corrected standard error of the best)"
        )
    what = "the retrained best"
    if tested is not None:
        from tuidl.experiment.refit import stored_mode

        who = "best" if best is not None and tested == best["trial"] else "selected"
        if stored_mode(run["spec"]) == "reuse":
            what = f"the {who} config's holdout model (reused, no second training)"
        else:
            what = f"the retrained {who} config"
    if test is not None and test["test_accuracy"] is not None:
        lines.append(
            f"test accuracy of {what}: {test['test_accuracy']:.4f} on {test['num_test']} test rows"
        )
    elif test is not None:
        lines.append("test accuracy: no test rows (split.num_test = 0)")
    table = attribute_table(run)
    if table:
        lines.append("per-attribute test metrics of the retrained best:")
        lines.append(table)
    return "\n".join(lines)


def attribute_table(run: dict[str, Any]) -> str | None:
    """The multi-label test metrics as a table: one row per attribute (the metrics the
    loss reported, then positives in the test rows), a mean row, and the note when the
    loss's metrics hook failed; None for a run with class labels or no test yet."""
    from tuidl.charts import attribute_rows

    shaped = attribute_rows((run.get("test") or {}).get("metrics"))
    if shaped is None:
        return None
    cols, rows, note = shaped
    headers = ["attribute", *cols, "positives"]
    cells = [[name, *(fmt_acc(m.get(c)) for c in cols), pos] for name, m, pos in rows]
    table = _table(headers, cells, set(range(1, len(headers))))
    return f"{table}\n({note})" if note else table


def run_header(run: dict[str, Any]) -> str:
    spec = run["spec"]
    cv = spec.get("cv", {})
    scheme = f"{cv.get('folds')}-fold CV" if cv.get("method") == "kfold" else "holdout"
    name = f" {run['name']!r}" if run.get("name") else ""
    text = (
        f"run {run['id']}{name}: {spec['model']['name']} on {spec['dataset']['name']}, "
        f"{scheme}, {len(run['trials'])} trial(s), seed {run['seed']}, status {run['status']}"
    )
    if run.get("tags"):
        text += "\ntags: " + " ".join(f"#{t}" for t in run["tags"])
    if run.get("note"):
        text += f"\nnote: {run['note']}"
    if run.get("message"):
        text += f"\n{run['message']}"
    return text


def runs_table(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs stored yet; start one with `tuidl run SPEC`"
    headers = ["id", "status", "created", "dataset", "model", "grid", "folds done", "best", "test"]
    # the run's name (its spec's, or `tuidl runs name`) and #tags, when any run has one
    labelled = any(r.get("name") or r.get("tags") for r in runs)
    rows = []
    for r in runs:
        total = (r["num_trials"] or 0) * (r["num_folds"] or 0)
        rows.append(
            [
                str(r["id"]),
                r["status"],
                time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"])),
                r["dataset"],
                r["model"],
                ",".join(r["grid"]) or "-",
                f"{r['folds_done']}/{total}" if total else "-",
                fmt_acc(r["best_mean"]),
                fmt_acc(r["test_accuracy"]),
            ]
        )
        if labelled:
            tags = " ".join(f"#{t}" for t in r.get("tags") or [])
            rows[-1].append(" ".join(x for x in (r.get("name") or "", tags) if x) or "-")
    return _table([*headers, "name"] if labelled else headers, rows, {0, 6, 7, 8})


# -- chart data ------------------------------------------------------------------------------


def curve_args(curves: dict[str, tuple[list, list]]):
    """``(iterations, losses, epochs, train_acc, val_acc, lr)`` for
    :func:`tuidl.charts.draw_curves` from :meth:`Store.curves`; ``None`` without a loss."""
    if "loss" not in curves and "train_acc" not in curves:
        return None
    it, loss = curves.get("loss", ([], []))
    ep, tr = curves.get("train_acc", ([], []))
    val_steps, val = curves.get("val_acc", ([], []))
    by_epoch = dict(zip(val_steps, val, strict=True))
    lr_by_epoch = dict(zip(*curves.get("lr", ([], [])), strict=True))
    return (
        it,
        [v if v is not None else float("nan") for v in loss],
        ep,
        tr,
        [by_epoch.get(e) for e in ep],
        [lr_by_epoch.get(e) for e in ep],
    )


def best_curves(store: Any, run: dict[str, Any]) -> dict[str, tuple[list, list]]:
    """Curves of the best trial's first fold (it has validation accuracy; the final
    retrain has none)."""
    best = run.get("best")
    if best is None:
        return {}
    return store.curves(run["id"], best["trial"], 0)


def charts_text(
    store: Any,
    run: dict[str, Any],
    *,
    width: int = 80,
    height: int = 20,
    color: bool = True,
    axes: tuple[str, str] | None = None,
) -> str:
    """The CLI's charts for a run: CV result (or heatmap for 2-D grids), the best trial's
    loss and accuracy curves and per-layer health with its hints, and the test confusion
    matrix (per-attribute metrics for a multi-label run). ``axes``: the two parameters of
    the search scatter (see :func:`search_text`)."""
    from tuidl import charts

    out = []
    grid = run["spec"].get("cv", {}).get("grid", {})
    heat = charts.heatmap_series(grid, run["trials"])
    cv = charts.cv_series(grid, run["trials"])
    if heat is not None:
        out.append(
            charts.to_text(charts.draw_heatmap, *heat, width=width, height=height, color=color)
        )
    elif cv is not None:
        out.append(charts.to_text(charts.draw_cv, *cv, width=width, height=height, color=color))
        out.extend(charts.config_legend(grid, run["trials"]))
    # the heatmap already shows a two-key grid; the scatter is for searches and bigger grids
    out.extend(
        search_text(
            run,
            width=width,
            height=height,
            color=color,
            scatter=heat is None or axes is not None,
            axes=axes,
        )
    )
    raw = best_curves(store, run)
    curves = curve_args(raw)
    if curves is not None:
        out.append(
            charts.to_text(charts.draw_curves, *curves, width=width, height=height, color=color)
        )
    out.extend(health_text(raw, width=width, height=height, color=color))
    test = run.get("test")
    attrs = charts.attribute_series((test or {}).get("metrics"))
    if attrs is not None:
        out.append(
            charts.to_text(charts.draw_attributes, *attrs, width=width, height=height, color=color)
        )
    elif test and test.get("confusion"):
        out.append(
            charts.to_text(
                charts.draw_confusion,
                test["confusion"],
                test["class_names"],
                width=width,
                height=max(height, 2 * len(test["class_names"]) + 4),
                color=color,
            )
        )
    return "\n".join(out)


def parse_axes(run: dict[str, Any], text: str | None) -> tuple[str, str] | None:
    """``--axes X,Y`` as a pair, checked against the run (see :func:`check_axes`);
    ``None`` for no option."""
    if not text:
        return None
    axes = tuple(a.strip() for a in text.split(","))
    check_axes(run, axes)
    x, y = axes  # check_axes passed: exactly two
    return x, y


def check_axes(run: dict[str, Any], axes: tuple[str, ...]) -> None:
    """Raise :class:`TuidlError` unless ``axes`` names two numeric parameters that vary in
    ``run``; the message names the choices."""
    from tuidl import charts_search as cs

    why = cs.check_axes(run["trials"], axes, grid_keys(run))
    if why:
        from tuidl.errors import TuidlError

        raise TuidlError(f"--axes {','.join(axes)}: {why}")


def search_text(
    run: dict[str, Any],
    *,
    width: int = 80,
    height: int = 20,
    color: bool = True,
    scatter: bool = True,
    axes: tuple[str, str] | None = None,
) -> list[str]:
    """The search charts (:mod:`tuidl.charts_search`): the configurations tried over two
    varying parameters, marked by accuracy, with pruned and diverged trials apart; and the
    best accuracy found against compute spent. Nothing for a run with fewer than two
    numeric parameters varying (the scatter; or ``scatter=False``) or fewer than two trials
    (the progress). ``axes`` picks the scatter's two parameters (``tuidl show --axes``);
    ones that are not numeric parameters varying in the run raise :class:`TuidlError`
    naming the choices."""
    from tuidl import charts
    from tuidl import charts_search as cs

    out = []
    if axes is not None:
        check_axes(run, axes)
    series = cs.scatter_series(run["trials"], grid_keys(run), axes) if scatter else None
    if series is not None:
        out.append(
            charts.to_text(cs.draw_scatter, *series, width=width, height=height, color=color)
        )
        out.append(cs.legend_line(series))
    progress = cs.progress_series(run["trials"], run["spec"])
    if progress is not None and len(run["trials"]) > 1:
        out.append(
            charts.to_text(cs.draw_progress, *progress, width=width, height=height, color=color)
        )
    return out


def health_text(
    curves: dict[str, tuple[list, list]], *, width: int = 80, height: int = 20, color: bool = True
) -> list[str]:
    """The health chart of a fold's curves and one ``health:`` line per hint (the healthy
    ranges live in :func:`tuidl.engine.health.hints`); nothing when none was recorded."""
    from tuidl import charts
    from tuidl.engine.health import hints

    series = charts.health_series(curves)
    if not series:
        return []
    out = [charts.to_text(charts.draw_health, series, width=width, height=height, color=color)]
    problems = hints(charts.health_latest(series))
    out.extend(f"health: {h}" for h in problems)
    if not problems:
        out.append("health: update/weight ratios, gradients and ReLUs look healthy")
    return out


def progress_line(p: Any, width: int = 30) -> str:
    """``[#####.....] 12/50 folds  24%  ETA 1m05s`` for a runner Progress."""
    frac = p.done / p.total if p.total else 1.0
    filled = round(frac * width)
    bar = "#" * filled + "." * (width - filled)
    if p.phase == "final":
        tail = "retraining the best on all training rows"
    elif p.phase == "done":
        tail = f"done in {fmt_seconds(p.elapsed)}"
    else:
        tail = f"ETA {fmt_seconds(p.eta)}" if p.eta is not None else "ETA ?"
    return f"[{bar}] {p.done}/{p.total} folds {100 * frac:3.0f}%  {tail}"
