"""``tuidl plugins new`` and ``tuidl plugins check``: the plugin author's two commands.

:func:`add_subcommands` attaches both to the ``plugins`` parser's subparsers (called from
:mod:`tuidl.cli.plugins_cmd`).
"""

from __future__ import annotations

import json
import sys

from tuidl.plugins.schema import KINDS


def add_subcommands(plugins_subparsers) -> None:
    new = plugins_subparsers.add_parser(
        "new",
        help="write a new plugin package (pyproject, example component, tests, README)",
        description="Write an installable plugin package with one working example component "
        "of KIND. Then: pip install -e DEST/tuidl-NAME && pytest DEST/tuidl-NAME.",
    )
    new.add_argument("name", metavar="NAME", help="plugin name, e.g. focal-loss")
    new.add_argument("--kind", choices=KINDS, default="loss", help="component kind (loss)")
    new.add_argument("--dest", default=".", metavar="DIR", help="parent folder (current dir)")
    new.add_argument("--force", action="store_true", help="write into an existing folder")
    new.set_defaults(func=run_new)

    check = plugins_subparsers.add_parser(
        "check",
        help="run each component's contract tests and remember the results",
        description="Run the contract tests (shapes and dtypes, numeric gradients, "
        "fit-on-training-rows-only, determinism) of every component, or of the named plugins "
        "or components, at the defaults, bounds, choices and seeded random draws of each "
        "component's params. Failures are remembered (keyed by the plugin's code) and shown "
        "by `tuidl plugins` and the workbench. Exit status 1 when any component fails.",
    )
    check.add_argument("names", nargs="*", metavar="NAME", help="plugin or component names")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--seed", type=int, default=0, help="seed for the random test data")
    check.add_argument("--no-save", action="store_true", help="do not update the results cache")
    check.set_defaults(func=run_check)


def run_new(args) -> int:
    from tuidl.plugins.scaffold import create_plugin, plugin_names

    root = create_plugin(args.name, args.kind, args.dest, force=args.force)
    names = plugin_names(args.name)
    print(f"wrote {args.kind} plugin {names.dist!r} to {root}")
    print("next:")
    print(f"  pip install -e {root}")
    print(f"  pytest {root}")
    print(f"  tuidl plugins check {names.name}")
    return 0


def run_check(args) -> int:
    from tuidl.plugins.contract import run_checks, save_check_results
    from tuidl.plugins.manager import get_registry

    results = run_checks(get_registry(), args.names, seed=args.seed)
    saved = None if args.no_save else save_check_results(results)
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        width = max((len(r.label) for r in results), default=10)
        for r in results:
            where = f"({r.plugin} {r.version})"
            line = f"{r.status.upper():<7} {r.label:<{width}}  {where}"
            if r.status == "ok":
                at = f" at {len(r.points)} param points" if len(r.points) > 1 else ""
                line += f"  {len(r.passed)} checks{at}, {r.seconds:.2f}s"
            print(line)
            if r.reason:
                print(f"        {r.reason}")
            if r.not_applicable:
                print(f"        refused (not applicable here): {'; '.join(r.not_applicable)}")
        counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "skipped")}
        print(
            ", ".join(f"{n} {s}" for s, n in counts.items())
            + (f"; saved to {saved}" if saved else "")
        )
    return 1 if any(r.status == "failed" for r in results) else 0
