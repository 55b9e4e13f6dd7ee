"""Trials on a Dask cluster (``--executor``): same numbers as a serial run, the data sent to
each worker once, a lost worker's trials retried, cancel and resume.

The cluster is a ``LocalCluster`` of two worker processes bound to 127.0.0.1 only; the whole
module is skipped when dask.distributed is not installed (the ``tuidl[dask]`` extra).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster

from tuidl.cli import main
from tuidl.errors import TuidlError
from tuidl.experiment import dask_executor
from tuidl.experiment.dask_executor import connect, resume_on_dask
from tuidl.experiment.runner import run_spec, summary
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.store import Store

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
name = "digits on dask"
seed = 5
[dataset]
name = "digits"
[split]
num_training = 600
num_validation = 0
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
dtype = "float32"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "linear"
[optimizer]
name = "sgd"
lr = 1e-3
[training]
iterations = {iterations}
batch_size = 50
[cv]
folds = 3
[cv.grid]
"optimizer.lr" = [1e-4, 1e-3]
"model.reg" = [1e-3, 1e-1]
"""


def spec_text(iterations: int = 300) -> str:
    return SPEC.format(iterations=iterations)


@pytest.fixture(scope="module")
def cluster():
    with (
        LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as c,
        Client(c, set_as_default=False) as client,
    ):
        assert c.scheduler_address.startswith("tcp://127.0.0.1:")
        yield c, client


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: the same specs run serially in this process."""
    out = {}
    for iterations in (300, 1000):
        path = tmp_path_factory.mktemp("serial") / "runs.sqlite"
        with Store(path) as store:
            run_id = run_spec(loads_spec(spec_text(iterations)), store, workers=1).run_id
            out[iterations] = summary(store, run_id)
    return out


def _scores(s: dict) -> list:
    return [t["fold_scores"] for t in s["trials"]]


def test_results_equal_a_serial_run_and_the_data_reaches_each_worker_once(
    cluster, serial, tmp_path
):
    c, client = cluster
    client.run(dask_executor.reset_worker_stats)
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(loads_spec(spec_text()))
        outcome = resume_on_dask(c.scheduler_address, run_id, store)
        got = summary(store, run_id)
    assert outcome.status == "finished"
    assert _scores(got) == _scores(serial[300])
    assert got["test_accuracy"] == serial[300]["test_accuracy"]
    assert got["best"] == serial[300]["best"]
    stats = client.run(dask_executor.worker_stats)
    assert len(stats) == 2
    # 12 units over 2 workers; each worker process saw one data object, not one per task
    assert {s["data_objects"] for s in stats.values() if s["workers"]} == {1}
    assert sum(s["workers"] for s in stats.values()) >= 1


def test_the_cli_runs_on_the_cluster(cluster, serial, tmp_path, capsys):
    c, _ = cluster
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    store = tmp_path / "runs.sqlite"
    argv = ["run", str(spec), "--executor", c.scheduler_address, "--store", str(store)]
    assert main([*argv, "--no-charts"]) == 0
    assert "test accuracy of the retrained best" in capsys.readouterr().out
    with Store(store) as s:
        assert _scores(summary(s, 1)) == _scores(serial[300])


def test_cancel_keeps_finished_folds_and_resume_on_dask_completes_identically(
    cluster, serial, tmp_path
):
    c, _ = cluster
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(loads_spec(spec_text(1000)))
        seen = []
        outcome = resume_on_dask(
            c.scheduler_address,
            run_id,
            store,
            progress=seen.append,
            cancel=lambda: seen[-1].done >= 2,
        )
        assert outcome.status == "interrupted"
        kept = store.done_folds(run_id)
        assert 2 <= len(kept) < 12
        assert store.get_run(run_id)["status"] == "interrupted"
        assert resume_on_dask(c.scheduler_address, run_id, store).status == "finished"
        got = summary(store, run_id)
    assert _scores(got) == _scores(serial[1000])
    assert got["test_accuracy"] == serial[1000]["test_accuracy"]


def test_a_lost_worker_is_retried_and_nothing_finished_is_lost(cluster, serial, tmp_path):
    c, client = cluster
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(1000))
    store = tmp_path / "runs.sqlite"
    cmd = [sys.executable, "-m", "tuidl", "run", str(spec), "--executor", c.scheduler_address]
    cmd += ["--store", str(store), "--no-charts"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "no fold finished on the cluster"
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            if store.exists():
                with Store(store) as s:
                    if len(s.done_folds(1)) >= 2:
                        before = s.done_folds(1)
                        break
            time.sleep(0.05)
        assert len(before) < 12, "the run finished before a worker could be killed"
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)  # the nanny starts a fresh worker
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out.decode()[-2000:]
    with Store(store) as s:
        got = summary(s, 1)
        after = s.done_folds(1)
    for key, row in before.items():  # what was committed before the loss is still there
        assert after[key]["score"] == row["score"]
    assert _scores(got) == _scores(serial[1000])
    assert got["test_accuracy"] == serial[1000]["test_accuracy"]


def test_unreachable_scheduler_and_bad_address_are_clear_errors(tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    t0 = time.monotonic()
    with pytest.raises(TuidlError, match=r"cannot reach the Dask scheduler.*refused"):
        connect(f"tcp://127.0.0.1:{port}")  # refused: no need to wait out the timeout
    assert time.monotonic() - t0 < 10
    store = tmp_path / "u.sqlite"
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    argv = ["run", str(spec), "--executor", f"tcp://127.0.0.1:{port}", "--store", str(store)]
    assert main(argv) != 0
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    with Store(store) as st:  # the run says why it failed; it is not left queued
        (run,) = st.list_runs()
        assert run["status"] == "failed" and "cannot reach" in run["message"]
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    assert main(["run", str(spec), "--executor", "127.0.0.1", "--store", str(tmp_path / "s")]) == 2
    assert "give a Dask scheduler address such as tcp://HOST:8786" in capsys.readouterr().err


def test_missing_distributed_says_which_extra_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    argv = ["run", str(spec), "--executor", "tcp://127.0.0.1:8786", "--store", str(tmp_path / "s")]
    assert main(argv) == 2
    assert "pip install 'tuidl[dask]'" in capsys.readouterr().err


def test_a_random_search_runs_on_the_cluster_as_it_does_here(cluster, tmp_path):
    """Trials a searcher creates during the run reach the Dask workers (a unit carries its
    trial's params), and the results equal a serial run's."""
    c, _ = cluster
    text = spec_text().split("[cv.grid]")[0] + (
        '[search]\nmethod = "random"\ntrials = 3\n[search.space]\n'
        '"optimizer.lr" = {log_uniform = [1e-4, 1e-2]}\n'
    )
    with Store(tmp_path / "serial.sqlite") as store:
        ref = summary(store, run_spec(loads_spec(text), store, workers=1).run_id)
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(loads_spec(text))
        assert resume_on_dask(c.scheduler_address, run_id, store).status == "finished"
        got = summary(store, run_id)
    assert [t["params"] for t in got["trials"]] == [t["params"] for t in ref["trials"]]
    assert _scores(got) == _scores(ref)
