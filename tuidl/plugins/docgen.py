"""Render the generated part of ``docs/plugins.md`` from the code it documents.

The hooks section comes from :mod:`tuidl.plugins.hookspecs` (its docstrings are the reference)
and the params-schema table from :class:`tuidl.plugins.schema.Param`, so the guide cannot
drift from the code: ``tests/plugins/test_docs_sync.py`` fails when the text between the
markers in ``docs/plugins.md`` differs from :func:`render_generated`.

``python -m tuidl.plugins.docgen`` prints the section; ``--write [PATH]`` replaces it in the
guide (default ``docs/plugins.md``) and ``--check [PATH]`` exits 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from pathlib import Path

from tuidl.plugins import hookspecs
from tuidl.plugins.manager import HOOK_KINDS
from tuidl.plugins.schema import KINDS, PARAM_TYPES, Param

BEGIN = "<!-- generated:begin (python -m tuidl.plugins.docgen --write) -->"
END = "<!-- generated:end -->"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def render_hooks() -> str:
    """Markdown for every hook, in the order plugins are called, from its docstring."""
    lines = ["### Hooks", "", inspect.cleandoc(hookspecs.__doc__ or ""), ""]
    for hookname, kind in HOOK_KINDS.items():
        fn = getattr(hookspecs, hookname)
        lines += [
            f"#### `{hookname}{inspect.signature(fn)}` (kind `{kind}`)",
            "",
            inspect.cleandoc(fn.__doc__ or ""),
            "",
        ]
    return "\n".join(lines)


def render_params() -> str:
    """Markdown table of :class:`Param`'s fields, plus the allowed kinds and types."""
    lines = [
        "### Params schema fields",
        "",
        inspect.cleandoc(Param.__doc__ or ""),
        "",
        "| field | default |",
        "|-------|---------|",
    ]
    for f in dataclasses.fields(Param):
        default = "required" if f.default is dataclasses.MISSING else f"`{f.default!r}`"
        lines.append(f"| `{f.name}` | {default} |")
    lines += [
        "",
        "Param types: " + ", ".join(f"`{t}`" for t in PARAM_TYPES) + ".",
        "",
        "Component kinds: " + ", ".join(f"`{k}`" for k in KINDS) + ".",
        "",
    ]
    return "\n".join(lines)


def render_generated() -> str:
    """The full generated section, markers included."""
    return "\n".join([BEGIN, "", render_hooks(), render_params(), END])


def extract(text: str) -> str | None:
    """The generated section inside ``text`` (markers included), or None if absent."""
    start = text.find(BEGIN)
    stop = text.find(END, start)
    if start < 0 or stop < 0:
        return None
    return text[start : stop + len(END)]


def write(path: Path = DEFAULT_PATH) -> bool:
    """Replace the section in ``path``; return True if the file changed."""
    text = path.read_text(encoding="utf-8")
    old = extract(text)
    if old is None:
        raise SystemExit(f"{path}: no generated-section markers ({BEGIN} ... {END})")
    new = text.replace(old, render_generated())
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tuidl.plugins.docgen", description=__doc__)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--write", nargs="?", const=DEFAULT_PATH, type=Path, metavar="PATH")
    group.add_argument("--check", nargs="?", const=DEFAULT_PATH, type=Path, metavar="PATH")
    args = ap.parse_args(argv)
    if args.write:
        print(f"{args.write}: {'updated' if write(args.write) else 'already up to date'}")
        return 0
    if args.check:
        ok = extract(args.check.read_text(encoding="utf-8")) == render_generated()
        print(f"{args.check}: {'up to date' if ok else 'OUT OF DATE; run with --write'}")
        return 0 if ok else 1
    sys.stdout.write(render_generated() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
