"""The terminal driver: Textual's Linux driver, but a lone escape key arrives promptly.

A terminal sends the escape key as the byte that also starts every escape sequence (arrows,
function keys, mouse), so a reader must wait a moment after it to tell the two apart. Textual
waits ``ESCDELAY`` milliseconds (100), and its input thread only looks at that deadline each
time its ``select`` returns, which is every 100 ms when no input comes: escape, which closes
every dialog and the command palette here, took 100 to 200 ms to arrive. This driver's input
thread sleeps exactly until the deadline, and the wait is :data:`ESCAPE_DELAY_MS` unless
the user sets ``ESCDELAY`` (the ncurses convention Textual reads), as tmux 3.5 shortened its
own ``escape-time`` to 10 ms. A sequence split across reads by more than that (a very slow
link) reads as escape plus keys; ``ESCDELAY=100`` restores Textual's wait.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from tuidl.tui.last_input import note_input

ESCAPE_DELAY_MS = 25
IDLE_WAIT = 0.1  # seconds between looks at the exit flag when no input comes


class PromptEscapeDriver(LinuxDriver):
    """:class:`LinuxDriver` whose input thread wakes up when a lone escape is due."""

    def run_input_thread(self) -> None:
        if "ESCDELAY" not in os.environ:
            # read by the parser each time it waits after an escape byte
            setattr(constants, "ESCAPE_DELAY", ESCAPE_DELAY_MS / 1000)  # noqa: B010 (Final)
        parser = XTermParser(self._debug)
        if not hasattr(parser, "_timeout_time"):  # a Textual that keeps its deadline elsewhere
            super().run_input_thread()
            return
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        decode = getincrementaldecoder("utf-8")().decode

        def wait() -> float:
            due = parser._timeout_time
            return IDLE_WAIT if due is None else min(IDLE_WAIT, max(0.0, due - get_time()))

        def process(ready: list, final: bool = False) -> None:
            for _key, mask in ready:
                if mask & selectors.EVENT_READ:
                    note_input()  # (tuidl.tui.last_input: background work can wait)
                    data = decode(os.read(self.fileno, 1024 * 4), final=final)
                    if not data:  # stdin is a pipe that closed
                        break
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(wait()))
            selector.unregister(self.fileno)
            process(selector.select(IDLE_WAIT), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
