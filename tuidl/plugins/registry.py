"""The registry: every component tuidl knows, by kind and name, plus what each plugin did.

Filled by :func:`tuidl.plugins.manager.load_registry`; read by the spec layer and the views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuidl.errors import TuidlError
from tuidl.plugins.schema import KINDS, Component

SOURCES = ("builtin", "entry point", "path", "test")


@dataclass
class PluginInfo:
    """One plugin as loaded: where it came from and whether it worked."""

    name: str
    version: str
    source: str
    status: str = "ok"  # "ok" or "failed"
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)  # "kind key"
    path: str = ""  # the imported module's file ("" for test objects); see contract.code_hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "status": self.status,
            "error": self.error,
            "warnings": list(self.warnings),
            "components": list(self.components),
            "path": self.path,
        }


class Registry:
    """Components by kind and key, and the plugins that provided them.

    ``components[kind][key]`` is a :class:`Component`; ``plugins`` lists a
    :class:`PluginInfo` per plugin loaded or failed, in discovery order (its ``name`` is the
    entry-point name or file stem, ``components`` the ``"kind key"`` strings it registered);
    ``disabled`` maps installed plugins that ``TUIDL_LOAD_PLUGINS``/``TUIDL_DISABLE_PLUGINS``
    switched off to the reason; ``warnings`` holds registry-wide warnings (a name in those
    variables that matches no plugin).
    """

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Component]] = {k: {} for k in KINDS}
        self.plugins: list[PluginInfo] = []
        self.disabled: dict[str, str] = {}
        self.warnings: list[str] = []

    def add(self, component: Component, plugin: PluginInfo) -> Component:
        """Store ``component`` under its name, or as ``plugin:name`` when the name is taken.

        The first registration keeps the short name; a later duplicate stays reachable under
        its qualified key and a warning is recorded on its plugin.
        """
        table = self.components[component.kind]
        key = component.name
        if key in table:
            key = f"{plugin.name}:{component.name}"
            first = table[component.name].plugin
            plugin.warnings.append(
                f"{component.kind} {component.name!r} is already provided by plugin "
                f"{first!r}; this one is available as {key!r}"
            )
            if key in table:
                raise TuidlError(f"plugin {plugin.name!r} registers {component.kind} {key!r} twice")
        stored = _with(component, plugin=plugin.name, key=key)
        table[key] = stored
        plugin.components.append(f"{component.kind} {key}")
        return stored

    def get(self, kind: str, name: str) -> Component:
        """The component ``name`` of ``kind``; unknown names raise with the known ones listed."""
        if kind not in self.components:
            raise TuidlError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        try:
            return self.components[kind][name]
        except KeyError:
            known = ", ".join(sorted(self.components[kind])) or "none"
            raise TuidlError(f"unknown {kind} {name!r}; known: {known}{self._hint()}") from None

    def _hint(self) -> str:
        """Why a component may be missing: plugins that failed or were switched off."""
        notes = []
        failed = [p.name for p in self.plugins if p.status == "failed"]
        if failed:
            notes.append(f"failed plugins: {', '.join(failed)}")
        if self.disabled:
            off = ", ".join(f"{n} ({why})" for n, why in sorted(self.disabled.items()))
            notes.append(f"plugins not loaded: {off}")
        return f" ({'; '.join(notes)}; see `tuidl plugins`)" if notes else ""

    def names(self, kind: str) -> list[str]:
        return list(self.components[kind])

    def create(self, kind: str, name: str, params: dict[str, Any] | None = None, **extra: Any):
        """Shortcut for ``get(kind, name).create(params, **extra)``."""
        return self.get(kind, name).create(params, **extra)

    def plugin(self, name: str) -> PluginInfo:
        """The plugin named ``name`` (entry-point name or file stem, not a component name)."""
        for p in self.plugins:
            if p.name == name:
                return p
        owner = [
            p.name for p in self.plugins if any(c.split(" ", 1)[1] == name for c in p.components)
        ]
        hint = f"; {name!r} is a component of plugin {owner[0]!r}" if owner else ""
        if name in self.disabled:
            hint = f"; it is installed but not loaded ({self.disabled[name]})"
        elif self.disabled:
            hint += f"; installed but not loaded: {', '.join(sorted(self.disabled))}"
        raise TuidlError(
            f"unknown plugin {name!r}{hint}; loaded: {', '.join(p.name for p in self.plugins)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugins": [p.to_dict() for p in self.plugins],
            "disabled": dict(self.disabled),
            "warnings": list(self.warnings),
            "components": {
                kind: [c.to_dict() for c in table.values()]
                for kind, table in self.components.items()
            },
        }


def _with(component: Component, **changes: Any) -> Component:
    from dataclasses import replace

    return replace(component, **changes)
