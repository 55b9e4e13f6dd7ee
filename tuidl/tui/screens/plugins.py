"""The Plugins screen: every plugin (source, version, status, load error) and its components,
each with its help text (the factory's docstring), its params and its last contract-check
failure; plugins switched off by TUIDL_LOAD_PLUGINS / TUIDL_DISABLE_PLUGINS and warnings about
those variables are listed too."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static, Tree

from tuidl.plugins.registry import Registry
from tuidl.tui.widgets.key_footer import KeyFooter


class PluginsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f2,q", "app.pop_screen", "Back", id="plugins.close")
    ]

    DEFAULT_CSS = """
    PluginsScreen #plugins-title { height: 1; text-style: bold; padding: 0 1; }
    PluginsScreen Tree { height: 1fr; }
    """

    def __init__(self, registry: Registry, checks: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.checks = checks if checks is not None else _check_results(registry)

    def compose(self) -> ComposeResult:
        failed = sum(1 for p in self.registry.plugins if p.status != "ok")
        title = f"Plugins: {len(self.registry.plugins)} loaded"
        if failed:
            title += f", {failed} failed"
        with Vertical():
            yield Static(title + " · enter expands · escape goes back", id="plugins-title")
            yield self._tree()
        yield KeyFooter()

    def _tree(self) -> Tree:
        tree: Tree[str] = Tree("plugins", id="plugin-tree")
        tree.show_root = False
        reg = self.registry
        by_plugin: dict[str, list] = {}
        for kind, table in reg.components.items():
            for comp in table.values():
                by_plugin.setdefault(comp.plugin, []).append((kind, comp))
        for info in reg.plugins:
            label = Text()
            label.append(info.name, style="bold")
            label.append(f"  {info.version} · {info.source} · ")
            if info.status == "ok":
                label.append("ok", style="green")
            else:
                label.append("FAILED", style="bold red")
            node = tree.root.add(label, expand=info.status != "ok" or info.source != "builtin")
            if info.error:
                node.add_leaf(Text(f"error: {info.error}", style="red"))
            for w in info.warnings:
                node.add_leaf(Text(f"warning: {w}", style="yellow"))
            for kind, comp in by_plugin.get(info.name, []):
                failed = self.checks.get(f"{kind} {comp.key}", {})
                c = node.add(
                    Text.assemble(
                        (f"{kind} ", "dim"),
                        (comp.key, "bold"),
                        f"  {comp.summary}",
                        ("  CHECK FAILED", "bold red") if failed.get("status") == "failed" else "",
                    )
                )
                if failed.get("status") == "failed":
                    c.add_leaf(Text(f"CHECK FAILED: {failed.get('reason', '')}", style="red"))
                if comp.help != comp.summary:
                    for line in comp.help.splitlines():
                        c.add_leaf(Text(line or " ", style="italic"))
                for p in comp.params:
                    c.add_leaf(
                        Text.assemble(
                            (p.name, "bold"),
                            f" = {p.default!r}  ",
                            (f"[{p.allowed()}]", "dim"),
                            f"  {p.help}",
                        )
                    )
            if info.status == "ok" and not by_plugin.get(info.name):
                node.add_leaf(Text("(no components)", style="dim"))
        for name, why in sorted(reg.disabled.items()):
            tree.root.add_leaf(Text.assemble((name, "bold"), (f"  not loaded: {why}", "dim")))
        for w in reg.warnings:
            tree.root.add_leaf(Text(f"warning: {w}", style="yellow"))
        return tree

    def on_mount(self) -> None:
        self.query_one(Tree).focus()


def _check_results(registry: Registry) -> dict[str, Any]:
    """The last ``tuidl plugins check`` results for what is loaded (never raises)."""
    from tuidl.plugins.contract import load_check_results

    return load_check_results(registry)
