"""``tuidl runs`` (list, filter, sort; manage with ``runs rm|tag|untag|name|note|vacuum``),
``tuidl show RUN_ID`` (redraw one), ``tuidl export RUN_ID`` and ``tuidl compare RUN_ID...``.

Commands that only read never create a store: a missing ``--store PATH`` is an error, and
a missing default store is an empty list.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

FILTER_HELP = (
    "keep runs where KEY OP VALUE holds (repeatable, all must hold). OP: = != > >= < <= "
    "~ (contains); = takes alternatives a,b. KEY: id name note status seed tag best test "
    "folds created, a component (dataset model loss init optimizer), or any spec key "
    "(optimizer.lr, model.hidden_sizes, training.batch_size; a grid key matches any value "
    "tried)"
)


def add_parser(subparsers) -> None:
    from tuidl.cli import runs_export_cmd, runs_manage_cmd, show_pictures

    cls = subparsers._parser_class
    subparsers._parser_class = _DashValueParser  # so that --sort -best parses
    try:
        p = subparsers.add_parser(
            "runs",
            help="list, filter and manage stored runs",
            description="List the runs in the store, newest first: status, dataset, model, grid, "
            "folds done, best mean CV accuracy, test accuracy, name and tags. Filter with "
            "--filter KEY=VALUE, sort with --sort [-]KEY. Manage them with the actions below.",
            epilog="examples: tuidl runs --filter status=finished --filter model=fc_net --sort "
            '-best · tuidl runs rm 3 5 · tuidl runs tag 3 baseline · tuidl runs name 3 "wide '
            'net" · tuidl runs note 3 "lr too high" · tuidl runs vacuum',
        )
    finally:
        subparsers._parser_class = cls
    add_store_option(p)
    p.add_argument(
        "--filter", "-f", action="append", default=[], metavar="KEY=VALUE", help=FILTER_HELP
    )
    p.add_argument(
        "--sort", metavar="[-]KEY", help="sort by KEY (the filter keys); -KEY sorts descending"
    )
    p.add_argument("--limit", "-n", type=int, metavar="N", help="show the first N runs")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=list_runs)
    runs_manage_cmd.add_actions(p)

    s = subparsers.add_parser(
        "show",
        help="show a stored run's results and charts",
        description="Print a stored run's results table, best trial, test accuracy and "
        "charts (also while it is still running).",
    )
    s.add_argument("run_id", type=int, metavar="RUN_ID")
    add_store_option(s)
    s.add_argument("--no-charts", action="store_true", help="print the table only")
    s.add_argument("--json", action="store_true", help="print the run summary as JSON")
    s.add_argument("--spec", action="store_true", help="print the run's spec (TOML) and stop")
    s.add_argument(
        "--axes",
        metavar="X,Y",
        help="the two parameters of the search chart (default: lr and reg, or the first two "
        "numeric ones that vary), e.g. --axes optimizer.lr,model.reg",
    )
    show_pictures.add_arguments(s)
    s.set_defaults(func=show)
    runs_export_cmd.add_parsers(subparsers)


class _DashValueParser(argparse.ArgumentParser):
    """Reads ``-best`` as a value (``--sort -best``, the way tools write a descending sort),
    not as an unknown option: a ``-word`` that is no option of the parser is an argument."""

    def _parse_optional(self, arg_string):
        if _DASH_WORD.fullmatch(arg_string) and arg_string not in self._option_string_actions:
            return None
        return super()._parse_optional(arg_string)


_DASH_WORD = re.compile(r"-[A-Za-z_][\w.]+")


def add_store_option(p, *, suppress: bool = False) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="run store file (default: in the user data dir)",
    )


def open_store(args, *, run_id: int | None = None, listing: bool = False):
    """The store named by ``--store`` (else the default one), never created here: a
    missing file raises (naming ``run_id`` when given), except that ``listing`` the
    default store before anything was run gives ``None``."""
    from tuidl.errors import TuidlError
    from tuidl.experiment.store import Store, default_store_path

    path = getattr(args, "store", None)
    where = Path(path).expanduser() if path is not None else default_store_path()
    if not where.exists():
        if listing and path is None:
            return None
        prefix = f"no run {run_id}: " if run_id is not None else ""
        raise TuidlError(
            f"{prefix}there is no run store at {str(where)!r} (nothing was ever run with "
            "it); check the path given with --store PATH"
        )
    return Store(where, create=False)


def list_runs(args) -> int:
    from tuidl.cli.report import runs_table

    store = open_store(args, listing=True)
    runs = []
    if store is not None:
        with store:
            runs = store.list_runs(args.filter, sort=args.sort, limit=args.limit)
    if args.json:
        json.dump(runs, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not runs and (args.filter or store is None):
        sys.stdout.write(
            "no runs match those filters\n" if store is not None else runs_table([]) + "\n"
        )
    else:
        sys.stdout.write(runs_table(runs) + "\n")
    return 0


def show(args) -> int:
    from tuidl.cli import report

    with open_store(args, run_id=args.run_id) as store:
        run = store.get_run(args.run_id)
        out = sys.stdout
        if args.spec:
            out.write(run["spec_toml"])
            return 0
        if args.json:
            from tuidl.experiment.runner import summary  # the runner's imports are heavy

            json.dump(summary(store, args.run_id), out, indent=2)
            out.write("\n")
            return 0
        axes = report.parse_axes(run, args.axes)  # checked before anything is printed
        out.write(report.run_header(run) + "\n\n")
        out.write(report.results_table(run) + "\n\n")
        out.write(report.best_text(run) + "\n")
        if not args.no_charts:
            tty = out.isatty()
            width = max(40, min(os.get_terminal_size(out.fileno()).columns, 120)) if tty else 80
            text = report.charts_text(store, run, width=width, height=20, color=tty, axes=axes)
            if text:
                out.write("\n" + text + "\n")
        from tuidl.cli import show_pictures

        show_pictures.write(store, run, args, out)  # weight pictures, --examples
    return 0
