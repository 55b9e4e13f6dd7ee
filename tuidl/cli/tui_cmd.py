"""``tuidl tui [SPEC]`` and bare ``tuidl``: open the workbench.

Textual is imported inside the functions only, so ``import tuidl`` and ``tuidl --help`` stay
fast and never load it.
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tui",
        help="open the workbench (the default with no command)",
        description="Open the Textual workbench: build the pipeline, run cross-validation and "
        "watch it live. Runs are done by `tuidl run` in their own process and stored, so they "
        "outlive the window. With SPEC, open that TOML spec; otherwise start from kNN on the "
        "built-in digits.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a spec TOML file to open")
    p.add_argument("--store", metavar="PATH", help="the run store (default: the user data dir)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tuidl.tui.app import WorkbenchApp
    from tuidl.tui.backend import Backend

    backend = Backend(getattr(args, "store", None))
    spec_path = getattr(args, "spec", None)
    spec = backend.load_spec(spec_path) if spec_path else None  # a bad file: error, exit 2
    app = WorkbenchApp(backend=backend, spec=spec, spec_path=spec_path)
    app.run()
    return app.return_code or 0


def open_default(args) -> int:
    """What bare ``tuidl`` does: the workbench on the built-in digits."""
    return run(args)
