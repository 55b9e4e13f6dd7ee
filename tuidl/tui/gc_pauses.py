"""Keeping Python's full garbage collections away from the keys.

A full (generation 2) collection walks every tracked object: with the registry, numpy, the
engine and Textual loaded that took 95-115 ms on the main thread, and while keys came it ran
every second or two (Textual's frames allocate a lot): a tab switch that met one took twice
as long. :func:`settle` runs once the workbench is up: one full collection, then
``gc.freeze()`` so the startup objects (which live as long as the process) are never walked
again, and generation 2 only after 100 times as many generation-1 collections as Python's
default. :func:`collect_when_idle` does a full collection between keys instead.
Generations 0 and 1 (0.05 and 1.5 ms) run as before.
"""

from __future__ import annotations

import gc

from tuidl.tui.last_input import seconds_since_input

FULL_EVERY = 30.0  # seconds: the app's timer for collect_when_idle
QUIET = 1.0  # seconds without input before a full collection may run


def settle() -> None:
    """Collect and freeze what startup made; make automatic full collections rare."""
    gc.collect()
    gc.freeze()
    gen0, gen1, _gen2 = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 1000)


def collect_when_idle() -> None:
    """A full collection, unless a key came in the last :data:`QUIET` seconds."""
    if seconds_since_input() > QUIET:
        gc.collect()
