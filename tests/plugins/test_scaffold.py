"""`tuidl plugins new`: the generated package's own tests pass once it is installed.

The fast test stands in for `pip install -e` with exactly what tuidl's discovery reads: a
``.dist-info`` folder holding the generated entry point, on ``sys.path`` next to the package
source. The slow test does the real `pip install -e` into a throwaway virtual environment.
"""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tuidl.cli import main
from tuidl.errors import TuidlError
from tuidl.plugins.scaffold import create_plugin, plugin_names, render
from tuidl.plugins.schema import KINDS

NAMES = {
    "loss": "smooth-ce",
    "preprocessor": "minmax",
    "model": "enet",
    "initializer": "glorot",
    "optimizer": "clip_sgd",
    "dataset": "blobs",
    "searcher": "lhs",
}


def _fake_install(root: Path, site_dir: Path) -> Path:
    """What `pip install -e root` leaves for importlib.metadata: a dist-info with entry points."""
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    info = site_dir / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    eps = meta["entry-points"]["tuidl"]
    (info / "entry_points.txt").write_text(
        "[tuidl]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
    )
    return root / "src"


def _pytest(paths: list[Path], pythonpath: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDL_")}
    env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, paths)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_names():
    assert plugin_names("Focal-Loss") == plugin_names("tuidl-focal_loss")
    n = plugin_names("focal-loss")
    assert (n.dist, n.package, n.name) == ("tuidl-focal-loss", "tuidl_focal_loss", "focal_loss")
    for bad in ("1abc", "a/b", "", "class", "tuidl-"):
        with pytest.raises(TuidlError, match="not usable"):
            plugin_names(bad)


def test_every_kind_renders_an_entry_point_and_a_test():
    for kind in KINDS:
        files = render(plugin_names("x"), kind)
        meta = tomllib.loads(files["pyproject.toml"])
        assert meta["project"]["entry-points"]["tuidl"] == {"x": "tuidl_x.plugin"}
        assert "$" not in files["src/tuidl_x/plugin.py"]
        assert "test_registered_through_the_entry_point" in files["tests/test_x.py"]
        compile(files["src/tuidl_x/plugin.py"], "plugin.py", "exec")
        compile(files["tests/test_x.py"], "test_x.py", "exec")
    for kind in ("loss", "model"):
        assert "def test_numeric_gradient" in render(plugin_names("x"), kind)["tests/test_x.py"]
    with pytest.raises(TuidlError, match="unknown kind"):
        render(plugin_names("x"), "layer")


def test_generated_packages_pass_their_own_tests(tmp_path):
    site_dir = tmp_path / "site"
    roots = [create_plugin(name, kind, tmp_path) for kind, name in NAMES.items()]
    srcs = [_fake_install(root, site_dir) for root in roots]
    proc = _pytest([r / "tests" for r in roots], [site_dir, *srcs], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed = int(re.search(r"(\d+) passed", proc.stdout).group(1))
    assert passed >= 3 * len(KINDS)


def test_generated_packages_pass_plugins_check_and_ruff(tmp_path):
    """What an author runs next: `tuidl plugins check NAME` and a linter, for every kind."""
    site_dir = tmp_path / "site"
    roots = {kind: create_plugin(name, kind, tmp_path) for kind, name in NAMES.items()}
    srcs = [_fake_install(root, site_dir) for root in roots.values()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDL_")}
    env["PYTHONPATH"] = os.pathsep.join(map(str, [site_dir, *srcs]))
    env["TUIDL_DATA_DIR"] = str(tmp_path / "data")
    names = [plugin_names(n).name for n in NAMES.values()]
    proc = subprocess.run(
        [sys.executable, "-m", "tuidl", "plugins", "check", *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for kind, name in zip(NAMES, names, strict=True):
        assert re.search(rf"^OK +{kind} {name} ", proc.stdout, re.M), proc.stdout
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.is_file():
        pytest.skip("ruff is not installed next to this interpreter")
    for root in roots.values():
        for args in (["check"], ["format", "--check"]):
            lint = subprocess.run(
                [str(ruff), *args, "--no-cache", "."], cwd=root, capture_output=True, text=True
            )
            assert lint.returncode == 0, f"{root.name}: ruff {args}: {lint.stdout}{lint.stderr}"


def test_generated_tests_fail_when_not_installed(tmp_path):
    root = create_plugin("orphan", "loss", tmp_path)
    proc = _pytest([root / "tests"], [root / "src"], tmp_path)
    assert proc.returncode != 0
    assert "pip install -e" in proc.stdout


def test_cli_new_and_refusing_to_overwrite(tmp_path, capsys):
    assert main(["plugins", "new", "focal", "--kind", "loss", "--dest", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pip install -e" in out
    root = tmp_path / "tuidl-focal"
    assert (root / "src" / "tuidl_focal" / "plugin.py").is_file()
    assert main(["plugins", "new", "focal", "--dest", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["plugins", "new", "focal", "--dest", str(tmp_path), "--force"]) == 0


@pytest.mark.slow
def test_real_pip_install_e_in_a_throwaway_venv(tmp_path):
    """`pip install -e` for real (offline: --no-deps, --no-build-isolation), then its tests."""
    root = create_plugin("realdeal", "model", tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # See this interpreter's packages (tuidl, numpy, pytest, pip, setuptools) without copying.
    ours = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    Path(venv_site, "_outer.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(ours))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUIDL_", "PYTHONPATH"))}
    install = subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            # Build isolation, exactly as a plugin author's `pip install -e` does: a fresh
            # venv's own setuptools may be too old to build a wheel (no bdist_wheel).
            "-e",
            str(root),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    proc = subprocess.run(
        [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout
