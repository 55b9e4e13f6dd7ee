"""`tuidl run`, `tuidl runs`, `tuidl show` and `tuidl spec`, in-process and as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tuidl.cli import main
from tuidl.experiment.store import Store
from tuidl.plugins.manager import reset_registry

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = """
import numpy as np
from tuidl.data.dataset import checked
from tuidl.plugins import Component, Param, hookimpl


def _blobs(n):
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 6))
    y = rng.integers(0, 3, n)
    X = (centers[y] + rng.normal(0, 1, (n, 6))).astype(np.float32)
    return checked("blobs", "plugin", X, y, class_names=["a", "b", "c"])


@hookimpl
def register_datasets(register):
    register(Component("dataset", "cliblobs", "blobs from a --plugin file", _blobs,
                       (Param("n", "int", 300, "rows", min=10),)))
"""

SPEC = """
seed = 1
[dataset]
name = "cliblobs"
[split]
num_training = 200
num_validation = 0
num_test = 100
[[preprocess]]
name = "mean_subtraction"
[model]
name = "linear"
[optimizer]
name = "sgd"
lr = 0.05
[training]
epochs = 2
batch_size = 20
[cv]
folds = 4
[cv.grid]
"model.reg" = [1e-4, 1e-2, 1.0]
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A spec, a store path and a --plugin file; TUIDL_PLUGINS restored afterwards."""
    monkeypatch.setenv("TUIDL_PLUGINS", "")
    plugin = tmp_path / "cliblobs.py"
    plugin.write_text(PLUGIN)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    reset_registry()
    yield {"spec": spec, "store": tmp_path / "runs.sqlite", "plugin": plugin, "tmp": tmp_path}
    reset_registry()


def test_run_prints_table_best_and_test_and_writes_json(env, capsys):
    out_json = env["tmp"] / "out.json"
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    rc = main([*argv, "--workers", "2", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "run 1: linear on cliblobs, 4-fold CV, 3 trial(s)" in out
    assert "mean ± std" in out and "best: config #" in out
    assert "test accuracy of the retrained best" in out
    assert "Cross-validation on model.reg" in out and "confusion matrix" in out
    data = json.loads(out_json.read_text())
    assert set(data) >= {"run_id", "trials", "best", "test_accuracy"}
    assert set(data["trials"][0]) >= {"params", "fold_scores", "mean", "std", "fit_seconds"}
    assert len(data["trials"]) == 3 and len(data["trials"][0]["fold_scores"]) == 4
    assert set(data["best"]) >= {"params", "mean", "std"}
    assert 0 <= data["test_accuracy"] <= 1

    # the same run in one process gives the same numbers
    serial = env["tmp"] / "serial.json"
    assert main([*argv, "--workers", "1", "--json", str(serial), "--no-charts"]) == 0
    again = json.loads(serial.read_text())
    assert [t["fold_scores"] for t in again["trials"]] == [t["fold_scores"] for t in data["trials"]]
    assert again["test_accuracy"] == data["test_accuracy"]

    capsys.readouterr()
    assert main(["runs", "--store", str(env["store"])]) == 0
    listing = capsys.readouterr().out
    assert "cliblobs" in listing and "finished" in listing and "12/12" in listing
    assert main(["show", "1", "--store", str(env["store"]), "--no-charts"]) == 0
    shown = capsys.readouterr().out
    assert "mean ± std" in shown and "test accuracy" in shown
    assert main(["show", "1", "--store", str(env["store"]), "--spec"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["dataset"]["name"] == "cliblobs"


def test_set_and_seed_overrides(env, capsys):
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    rc = main(
        [
            *argv,
            "--workers",
            "1",
            "--no-charts",
            "--seed",
            "5",
            "--set",
            "cv.folds=2",
            "--set",
            'cv.grid."model.reg"=[0.001]',
        ]
    )
    assert rc == 0
    run = Store(env["store"]).get_run(1)
    assert run["seed"] == 5 and run["num_folds"] == 2 and len(run["trials"]) == 1
    assert "run 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--resume", "99"], "error: no run 99 in the store"),
        (["run"], "error: give a SPEC file"),
        (["run", "SPEC", "--resume", "1"], "error: --resume continues a stored run"),
        (["run", "SPEC", "--workers", "0"], "error: --workers 0"),
        (["run", "SPEC", "--set", "model.k=3"], "error: model.k: unknown key; model linear"),
        (["run", "SPEC", "--set", "cv.folds=500"], "error: cv.folds: 500 folds but only 200"),
        (["run", "missing.toml"], "error: spec file 'missing.toml' does not exist"),
        (["show", "3"], "error: no run 3"),
        (["spec", "check", "SPEC", "--set", "cv.grid.model.nope=[1]"], "names nothing"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(env, capsys, argv, message):
    argv = [str(env["spec"]) if a == "SPEC" else a for a in argv]
    if argv[0] in ("run", "show"):
        argv += ["--store", str(env["store"])]
    rc = main(["--plugin", str(env["plugin"]), *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err


def test_corrupt_store_is_a_clear_error(env, capsys):
    env["store"].write_bytes(b"garbage" * 1000)
    rc = main(["runs", "--store", str(env["store"])])
    err = capsys.readouterr().err
    assert rc == 2 and "corrupt or not a tuidl store" in err and str(env["store"]) in err


def test_spec_new_writes_a_valid_commented_spec(env, capsys):
    for dataset in ("digits", "cifar10"):
        assert main(["spec", "new", "--dataset", dataset]) == 0
        text = capsys.readouterr().out
        path = env["tmp"] / f"{dataset}.toml"
        path.write_text(text)
        assert "# " in text and tomllib.loads(text)["dataset"]["name"] == dataset
        assert main(["spec", "check", str(path)]) == 0
        assert capsys.readouterr().out.startswith("ok: linear on " + dataset)


# -- Ctrl+C and kill, as a user would do it --------------------------------------------------

SLOW_SPEC = """
seed = 0
[dataset]
name = "digits"
[split]
num_training = 1000
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "fc_net"
hidden_sizes = [200]
[optimizer]
name = "sgd"
lr = 1e-3
[training]
epochs = 40
batch_size = 25
[cv]
folds = 5
[cv.grid]
"model.reg" = [1e-4, 1e-3, 1e-2]
"""


def _start(tmp_path, *extra):
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW_SPEC)
    store = tmp_path / "runs.sqlite"
    cmd = [sys.executable, "-m", "tuidl", "run", str(spec), "--store", str(store), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUIDL_PLUGINS": ""}
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    return proc, store


def _wait_for_folds(store_path, n, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store_path.exists():
            try:
                with Store(store_path) as s:
                    if s.list_runs() and len(s.done_folds(1)) >= n:
                        return
            except Exception:
                pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("no folds finished in time")


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_cleanly_and_resume_completes(tmp_path, workers, capsys):
    proc, store_path = _start(tmp_path, "--workers", workers, "--no-charts")
    _wait_for_folds(store_path, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl+C does: the whole foreground group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"tuidl run --resume 1 --store {store_path}" in err
    with Store(store_path) as s:
        run = s.get_run(1)
        kept = len(s.done_folds(1))
    assert run["status"] == "interrupted" and kept >= 2 and run["test"] is None
    assert "status interrupted" in out  # the partial table is still printed

    assert (
        main(
            [
                "run",
                "--resume",
                "1",
                "--store",
                str(store_path),
                "--workers",
                workers,
                "--no-charts",
            ]
        )
        == 0
    )
    with Store(store_path) as s:
        run = s.get_run(1)
        assert run["status"] == "finished" and len(s.done_folds(1)) == 15
        assert run["test"]["test_accuracy"] > 0.8


@pytest.mark.slow
def test_a_killed_run_loses_at_most_the_fold_in_flight(tmp_path):
    proc, store_path = _start(tmp_path, "--workers", "1", "--no-charts")
    _wait_for_folds(store_path, 3, proc)
    with Store(store_path) as s:
        before = set(s.done_folds(1))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    with Store(store_path) as s:
        after = set(s.done_folds(1))
        assert s.get_run(1)["status"] == "running"  # nobody could mark it
    assert before <= after and len(after) >= 3
    assert (
        main(["run", "--resume", "1", "--store", str(store_path), "--workers", "1", "--no-charts"])
        == 0
    )
    with Store(store_path) as s:
        assert s.get_run(1)["status"] == "finished" and len(s.done_folds(1)) == 15


def test_store_that_cannot_be_written_is_a_clear_error(env, capsys):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")
    spec, plugin = str(env["spec"]), str(env["plugin"])
    rc = main(["--plugin", plugin, "run", spec, "--store", "/proc/self/runs.sqlite"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot write the run store '/proc/self/runs.sqlite'" in err
    assert "--store PATH" in err
    # listing only reads: it says there is no store there rather than trying to create one
    rc = main(["runs", "--store", "/proc/self/runs.sqlite"])
    err = capsys.readouterr().err
    assert rc == 2 and "no run store at '/proc/self/runs.sqlite'" in err


@pytest.mark.slow
def test_ctrl_c_while_workers_are_still_starting_interrupts_not_fails(tmp_path):
    """A terminal's Ctrl+C reaches the whole group, spawning workers included."""
    proc, store_path = _start(tmp_path, "--workers", "2", "--no-charts")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the run row exists: workers are being spawned
        if store_path.exists():
            try:
                with Store(store_path) as s:
                    if s.list_runs() and s.get_run(1)["status"] == "running":
                        break
            except Exception:
                pass
        time.sleep(0.02)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with Store(store_path) as s:
        assert s.get_run(1)["status"] == "interrupted"


def test_bad_fold_memory_setting_fails_before_a_run_is_stored(env, capsys, monkeypatch):
    monkeypatch.setenv("TUIDL_FOLD_MEMORY", "lots")
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "TUIDL_FOLD_MEMORY='lots'" in err and "Traceback" not in err
    with Store(env["store"]) as s:
        assert s.list_runs() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"seed = 1\n# caf\xe9\n", "is not UTF-8 text (line 2, byte 14)"),
        (b"seed = " + b"[" * 5000 + b"]" * 5000, "nested too deeply to read"),
        (b"seed = " + b"{a = " * 5000 + b"1" + b"}" * 5000, "nested too deeply to read"),
    ],
)
def test_unreadable_spec_text_is_one_error_line(env, capsys, content, message):
    """A Latin-1 spec gave a UnicodeDecodeError, a deep one a 3,000-line RecursionError."""
    env["spec"].write_bytes(content)
    for argv in (["spec", "check", str(env["spec"])], ["run", str(env["spec"])]):
        assert main([*argv, "--store", str(env["store"])] if argv[0] == "run" else argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_deeply_nested_set_value_is_one_error_line(env, capsys):
    argv = ["run", str(env["spec"]), "--store", str(env["store"])]
    assert main([*argv, "--set", "model.reg=" + "[" * 5000 + "]" * 5000]) == 2
    err = capsys.readouterr().err
    assert err == "error: --set model.reg: the value is nested too deeply to read\n"


def test_one_training_row_says_k_fold_needs_two_rows_not_at_most_one_fold(env, capsys):
    """It said "use at most 1 folds" while folds must be at least 2."""
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    assert main([*argv, "--set", "split.num_training=1", "--set", "cv.folds=2"]) == 2
    err = capsys.readouterr().err
    assert "k-fold needs at least 2 training rows and there are 1" in err
    assert "at most 1 folds" not in err
    assert main([*argv, "--set", "cv.folds=500"]) == 2
    assert "use 2 to 200 folds or more split.num_training" in capsys.readouterr().err


def test_more_workers_than_work_or_cores_does_not_advise_more_memory(env, capsys, monkeypatch):
    """--workers 500 advised raising TUIDL_FOLD_MEMORY, which would not have helped."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    env["spec"].write_text(
        SPEC.replace('name = "linear"', 'name = "knn"')
        .replace('"model.reg" = [1e-4, 1e-2, 1.0]', '"model.k" = [1, 3, 5]')
        .replace(
            '[optimizer]\nname = "sgd"\nlr = 0.05\n[training]\nepochs = 2\nbatch_size = 20\n', ""
        )
    )
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    assert main([*argv, "--workers", "500", "--no-charts"]) == 0
    err = capsys.readouterr().err
    assert "--workers 500 is more than this machine's 2 CPU cores" in err
    assert "running 4 worker processes instead of 500: the run has work for only 4" in err
    assert "TUIDL_FOLD_MEMORY" not in err


@pytest.mark.parametrize("where", ["missing-folder/out.json", "DIR", "/proc/self/out.json"])
def test_unwritable_json_path_fails_before_the_run(env, capsys, where):
    """It was reported only after the whole run had been computed."""
    path = str(env["tmp"]) if where == "DIR" else where
    if path.startswith("/proc") and not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")
    if not path.startswith("/"):
        path = str(env["tmp"] / path)
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    assert main([*argv, "--json", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write --json {path!r}: ") and err.count("\n") == 1
    assert not env["store"].exists() or Store(env["store"]).list_runs() == []


def test_json_check_leaves_an_existing_file_alone_until_the_run_is_done(env, capsys):
    out = env["tmp"] / "keep.json"
    out.write_text("precious")
    argv = ["--plugin", str(env["plugin"]), "run", str(env["spec"]), "--store", str(env["store"])]
    assert main([*argv, "--json", str(out), "--set", "cv.folds=1"]) == 2  # fails after check
    assert out.read_text() == "precious"
    assert not [p for p in env["tmp"].iterdir() if p.name.startswith(".tuidl")]


# -- a reader that goes away (`tuidl show 1 | head`) ------------------------------------------


def _with_reader_gone(argv, *, stderr_too=False, timeout=120):
    """Run ``tuidl ARGV`` with stdout (and stderr) a pipe whose reader closed before the
    command wrote a byte: every write then fails with EPIPE, as after `| head` exits."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUIDL_PLUGINS": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuidl", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # the interpreter takes far longer to start than this takes
    if stderr_too:
        proc.stderr.close()
        return proc.wait(timeout=timeout), ""
    err = proc.stderr.read().decode()
    return proc.wait(timeout=timeout), err


@pytest.fixture
def finished_run(tmp_path):
    spec = tmp_path / "knn.toml"
    spec.write_text(
        'seed = 0\n[dataset]\nname = "digits"\n[split]\nnum_training = 300\nnum_test = 50\n'
        '[[preprocess]]\nname = "reshape"\n[model]\nname = "knn"\n[cv]\nfolds = 3\n'
        '[cv.grid]\n"model.k" = [1, 3]\n'
    )
    store = tmp_path / "runs.sqlite"
    assert main(["run", str(spec), "--store", str(store), "--workers", "1", "--no-charts"]) == 0
    return spec, store


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "1"],
        ["show", "1", "--json"],
        ["runs"],
        ["data", "info", "digits"],
        ["spec", "new"],
        ["plugins"],
        ["plugins", "check", "knn"],
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(finished_run, argv):
    """`tuidl show N | head` and `tuidl data info … | head` ended in BrokenPipeError tracebacks."""
    _, store = finished_run
    if argv[0] in ("show", "runs"):
        argv = [*argv, "--store", str(store)]
    rc, err = _with_reader_gone(argv)
    assert err == "" and rc == 141, err


def test_a_run_whose_readers_go_away_still_finishes_and_writes_its_json(finished_run, tmp_path):
    spec, store = finished_run
    out = tmp_path / "out.json"
    argv = ["run", str(spec), "--store", str(store), "--workers", "500", "--json", str(out)]
    rc, _ = _with_reader_gone(argv, stderr_too=True)  # the --workers note hits stderr first
    assert rc == 141
    assert json.loads(out.read_text())["run_id"] == 2
    with Store(store) as s:
        assert s.get_run(2)["status"] == "finished"
