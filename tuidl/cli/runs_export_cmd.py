"""``tuidl export RUN_ID`` (a run's numbers as JSON or CSV) and ``tuidl compare RUN_ID...``
(several runs side by side: summary, spec differences, CV results and loss curves overlaid).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TextIO


def add_parsers(subparsers) -> None:
    from tuidl.cli.runs_cmd import add_store_option
    from tuidl.experiment.store_export import TABLES

    e = subparsers.add_parser(
        "export",
        help="export a run's scores, test result and curves as JSON or CSV",
        description="Write a stored run's numbers for a notebook or spreadsheet. JSON (the "
        "default) holds everything: the run (spec, name, tags, note), every trial with its "
        "fold scores, the best trial, the test result and every curve in full. CSV writes "
        "one table (--table): folds (one row per trial x fold, a column per grid param), "
        "trials, test, or curves (run, trial, fold, kind, step, value); --table all with "
        "--output DIR writes run-ID-TABLE.csv for each.",
        epilog="examples: tuidl export 3 > run3.json · tuidl export 3 --format csv > "
        "folds.csv · tuidl export 3 --format csv --table curves -o curves.csv",
    )
    e.add_argument("run_id", type=int, metavar="RUN_ID")
    add_store_option(e)
    e.add_argument("--format", choices=("json", "csv"), default="json")
    e.add_argument(
        "--table", choices=(*TABLES, "all"), default="folds", help="CSV only (default: folds)"
    )
    e.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")
    e.add_argument(
        "--no-curves", action="store_true", help="JSON without the curves (much smaller)"
    )
    e.set_defaults(func=export)

    c = subparsers.add_parser(
        "compare",
        help="compare several stored runs",
        description="Compare stored runs: each one's best configuration, CV mean and test "
        "accuracy, the spec keys whose values differ, and charts overlaying their best "
        "trials' fold scores and loss curves.",
    )
    c.add_argument("run_ids", nargs="+", type=int, metavar="RUN_ID")
    add_store_option(c)
    c.add_argument("--no-charts", action="store_true", help="print the tables only")
    c.add_argument("--json", action="store_true", help="print the comparison as JSON")
    c.set_defaults(func=compare)


def export(args) -> int:
    from tuidl.cli.runs_cmd import open_store
    from tuidl.errors import TuidlError
    from tuidl.experiment.store_export import TABLES, csv_rows, export_run

    with open_store(args, run_id=args.run_id) as store:
        if args.format == "json":
            data = export_run(store, args.run_id, curves=not args.no_curves)

            def fill(f: TextIO) -> None:
                json.dump(data, f, indent=1)
                f.write("\n")

            _write(args.output, fill)
            return 0
        if args.table == "all":
            if not args.output:
                raise TuidlError(
                    "--table all writes one CSV file per table: give a folder with --output DIR"
                )
            folder = Path(args.output)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a file of that name, or no permission
                raise TuidlError(
                    f"cannot make the folder --output {args.output!r} for --table all "
                    f"({exc.strerror}); give a folder path"
                ) from None
            for table in TABLES:
                header, rows = csv_rows(store, args.run_id, table)
                path = folder / f"run-{args.run_id}-{table}.csv"
                _write(str(path), partial(_csv, header=header, rows=rows))
                sys.stderr.write(f"wrote {path}\n")
            return 0
        header, rows = csv_rows(store, args.run_id, args.table)
    _write(args.output, lambda f: _csv(f, header, rows))
    return 0


def _csv(f, header, rows) -> None:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(header)
    w.writerows(["" if v is None else v for v in row] for row in rows)


def _write(path: str | None, fill: Callable[[TextIO], object]) -> None:
    from tuidl.errors import TuidlError

    if path is None:
        fill(sys.stdout)
        return
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            fill(f)
    except OSError as exc:
        raise TuidlError(
            f"cannot write the export file {path!r}: {exc.strerror}; choose another --output"
        ) from None


def compare(args) -> int:
    from tuidl.cli.runs_cmd import open_store
    from tuidl.experiment.store_export import compare_runs

    with open_store(args, run_id=args.run_ids[0]) as store:
        data = compare_runs(store, args.run_ids)
    out = sys.stdout
    if args.json:
        json.dump(data, out, indent=1)
        out.write("\n")
        return 0
    out.write(compare_text(data) + "\n")
    if not args.no_charts:
        tty = out.isatty()
        width = max(40, min(os.get_terminal_size(out.fileno()).columns, 120)) if tty else 80
        out.write("\n" + compare_charts(data, width=width, height=20, color=tty) + "\n")
    return 0


def compare_text(data: dict) -> str:
    """The comparison's summary table and its spec differences, as text."""
    from tuidl.cli.report import _table, fmt_acc

    rows = []
    for r in data["runs"]:
        best = r["best"]
        params = ", ".join(f"{k}={v}" for k, v in (best or {}).get("params", {}).items())
        cv = f"{fmt_acc(best['mean'])} ± {fmt_acc(best['std'] or 0)}" if best else "-"
        label = r["name"] + (f" [{', '.join(r['tags'])}]" if r["tags"] else "")
        rows.append(
            [
                str(r["id"]),
                label or "-",
                r["status"],
                r["dataset"],
                r["model"],
                params or "-",
                cv,
                fmt_acc(r["test_accuracy"]),
            ]
        )
    header = ["run", "name", "status", "dataset", "model", "best params", "cv", "test"]
    lines = [_table(header, rows, {0, 6, 7})]
    diffs = data["differences"]
    lines.append("")
    if not diffs:
        lines.append("spec differences: none (the same spec)")
    else:
        ids = [f"run {r['id']}" for r in data["runs"]]
        lines.append("spec differences:")
        lines.append(
            _table(
                ["key", *ids],
                [[k, *("-" if v is None else _short(v) for v in vals)] for k, vals in diffs],
                set(),
            )
        )
    return "\n".join(lines)


def _short(v) -> str:
    text = json.dumps(v) if isinstance(v, list | dict) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def compare_charts(data: dict, *, width: int, height: int, color: bool) -> str:
    """The best trials' fold scores side by side and their loss curves overlaid."""
    from tuidl import charts

    runs = data["runs"]
    labels = [f"run {r['id']}" for r in runs]
    out = [
        charts.to_text(
            charts.draw_cv,
            labels,
            [r["fold_scores"] for r in runs],
            "run (best configuration)",
            width=width,
            height=height,
            color=color,
        )
    ]
    series = [
        (label, *r["curves"].get("loss", ([], []))) for label, r in zip(labels, runs, strict=True)
    ]
    if any(s[1] for s in series):
        out.append(
            charts.to_text(
                charts.draw_overlay,
                series,
                "training loss (best configuration, fold 1)",
                "iteration",
                width=width,
                height=height,
                color=color,
            )
        )
    val = [
        (label, *r["curves"].get("val_acc", ([], [])))
        for label, r in zip(labels, runs, strict=True)
    ]
    if any(s[1] for s in val):
        out.append(
            charts.to_text(
                charts.draw_overlay,
                val,
                "validation accuracy (best configuration, fold 1)",
                "epoch",
                width=width,
                height=height,
                color=color,
            )
        )
    return "\n".join(out)
