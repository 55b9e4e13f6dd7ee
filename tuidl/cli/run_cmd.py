"""``tuidl run``: run an experiment spec headless (or resume a stored run).

Progress (trials × folds, with ETA) goes to stderr as one ``\\r``-updated line when stderr
is a terminal; the results table, the retrained best's test accuracy and the charts go to
stdout. Ctrl+C (or SIGTERM) stops cleanly: finished folds stay stored, the run is marked
``interrupted`` and the message says how to resume; the exit status is then 130.

Bad arguments fail before a run is stored: ``--workers`` below 1, a ``--json`` path that
could not be written (checked without touching the file), a bad spec. When stderr's
reader goes away the progress stops and the run goes on; when stdout's does, the run is
stored and ``--json`` written before the quiet exit (see :mod:`tuidl.cli`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from tuidl.errors import TuidlError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run an experiment spec (cross-validation, retrain, test)",
        description="Run the experiment in SPEC: cross-validate every grid point, retrain the "
        "best on all training rows and score it once on the test rows. Everything is kept "
        "in the run store. With --resume, complete a stored run instead.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="the spec file (TOML)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help=f"worker processes (default: the number of cores, {os.cpu_count()}); 1 runs "
        "in this process, and so does a single trial whose folds are too big to hold two "
        "at once (raise TUIDL_FOLD_MEMORY, in MiB, to allow it; see docs/experiments.md)",
    )
    p.add_argument("--store", metavar="PATH", help="run store file (default: in the user data dir)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a spec key, e.g. --set dataset.path=/data/cifar-10-batches-py "
        "(repeatable; preprocess steps are numbered from 1: preprocess.2.k)",
    )
    p.add_argument("--resume", type=int, metavar="RUN_ID", help="run what a stored run is missing")
    p.add_argument(
        "--refine",
        type=int,
        metavar="RUN_ID",
        help="coarse to fine: write a spec whose ranges narrow around the best trials of a "
        "finished run (run<ID>-refined.toml, here) and run it",
    )
    p.add_argument("--seed", type=int, help="override the spec's seed")
    p.add_argument("--no-charts", action="store_true", help="print the table only")
    # --detach and --executor: detached and Dask runs (tuidl.cli.session_cmd)
    from tuidl.cli import session_cmd

    session_cmd.add_run_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from tuidl.experiment import runner
    from tuidl.experiment.spec import load_spec
    from tuidl.experiment.spec_check import validate
    from tuidl.experiment.store import Store
    from tuidl.plugins.manager import get_registry

    if args.workers is not None and args.workers < 1:
        raise TuidlError(f"--workers {args.workers}: give 1 or more")
    workers = args.workers or (os.cpu_count() or 1)
    if args.json:
        check_writable(Path(args.json), "--json")
    from tuidl.cli import session_cmd

    session_cmd.check_executor(getattr(args, "executor", None))  # before a run is stored
    runner.fold_memory_budget()  # a bad TUIDL_FOLD_MEMORY fails before a run is stored
    refine = getattr(args, "refine", None)
    if args.resume is not None:
        if args.spec or args.overrides or args.seed is not None or refine is not None:
            raise TuidlError(
                "--resume continues a stored run with its stored spec and seed; "
                "do not give SPEC, --set, --seed or --refine with it"
            )
    elif refine is not None:
        if args.spec:
            raise TuidlError("--refine RUN_ID writes the spec it runs; do not give SPEC with it")
    elif not args.spec:
        raise TuidlError("give a SPEC file to run (or --resume RUN_ID); see `tuidl spec new`")

    registry = get_registry()
    store = Store(args.store)
    if args.resume is not None:
        run_id = args.resume
        store.get_run(run_id)  # an unknown id fails here, before anything else
    else:
        if refine is not None:  # coarse to fine: the new spec is written, then run
            from tuidl.experiment.refine import write_refined

            _, path = write_refined(store.get_run(refine))
            print(f"wrote the refined spec of run {refine} to {path}", file=sys.stderr)
            args.spec = str(path)
        spec = load_spec(args.spec, args.overrides)
        if args.seed is not None:
            spec.seed = args.seed
        validate(spec, registry)
        run_id = store.create_run(spec)

    # detached and Dask runs (tuidl.cli.session_cmd); resume_fn records this process
    if args.detach:
        return session_cmd.start_detached(args, store, run_id)
    resume_fn = session_cmd.resume_function(args, store, run_id)

    show = _Progress(sys.stderr, store)
    cores = os.cpu_count() or 1
    if workers > cores:
        show.write(
            f"note: --workers {workers} is more than this machine's {cores} CPU cores; "
            "processes beyond that share the cores and do not make the run faster\n"
        )
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        try:
            outcome = resume_fn(run_id, store, workers=workers, registry=registry, progress=show)
        except KeyboardInterrupt:
            # outside the executor (loading data, the retrain's setup): same clean stop
            message = f"interrupted; resume with: tuidl run --resume {run_id} --store {store.path}"
            store.set_status(run_id, "interrupted", message)
            outcome = runner.RunOutcome(run_id, "interrupted", message)
        finally:
            show.close()
    finally:
        signal.signal(signal.SIGTERM, previous)

    if args.json:  # before printing: a reader of stdout that goes away must not lose it
        _write_json(Path(args.json), runner.summary(store, run_id))
    run_data = store.get_run(run_id)
    _print_results(store, run_data, charts=not args.no_charts)
    if outcome.status == "interrupted":
        print(outcome.message, file=sys.stderr)
        return 130
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def check_writable(path: Path, option: str) -> None:
    """Raise :class:`TuidlError` unless ``path`` could be written as an output file:
    its folder exists and takes a new file, and ``path`` is not a folder nor a file we may
    not write. ``path`` itself is neither created nor truncated (the run may still fail);
    a throwaway file in its folder proves the folder is writable."""
    import tempfile

    where = f"cannot write {option} {str(path)!r}"
    folder = path.parent
    if path.is_dir():
        raise TuidlError(f"{where}: it is a folder; give a file name")
    if folder.exists() and not folder.is_dir():
        raise TuidlError(f"{where}: {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise TuidlError(f"{where}: the folder {str(folder)!r} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise TuidlError(f"{where}: the file is not writable (permission denied)")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tuidl-check-"):
            pass
    except OSError as exc:
        raise TuidlError(
            f"{where}: cannot create a file in the folder {str(folder)!r} ({exc.strerror})"
        ) from None


def _write_json(path: Path, data: dict) -> None:
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise TuidlError(f"cannot write --json {str(path)!r}: {exc.strerror}") from None


def _print_results(store, run: dict, *, charts: bool) -> None:
    from tuidl.cli import report

    out = sys.stdout
    out.write(report.run_header(run) + "\n\n")
    out.write(report.results_table(run) + "\n\n")
    out.write(report.best_text(run) + "\n")
    if charts:
        size = os.get_terminal_size(out.fileno()) if out.isatty() else os.terminal_size((80, 24))
        width = max(40, min(size.columns, 120))
        text = report.charts_text(store, run, width=width, height=20, color=out.isatty())
        if text:
            out.write("\n" + text + "\n")
    out.flush()


class _Progress:
    """A ``\\r``-updated progress line on a terminal; silent when not a terminal.

    Once a write fails (stderr's reader went away: ``tuidl run S 2>&1 | head -1``) it
    stays silent, so the run goes on and is stored instead of failing on its progress."""

    def __init__(self, stream, store=None) -> None:
        self.stream = stream
        self.store = store  # the line draws control.progress, the summary attach draws
        self.last_draw = 0.0
        self.tty = stream.isatty()
        self.width = 0
        self.noted = False
        self.broken = False

    def write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # BrokenPipeError, or a closed terminal (EIO)
            self.broken = True

    def __call__(self, p) -> None:
        if p.note and not self.noted:  # once, on any stream: it explains the run's speed
            self.noted = True
            self.write(("\n" if self.width else "") + p.note + "\n")
            self.width = 0
        if not self.tty:
            return
        from tuidl.cli.session_cmd import progress_text  # fitted to the terminal's width

        now = time.monotonic()
        if p.phase == "cv" and now - self.last_draw < 0.1:
            return  # at most 10 lines a second: fast folds would only redraw the terminal
        self.last_draw = now
        if self.store is not None:
            from tuidl.experiment import control

            # called where the runner stores folds, so the store is this thread's to read
            p = control.progress(self.store, p.run_id)
        line = progress_text(p, self.stream)
        self.write("\r" + line.ljust(self.width))
        self.width = len(line)

    def close(self) -> None:
        if self.tty and self.width:
            self.write("\n")
