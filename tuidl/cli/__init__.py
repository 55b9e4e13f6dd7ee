"""The ``tuidl`` command line.

Each subcommand lives in its own module in this package and exposes
``add_parser(subparsers)``, which adds its parser and sets ``func(args) -> int``. Errors a
user can cause (:class:`tuidl.TuidlError`) are printed as one ``error:`` line and exit 2;
Ctrl+C exits 130 without a traceback. When the reader of stdout or stderr goes away
(``tuidl show 3 | head``), the command stops quietly with status 141, as a process killed
by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tuidl import __version__
from tuidl.errors import TuidlError

# The order here is the order of `tuidl --help`.
SUBCOMMAND_MODULES = (
    "tuidl.cli.tui_cmd",
    "tuidl.cli.run_cmd",
    "tuidl.cli.runs_cmd",
    "tuidl.cli.session_cmd",
    "tuidl.cli.serve_cmd",
    "tuidl.cli.spec_cmd",
    "tuidl.cli.check_cmd",
    "tuidl.cli.data_cmd",
    "tuidl.cli.plugins_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors (``--workers abc``, an unknown command) as one
    ``error:`` line and status 2, like every other error; subcommand parsers inherit it."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tuidl",
        description="A terminal workbench for classic neural-network experiments. "
        "With no command, opens the workbench on the built-in digits dataset.",
    )
    parser.add_argument("--version", action="version", version=f"tuidl {__version__}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="PATH",
        help="load a local plugin file or folder of .py files (repeatable)",
    )
    parser.add_argument(
        "--store",
        dest="top_store",
        metavar="PATH",
        help="the run store, for the workbench and every command that reads or writes runs "
        "(default: the user data dir); a command's own --store wins",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for modname in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:  # not written yet; keep the rest of the CLI usable
                continue
            raise
        module.add_parser(sub)
    return parser


# The status of a process killed by SIGPIPE in a shell (128 + 13): what `cmd | head` expects.
BROKEN_PIPE_STATUS = 141


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        _silence_closed_streams()
        return BROKEN_PIPE_STATUS


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_store and getattr(args, "store", None) is None:
        args.store = args.top_store
    if args.plugin:
        from tuidl.plugins.manager import set_plugin_paths

        set_plugin_paths(args.plugin)
    try:
        if args.command is None:
            func = getattr(args, "default_func", None) or _default_command(parser)
            status = func(args) or 0
        else:
            status = args.func(args) or 0
        # flush here, not at exit: a closed pipe then raises inside the handler above
        # instead of Python's "Exception ignored ... BrokenPipeError" on the way out
        sys.stdout.flush()
        return status
    except TuidlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _silence_closed_streams() -> None:
    """Point stdout and stderr, whichever reader went away, at /dev/null, so the
    interpreter's final flush of what is still buffered cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                fd = stream.fileno()
            except (AttributeError, OSError, ValueError):  # a test's captured stream
                continue
            if not _writable(fd):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _writable(fd: int) -> bool:
    """False when ``fd`` is a pipe whose reader has gone (a write would raise EPIPE)."""
    import select

    try:
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        return not any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll() (Windows): assume closed
        return False


def _default_command(parser: argparse.ArgumentParser):
    try:
        from tuidl.cli.tui_cmd import open_default
    except ModuleNotFoundError:
        return lambda args: parser.print_help()
    return open_default


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
