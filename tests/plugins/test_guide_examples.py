"""docs/plugins.md's example plugin works as written: every code block starting with
``# file: PATH`` is written to PATH, the package is installed (a ``.dist-info`` holding the
entry points of the guide's own pyproject.toml, which is what tuidl's discovery reads), and
then exactly what the guide tells the reader to run is run: its tests, `tuidl plugins check`,
`tuidl run` on its spec, and a linter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tuidl.plugins.schema import KINDS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCK = re.compile(r"^```(\w+)\n# file: (\S+)\n(.*?)^```$", re.M | re.S)


def _blocks() -> dict[str, str]:
    out: dict[str, str] = {}
    for _lang, path, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        assert path not in out, f"two blocks for {path}"
        out[path] = f"# file: {path}\n{body}"
    return out


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("guide")
    files = _blocks()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    pkg = root / "tuidl-extras"
    meta = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]
    site = root / "site"
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    eps = meta["entry-points"]["tuidl"]
    (info / "entry_points.txt").write_text(
        "[tuidl]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(pkg / "src")])
    env["TUIDL_DATA_DIR"] = str(root / "data")
    return {"root": root, "pkg": pkg, "files": files, "env": env, "entry_points": eps}


def _run(args: list[str], example, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=cwd or example["root"],
        env=example["env"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_guide_has_a_module_for_every_kind_and_one_entry_point(example):
    files = example["files"]
    modules = [f for f in files if f.startswith("tuidl-extras/src/tuidl_extras/")]
    text = "\n".join(files[m] for m in modules)
    for kind in KINDS:
        assert re.search(rf'Component\(\s*"{kind}"', text), f"no {kind} example in the guide"
    assert example["entry_points"] == {"extras": "tuidl_extras.plugin"}
    assert "spirals.toml" in files and "tuidl-extras/tests/test_extras.py" in files


def test_its_own_tests_pass(example):
    proc = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        example,
        cwd=example["pkg"],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b1\d passed", proc.stdout), proc.stdout


def test_plugins_check_passes_for_all_six(example):
    proc = _run([sys.executable, "-m", "tuidl", "plugins", "check", "extras"], example)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("\nOK ") + proc.stdout.startswith("OK ") == len(KINDS), proc.stdout
    listing = _run([sys.executable, "-m", "tuidl", "plugins"], example).stdout
    assert "extras" in listing and "Focal loss: softmax cross-entropy scaled by" in listing


def test_the_spec_trains_with_all_six(example):
    out = example["root"] / "run.json"
    store = example["root"] / "runs.sqlite"
    proc = _run(
        [
            sys.executable,
            "-m",
            "tuidl",
            "run",
            "spirals.toml",
            "--store",
            str(store),
            "--json",
            str(out),
        ],
        example,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["status"] == "finished"
    assert all(t["status"] == "ok" for t in result["trials"])
    assert result["best"]["mean"] > 0.9 and result["test_accuracy"] > 0.9, result


def test_the_example_is_clean_under_ruff(example):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.is_file():
        pytest.skip("ruff is not installed next to this interpreter")
    rules = ["--select", "E,F,W,I,B,UP", "--line-length", "100", "--no-cache"]
    for args in (["check", *rules], ["format", "--check", "--line-length", "100", "--no-cache"]):
        proc = subprocess.run(
            [str(ruff), *args, "."], cwd=example["pkg"], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
