"""``tuidl runs`` (list stored runs) and ``tuidl show RUN_ID`` (redraw one)."""

from __future__ import annotations

import json
import os
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "runs",
        help="list stored runs",
        description="List the runs in the store, newest first: status, dataset, model, grid, "
        "folds done, best mean CV accuracy and test accuracy.",
    )
    p.add_argument("--store", metavar="PATH", help="run store file (default: in the user data dir)")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=list_runs)

    s = subparsers.add_parser(
        "show",
        help="show a stored run's results and charts",
        description="Print a stored run's results table, best trial, test accuracy and "
        "charts (also while it is still running).",
    )
    s.add_argument("run_id", type=int, metavar="RUN_ID")
    s.add_argument("--store", metavar="PATH", help="run store file (default: in the user data dir)")
    s.add_argument("--no-charts", action="store_true", help="print the table only")
    s.add_argument("--json", action="store_true", help="print the run summary as JSON")
    s.add_argument("--spec", action="store_true", help="print the run's spec (TOML) and stop")
    s.set_defaults(func=show)


def list_runs(args) -> int:
    from tuidl.cli.report import runs_table
    from tuidl.experiment.store import Store

    with Store(args.store) as store:
        runs = store.list_runs()
    if args.json:
        json.dump(runs, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(runs_table(runs) + "\n")
    return 0


def show(args) -> int:
    from tuidl.cli import report
    from tuidl.experiment.runner import summary
    from tuidl.experiment.store import Store

    with Store(args.store) as store:
        run = store.get_run(args.run_id)
        out = sys.stdout
        if args.spec:
            out.write(run["spec_toml"])
            return 0
        if args.json:
            json.dump(summary(store, args.run_id), out, indent=2)
            out.write("\n")
            return 0
        out.write(report.run_header(run) + "\n\n")
        out.write(report.results_table(run) + "\n\n")
        out.write(report.best_text(run) + "\n")
        if not args.no_charts:
            tty = out.isatty()
            width = max(40, min(os.get_terminal_size(out.fileno()).columns, 120)) if tty else 80
            text = report.charts_text(store, run, width=width, height=20, color=tty)
            if text:
                out.write("\n" + text + "\n")
    return 0
