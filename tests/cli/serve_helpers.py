"""Helpers for the ``tuidl serve`` tests: a real server on 127.0.0.1 at a free port, its token,
and the processes it started, read from /proc (no psutil)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAS_PROC = Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="reads processes from /proc (Linux)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [state, ppid, pgrp, session, ...]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: it only waits to be reaped)."""
    fields = _stat(pid) if HAS_PROC else None
    if fields is not None:
        return fields[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not HAS_PROC


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                out.append(int(entry))
    return out


def wait_gone(pids, seconds: float) -> list[int]:
    """Wait up to ``seconds`` for every pid to end; the ones still alive."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


class Served:
    """A ``tuidl serve`` (or any server command) started on 127.0.0.1 at a free port."""

    def __init__(self, tmp_path: Path, cmd: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
        cmd = cmd or [sys.executable, "-m", "tuidl", "serve", "--port", str(self.port)]
        self.log = tmp_path / f"serve-{self.port}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.PIPE, env=env, cwd=tmp_path
        )
        self.first_line = self.proc.stderr.readline().decode()
        match = re.search(r"\?token=([A-Za-z0-9_-]+)", self.first_line)
        assert match, f"no token in {self.first_line!r}"
        self.token = match.group(1)
        wait_for(self._listening, 30, "the server listening")

    def _listening(self) -> bool:
        assert self.proc.poll() is None, self.stderr_text()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def stderr_text(self) -> str:
        return (self.proc.stderr.read() or b"").decode()[-3000:] if self.proc.poll() else ""

    def children(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()
