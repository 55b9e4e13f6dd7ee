"""Finding plugins, loading each in isolation, and filling the registry.

Three sources, in this order (which decides who keeps a duplicate short name):

1. built-ins (:mod:`tuidl.plugins.builtin`), through the very same hooks;
2. installed packages exposing an entry point in group ``tuidl``, restricted by
   ``TUIDL_LOAD_PLUGINS=name1,name2`` (an allow-list; set but empty: none) and
   ``TUIDL_DISABLE_PLUGINS=name1,name2`` (a deny-list, which also applies to local files);
3. single-file plugins from ``TUIDL_PLUGINS`` (``os.pathsep``-separated ``.py`` files or
   folders of them) and the CLI's repeatable ``--plugin PATH``.

A plugin's **name** is its entry-point name (the left side of ``name = "module"`` in its
``[project.entry-points.tuidl]`` table) or, for a local file, the file's stem; a component's
name is what its ``Component`` says. The two often differ (entry point ``focal_loss``,
component ``focal``); the environment variables and ``registry.plugin()`` take plugin names.

A plugin that fails to import (``SystemExit`` included), raises in a hook or registers
something invalid is recorded as failed with its error; none of its components are used and
every other plugin loads. Names in the two variables that match no plugin are recorded in
``registry.warnings``; plugins they switched off are in ``registry.disabled`` and are named
by the unknown-component error.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from tuidl.errors import TuidlError
from tuidl.plugins import hookspecs
from tuidl.plugins.registry import PluginInfo, Registry
from tuidl.plugins.schema import Component

ENTRY_POINT_GROUP = "tuidl"

# hook name -> the component kind it registers
HOOK_KINDS = {
    "register_datasets": "dataset",
    "register_preprocessors": "preprocessor",
    "register_models": "model",
    "register_losses": "loss",
    "register_initializers": "initializer",
    "register_optimizers": "optimizer",
    "register_searchers": "searcher",
}

BUILTIN_MODULES = (
    "tuidl.plugins.builtin.datasets",
    "tuidl.plugins.builtin.preprocessors",
    "tuidl.plugins.builtin.models",
    "tuidl.plugins.builtin.losses",
    "tuidl.plugins.builtin.initializers",
    "tuidl.plugins.builtin.optimizers",
    "tuidl.plugins.builtin.searchers",
)


def load_registry(
    plugin_paths: Iterable[str | os.PathLike] = (),
    *,
    extra_plugins: Iterable[tuple[str, Any]] = (),
    environ: Mapping[str, str] | None = None,
    entry_points: bool = True,
) -> Registry:
    """Load every plugin and return a fresh :class:`Registry`.

    ``plugin_paths`` adds local files/folders (the CLI's ``--plugin``) after
    ``TUIDL_PLUGINS``. ``extra_plugins`` are ``(name, module_or_object)`` pairs registered
    last with source ``"test"``: the way tests add a plugin without touching global state.
    Nothing here raises for a bad plugin; look at ``registry.plugins`` for failures.
    """
    env = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry()

    from tuidl import __version__

    for modname in BUILTIN_MODULES:
        info = PluginInfo(modname.rsplit(".", 1)[-1], __version__, "builtin")
        _load(pm, registry, info, lambda m=modname: importlib.import_module(m))

    allowed = _allowed_names(env.get("TUIDL_LOAD_PLUGINS"))
    denied = _allowed_names(env.get("TUIDL_DISABLE_PLUGINS")) or set()
    seen: set[str] = set()
    if entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            seen.add(ep.name)
            if allowed is not None and ep.name not in allowed:
                registry.disabled[ep.name] = _off_reason(env.get("TUIDL_LOAD_PLUGINS", ""))
                continue
            if ep.name in denied:
                registry.disabled[ep.name] = "TUIDL_DISABLE_PLUGINS"
                continue
            version = ep.dist.version if ep.dist is not None else "?"
            _load(pm, registry, PluginInfo(ep.name, version, "entry point"), ep.load)

    paths = _split_paths(env.get("TUIDL_PLUGINS", "")) + [Path(p) for p in plugin_paths]
    for file in _expand(paths, registry):
        seen.add(file.stem)
        if file.stem in denied:
            registry.disabled[file.stem] = "TUIDL_DISABLE_PLUGINS"
            continue
        info = PluginInfo(file.stem, "local", "path")
        _load(pm, registry, info, lambda f=file: _import_file(f))
    _warn_unknown_names(registry, "TUIDL_LOAD_PLUGINS", allowed or set(), seen, entry_points)
    _warn_unknown_names(registry, "TUIDL_DISABLE_PLUGINS", denied, seen, entry_points)

    for name, obj in extra_plugins:
        _load(pm, registry, PluginInfo(name, "test", "test"), lambda o=obj: o)
    return registry


def _ep_key(ep: importlib.metadata.EntryPoint) -> str:
    return ep.name


def _off_reason(value: str) -> str:
    return (
        "TUIDL_LOAD_PLUGINS is set but empty" if not value.strip() else "not in TUIDL_LOAD_PLUGINS"
    )


def _warn_unknown_names(
    registry: Registry, var: str, names: set[str], seen: set[str], entry_points: bool
) -> None:
    # A typo in either variable would otherwise be ignored without a word (and a component
    # name given instead of a plugin name is the usual mistake: say so).
    if not entry_points:
        return
    for name in sorted(names - seen):
        owner = [
            p.name
            for p in registry.plugins
            if any(c.split(" ", 1)[1] == name for c in p.components)
        ]
        hint = (
            f"; {name!r} is a component of plugin {owner[0]!r}: use the plugin's name"
            if owner
            else ""
        )
        if any(p.name == name and p.source == "builtin" for p in registry.plugins):
            hint = "; it is built in, and built-ins are always loaded"
        known = ", ".join(sorted(seen)) or "none"
        registry.warnings.append(
            f"{var} names {name!r}, which is not an installed or local plugin{hint} "
            f"(plugins: {known})"
        )


def _allowed_names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _split_paths(value: str) -> list[Path]:
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def _expand(paths: list[Path], registry: Registry) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = path.expanduser()
        if not path.exists():
            registry.plugins.append(
                PluginInfo(
                    path.stem or str(path),
                    "local",
                    "path",
                    status="failed",
                    error=f"plugin path {str(path)!r} does not exist",
                )
            )
        elif path.is_dir():
            files.extend(sorted(p for p in path.glob("*.py") if not p.name.startswith("_")))
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        else:
            registry.plugins.append(
                PluginInfo(
                    path.stem or str(path),
                    "local",
                    "path",
                    status="failed",
                    error=f"plugin path {str(path)!r} is not a .py file or a folder of them",
                )
            )
    return files


def _import_file(path: Path):
    modname = f"tuidl_local_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise TuidlError(f"cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


def _load(pm: pluggy.PluginManager, registry: Registry, info: PluginInfo, obtain) -> None:
    """Import one plugin, call its hooks, and commit its components only if all are valid."""
    registry.plugins.append(info)
    try:
        obj = obtain()
        pm.register(obj, name=f"{info.source}:{info.name}")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit at import is a broken plugin, not our exit
        _fail(info, f"failed to load: {_describe(exc)}")
        return
    info.path = str(getattr(obj, "__file__", "") or "")
    _warn_unknown_hooks(obj, info)
    staged: list[Component] = []
    try:
        for hookname, kind in HOOK_KINDS.items():
            for impl in getattr(pm.hook, hookname).get_hookimpls():
                if impl.plugin is obj:
                    impl.function(register=_collector(staged, kind, hookname))
        for comp in staged:
            registry.add(comp, info)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        pm.unregister(obj)
        _rollback(registry, info)
        _fail(info, _describe(exc))


def _warn_unknown_hooks(obj: Any, info: PluginInfo) -> None:
    # pluggy accepts implementations of hooks nobody specified; a typo such as
    # `register_loss` would otherwise register nothing without a word.
    marker = f"{hookspecs.PROJECT}_impl"
    for name in dir(obj):
        if getattr(getattr(obj, name, None), marker, None) is not None and name not in HOOK_KINDS:
            close = difflib.get_close_matches(name, list(HOOK_KINDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            info.warnings.append(f"implements unknown hook {name!r}{hint}; it is never called")


def _collector(staged: list[Component], kind: str, hookname: str):
    def register(component: Any) -> None:
        if not isinstance(component, Component):
            raise TuidlError(
                f"{hookname} registered {type(component).__name__} {component!r}; "
                "expected a tuidl.plugins.Component"
            )
        if component.kind != kind:
            raise TuidlError(
                f"{hookname} registered {component.kind} {component.name!r}; "
                f"this hook only takes kind {kind!r}"
            )
        staged.append(component)

    return register


def _rollback(registry: Registry, info: PluginInfo) -> None:
    for kind_key in info.components:
        kind, key = kind_key.split(" ", 1)
        registry.components[kind].pop(key, None)
    info.components.clear()


def _fail(info: PluginInfo, error: str) -> None:
    info.status = "failed"
    info.error = error


def _describe(exc: BaseException) -> str:
    """``"Type: message (at FILE:LINE)"``, located in the plugin's code, not the importer's."""
    if isinstance(exc, TuidlError):
        return str(exc)
    if isinstance(exc, SyntaxError) and exc.filename:
        # the traceback of a SyntaxError ends in importlib; the error itself knows the place
        return f"{type(exc).__name__}: {exc.msg} (at {exc.filename}:{exc.lineno})"
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    own = [f for f in frames if not f.filename.startswith("<") and not _machinery(f.filename)]
    if own:
        # the first frame past the import system and pluggy is the plugin's own module; a
        # later frame in its folder beats one deep inside a library it called (numpy)
        folder = Path(own[0].filename).parent
        mine = [f for f in own if Path(f.filename).parent.is_relative_to(folder)]
        own = mine or own
    frame = (own or frames)[-1:]
    where = f" (at {frame[0].filename}:{frame[0].lineno})" if frame else ""
    text = str(exc) if not isinstance(exc, SystemExit) else f"sys.exit({exc.code!r}) at import"
    return f"{type(exc).__name__}: {text}{where}"


def _machinery(filename: str) -> bool:
    # frames of the import system, pluggy and this module say nothing about the plugin
    parts = Path(filename).parts
    return "importlib" in parts or "pluggy" in parts or filename == __file__


_cached: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded once (views and the runner use this)."""
    global _cached
    if _cached is None:
        _cached = load_registry()
    return _cached


def set_plugin_paths(paths: Iterable[str | os.PathLike]) -> None:
    """Add ``--plugin`` paths for this process and every worker process it starts.

    They are appended to ``TUIDL_PLUGINS`` (rather than kept in a global) because runner
    workers are separate processes that load their own registry from the environment.
    """
    extra = [str(Path(p).expanduser().resolve()) for p in paths]
    current = [p for p in os.environ.get("TUIDL_PLUGINS", "").split(os.pathsep) if p]
    # a path already there would load the same plugin twice (a second `main()` in one process)
    os.environ["TUIDL_PLUGINS"] = os.pathsep.join(dict.fromkeys(current + extra))
    reset_registry()


def reset_registry() -> None:
    """Forget the process-wide registry (tests; a view after installing a plugin)."""
    global _cached
    _cached = None
