"""Bad inputs, table-driven: every one gives one ``error:`` line and a non-zero exit.

The rows (``tests/bad_inputs/``) are what a careless user or a hostile file hands the
``tuidl`` command: broken specs, bad flags, wrong paths, malformed ``.npz`` files, damaged
run stores, hostile archives for ``data fetch --url file://...``. For each, the command
must write exactly one line to stderr, starting with ``error:`` and naming the problem
(the row's ``expect``), exit non-zero, print no traceback, and finish within
:data:`HANG_SECONDS` (a hang fails the row). Rows run in-process through
:func:`tuidl.cli.main` (fast, the whole table in well under a minute); the few that need a
real process (``sub``) run as one. Archive rows also check that nothing outside the
destination changed.

A row that still fails because its fix is elsewhere is a strict xfail naming the fix it
awaits, so it cannot pass unnoticed: remove the mark once the fix lands.
``TUIDL_BAD_INPUTS_LOG=FILE pytest tests/test_bad_inputs.py`` appends every message to
FILE, to read them all in one place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs import Case, all_cases

from tuidl.cli import main
from tuidl.plugins.manager import reset_registry

ROOT = Path(__file__).resolve().parents[1]
HANG_SECONDS = 30
MIN_CASES = 150  # issue #15's figure; docs/experiments.md quotes the current count
CASES = all_cases()


def test_the_table_has_at_least_150_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert len(CASES) >= MIN_CASES, len(CASES)
    docs = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    assert f"holds {len(CASES)} bad inputs" in docs, "update the count in docs/experiments.md"


def _params():
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"awaiting {c.awaits}")] if c.awaits else []
        yield pytest.param(c, id=c.id, marks=marks)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _outside_dest(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` but ``root/dest``: its link target, bytes, or "dir"."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == "dest" or rel.startswith("dest/"):
            continue
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        else:
            out[rel] = path.read_bytes() if path.is_file() else "dir"
    return out


def _in_process(argv: list[str], capsys) -> tuple[int | None, str]:
    reset_registry()  # load plugins as a fresh `tuidl` would
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse ends with sys.exit
        rc = exc.code
    except _Hang:
        pytest.fail(f"still running after {HANG_SECONDS} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        reset_registry()  # the next row must not see this row's --plugin
    return rc, capsys.readouterr().err


def _subprocess(argv: list[str]) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tuidl", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=HANG_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HANG_SECONDS} s")
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("c", list(_params()))
def test_bad_input_gives_one_error_line(c: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUIDL_PLUGINS", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # never the user's store
    for key, value in c.env:
        monkeypatch.setenv(key, value)
    t = tmp_path / "t"
    t.mkdir()
    monkeypatch.chdir(t)
    values = {"t": str(t)}
    values.update((c.make(t) if c.make else None) or {})
    argv = [a.format(**values) for a in c.argv]
    before = _outside_dest(t) if c.outside_untouched else None

    rc, err = _subprocess(argv) if c.sub else _in_process(argv, capsys)

    if os.environ.get("TUIDL_BAD_INPUTS_LOG"):
        with open(os.environ["TUIDL_BAD_INPUTS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{c.id}\t{rc}\t{err.replace(str(t), '{t}')!r}\n")
    assert rc not in (0, None), f"exit status {rc}; stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert c.expect.format(**values) in lines[0], lines[0]
    if before is not None:
        assert _outside_dest(t) == before, "the command changed files outside --dest"
