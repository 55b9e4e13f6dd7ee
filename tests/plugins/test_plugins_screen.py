"""The workbench's Plugins screen (F2) shows each component's help text, its last failed
contract check, plugins switched off by the environment and warnings about it."""

from __future__ import annotations

import asyncio
import types

from textual.app import App
from textual.widgets import Tree

from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.manager import load_registry
from tuidl.tui.screens.plugins import PluginsScreen


def _make(gamma=2.0):
    """Focal loss: down-weights easy rows.

    gamma = 0 is plain softmax cross-entropy."""
    return None


def _hook(register):
    register(Component("loss", "focal", "Focal loss", _make, (Param("gamma", "float", 2.0, "g"),)))


def _labels(node) -> list[str]:
    out = [str(node.label)]
    for child in node.children:
        out += _labels(child)
    return out


def test_screen_shows_help_checks_disabled_and_warnings():
    mod = types.ModuleType("extras")
    mod.register_losses = hookimpl(_hook)
    registry = load_registry(entry_points=False, extra_plugins=[("extras", mod)], environ={})
    registry.disabled["other"] = "TUIDL_DISABLE_PLUGINS"
    registry.warnings.append("TUIDL_LOAD_PLUGINS names 'nosuch', which is not a plugin")
    checks = {"loss focal": {"status": "failed", "reason": "numeric gradient: off by 1e-2"}}

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(PluginsScreen(registry, checks))

    async def drive() -> list[str]:
        app = Host()
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            return _labels(app.screen.query_one(Tree).root)

    labels = asyncio.run(drive())
    text = "\n".join(labels)
    assert "Focal loss: down-weights easy rows." in labels
    assert "gamma = 0 is plain softmax cross-entropy." in labels
    assert "CHECK FAILED: numeric gradient: off by 1e-2" in labels
    assert "other  not loaded: TUIDL_DISABLE_PLUGINS" in labels
    assert "warning: TUIDL_LOAD_PLUGINS names 'nosuch'" in text


def test_the_workbench_starts_with_a_plugin_that_exits_at_import(tmp_path, monkeypatch):
    """Issue #15 item 11: sys.exit() in a plugin used to end the workbench."""
    from tuidl.plugins.manager import reset_registry
    from tuidl.tui.app import WorkbenchApp

    (tmp_path / "exiter.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.setenv("TUIDL_PLUGINS", str(tmp_path / "exiter.py"))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    reset_registry()

    async def drive() -> list[str]:
        app = WorkbenchApp(store_path=tmp_path / "runs.sqlite")  # loads the registry itself
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f2")
            await pilot.pause()
            return _labels(app.screen.query_one(Tree).root)

    try:
        labels = asyncio.run(drive())
    finally:
        reset_registry()
    text = "\n".join(labels)
    assert "exiter" in text and "SystemExit" in text and "FAILED" in text
