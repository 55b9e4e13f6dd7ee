"""Detached runs: ``tuidl run --detach``, ``tuidl attach``, ``tuidl cancel``; a run that
survives its tmux session (and an SSH login) being killed.

Every subprocess here has a timeout and every wait loop a deadline. Nothing listens beyond
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuidl.cli import main
from tuidl.experiment import control, detach
from tuidl.experiment.runner import run_spec, summary
from tuidl.experiment.spec import load_spec
from tuidl.experiment.store import Store

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
name = "digits detach test"
seed = 3
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
"model.reg" = [1e-3, 1e-1]
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A small digits spec, a store path and a private data dir (logs land there)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TUIDL_PLUGINS", "")

    def spec(iterations: int) -> Path:
        path = tmp_path / f"spec-{iterations}.toml"
        path.write_text(SPEC.format(iterations=iterations))
        return path

    return {"spec": spec, "store": tmp_path / "runs.sqlite", "tmp": tmp_path}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait(cond, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _status(store_path: Path, run_id: int) -> str:
    with Store(store_path) as store:
        return store.get_run(run_id)["status"]


def _folds_done(store_path: Path, run_id: int) -> int:
    with Store(store_path) as store:
        return len(store.done_folds(run_id))


def _live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are not zombies (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _newest_run(store_path: Path) -> int | None:
    if not store_path.exists():
        return None
    with Store(store_path) as store:
        runs = store.list_runs()
    return int(runs[0]["id"]) if runs else None


def _assert_whole_and_equal_to_serial(store_path: Path, run_id: int, spec: Path, tmp: Path):
    """Every fold stored ok, a test accuracy, and the same numbers as a run in this process."""
    with Store(store_path) as store:
        got = summary(store, run_id)
    assert got["status"] == "finished"
    assert all(t["status"] == "ok" for t in got["trials"])
    assert all(s is not None for t in got["trials"] for s in t["fold_scores"])
    assert got["test_accuracy"] is not None
    with Store(tmp / "reference.sqlite") as ref:
        ref_id = run_spec(load_spec(spec), ref, workers=1).run_id
        want = summary(ref, ref_id)
    assert [t["fold_scores"] for t in got["trials"]] == [t["fold_scores"] for t in want["trials"]]
    assert got["test_accuracy"] == want["test_accuracy"]


# ---- in-process: detach, attach, cancel ------------------------------------------------------


def test_detach_prints_the_id_returns_at_once_and_attach_shows_the_results(env, capsys):
    spec, store = env["spec"](300), env["store"]
    t0 = time.monotonic()
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "1"]) == 0
    assert time.monotonic() - t0 < 5.0  # returns at once, the run goes on elsewhere
    out = capsys.readouterr().out
    assert "run 1 started in the background" in out
    assert f"tuidl attach 1 --store {store}" in out
    assert "tuidl cancel 1" in out
    rec = detach.lookup(store, 1)
    assert rec is not None and rec.leads_group  # its own session and process group
    assert rec.pid != os.getpid() and os.getpgid(rec.pid) == rec.pid
    assert Path(rec.log_path).parent == env["tmp"] / "xdg" / "tuidl" / "logs"

    assert main(["attach", "--store", str(store), "--no-charts"]) == 0  # newest running one
    captured = capsys.readouterr()
    assert "6/6 folds 100%" in captured.err
    assert "test accuracy of the retrained best" in captured.out
    _assert_whole_and_equal_to_serial(store, 1, spec, env["tmp"])
    assert "test accuracy of the retrained best" in Path(rec.log_path).read_text()

    # a finished run: attach just prints it; cancel says it is not running
    assert main(["attach", "1", "--store", str(store), "--no-charts"]) == 0
    assert main(["cancel", "1", "--store", str(store)]) == 1
    assert "run 1 is not running (status: finished)" in capsys.readouterr().err


def test_attach_and_cancel_errors(env, capsys):
    store = env["store"]
    assert main(["attach", "--store", str(store)]) == 2
    assert "no run is running or queued" in capsys.readouterr().err
    assert main(["cancel", "7", "--store", str(store)]) == 2
    assert "no run 7 in the store" in capsys.readouterr().err
    assert main(["attach", "7", "--store", str(store)]) == 2
    assert "no run 7" in capsys.readouterr().err


def test_cancel_stops_a_detached_run_cleanly(env, capsys):
    spec, store = env["spec"](4000), env["store"]
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "2"]) == 0
    capsys.readouterr()
    _wait(lambda: _status(store, 1) == "running", 30, "the run to start")
    assert main(["cancel", "1", "--store", str(store), "--wait", "60"]) == 0
    out = capsys.readouterr().out
    assert "run 1 stopped; finished folds are stored" in out
    assert f"tuidl run --resume 1 --store {store}" in out
    with Store(store) as s:
        run = s.get_run(1)
    assert run["status"] == "interrupted"
    assert "interrupted after" in run["message"]
    rec = detach.lookup(store, 1)
    _wait(lambda: detach.state(rec) == "gone", 10, "the run's process to exit")
    _wait(lambda: not _live_group_members(rec.pgid), 10, "its worker processes to exit")
    assert main(["cancel", "1", "--store", str(store)]) == 1
    assert "not running (status: interrupted)" in capsys.readouterr().err


def test_a_running_run_is_not_started_twice(env, capsys):
    spec, store = env["spec"](4000), env["store"]
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "1"]) == 0
    _wait(lambda: _status(store, 1) == "running", 30, "the run to start")
    assert main(["run", "--resume", "1", "--store", str(store)]) == 2
    assert "run 1 is already running" in capsys.readouterr().err
    assert main(["run", "--resume", "1", "--detach", "--store", str(store)]) == 2
    assert "already running" in capsys.readouterr().err
    assert main(["cancel", "1", "--store", str(store)]) == 0


def test_cancel_a_run_whose_process_is_gone_marks_it_interrupted(env, capsys):
    spec, store = env["spec"](4000), env["store"]
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "1"]) == 0
    _wait(lambda: _status(store, 1) == "running", 30, "the run to start")
    rec = detach.lookup(store, 1)
    os.killpg(rec.pgid, signal.SIGKILL)  # no chance to mark itself
    _wait(lambda: detach.state(rec) == "gone", 10, "the kill")
    assert _status(store, 1) == "running"
    assert main(["cancel", "1", "--store", str(store)]) == 0
    assert "lost its process" in capsys.readouterr().out
    assert _status(store, 1) == "interrupted"


def test_attach_reports_a_run_whose_process_died(env, capsys):
    spec, store = env["spec"](4000), env["store"]
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "1"]) == 0
    _wait(lambda: _status(store, 1) == "running", 30, "the run to start")
    rec = detach.lookup(store, 1)
    os.killpg(rec.pgid, signal.SIGKILL)
    assert main(["attach", "1", "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "its process" in err and "is gone" in err and "--resume 1" in err


def test_attach_ctrl_c_detaches_and_leaves_the_run_going(env):
    # long enough that a loaded CI machine cannot finish it while attach is being tested
    spec, store = env["spec"](200_000), env["store"]
    assert main(["run", str(spec), "--detach", "--store", str(store), "--workers", "1"]) == 0
    _wait(lambda: _status(store, 1) == "running", 30, "the run to start")
    cmd = [sys.executable, "-m", "tuidl", "attach", "1", "--store", str(store), "--no-charts"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "detached; run 1 goes on" in err
    assert _status(store, 1) == "running"
    assert main(["cancel", "1", "--store", str(store)]) == 0
    _wait(lambda: _status(store, 1) == "interrupted", 60, "the run to stop")


def test_a_background_process_that_inherited_sigint_ignored_is_still_cancellable(env):
    """`cmd &` in a script starts programs with SIGINT ignored; note_process undoes that."""
    spec, store = env["spec"](4000), env["store"]
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "from tuidl.cli import main; "
        f"sys.exit(main(['run', {str(spec)!r}, '--store', {str(store)!r}, '--workers', '1', "
        "'--no-charts']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=open(env["tmp"] / "err.txt", "w"),  # noqa: SIM115
        env=_env(),
        start_new_session=True,
    )
    try:
        _wait(lambda: _newest_run(store) and _status(store, 1) == "running", 30, "the run")
        _wait(lambda: detach.lookup(store, 1) is not None, 10, "the process record")
        with Store(store) as s:
            outcome = control.cancel(s, 1, wait=60)
        assert outcome.ok, outcome.message
        assert proc.wait(timeout=30) == 130, (env["tmp"] / "err.txt").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert _status(store, 1) == "interrupted"


def test_a_resumed_detached_run_is_followed_from_the_start(env, capsys, monkeypatch):
    """`run --resume N --detach` on an interrupted run marks it queued before its process
    starts (seconds later), so `attach` right after follows it instead of reporting the
    old interruption; a launch that fails puts the old status back."""
    spec, store = env["spec"](300), env["store"]
    with Store(store) as s:
        run_id = s.create_run(load_spec(spec))
        s.set_status(run_id, "interrupted", "interrupted after 0 of 6 folds")
    assert main(["run", "--resume", str(run_id), "--detach", "--store", str(store)]) == 0
    assert _status(store, run_id) in ("queued", "running")
    assert main(["attach", str(run_id), "--store", str(store), "--no-charts"]) == 0
    assert _status(store, run_id) == "finished"
    capsys.readouterr()

    with Store(store) as s:
        other = s.create_run(load_spec(spec))
        s.set_status(other, "failed", "boom")

    def broken(*args, **kwargs):
        raise control.TuidlError("cannot write the run log")

    monkeypatch.setattr(detach, "launch", broken)
    assert main(["run", "--resume", str(other), "--detach", "--store", str(store)]) == 2
    with Store(store) as s:
        assert (s.get_run(other)["status"], s.get_run(other)["message"]) == ("failed", "boom")
    assert main(["run", "--resume", str(run_id), "--detach", "--store", str(store)]) == 2
    assert f"run {run_id} is already finished" in capsys.readouterr().err


class _Terminal:
    """A stand-in for stderr on a terminal: everything written, kept."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_attach_fits_its_progress_line_to_an_80_column_terminal(env, monkeypatch, capsys):
    """Defect 15: a line as wide as the screen wraps, and each redraw left a line behind.
    The longest line (all folds done, the best being retrained) must fit in 79 columns."""
    import threading

    store = env["store"]
    with Store(store) as s:
        run_id = s.create_run(load_spec(env["spec"](300)))
        s.start_run(run_id, [(0, {"model.reg": 1e-3}), (1, {"model.reg": 1e-1})], 3)
        for trial in range(2):
            for fold in range(3):
                s.record_fold(run_id, trial, fold, status="ok", score=0.9)
    monkeypatch.setenv("COLUMNS", "80")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def finish_later():
        time.sleep(1.2)
        with Store(store) as s:
            s.set_status(run_id, "finished")

    threading.Thread(target=finish_later, daemon=True).start()
    assert main(["attach", str(run_id), "--store", str(store), "--no-charts"]) == 0
    assert "retraining the best" in terminal.text
    rows = terminal.text.replace("\r", "\n").split("\n")
    assert max(len(r) for r in rows) <= 79, rows


def test_run_draws_the_same_fitted_progress_line_as_attach(env, monkeypatch):
    """`tuidl run` in a terminal draws control.progress (the summary attach draws), fitted
    to the terminal like attach's."""
    monkeypatch.setenv("COLUMNS", "60")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    spec, store = env["spec"](300), env["store"]
    drawn = []
    real = control.progress
    monkeypatch.setattr(
        control, "progress", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1]
    )
    assert main(["run", str(spec), "--store", str(store), "--workers", "1", "--no-charts"]) == 0
    assert drawn and drawn[-1].phase == "done" and drawn[-1].done == 6
    rows = terminal.text.replace("\r", "\n").split("\n")
    assert max(len(r) for r in rows) <= 59, rows
    assert "6/6 folds" in terminal.text


def test_progress_text_narrows_the_bar_before_cutting(monkeypatch):
    from tuidl.cli.session_cmd import progress_text

    snap = control.RunProgress(1, "running", 3, 6, 5.0, 12.0, "cv")
    monkeypatch.setenv("COLUMNS", "40")
    line = progress_text(snap, _Terminal())
    assert len(line) <= 39 and "3/6 folds" in line and "ETA" in line
    monkeypatch.setenv("COLUMNS", "200")
    assert progress_text(snap, _Terminal()).startswith("[" + "#" * 15 + "." * 15 + "]")


# ---- a real terminal going away: tmux ------------------------------------------------------


def _tmux(sock: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20, check=check
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_detached_run_survives_its_tmux_session_being_killed(env):
    spec, store, tmp = env["spec"](1500), env["store"], env["tmp"]
    sock = f"tuidl-test-{os.getpid()}"
    py = sys.executable
    envs = f"XDG_DATA_HOME={tmp / 'xdg'} PYTHONPATH={ROOT} TUIDL_PLUGINS="
    detached = (
        f"cd {ROOT} && env {envs} {py} -m tuidl run {spec} --detach --store {store} "
        f"--workers 1 > {tmp / 'launch.txt'} 2>&1; sleep 600"
    )
    # the control: the same command in the foreground of another session dies with it
    plain_store = tmp / "plain.sqlite"
    plain = (
        f"cd {ROOT} && env {envs} {py} -m tuidl run {spec} --store {plain_store} --workers 1; "
        "sleep 600"
    )
    try:
        _tmux(sock, "new-session", "-d", "-s", "detached", "-x", "120", "-y", "30", detached)
        _tmux(sock, "new-session", "-d", "-s", "plain", "-x", "120", "-y", "30", plain)
        _wait(lambda: _newest_run(store) and _folds_done(store, 1) >= 1, 60, "a detached fold")
        _wait(lambda: _newest_run(plain_store) and _folds_done(plain_store, 1) >= 1, 60, "plain")
        assert "run 1 started in the background" in (tmp / "launch.txt").read_text()
        assert _status(store, 1) == "running"
        _tmux(sock, "kill-session", "-t", "detached")
        _tmux(sock, "kill-session", "-t", "plain")
    finally:
        _tmux(sock, "kill-server", check=False)
    _wait(lambda: _status(store, 1) not in ("queued", "running"), 120, "the run to end")
    _assert_whole_and_equal_to_serial(store, 1, spec, tmp)
    # the control run was killed with its terminal (SIGHUP): not finished
    rec = detach.lookup(plain_store, 1)
    _wait(lambda: detach.state(rec) == "gone", 10, "the plain run to die with its terminal")
    assert _status(plain_store, 1) != "finished"


# ---- a real SSH login going away -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    """A throwaway sshd on 127.0.0.1 (keys in tmp, this user only); skipped when sshd or
    ssh is missing or does not come up within a few seconds."""
    sshd_bin = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
    if sshd_bin is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("openssh-server / ssh not installed")
    if os.geteuid() == 0 and not Path("/run/sshd").exists():
        # sshd's privilege separation dir (systemd makes it when it starts the service)
        with contextlib.suppress(OSError):
            Path("/run/sshd").mkdir(mode=0o755)
    d = tmp_path / "ssh"
    d.mkdir()
    for name in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
            check=True,
            timeout=20,
        )
    (d / "authorized_keys").write_text((d / "user.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPermitRootLogin prohibit-password\nAllowTcpForwarding no\n"
        "X11Forwarding no\nPermitUserEnvironment no\n"
    )
    proc = subprocess.Popen(
        [sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=open(d / "sshd.log", "wb"),  # noqa: SIM115
    )
    ssh = [
        "ssh",
        "-i",
        str(d / "user"),
        "-p",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        f"UserKnownHostsFile={d / 'known_hosts'}",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "127.0.0.1",
    ]
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.skip(f"sshd did not start: {(d / 'sshd.log').read_text()[-300:]}")
            r = subprocess.run([*ssh, "true"], capture_output=True, timeout=15)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                pytest.skip(f"cannot log in to the test sshd: {r.stderr.decode()[-300:]}")
            time.sleep(0.3)
        yield ssh
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_a_detached_run_survives_its_ssh_connection_being_dropped(env, sshd):
    spec, store, tmp = env["spec"](1500), env["store"], env["tmp"]
    envs = f"XDG_DATA_HOME={tmp / 'xdg'} PYTHONPATH={ROOT} TUIDL_PLUGINS="
    remote = (
        f"cd {ROOT} && env {envs} {sys.executable} -m tuidl run {spec} --detach "
        f"--store {store} --workers 1 && sleep 600"
    )
    # -tt: a login with a terminal, as a user's; the client is then killed, as a dropped
    # connection would be, and sshd hangs up the session
    client = subprocess.Popen(
        [*sshd, "-tt", remote],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(lambda: _newest_run(store) and _folds_done(store, 1) >= 1, 60, "a fold over ssh")
        assert _status(store, 1) == "running"
    finally:
        client.kill()
        client.wait(timeout=10)
    _wait(lambda: _status(store, 1) not in ("queued", "running"), 120, "the run to end")
    _assert_whole_and_equal_to_serial(store, 1, spec, tmp)
