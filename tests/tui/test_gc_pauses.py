"""Full garbage collections kept away from the keys (tuidl.tui.gc_pauses)."""

from __future__ import annotations

import gc

import pytest

from tuidl.tui import gc_pauses, last_input


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_startup_objects_and_makes_full_collections_rare(restored_gc):
    gc_pauses.settle()
    assert gc.get_freeze_count() > 0  # what startup made is no longer walked
    assert gc.get_threshold()[2] >= 100  # Python's default is 10


def test_a_full_collection_waits_for_a_pause_in_the_keys(monkeypatch):
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    monkeypatch.setattr(last_input, "_last", float("-inf"))
    gc_pauses.collect_when_idle()
    assert collected == [1]
    last_input.note_input()
    gc_pauses.collect_when_idle()
    assert collected == [1]  # a key just came: not now
