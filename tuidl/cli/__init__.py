"""The ``tuidl`` command line.

Each subcommand lives in its own module in this package and exposes
``add_parser(subparsers)``, which adds its parser and sets ``func(args) -> int``. Errors a
user can cause (:class:`tuidl.TuidlError`) are printed as one ``error:`` line and exit 2;
Ctrl+C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
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
    "tuidl.cli.data_cmd",
    "tuidl.cli.plugins_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.plugin:
        from tuidl.plugins.manager import set_plugin_paths

        set_plugin_paths(args.plugin)
    try:
        if args.command is None:
            func = getattr(args, "default_func", None) or _default_command(parser)
            return func(args) or 0
        return args.func(args) or 0
    except TuidlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _default_command(parser: argparse.ArgumentParser):
    try:
        from tuidl.cli.tui_cmd import open_default
    except ModuleNotFoundError:
        return lambda args: parser.print_help()
    return open_default


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
