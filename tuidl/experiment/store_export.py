"""A stored run as plain data for a notebook (``tuidl export``) and several runs side by
side (``tuidl compare``, the workbench's Compare screen).

:func:`export_run` gives one JSON-ready dict (run, trials with their folds, best, test,
every curve in full); :func:`csv_rows` gives one of its tables (``folds``, ``trials``,
``test``, ``curves``) as a header and rows, with one column per grid param so a
``pandas.read_csv`` needs no unpacking. :func:`compare_runs` gathers what a comparison
draws: each run's summary, best trial and its fold scores, its best curves (downsampled),
and the spec keys whose values differ between the runs.

How it fails: an unknown run id or table raises :class:`tuidl.TuidlError` naming it.
"""

from __future__ import annotations

from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.store_query import flatten

TABLES = ("folds", "trials", "test", "curves")


def export_run(store: Any, run_id: int, *, curves: bool = True) -> dict[str, Any]:
    """Everything stored for one run; curves in full (every stored point)."""
    run = store.get_run(run_id)
    fields = ("id", "name", "note", "status", "message", "seed", "created", "started",
              "finished", "num_trials", "num_folds")  # fmt: skip
    out = {
        "run": {k: run.get(k) for k in fields} | {"tags": store.tags(run_id), "spec": run["spec"]},
        "trials": [
            {
                "trial": t["index"],
                "params": t["params"],
                "status": t["status"],
                "message": t["message"],
                "mean": t["mean"],
                "std": t["std"],
                "train_acc": t["train_acc"],
                "fit_seconds": t["fit_seconds"],
                "folds": [
                    {k: f[k] for k in ("fold", "status", "score", "train_acc", "fit_seconds")}
                    | {"message": f["message"]}
                    for f in t["folds"]
                ],
            }
            for t in run["trials"]
        ],
        "best": run["best"],
        "test": run["test"],
    }
    if curves:
        out["curves"] = []
        for trial, fold, kind in store.curve_series(run_id):
            steps, values = store.curves(run_id, trial, fold, max_points=None)[kind]
            out["curves"].append(
                {"trial": trial, "fold": fold, "kind": kind, "steps": steps, "values": values}
            )
    return out


def csv_rows(store: Any, run_id: int, table: str) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)`` of one table of a run (see :data:`TABLES`)."""
    if table not in TABLES:
        raise TuidlError(f"export table {table!r} is not one of {', '.join(TABLES)}")
    data = export_run(store, run_id, curves=table == "curves")
    keys = sorted({k for t in data["trials"] for k in t["params"]})
    if table == "curves":
        rows = [
            [run_id, c["trial"], c["fold"], c["kind"], s, v]
            for c in data["curves"]
            for s, v in zip(c["steps"], c["values"], strict=True)
        ]
        return ["run", "trial", "fold", "kind", "step", "value"], rows
    if table == "test":
        test = data["test"]
        if test is None:
            return ["run", "best_trial", *keys, "test_accuracy", "num_test"], []
        tkeys = sorted(test["params"])
        header = ["run", "best_trial", *tkeys, "test_accuracy", "num_test", "train_acc"]
        header.append("fit_seconds")
        row = [run_id, test["best_trial"], *(test["params"][k] for k in tkeys)]
        row += [test["test_accuracy"], test["num_test"], test["train_acc"], test["fit_seconds"]]
        return header, [row]
    if table == "trials":
        header = ["run", "trial", *keys, "status", "mean", "std", "train_acc", "fit_seconds"]
        rows = [
            [
                run_id,
                t["trial"],
                *(t["params"].get(k) for k in keys),
                t["status"],
                t["mean"],
                t["std"],
                t["train_acc"],
                t["fit_seconds"],
            ]
            for t in data["trials"]
        ]
        return header, rows
    header = ["run", "trial", *keys, "fold", "status", "score", "train_acc", "fit_seconds"]
    rows = [
        [
            run_id,
            t["trial"],
            *(t["params"].get(k) for k in keys),
            f["fold"],
            f["status"],
            f["score"],
            f["train_acc"],
            f["fit_seconds"],
        ]
        for t in data["trials"]
        for f in t["folds"]
    ]
    return header, rows


def spec_differences(specs: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """``(key, [value in each spec, or None where absent])`` for every key whose value is
    not the same in all of them, in key order."""
    flats = [flatten(s) for s in specs]
    keys = sorted(set().union(*flats)) if flats else []
    out = []
    for k in keys:
        vals = [f.get(k) for f in flats]
        if any(v != vals[0] for v in vals[1:]):
            out.append((k, vals))
    return out


def compare_runs(store: Any, run_ids: list[int], *, max_points: int = 400) -> dict[str, Any]:
    """What a comparison of several runs draws (see the module docstring). Each entry of
    ``runs``: id, name, tags, status, dataset, model, spec, best (trial, params, mean,
    std), ``fold_scores`` of the best trial, test_accuracy, ``curves`` of the best trial's
    first fold (``{kind: (steps, values)}``, downsampled) and ``trials`` (index, params,
    mean, fold_scores)."""
    if len(set(run_ids)) < 2:
        raise TuidlError(f"compare needs at least two different runs, got {list(run_ids)}")
    runs = []
    for run_id in dict.fromkeys(run_ids):
        run = store.get_run(run_id)
        best = run["best"]
        trials = {t["index"]: t for t in run["trials"]}
        runs.append(
            {
                "id": run["id"],
                "name": run.get("name") or "",
                "tags": store.tags(run_id),
                "status": run["status"],
                "dataset": run["spec"].get("dataset", {}).get("name", ""),
                "model": run["spec"].get("model", {}).get("name", ""),
                "spec": run["spec"],
                "best": best,
                "fold_scores": trials[best["trial"]]["fold_scores"] if best else [],
                "test_accuracy": (run["test"] or {}).get("test_accuracy"),
                "curves": store.curves(run_id, best["trial"], 0, max_points=max_points)
                if best
                else {},
                "trials": [
                    {k: t[k] for k in ("index", "params", "mean", "fold_scores")}
                    for t in run["trials"]
                ],
            }
        )
    return {"runs": runs, "differences": spec_differences([r["spec"] for r in runs])}
