"""``tuidl check SPEC``: the classic recipe's sanity checks, before a long run.

See :mod:`tuidl.experiment.sanity` for what each check measures and expects.
"""

from __future__ import annotations

import shutil
import sys
import textwrap

MARKS = {"pass": "✓ pass", "fail": "✗ FAIL", "n/a": "– n/a "}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="sanity-check a spec in seconds: initial loss, reg, overfitting 20 rows, gradients",
        description="Run the classic recipe's sanity checks on SPEC's data, pipeline and model "
        "(its first configuration, or --config N): the loss at initialization against its "
        "chance value, that a higher reg raises it, that the model reaches 100%% training "
        "accuracy on 20 rows with reg 0, and a numeric gradient check in float64. Each check "
        "prints pass/fail with the measured and expected values and a hint. Exit status 1 "
        "when a check fails.",
    )
    p.add_argument("spec", metavar="SPEC", help="a spec TOML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec key, as for `tuidl run` (repeatable)",
    )
    p.add_argument(
        "--config",
        type=int,
        default=1,
        metavar="N",
        help="which configuration of the grid to check, from 1 (default 1)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from tuidl.experiment.sanity import run_checks
    from tuidl.experiment.spec import load_spec
    from tuidl.plugins.manager import get_registry

    spec = load_spec(args.spec, args.overrides)
    tty = sys.stderr.isatty()

    def progress(text: str) -> None:
        if tty:
            print(f"  … {text}", file=sys.stderr)

    label, checks = run_checks(spec, get_registry(), config=args.config - 1, progress=progress)
    print(f"sanity checks of {args.spec} ({label}):")
    print(format_checks(checks, shutil.get_terminal_size((100, 24)).columns))
    failed = [c for c in checks if c.failed]
    if failed:
        print(f"{len(failed)} check(s) failed: fix them before a long run")
        return 1
    return 0


def format_checks(checks, width: int = 100) -> str:
    """One block per check: mark, name, measured vs expected, then the hint wrapped."""
    lines = []
    for c in checks:
        head = f"{MARKS[c.status]}  {c.name}"
        if c.measured or c.expected:
            head += f": {c.measured}" + (f" (expected {c.expected})" if c.expected else "")
        lines.append(head)
        if c.hint:
            lines.extend(
                textwrap.wrap(c.hint, max(40, width - 10), initial_indent="          ",
                              subsequent_indent="          ")
            )  # fmt: skip
    return "\n".join(lines)
