"""When the terminal last sent input: the driver notes it, background work asks.

Work that holds the GIL (a plotext build takes 15 to 40 ms of pure Python) can wait while a
person types, so that the next key has the interpreter to itself. Only the workbench's own
Linux/macOS driver (:mod:`tuidl.tui.driver`) notes input; under any other driver (headless
tests, web, Windows) nothing waits.
"""

from __future__ import annotations

import time

_last = float("-inf")


def note_input() -> None:
    """Input was just read (called from the driver's input thread)."""
    global _last
    _last = time.monotonic()


def seconds_since_input() -> float:
    """Seconds since the last input (``inf``: none noted)."""
    return time.monotonic() - _last
