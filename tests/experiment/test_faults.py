"""Faults: a full disk mid-run, kill -9 of the runner, of a worker, during the retrain.

What must hold every time (issue #15, items 5 and 6): no committed fold is lost, no process
of the run is left after 5 s, no run is marked finished while work is pending, and
``--resume`` finishes the run with the results of an uninterrupted one. A full disk is
simulated deterministically in-process (SQLite's ``max_page_count`` on the store's
connection; ENOSPC injected where fold features are allocated) and, where this process may
mount, for real on a small tmpfs.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import StorageError
from tuidl.experiment import features, lifetime
from tuidl.experiment import runner as runner_mod
from tuidl.experiment.runner import resume, run_spec
from tuidl.experiment.store import Store
from tuidl.experiment.work import Context, Data, Unit, Worker
from tuidl.experiment.workplan import build_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reg():
    return registry()


def _scores(store, run_id):
    run = store.get_run(run_id)
    return [t["fold_scores"] for t in run["trials"]], run["test"]["test_accuracy"]


def _no_pending(store, run_id):
    run = store.get_run(run_id)
    assert run["status"] == "finished"
    assert all(t["status"] == "ok" for t in run["trials"]), run["trials"]
    assert all(None not in t["fold_scores"] for t in run["trials"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, reg):
    """The uninterrupted run every faulted run must equal after its resume."""
    store = Store(tmp_path_factory.mktemp("ref") / "ref.sqlite")
    out = run_spec(blobs_spec(), store, registry=reg)
    return _scores(store, out.run_id)


# -- a full disk, in-process ------------------------------------------------------------------


class _FillingDisk:
    """The store's connection on a disk that fills: once ``full`` is set, every write
    fails as SQLite reports a full disk, whatever the store's layout (reads go on)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")

    def __init__(self, conn):
        self._conn = conn
        self.full = False

    def _check(self, sql):
        if self.full and sql.lstrip().upper().startswith(self.WRITES):
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql, *args):
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql, *args):
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_full_store_stops_the_run_and_resume_runs_the_fold_again(tmp_path, reg, reference):
    """The store fills mid-run: before, the fold being written was stored as a failed
    trial and a resume skipped it, finishing the run with the trial pending."""
    store = Store(tmp_path / "runs.sqlite")
    disk = store.conn = _FillingDisk(store.conn)
    seen = []

    def fill_after_four(p):
        if p.last is not None:
            seen.append((p.last.trial, p.last.fold))
            disk.full = len(seen) >= 4  # from here on, no write fits

    out = run_spec(blobs_spec(), store, registry=reg, progress=fill_after_four)
    assert out.status == "interrupted"
    assert "database or disk is full" in out.message and "tuidl run --resume" in out.message
    run = store.get_run(out.run_id)
    assert run["status"] == "running"  # not even the status fits: a resume handles it
    done = store.done_folds(out.run_id)
    assert set(done) == set(seen) and len(done) == 4  # committed folds kept, no more
    assert all(r["status"] == "ok" for r in done.values())  # no fold "failed" of a full disk
    assert all(t["status"] in ("pending", "ok") for t in run["trials"])

    disk.full = False  # space freed
    assert resume(out.run_id, store, registry=reg).status == "finished"
    _no_pending(store, out.run_id)
    assert _scores(store, out.run_id) == reference
    for key, row in done.items():
        assert store.done_folds(out.run_id)[key]["score"] == row["score"]


def test_sqlite_full_is_a_storage_error_and_leaves_no_transaction_open(tmp_path):
    """SQLite rolls back by itself on a full disk; the store's own ROLLBACK then raised
    'no transaction is active' and hid the real error."""
    store = Store(tmp_path / "runs.sqlite")
    run_id = store.create_run(blobs_spec())
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # no page may be added
    with pytest.raises(StorageError, match="database or disk is full"):
        store.create_run(_big_spec())
    assert not store.conn.in_transaction
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    store.set_status(run_id, "interrupted", "fits again")  # the connection still works
    assert store.get_run(run_id)["message"] == "fits again"


def _big_spec():
    spec = blobs_spec()
    spec.name = "x" * 50_000  # overflow pages: needs room however the pages are filled
    return spec


def _enospc_after(monkeypatch, n):
    """Fold feature files allocate fine ``n`` times, then the disk is full (the run's own
    arrays, written before, always fit)."""
    calls = []
    real = features.allocate_npy

    def allocate(path, shape, dtype):
        if Path(path).parent.name == "folds":
            calls.append(path)
            if len(calls) > n:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, shape, dtype)

    monkeypatch.setattr(features, "allocate_npy", allocate)
    monkeypatch.setattr("tuidl.experiment.work.allocate_npy", allocate)
    return calls


def _in_process_pool(reg):
    """A stand-in for the process executor that does its work here, with a worker built as
    ``_init_worker`` builds it (the run's memory-mapped arrays, shared fold files), so that
    faults injected in this process reach it."""

    class Pool:
        def __init__(self, context, processes, **_):
            data = Data.load(Path(context.data_dir))
            self.worker = Worker(context, data, registry=reg)

        def run(self, units, on_result, should_run, cancel):
            self.worker.store = Store(self.worker.context.store_path)
            try:
                for unit in units:
                    todo = should_run(unit)
                    if todo is not None:
                        on_result(self.worker.run(todo))
                        self.worker.release()
            finally:
                self.worker.store.close()

    return Pool


def test_a_full_temp_folder_stops_the_run_and_resume_finishes(
    tmp_path, reg, reference, monkeypatch
):
    monkeypatch.setattr(runner_mod, "ProcessExecutor", _in_process_pool(reg))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    calls = _enospc_after(monkeypatch, 2)  # fold 0's two files, then the disk is full
    store = Store(tmp_path / "runs.sqlite")
    out = run_spec(blobs_spec(), store, registry=reg, workers=2)
    assert out.status == "interrupted", out
    assert "No space left on device" in out.message and "fold features" in out.message
    assert len(calls) == 3
    done = store.done_folds(out.run_id)
    assert len(done) == 4 and all(r["status"] == "ok" for r in done.values())  # fold 0
    assert store.get_run(out.run_id)["status"] == "interrupted"
    assert list((tmp_path / "tmp").iterdir()) == []  # the run's folder went with it

    monkeypatch.undo()
    monkeypatch.setattr(runner_mod, "ProcessExecutor", _in_process_pool(reg))
    assert resume(out.run_id, store, registry=reg, workers=2).status == "finished"
    _no_pending(store, out.run_id)
    assert _scores(store, out.run_id) == reference


def test_a_full_disk_while_a_fold_is_built_raises_and_leaves_no_half_fold(
    tmp_path, reg, monkeypatch
):
    from tuidl.experiment.runner import load_data

    spec = blobs_spec()
    data = load_data(spec, reg)
    context = Context(build_plan(spec, reg, data, seed=0), data_dir=str(tmp_path))
    worker = Worker(context, data, registry=reg)
    _enospc_after(monkeypatch, 1)  # the training rows' file fits, the eval rows' not
    with pytest.raises(StorageError, match="No space left on device"):
        worker.run(Unit(0, (0,)))
    assert list((tmp_path / "folds").glob("*.npy")) == []  # its space is given back


def test_numpys_short_write_on_a_full_disk_is_a_storage_failure():
    from tuidl.errors import is_storage_failure

    assert is_storage_failure(OSError("38400 requested and 28544 written"))
    assert is_storage_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_storage_failure(OSError(errno.ENOENT, "No such file or directory"))
    assert not is_storage_failure(ValueError("bad value"))


def test_a_fold_an_older_tuidl_stored_as_failed_of_a_full_disk_runs_again(tmp_path, reg, reference):
    """What the issue found in a store: trial 0 pending, its fold 'failed' of a full disk,
    the other trials done. The resume must run the fold, not finish around it."""
    store = Store(tmp_path / "runs.sqlite")
    seen = []
    out = run_spec(
        blobs_spec(),
        store,
        registry=reg,
        progress=lambda p: p.last and seen.append(p.last),
        cancel=lambda: len(seen) >= 6,
    )
    assert out.status == "interrupted"
    message = "run store 'x': database or disk is full"
    store.record_fold(out.run_id, 0, 2, status="failed", score=None, message=message)
    assert resume(out.run_id, store, registry=reg).status == "finished"
    _no_pending(store, out.run_id)
    assert _scores(store, out.run_id) == reference


def test_a_trial_whose_result_was_never_stored_gets_it_on_resume(tmp_path, reg, reference):
    """All folds of a trial committed, the trial's own row not (the disk filled between
    the two writes): the resume stores the trial's result instead of leaving it pending."""
    store = Store(tmp_path / "runs.sqlite")
    out = run_spec(blobs_spec(), store, registry=reg)
    store.conn.execute("UPDATE trials SET status='pending', mean=NULL WHERE trial=1")
    store.conn.execute("DELETE FROM tests")
    store.set_status(out.run_id, "interrupted")
    assert resume(out.run_id, store, registry=reg).status == "finished"
    _no_pending(store, out.run_id)
    assert _scores(store, out.run_id) == reference


def test_a_run_with_pending_work_is_never_marked_finished(tmp_path, reg, monkeypatch):
    """Whatever stops the executor early, the finish step sees the gap and says so."""
    from tuidl.experiment.executors import SerialExecutor

    real_run = SerialExecutor.run

    def drops_a_unit(self, units, on_result, should_run, cancel):
        return real_run(self, list(units)[:-1], on_result, should_run, cancel)

    monkeypatch.setattr(SerialExecutor, "run", drops_a_unit)
    store = Store(tmp_path / "runs.sqlite")
    out = run_spec(blobs_spec(), store, registry=reg)
    assert out.status == "interrupted"
    assert "trial 3 has 2 of 3 folds" in out.message and "tuidl run --resume" in out.message
    run = store.get_run(out.run_id)
    assert run["status"] == "interrupted" and run["test"] is None
    monkeypatch.undo()
    assert resume(out.run_id, store, registry=reg).status == "finished"
    _no_pending(store, out.run_id)


# -- what a killed run leaves: temp folders, worker processes ---------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_new_run_removes_folders_of_dead_runs_only(tmp_path):
    me = os.getpid()
    dead = tmp_path / f"tuidl-run-{_dead_pid()}-abc"
    live = tmp_path / f"tuidl-run-{me}-def"
    reused = tmp_path / f"tuidl-run-{me}-ghi"  # this pid, but another process's start time
    legacy_idle = tmp_path / "tuidl-run-k3j2h1x0"  # an older tuidl's: no pid in the name
    legacy_used = tmp_path / "tuidl-run-q9w8e7r6"
    other_pid = _dead_pid()
    elsewhere = tmp_path / f"tuidl-run-{other_pid}-jkl"  # a container's: its own pids
    for folder in (dead, live, reused, legacy_idle, legacy_used, elsewhere):
        folder.mkdir()
        (folder / "X_pool.npy").write_bytes(b"x")
    (live / "owner").write_text(f"{me} {lifetime._start_time(me)} -\n")
    (reused / "owner").write_text(f"{me} 1\n")
    (elsewhere / "owner").write_text(f"{other_pid} 1 pid:[1]\n")
    old = time.time() - 2 * lifetime.LEGACY_MIN_AGE_SECONDS
    for folder in (legacy_idle, legacy_used):
        os.utime(folder, (old, old))
    with open(legacy_used / "X_pool.npy", "rb"):  # an older runner still has it open
        removed = lifetime.remove_stale_run_folders(tmp_path)
    expected = {dead, reused}
    if lifetime._paths_in_use([legacy_idle]) is not None:  # /proc tells who uses a folder
        expected.add(legacy_idle)
    assert set(removed) == expected
    assert {p for p in tmp_path.iterdir()} == {
        dead,
        live,
        reused,
        legacy_idle,
        legacy_used,
        elsewhere,
    } - expected

    made = lifetime.make_run_folder(tmp_path)
    assert made.name.startswith(f"tuidl-run-{me}-") and lifetime._owner(made)[0] == me
    assert made not in lifetime.remove_stale_run_folders(tmp_path) and made.exists()


_WATCHED = """
import os, subprocess, sys, time
code = (
    "import sys, time; sys.platform = {platform!r}\\n"
    "from tuidl.experiment.lifetime import watch_parent\\n"
    "watch_parent(int(sys.argv[1]), poll=0.1)\\n"
    "print('armed', flush=True); time.sleep(60)"
)
child = subprocess.Popen([sys.executable, "-c", code, str(os.getpid())], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("platform", ["linux", "elsewhere"])  # death signal; polling
def test_a_worker_ends_when_its_parent_is_killed(platform):
    if platform == "linux" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", _WATCHED.format(platform=platform)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        child = int(parent.stdout.readline())
        assert lifetime.alive(child)
        parent.kill()
        parent.wait()
        _wait_gone([child], 5.0)
    finally:
        parent.kill()


def test_a_worker_whose_parent_died_before_it_armed_exits_at_once():
    code = "from tuidl.experiment.lifetime import watch_parent; watch_parent(1); print('alive')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "alive" not in out.stdout


# -- the figure: kill -9 and a full disk, as a user meets them --------------------------------

FAULT_SPEC = """
seed = 0
[dataset]
name = "digits"
[split]
num_training = 600
num_test = 200
shuffle = true
[[preprocess]]
name = "reshape"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "fc_net"
hidden_sizes = [100]
[optimizer]
name = "sgd"
lr = 1e-3
[training]
epochs = {epochs}
batch_size = 25
[cv]
folds = 3
[cv.grid]
"model.reg" = [1e-4, 1e-3]
"""
TOTAL = 6


def _env(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TUIDL_PLUGINS": "",
        "TMPDIR": str(tmp),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }


def _cli(tmp_path, store, *args, epochs=40, wait=True):
    spec = tmp_path / "spec.toml"
    spec.write_text(FAULT_SPEC.format(epochs=epochs))
    cmd = [sys.executable, "-m", "tuidl", "run", "--store", str(store), "--no-charts", *args]
    if "--resume" not in args:
        cmd.insert(4, str(spec))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path)
    )
    if wait:
        out, err = proc.communicate(timeout=300)
        return proc.returncode, out, err
    return proc


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = lifetime._stat(int(entry.name))
            if stat is not None and int(stat[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if lifetime.alive(p)]
        if not left:
            return
        assert time.monotonic() < deadline, f"still alive after {timeout} s: {left}"
        time.sleep(0.05)


def _wait(what, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("timed out")


def _folds(store_path):
    if not Path(store_path).exists():
        return {}
    try:
        with Store(store_path) as s:
            return s.done_folds(1) if s.list_runs() else {}
    except Exception:
        return {}


def _workers(runner: int) -> list[int]:
    return [p for p in _children(runner) if "spawn_main" in _cmdline(p)]


def _run_processes(tmp_path) -> list[int]:
    """Every process started for this test's runs (their environment names its TMPDIR):
    runners, workers, resource trackers, whoever their parent is now."""
    mark = f"TMPDIR={tmp_path / 'tmp'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                env = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if mark in env and lifetime.alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _check_kept(store_path, before):
    after = _folds(store_path)
    for key, row in before.items():
        assert after[key]["score"] == row["score"], key


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("when", ["cv", "retrain"])
def test_kill_9_of_the_runner_leaves_no_process_and_resume_finishes(tmp_path, when):
    store = tmp_path / "runs.sqlite"
    proc = _cli(tmp_path, store, "--workers", "2", epochs=60, wait=False)
    try:
        if when == "cv":
            _wait(lambda: len(_folds(store)) >= 2 and _workers(proc.pid), proc)
        else:  # every fold in: the runner is retraining the best trial
            _wait(lambda: len(_folds(store)) == TOTAL, proc)
        before = _folds(store)
        family = _children(proc.pid)
        assert family, "no worker or resource-tracker process to check"
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    _wait_gone(family + _run_processes(tmp_path), 5.0)  # workers, resource tracker: gone
    with Store(store) as s:
        assert s.get_run(1)["status"] == "running"  # nobody could mark it: not finished
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [
        p.name for p in (tmp_path / "tmp").glob(f"tuidl-run-{proc.pid}-*")
    ]

    rc, _, err = _cli(tmp_path, store, "--resume", "1", "--workers", "2")
    assert rc == 0, err
    _check_kept(store, before)
    with Store(store) as s:
        _no_pending(s, 1)
    assert list((tmp_path / "tmp").iterdir()) == []  # the killed run's folder is gone too
    _wait_gone(_run_processes(tmp_path), 5.0)  # nothing of the run or the resume is left


@needs_proc
@pytest.mark.slow
def test_kill_9_of_a_worker_keeps_the_folds_and_resume_finishes(tmp_path):
    store = tmp_path / "runs.sqlite"
    proc = _cli(tmp_path, store, "--workers", "2", epochs=60, wait=False)
    try:
        workers = _wait(lambda: len(_folds(store)) >= 1 and _workers(proc.pid), proc)
        before = _folds(store)
        family = _children(proc.pid)
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 2 and "a worker process died" in err and "Traceback" not in err
    _wait_gone(family + _run_processes(tmp_path), 5.0)
    with Store(store) as s:
        assert s.get_run(1)["status"] != "finished"
    rc, _, err = _cli(tmp_path, store, "--resume", "1", "--workers", "2")
    assert rc == 0, err
    _check_kept(store, before)
    with Store(store) as s:
        _no_pending(s, 1)
    assert list((tmp_path / "tmp").iterdir()) == []
    _wait_gone(_run_processes(tmp_path), 5.0)


def _tmpfs(path: Path, size: str) -> None:
    path.mkdir(exist_ok=True)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


def _remount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to the last page with a file; deleting it frees the space again."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while fh.write(b"\0" * size):
                    pass
            except OSError:
                continue
    return filler


@pytest.mark.slow
@pytest.mark.parametrize("full", ["store", "temp"])
def test_a_disk_that_fills_mid_run_interrupts_and_resume_finishes(tmp_path, full):
    """A real full disk: the store's, filled up once some folds are in, or the temporary
    folder's (the run's arrays fit, the first fold's features do not)."""
    disk = tmp_path / "disk"
    _tmpfs(disk, "16m" if full == "store" else "128k")
    try:
        if full == "store":
            store = disk / "runs.sqlite"
            proc = _cli(tmp_path, store, "--workers", "2", epochs=40, wait=False)
            try:
                _wait(lambda: len(_folds(store)) >= 1, proc)
                filler = _fill(disk)  # whatever the run writes next does not fit
                _, err = proc.communicate(timeout=120)
            finally:
                proc.kill()
            rc = proc.returncode
        else:
            store = tmp_path / "runs.sqlite"
            (tmp_path / "tmp").symlink_to(disk)  # the run's TMPDIR
            rc, _, err = _cli(tmp_path, store, "--workers", "2", epochs=15)
        assert rc == 130, err
        assert "Traceback" not in err
        assert ("database or disk is full" if full == "store" else "No space left") in err
        assert f"tuidl run --resume 1 --store {store}" in err
        before = _folds(store)
        assert all(r["status"] == "ok" for r in before.values())
        if full == "store":
            assert 1 <= len(before) < TOTAL  # it filled mid-run
        with Store(store) as s:
            assert s.get_run(1)["status"] in ("interrupted", "running")
            assert all(t["status"] != "failed" for t in s.get_run(1)["trials"])

        if full == "store":  # space freed
            filler.unlink()
        else:
            _remount(disk, "64m")
        rc, _, err = _cli(tmp_path, store, "--resume", "1", "--workers", "2", epochs=15)
        assert rc == 0, err
        _check_kept(store, before)
        with Store(store) as s:
            _no_pending(s, 1)
        _wait_gone(_run_processes(tmp_path), 5.0)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_fold_memory_helpers_still_reach_the_feature_module():
    """work re-exports what moved to tuidl.experiment.features (tests and benchmarks)."""
    from tuidl.experiment import work

    assert work.fold_tag is features.fold_tag and work.drop_fold is features.drop_fold


def test_a_full_disk_on_a_dask_worker_stops_the_run_rather_than_failing_the_unit():
    from tuidl.experiment.dask_executor import DaskExecutor

    class Future:
        def result(self):
            raise StorageError("cannot write the run store 'x' (database or disk is full)")

    executor = DaskExecutor.__new__(DaskExecutor)  # _result needs no client
    with pytest.raises(StorageError, match="disk is full"):
        executor._result(Future(), Unit(0, (0,)))
