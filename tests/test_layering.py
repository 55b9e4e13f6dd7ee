"""Imports point down: the package and the engine stay free of the upper layers."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "tuidl"


def test_import_tuidl_does_not_import_views():
    code = (
        "import tuidl, tuidl.engine, sys; "
        "bad = [m for m in ('textual', 'plotext', 'textual_plotext') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_and_data_import_no_upper_layer():
    forbidden = (
        "pluggy",
        "textual",
        "plotext",
        "tuidl.plugins",
        "tuidl.experiment",
        "tuidl.cli",
        "tuidl.tui",
        "tuidl.charts",
    )
    files = list((ROOT / "engine").rglob("*.py")) + list((ROOT / "data").rglob("*.py"))
    assert files
    for f in files:
        bad = [m for m in _imports(f) if m.startswith(forbidden)]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_experiment_never_imports_views():
    for f in (ROOT / "experiment").rglob("*.py"):
        bad = [m for m in _imports(f) if m.startswith(("textual", "tuidl.tui", "tuidl.cli"))]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_the_workbench_draws_its_first_frame_before_numpy_loads():
    # numpy, the engine and the plugins load in a thread after the first frame (docs/tui.md):
    # a module-level numpy import anywhere the app imports costs ~0.3 s of every start
    code = (
        "import sys; from tuidl.tui.app import WorkbenchApp; "
        "bad = [m for m in ('numpy', 'scipy') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
