"""``tuidl plugins``: every plugin (source, version, status) and every component by kind,
with its help text (the factory's docstring) and params."""

from __future__ import annotations

import json
import sys
from typing import Any

from tuidl.plugins.registry import Registry


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plugins",
        help="list plugins and their components",
        description="List every plugin (name, version, source, status) and every component "
        "by kind with its parameters. A failed plugin is listed with its error; the others "
        "still load. TUIDL_LOAD_PLUGINS=a,b limits installed plugins (empty: none); "
        "TUIDL_DISABLE_PLUGINS=a,b switches plugins off. Both take plugin names (the "
        "entry-point name or file stem), not component names.",
    )
    p.add_argument("--json", action="store_true", help="print the same as JSON")
    p.set_defaults(func=run)
    sub = p.add_subparsers(dest="plugins_command", metavar="SUBCOMMAND")
    try:
        from tuidl.cli.plugins_author_cmd import add_subcommands
    except ModuleNotFoundError as exc:
        if exc.name != "tuidl.cli.plugins_author_cmd":
            raise
    else:
        add_subcommands(sub)


def run(args) -> int:
    from tuidl.plugins.manager import get_registry

    registry = get_registry()
    checks = _check_results()
    if args.json:
        data = registry.to_dict()
        if checks:
            data["checks"] = checks
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(registry, checks))
    return 0


def _check_results() -> dict[str, Any]:
    """Results of the last ``tuidl plugins check``, if that feature is installed and ran."""
    try:
        from tuidl.plugins.contract import load_check_results
    except ImportError:
        return {}
    try:
        return load_check_results() or {}
    except Exception:  # a damaged cache must not break the listing
        return {}


def render(registry: Registry, checks: dict[str, Any] | None = None) -> str:
    """The human-readable listing: plugins first (failures visible), then components."""
    checks = checks or {}
    lines = ["Plugins:"]
    width = max((len(p.name) for p in registry.plugins), default=4)
    for p in registry.plugins:
        status = "ok" if p.status == "ok" else "FAILED"
        lines.append(f"  {p.name:<{width}}  {p.version:<8} {p.source:<11} {status}")
        if p.error:
            lines.append(f"      error: {p.error}")
        lines.extend(f"      warning: {w}" for w in p.warnings)
    for name, why in sorted(registry.disabled.items()):
        lines.append(f"  {name:<{width}}  not loaded: {why}")
    lines.extend(f"  warning: {w}" for w in registry.warnings)
    for kind, table in registry.components.items():
        lines.append("")
        lines.append(f"{kind.capitalize()}s:" if kind != "loss" else "Losses:")
        if not table:
            lines.append("  (none)")
        for key, comp in table.items():
            lines.append(f"  {key}  ({comp.plugin}) — {comp.summary}")
            if comp.help != comp.summary:
                lines.extend(f"      {line}".rstrip() for line in comp.help.splitlines())
            failed = _failed_check(checks, kind, key)
            if failed:
                lines.append(f"      CHECK FAILED: {failed}")
            for prm in comp.params:
                lines.append(f"      {prm.name} = {prm.default!r}  [{prm.allowed()}]  {prm.help}")
    return "\n".join(lines) + "\n"


def _failed_check(checks: dict[str, Any], kind: str, key: str) -> str:
    entry = checks.get(f"{kind} {key}") if isinstance(checks, dict) else None
    if isinstance(entry, dict) and entry.get("status") == "failed":
        return str(entry.get("reason", "failed"))
    return ""
