"""The terminal driver's input thread (tuidl.tui.driver): a lone escape is a key after
ESCDELAY (25 ms unless set), not after Textual's 100 ms select tick; sequences stay whole."""

from __future__ import annotations

import os
import selectors
import threading
import time

import pytest
from textual import constants, events

from tuidl.tui import last_input
from tuidl.tui.driver import ESCAPE_DELAY_MS, PromptEscapeDriver


class Recorder(PromptEscapeDriver):
    """The driver's input loop on a pipe, keeping the events instead of posting them."""

    def __init__(self, fileno: int) -> None:  # no terminal, no signal handlers
        self._debug = False
        self.fileno = fileno
        self.exit_event = threading.Event()
        self.events: list[events.Event] = []

    def process_message(self, message) -> None:  # type: ignore[override]
        self.events.append(message)


def keys_after(data: bytes, monkeypatch) -> tuple[list[str], list[float]]:
    """The keys the driver reads from ``data``, and every select timeout it used after it."""
    monkeypatch.setattr(constants, "ESCAPE_DELAY", constants.ESCAPE_DELAY)  # restored after
    monkeypatch.setattr(last_input, "_last", last_input._last)  # the driver notes input
    waits: list[float] = []
    select = selectors.SelectSelector.select

    def recording_select(self, timeout=None):
        waits.append(timeout)
        return select(self, timeout)

    monkeypatch.setattr(selectors.SelectSelector, "select", recording_select)
    read, write = os.pipe()
    driver = Recorder(read)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        waits.clear()
        os.write(write, data)
        deadline = time.monotonic() + 2.0
        while not driver.events and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)
    finally:
        driver.exit_event.set()
        thread.join(2.0)
        os.close(write)
        os.close(read)
    return [e.key for e in driver.events if isinstance(e, events.Key)], waits


def test_a_lone_escape_is_read_after_the_escape_delay_not_the_select_tick(monkeypatch):
    monkeypatch.delenv("ESCDELAY", raising=False)
    keys, waits = keys_after(b"\x1b", monkeypatch)
    assert keys == ["escape"]
    # after the escape byte the thread slept only until the escape delay was over
    assert 0 < min(waits) <= ESCAPE_DELAY_MS / 1000
    assert pytest.approx(ESCAPE_DELAY_MS / 1000) == constants.ESCAPE_DELAY


def test_input_is_noted_for_background_work_to_wait_on(monkeypatch):
    monkeypatch.delenv("ESCDELAY", raising=False)
    keys_after(b"x", monkeypatch)
    assert last_input.seconds_since_input() < 5.0  # (the pipe was read moments ago)


def test_escape_sequences_stay_keys(monkeypatch):
    monkeypatch.delenv("ESCDELAY", raising=False)
    keys, _ = keys_after(b"\x1b[A", monkeypatch)
    assert keys == ["up"]


def test_escdelay_set_by_the_user_wins(monkeypatch):
    monkeypatch.setenv("ESCDELAY", "100")
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.1)
    keys, waits = keys_after(b"\x1b", monkeypatch)
    assert keys == ["escape"]
    assert constants.ESCAPE_DELAY == 0.1
    assert min(waits) > ESCAPE_DELAY_MS / 1000  # it waited the user's 100 ms
