"""``tuidl plugins check``: run every component's contract tests and remember the results.

A component can load fine and still break its contract (a gradient that does not match its
loss, a preprocessor that refits in ``transform``). :func:`run_checks` builds each component
with its default params and runs the tests of its kind (:mod:`tuidl.plugins.contract_kinds`):
shapes and dtypes, a float64 centered-difference gradient for losses and learnable models
(whose layers it goes through), fit-on-training-rows-only for preprocessors, and determinism
under a seed. Nothing here raises for a bad component: each gets a :class:`CheckResult`.

Results are cached as JSON in the user data dir (:func:`check_cache_path`), keyed by plugin
name and version, so that ``tuidl plugins`` and the TUI's Plugins screen can mark a failing
component with its reason without re-running anything (:func:`load_check_results`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.data.locations import user_data_dir
from tuidl.errors import TuidlError
from tuidl.plugins.contract_kinds import CHECKS, ContractFailure, Skipped
from tuidl.plugins.registry import Registry
from tuidl.plugins.schema import Component

CACHE_FILE = "plugin-checks.json"
CACHE_FORMAT = 1


@dataclass
class CheckResult:
    """The outcome for one component (or, with ``kind="plugin"``, a plugin that failed to load).

    ``status`` is ``"ok"``, ``"failed"`` (``reason`` says which check and why) or
    ``"skipped"`` (``reason`` says why it could not be exercised, e.g. missing data files).
    ``passed`` names the checks that passed before any failure.
    """

    kind: str
    key: str
    plugin: str
    version: str
    status: str
    reason: str = ""
    passed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_component(component: Component, *, version: str = "", seed: int = 0) -> CheckResult:
    """Run the contract tests of ``component``'s kind; never raises for a broken component."""
    start = time.perf_counter()
    result = CheckResult(component.kind, component.key, component.plugin, version, "ok")
    passed: list[str] = []
    try:
        with np.errstate(all="ignore"):
            passed = CHECKS[component.kind](component, np.random.default_rng(seed))
    except ContractFailure as exc:
        result.status, result.reason = "failed", str(exc)
    except Skipped as exc:
        result.status, result.reason = "skipped", str(exc)
    except TuidlError as exc:
        result.status, result.reason = "failed", f"raised: {exc}"
    except Exception as exc:  # the component's own bug: report it, do not crash the check
        result.status, result.reason = "failed", f"raised {type(exc).__name__}: {exc}"
    result.passed = list(passed)
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def select(registry: Registry, names: Iterable[str] = ()) -> list[Component]:
    """The components named by ``names`` (plugin names, component keys or ``"kind key"``).

    No names selects every component. An unknown name raises :class:`TuidlError` listing
    the plugins.
    """
    names = list(names)
    everything = [c for table in registry.components.values() for c in table.values()]
    if not names:
        return everything
    chosen: list[Component] = []
    for name in names:
        found = [c for c in everything if name in (c.plugin, c.key, c.label, f"{c.kind}:{c.key}")]
        if not found and not any(p.name == name for p in registry.plugins):
            raise TuidlError(
                f"no plugin or component named {name!r}; plugins: "
                + ", ".join(p.name for p in registry.plugins)
            )
        chosen.extend(c for c in found if c not in chosen)
    return chosen


def run_checks(
    registry: Registry, names: Iterable[str] = (), *, seed: int = 0
) -> list[CheckResult]:
    """Check the selected components (see :func:`select`), plus a ``failed`` result for each
    selected plugin that did not load (it has no components to check)."""
    names = list(names)
    versions = {p.name: p.version for p in registry.plugins}
    results = [
        check_component(c, version=versions.get(c.plugin, "?"), seed=seed)
        for c in select(registry, names)
    ]
    for p in registry.plugins:
        if p.status == "failed" and (not names or p.name in names):
            results.append(
                CheckResult("plugin", p.name, p.name, p.version, "failed", p.error or "failed")
            )
    return results


# -- the cache ------------------------------------------------------------------------------


def check_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$TUIDL_DATA_DIR/plugin-checks.json``, else ``$XDG_DATA_HOME/tuidl/...``, else
    ``~/.local/share/tuidl/...`` (the same data dir as the TUI's run store)."""
    env = os.environ if environ is None else environ
    if env.get("TUIDL_DATA_DIR"):
        return Path(env["TUIDL_DATA_DIR"]).expanduser() / CACHE_FILE
    return user_data_dir(env) / CACHE_FILE


def save_check_results(results: Iterable[CheckResult], path: Path | None = None) -> Path:
    """Merge ``results`` into the cache, replacing earlier results of the same plugins.

    Entries are keyed ``"name==version"``; checking a new version drops the old version's
    entry. Writes atomically (a temporary file, then a rename). Raises :class:`TuidlError`
    if the file cannot be written.
    """
    path = path or check_cache_path()
    data = _read(path)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    grouped: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        grouped.setdefault((r.plugin, r.version), []).append(r)
    plugins = data["plugins"]
    for (name, version), group in grouped.items():
        for key in [k for k, v in plugins.items() if v.get("plugin") == name]:
            if key != f"{name}=={version}":
                del plugins[key]
        entry = plugins.setdefault(
            f"{name}=={version}", {"plugin": name, "version": version, "components": {}}
        )
        entry["checked_at"] = stamp
        for r in group:
            entry["components"][r.label] = {**r.to_dict(), "checked_at": stamp}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise TuidlError(f"cannot write plugin check results to {path}: {exc}") from exc
    return path


def load_check_results(
    registry: Registry | None = None, path: Path | None = None
) -> dict[str, dict[str, Any]]:
    """The last ``tuidl plugins check`` result of each component that is loaded now.

    Returns ``{"<kind> <key>": entry}`` (``"loss hsoftmax"``, and ``"plugin <name>"`` for a
    plugin that failed to load when it was checked), where ``entry`` has ``status``
    (``"ok"``, ``"failed"`` or ``"skipped"``), ``reason`` (why it failed or was skipped;
    ``""`` when ok), ``plugin``, ``version``, ``passed`` (check names), ``seconds`` and
    ``checked_at`` (ISO 8601, UTC). Only results for the plugin name **and version** loaded
    in ``registry`` (default: the process-wide :func:`~tuidl.plugins.manager.get_registry`)
    are returned, so upgrading a plugin hides its stale results; a component never checked
    is absent. Never raises: a missing, unreadable or damaged cache gives ``{}``.
    """
    try:
        if registry is None:
            from tuidl.plugins.manager import get_registry

            registry = get_registry()
        data = _read(path or check_cache_path())
        loaded = {f"{p.name}=={p.version}" for p in registry.plugins}
        out: dict[str, dict[str, Any]] = {}
        for key, entry in data["plugins"].items():
            if key in loaded and isinstance(entry.get("components"), dict):
                out.update(
                    (label, dict(v))
                    for label, v in entry["components"].items()
                    if isinstance(v, dict) and "status" in v
                )
        return out
    except Exception:  # a view must never fail because of this cache
        return {}


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == CACHE_FORMAT and isinstance(data.get("plugins"), dict):
            return data
    except (OSError, ValueError, AttributeError):
        pass
    return {"format": CACHE_FORMAT, "plugins": {}}
