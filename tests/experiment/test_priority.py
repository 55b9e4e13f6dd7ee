"""Background runs lower their CPU priority (TUIDL_NICE), so the workbench stays responsive."""

from __future__ import annotations

import subprocess
import sys

from tuidl.experiment.detach import _background_env
from tuidl.experiment.lifetime import BACKGROUND_NICE, lower_priority


def _nice_after(value: str | None) -> int:
    env = "{}" if value is None else f"{{'TUIDL_NICE': {value!r}}}"
    code = (
        "import os; from tuidl.experiment.lifetime import lower_priority; "
        f"before = os.nice(0); step = lower_priority({env}); print(os.nice(0) - before, step)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got, step = map(int, out.stdout.split())
    assert got == step
    return got


def test_tuidl_nice_lowers_this_process_and_bad_values_change_nothing():
    assert _nice_after("5") == 5
    assert _nice_after(None) == 0
    assert _nice_after("0") == 0
    assert _nice_after("abc") == 0  # a comfort setting never stops a run
    assert _nice_after("-5") == 0  # never raises priority
    assert lower_priority({}) == 0


def test_detached_runs_default_to_background_priority_unless_the_user_chose():
    assert _background_env({"PATH": "/bin"})["TUIDL_NICE"] == str(BACKGROUND_NICE)
    assert _background_env({"TUIDL_NICE": "0"})["TUIDL_NICE"] == "0"
    assert _background_env({})["PYTHONUNBUFFERED"] == "1"


def test_tuidl_nice_idle_puts_the_run_in_the_idle_class():
    """``idle``: Linux's SCHED_IDLE (the run gets only cycles nothing else wants); where
    that class does not exist, nice 19."""
    import os

    import pytest

    code = (
        "import os; from tuidl.experiment.lifetime import lower_priority; "
        "step = lower_priority({'TUIDL_NICE': 'idle'}); "
        "print(step, os.sched_getscheduler(0) == os.SCHED_IDLE if hasattr(os, 'SCHED_IDLE') "
        "else os.nice(0) >= 19)"
    )
    if not hasattr(os, "sched_getscheduler"):
        pytest.skip("no scheduler classes on this platform")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["19", "True"]
