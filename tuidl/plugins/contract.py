"""``tuidl plugins check``: run every component's contract tests and remember the results.

A component can load fine and still break its contract (a gradient that does not match its
loss, a preprocessor that refits in ``transform``). :func:`run_checks` builds each component
at several points of its params' range (its defaults, each bound and choice, seeded random
draws: :mod:`tuidl.plugins.contract_points`) and runs the tests of its kind
(:mod:`tuidl.plugins.contract_kinds`):
shapes and dtypes, a float64 centered-difference gradient for losses and learnable models
(whose layers it goes through), fit-on-training-rows-only for preprocessors, and determinism
under a seed. Nothing here raises for a bad component: each gets a :class:`CheckResult`.

Results are cached as JSON in the user data dir (:func:`check_cache_path`), keyed by plugin
name and a hash of its code (:func:`code_hash`: with ``pip install -e`` a fixed bug must not
keep showing the old failure), so that ``tuidl plugins`` and the TUI's Plugins screen can
mark a failing component with its reason without re-running anything (:func:`load_check_results`).
"""

from __future__ import annotations

import hashlib
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
from tuidl.plugins.api import KIND_PROTOCOLS
from tuidl.plugins.contract_kinds import CHECKS, ContractFailure, Skipped, check_optimizer
from tuidl.plugins.contract_points import at_point, param_points
from tuidl.plugins.registry import PluginInfo, Registry
from tuidl.plugins.schema import Component

CACHE_FILE = "plugin-checks.json"
CACHE_FORMAT = 2  # 1 keyed results by version


@dataclass
class CheckResult:
    """The outcome for one component (or, with ``kind="plugin"``, a plugin that failed to load).

    ``status`` is ``"ok"``, ``"failed"`` (``reason`` says which check and why) or
    ``"skipped"`` (``reason`` says why it could not be exercised, e.g. missing data files).
    ``passed`` names the checks that passed before any failure; ``points`` labels the points
    of the params' range that were checked (``"defaults"``, ``"gamma=0.0 (min)"``, ...) and
    ``not_applicable`` those where the component refused the point with a ``TuidlError``
    (legitimate: a PCA asked for more components than the check's rows have features).
    ``code`` is the plugin's :func:`code_hash` when the result was saved.
    """

    kind: str
    key: str
    plugin: str
    version: str
    status: str
    reason: str = ""
    passed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    points: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    code: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_component(
    component: Component, *, version: str = "", seed: int = 0, ranges: bool = True
) -> CheckResult:
    """Run the contract tests of ``component``'s kind at its defaults and, with ``ranges``,
    at the other points of :func:`~tuidl.plugins.contract_points.param_points` (datasets:
    defaults only, a load can be costly). Never raises for a broken component: a failure
    at a point says which (``"at gamma=0.5 (min): numeric gradient: ..."``).
    """
    start = time.perf_counter()
    result = CheckResult(component.kind, component.key, component.plugin, version, "ok")
    rng = np.random.default_rng(seed)
    try:
        points = param_points(component, rng) if ranges and component.kind != "dataset" else []
    except Exception:  # an odd schema must not stop the check at its defaults
        points = []
    points = points or [("defaults", {})]
    passed: list[str] = []
    label = "defaults"
    try:
        with np.errstate(all="ignore"):
            for label, values in points:
                try:
                    done = _check_at(component, values, seed)
                except TuidlError:
                    if not values:
                        raise
                    result.not_applicable.append(label)
                    continue
                result.points.append(label)
                if not values:
                    passed = done
        if len(result.points) > 1:
            passed.append(f"params at {len(result.points)} points")
    except ContractFailure as exc:
        result.status, result.reason = "failed", _at(label, str(exc))
    except Skipped as exc:
        result.status, result.reason = "skipped", str(exc)
    except TuidlError as exc:
        result.status, result.reason = "failed", _at(label, f"raised: {exc}")
    except Exception as exc:  # the component's own bug: report it, do not crash the check
        result.status, result.reason = "failed", _at(label, f"raised {type(exc).__name__}: {exc}")
    result.passed = list(passed)
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def _check_at(component: Component, values: dict[str, Any], seed: int) -> list[str]:
    point = at_point(component, values)
    rng = np.random.default_rng(seed)
    if component.kind == "optimizer" and values:
        return check_optimizer(point, rng, at_default=False)
    done = []
    if not values and component.kind != "dataset":  # a dataset's load can be costly
        _check_protocol(component)
        done.append("protocol")
    return done + CHECKS[component.kind](point, rng)


def _check_protocol(component: Component) -> None:
    """The object has every method and attribute of its kind's :mod:`tuidl.api` protocol
    (one clear failure instead of an AttributeError from the middle of a later check)."""
    obj = component.create()
    protocols = KIND_PROTOCOLS[component.kind]
    if any(isinstance(obj, p) for p in protocols):
        return
    wanted = min(protocols, key=lambda p: len(_missing(obj, p)))
    missing = _missing(obj, wanted)
    raise ContractFailure(
        "protocol",
        f"{type(obj).__name__} lacks {', '.join(missing)} of tuidl.api.{wanted.__name__}",
    )


def _missing(obj: Any, protocol: type) -> list[str]:
    members = vars(protocol)
    names = {n for n, v in members.items() if callable(v) and (n[0] != "_" or n == "__call__")}
    names |= {n for n in members.get("__annotations__", {}) if n[0] != "_"}
    return sorted(n for n in names if not hasattr(obj, n))


def _at(label: str, reason: str) -> str:
    return reason if label == "defaults" else f"at {label}: {reason}"


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
            failed = [p for p in registry.plugins if p.status == "failed"]
            hint = "".join(
                f"; plugin {p.name!r} failed to load and may provide it: {p.error}" for p in failed
            )
            if registry.disabled:
                hint += "; installed but not loaded: " + ", ".join(
                    f"{n} ({why})" for n, why in sorted(registry.disabled.items())
                )
            raise TuidlError(
                f"no plugin or component named {name!r}{hint}; plugins: "
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
    infos = {p.name: p for p in registry.plugins}
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
    codes = code_hashes(infos.values())
    for r in results:
        r.code = codes.get(r.plugin, "")
    return results


def code_hash(info: PluginInfo) -> str:
    """A short hash of the plugin's code: every ``.py`` file of its top-level package (the
    folder holding the module, for a package), or its one file; for built-ins, tuidl's own
    package. ``""`` when the code cannot be found (a test object): results then match by
    version only. An edit to any file of an editable install changes it.
    """
    root = _code_root(info)
    return "" if root is None else _hash_root(root)


def code_hashes(plugins: Iterable[PluginInfo]) -> dict[str, str]:
    """:func:`code_hash` of each plugin by name, hashing each code folder once (the six
    built-ins share tuidl's)."""
    by_root: dict[Path | None, str] = {None: ""}
    out: dict[str, str] = {}
    for info in plugins:
        root = _code_root(info)
        if root is not None and root not in by_root:
            by_root[root] = _hash_root(root)
        if not out.get(info.name):  # a duplicate that failed to load has no code of its own
            out[info.name] = by_root[root]
    return out


def _hash_root(root: Path) -> str:
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    stamp = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        stamp.append((str(f), st.st_mtime_ns, st.st_size))
    # reading every file of a package on each listing is slow; unchanged stats, same hash
    key = (str(root), tuple(stamp))
    if key not in _hashes:
        digest = hashlib.sha256()
        for name, _, _ in stamp:
            try:
                data = Path(name).read_bytes()
            except OSError:
                continue
            digest.update(str(Path(name).relative_to(root.parent)).encode())
            digest.update(data)
        _hashes[key] = digest.hexdigest()[:16]
    return _hashes[key]


_hashes: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def _code_root(info: PluginInfo) -> Path | None:
    if info.source == "builtin":
        return Path(__file__).resolve().parents[1]  # the tuidl package
    if not info.path:
        return None
    path = Path(info.path).resolve()
    if info.source == "path":
        return path
    # climb to the top-level package: the last folder with an __init__.py
    root = path.parent if path.name == "__init__.py" or path.suffix == ".py" else path
    while (root.parent / "__init__.py").is_file():
        root = root.parent
    return root if (root / "__init__.py").is_file() else path


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

    Entries are keyed ``"name@code"`` (:func:`code_hash`; the version when the code cannot
    be found); checking changed code drops the old code's entry. Writes atomically (a
    temporary file, then a rename). Raises :class:`TuidlError` if the file cannot be written.
    """
    path = path or check_cache_path()
    data = _read(path)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    grouped: dict[tuple[str, str, str], list[CheckResult]] = {}
    for r in results:
        grouped.setdefault((r.plugin, r.version, r.code), []).append(r)
    plugins = data["plugins"]
    for (name, version, code), group in grouped.items():
        key_now = _cache_key(name, version, code)
        for key in [k for k, v in plugins.items() if v.get("plugin") == name]:
            if key != key_now:
                del plugins[key]
        entry = plugins.setdefault(
            key_now, {"plugin": name, "version": version, "code": code, "components": {}}
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
    ``checked_at`` (ISO 8601, UTC). Only results for the plugin name **and code** loaded
    in ``registry`` (default: the process-wide :func:`~tuidl.plugins.manager.get_registry`)
    are returned (:func:`code_hash`), so editing or upgrading a plugin hides its stale
    results; a component never checked is absent. Never raises: a missing, unreadable or
    damaged cache gives ``{}``.
    """
    try:
        if registry is None:
            from tuidl.plugins.manager import get_registry

            registry = get_registry()
        data = _read(path or check_cache_path())
        codes = code_hashes(registry.plugins)
        loaded = {_cache_key(p.name, p.version, codes[p.name]) for p in registry.plugins}
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


def _cache_key(name: str, version: str, code: str) -> str:
    return f"{name}@{code}" if code else f"{name}=={version}"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == CACHE_FORMAT and isinstance(data.get("plugins"), dict):
            return data
    except (OSError, ValueError, AttributeError):
        pass
    return {"format": CACHE_FORMAT, "plugins": {}}
