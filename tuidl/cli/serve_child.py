"""The workbench process of one ``tuidl serve`` browser session: it ends with its server.

``tuidl serve`` starts ``python -m tuidl.cli.serve_child tui [SPEC] [--store PATH]`` for each
browser session, with the server's pid in ``TUIDL_SERVE_PARENT``. Before anything else, the
child asks Linux to send it SIGTERM when the server dies (``prctl(PR_SET_PDEATHSIG)``), checks
the server did not die before that, and starts a thread that polls ``os.getppid()`` as the
fallback where prctl is not available (not Linux) or did not take. Either way a dead server
means a SIGTERM to this process, which :class:`tuidl.cli.serve_driver.ServeDriver` turns into a
clean exit within :data:`GRACE_S` seconds, else a SIGKILL of its own process group.

The parent-death signal is not inherited by processes this one forks, and the runs the
workbench starts are in their own session: they outlive it, as they outlive a closed terminal.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PARENT_ENV = "TUIDL_SERVE_PARENT"
DRIVER = "tuidl.cli.serve_driver:ServeDriver"
GRACE_S = 2.0  # after SIGTERM, how long the workbench gets to exit cleanly
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False where it can't."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _signal_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def watch_parent(parent_pid: int, on_death=_signal_self, interval: float = 0.5) -> threading.Thread:
    """A daemon thread that calls ``on_death()`` once ``os.getppid()`` is no longer ``parent_pid``
    (the parent died and this process was re-parented)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        on_death()

    thread = threading.Thread(target=watch, name="tuidl-serve-parent-watch", daemon=True)
    thread.start()
    return thread


def die_with_parent(parent_pid: int, on_death=_signal_self) -> bool:
    """Make sure this process hears of ``parent_pid``'s death: SIGTERM through prctl, plus the
    polling thread (kept even when prctl took: it costs a wake-up every half second and covers
    a parent whose death prctl would miss). Returns whether prctl took."""
    armed = set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl: no signal will come
        on_death()
    watch_parent(parent_pid, on_death)
    return armed


def main(argv: list[str] | None = None) -> int:
    parent = os.environ.pop(PARENT_ENV, None)  # popped: the runs it starts must not see it
    if parent and parent.isdigit():
        die_with_parent(int(parent))
    os.environ["TEXTUAL_DRIVER"] = DRIVER
    from tuidl.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
