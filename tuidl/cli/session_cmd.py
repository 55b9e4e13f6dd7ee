"""``tuidl attach [RUN_ID]`` and ``tuidl cancel RUN_ID``; ``tuidl run``'s ``--detach`` and
``--executor`` options: views of :mod:`tuidl.experiment.control`, the one run control the
workbench uses too.

``attach`` follows a run through the store, from any terminal: a progress line (trials ×
folds, with ETA) while it runs, then the results as ``tuidl show`` prints them. Ctrl+C in
``attach`` only stops following; the run goes on. ``cancel`` stops a run the way Ctrl+C in
its own terminal would: finished folds stay, the run is marked interrupted and resumable.
"""

from __future__ import annotations

import os
import shutil
import sys

from tuidl.errors import TuidlError

POLL_SECONDS = 0.5


def add_parser(subparsers) -> None:
    a = subparsers.add_parser(
        "attach",
        help="follow a running run (Ctrl+C detaches; the run goes on)",
        description="Follow a run's progress (trials × folds, with ETA) from any terminal, "
        "then print its results as `tuidl show` does. Ctrl+C stops following only; the run "
        "goes on. Without RUN_ID, follows the newest running run.",
    )
    a.add_argument("run_id", nargs="?", type=int, metavar="RUN_ID")
    a.add_argument("--store", metavar="PATH", help="run store file (default: in the user data dir)")
    a.add_argument("--no-charts", action="store_true", help="print the table only")
    a.set_defaults(func=attach)

    c = subparsers.add_parser(
        "cancel",
        help="stop a running run cleanly (it stays resumable)",
        description="Stop a run as Ctrl+C in its terminal would: finished folds stay stored, "
        "the run is marked interrupted and `tuidl run --resume RUN_ID` completes it.",
    )
    c.add_argument("run_id", type=int, metavar="RUN_ID")
    c.add_argument("--store", metavar="PATH", help="run store file (default: in the user data dir)")
    c.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the run to stop (default: 60; 0: do not wait)",
    )
    c.set_defaults(func=cancel)


# ---- tuidl run --detach / --executor --------------------------------------------------------


def add_run_options(p) -> None:
    """``tuidl run``'s options for detached and Dask runs."""
    p.add_argument(
        "--detach",
        action="store_true",
        help="run in the background, in its own session (survives a closed terminal or SSH "
        "connection); prints the run id; follow it with `tuidl attach`",
    )
    p.add_argument(
        "--executor",
        metavar="ADDRESS",
        help="send trials to an existing Dask scheduler, e.g. tcp://127.0.0.1:8786 "
        "(needs the dask extra: pip install 'tuidl[dask]')",
    )


def check_executor(address: str | None) -> None:
    if address is None:
        return
    import urllib.parse

    parts = urllib.parse.urlsplit(address)
    try:  # `tcp://:` or a port past 65535 made Dask retry for 20 s, then hang at exit
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if "://" not in address or not parts.hostname or not port_ok:
        raise TuidlError(
            f"--executor {address!r}: give a Dask scheduler address such as tcp://HOST:8786"
        )
    from tuidl.experiment.dask_executor import require_distributed

    require_distributed()


def start_detached(args, store, run_id: int) -> int:
    """Start ``run_id`` detached with the options of this ``tuidl run`` and say how to
    follow it."""
    from tuidl.experiment import control

    check_executor(getattr(args, "executor", None))
    extra: list[str] = []
    if args.workers is not None:
        extra += ["--workers", str(args.workers)]
    if getattr(args, "executor", None):
        extra += ["--executor", args.executor]
    if args.json:
        extra += ["--json", os.path.abspath(args.json)]
    if args.no_charts:
        extra.append("--no-charts")
    rec = control.launch(store.path, run_id, extra)
    where = f" --store {store.path}" if args.store else ""
    out = sys.stdout
    out.write(f"run {run_id} started in the background (pid {rec.pid})\n")
    out.write(f"  follow it:  tuidl attach {run_id}{where}\n")
    out.write(f"  stop it:    tuidl cancel {run_id}{where}\n")
    out.write(f"  log:        {rec.log_path}\n")
    out.flush()
    return 0


def resume_function(args, store, run_id: int):
    """What ``tuidl run`` calls to execute: :func:`tuidl.experiment.runner.resume`, or its
    Dask twin for ``--executor``. Records this process as the run's (for ``tuidl cancel``)."""
    from functools import partial

    from tuidl.experiment import detach, runner

    address = getattr(args, "executor", None)
    check_executor(address)
    detach.note_process(store.path, run_id)
    if address:
        from tuidl.experiment.dask_executor import resume_on_dask

        return partial(resume_on_dask, address)
    return runner.resume


# ---- tuidl attach -----------------------------------------------------------------------------


def attach(args) -> int:
    from tuidl.experiment import control
    from tuidl.experiment.store import Store

    with Store(args.store) as store:
        run_id = args.run_id
        if run_id is None:
            run_id = control.newest_active(store)
            if run_id is None:
                raise TuidlError(
                    "no run is running or queued; `tuidl runs` lists the stored runs and "
                    "`tuidl show RUN_ID` prints one"
                )
        store.get_run(run_id)  # an unknown id: a clear error now
        try:
            status = _follow(store, run_id, sys.stderr)
        except KeyboardInterrupt:
            sys.stderr.write(
                f"\ndetached; run {run_id} goes on (tuidl attach {run_id} follows it again)\n"
            )
            return 0
        _print_final(store, run_id, charts=not args.no_charts)
    return {"finished": 0, "interrupted": 130}.get(status, 1)


def _follow(store, run_id: int, stream) -> str:
    """Draw progress until the run leaves queued/running; return its final status. A run
    whose recorded process is gone without marking the run is reported, not waited on
    (:func:`tuidl.experiment.control.follow`)."""
    from tuidl.experiment import control

    tty = stream.isatty()
    width = 0
    last = None
    try:
        for snap in control.follow(store, run_id, poll=POLL_SECONDS):
            if snap.phase == "queued":
                line = fit_line(f"run {run_id} is queued; waiting for it to start", stream)
            else:
                line = progress_text(snap, stream)
            if tty:
                stream.write("\r" + line.ljust(width))
                width = len(line)
                stream.flush()
            elif (snap.phase, snap.done, snap.status) != last:  # not a terminal: per change
                stream.write(line + "\n")
                stream.flush()
            last = (snap.phase, snap.done, snap.status)
    except TuidlError:
        if tty:
            stream.write("\n")
        raise
    if tty:
        stream.write("\n")
        stream.flush()
    return snap.status


def columns(stream) -> int:
    """The width of the terminal ``stream`` writes to (read at every update: it may be
    resized), else :func:`shutil.get_terminal_size`'s (``COLUMNS``, or 80)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return shutil.get_terminal_size().columns


def fit_line(text: str, stream) -> str:
    """``text`` cut to one character less than the terminal's width: a line as wide as
    the screen (or wider) wraps, and a carriage return then redraws only its last row, so every
    update would leave a line behind."""
    limit = max(10, columns(stream) - 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress_text(p, stream) -> str:
    """The CLI's progress line (:func:`tuidl.cli.report.progress_line`) for ``p`` (a
    :class:`~tuidl.experiment.control.RunProgress` or the runner's ``Progress``), its bar
    narrowed to fit the terminal ``stream`` writes to (see :func:`fit_line`)."""
    from tuidl.cli.report import progress_line

    bar = 30
    line = progress_line(p, width=bar)
    over = len(line) - max(10, columns(stream) - 1)
    if over > 0:
        line = progress_line(p, width=max(5, bar - over))
    return fit_line(line, stream)


def _print_final(store, run_id: int, *, charts: bool) -> None:
    from tuidl.cli import report

    run = store.get_run(run_id)
    out = sys.stdout
    out.write(report.run_header(run) + "\n\n")
    out.write(report.results_table(run) + "\n\n")
    out.write(report.best_text(run) + "\n")
    if charts:
        tty = out.isatty()
        width = max(40, min(os.get_terminal_size(out.fileno()).columns, 120)) if tty else 80
        text = report.charts_text(store, run, width=width, height=20, color=tty)
        if text:
            out.write("\n" + text + "\n")
    if run["status"] != "finished" and run.get("message"):
        out.write(f"\n{run['status']}: {run['message']}\n")
    out.flush()


# ---- tuidl cancel -----------------------------------------------------------------------------


def cancel(args) -> int:
    from tuidl.experiment import control
    from tuidl.experiment.store import Store

    if args.wait < 0:
        raise TuidlError(f"--wait {args.wait}: give 0 or more seconds")
    with Store(args.store) as store:
        outcome = control.cancel(store, args.run_id, wait=args.wait)
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1
