"""The Textual driver of a ``tuidl serve`` workbench: Textual's WebDriver that always ends.

Textual's WebDriver turns SIGTERM into a request to exit, which a busy or wedged app (one whose
output pipe nobody reads any more) may never act on, and it keeps running when its input (the
server's end of the pipe) closes. This driver ends the workbench on SIGTERM, SIGHUP and end of
input alike: it asks the app to exit and, should it still be alive :data:`GRACE_S` seconds
later, SIGKILLs its own process group (the server starts it as a group leader, so that reaches
whatever it started in its group; detached runs are in a session of their own and go on).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading

from textual import messages
from textual.drivers.web_driver import WebDriver

from tuidl.cli.serve_child import GRACE_S


def kill_own_group() -> None:
    """SIGKILL this process's group when it leads one, else just this process."""
    pid = os.getpid()
    with contextlib.suppress(OSError):
        if os.getpgid(0) == pid:
            os.killpg(pid, signal.SIGKILL)
    os._exit(128 + signal.SIGTERM)


class ServeDriver(WebDriver):
    # _loop: textual's Driver sets it (the running loop) in __init__
    _timer: threading.Timer | None = None

    def start_application_mode(self) -> None:
        self._loop = asyncio.get_running_loop()
        super().start_application_mode()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            # A plain handler, not the loop's (which WebDriver installed): it runs between any
            # two bytecodes of the main thread, so a busy or blocked event loop cannot hold
            # it up, and the timer it arms runs in a thread of its own.
            self._loop.remove_signal_handler(sig)
            signal.signal(sig, lambda signum, frame: self.end())

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        finally:
            # The input ended without stop_application_mode: the server closed our stdin.
            if not self.exit_event.is_set():
                self.end()

    def end(self) -> None:
        """Ask the app to exit; SIGKILL the process group if it has not after GRACE_S.
        Safe from any thread and from a signal handler; only the first call counts."""
        if self._timer is not None:
            return
        self._timer = threading.Timer(GRACE_S, kill_own_group)
        self._timer.daemon = True
        self._timer.start()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._app.post_message, messages.ExitApp())
