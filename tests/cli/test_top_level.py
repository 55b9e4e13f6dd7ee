"""Options of bare ``tuidl`` that every subcommand shares."""

from __future__ import annotations

import tuidl.cli.tui_cmd as tui_cmd
from tuidl.cli import main


def test_store_before_the_command_reaches_the_workbench_and_subcommands(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(tui_cmd, "run", lambda args: seen.append(args.store) or 0)
    store = str(tmp_path / "mine.sqlite")
    assert main(["--store", store]) == 0  # bare `tuidl --store X` opens the workbench on X
    assert main(["--store", store, "tui"]) == 0
    assert main(["--store", "other.sqlite", "tui", "--store", store]) == 0  # its own wins
    assert seen == [store, store, store]
