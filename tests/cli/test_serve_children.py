"""The workbench processes of ``tuidl serve`` end with their browser and their server (issue #15,
item 3): a disconnect, SIGTERM to the server and SIGKILL of the server each end every child
within 5 s; a child that ignores SIGTERM is killed with its process group; a process it started
in a session of its own (a detached run) goes on. Processes are read from /proc, no psutil."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from serve_helpers import (
    ROOT,
    Served,
    alive,
    children,
    free_port,
    needs_proc,
    wait_for,
    wait_gone,
)

pytest.importorskip("textual_serve")
aiohttp = pytest.importorskip("aiohttp")

pytestmark = needs_proc


async def _open_sessions(served: Served, n: int) -> list:
    """``n`` WebSockets, each past its workbench's first screen (the app is up and drawing)."""
    session = aiohttp.ClientSession()
    sockets = []
    for _ in range(n):
        url = f"{served.base}/ws?token={served.token}&width=80&height=24"
        ws = await session.ws_connect(url, headers={"Origin": served.base})
        while True:
            message = await asyncio.wait_for(ws.receive(), 60)
            assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
            if message.type == aiohttp.WSMsgType.BINARY and message.data:
                break
        sockets.append(ws)
    return [session, *sockets]


@pytest.mark.slow
def test_a_disconnect_then_sigterm_to_the_server_end_every_workbench(tmp_path):
    served = Served(tmp_path)
    try:

        async def scenario():
            session, first, _second, _third = await _open_sessions(served, 3)
            kids = wait_for(lambda: len(served.children()) == 3 and served.children(), 10, "3")
            assert all(os.getpgid(k) == k for k in kids), "each child leads its own group"
            await first.close()
            # textual-serve's page closes its socket like this when the tab goes away.
            gone = await asyncio.to_thread(wait_gone, kids, 5)
            assert len(gone) == 2, f"the disconnected session's child is still alive: {kids}"
            left = served.children()
            assert len(left) == 2
            served.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(wait_gone, left, 5) == []
            await session.close()

        asyncio.run(scenario())
        assert served.proc.wait(timeout=10) == 0
    finally:
        served.stop()


@pytest.mark.slow
def test_sigkill_of_the_server_ends_its_workbench(tmp_path):
    served = Served(tmp_path)
    try:

        async def scenario():
            session, _ws = await _open_sessions(served, 1)
            (kid,) = served.children()
            served.proc.kill()
            served.proc.wait(timeout=5)
            assert await asyncio.to_thread(wait_gone, [kid], 5) == []
            await session.close()

        asyncio.run(scenario())
    finally:
        served.stop()


# A stand-in for a wedged workbench: it ignores SIGTERM and end of input, starts one process in
# its own process group (dies with it) and one in a session of its own (a detached run: lives).
WEDGED = textwrap.dedent(
    """
    import json, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleep = [sys.executable, "-c", "import time; time.sleep(120)"]
    grandchild = subprocess.Popen(sleep)
    # As the workbench starts a run: its own session, output to a log, no pipe of ours.
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    detached = subprocess.Popen(sleep, start_new_session=True, **quiet)
    with open(sys.argv[1], "w") as f:
        json.dump({"grandchild": grandchild.pid, "detached": detached.pid}, f)
    while True:
        time.sleep(1)
    """
)

SERVER = textwrap.dedent(
    """
    import sys
    from tuidl.cli.serve_web import GuardedServer
    argv = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
    port = int(sys.argv[3])
    url = f"http://127.0.0.1:{port}"
    print(f"serving on {url}/?token=t0k3n", file=sys.stderr, flush=True)
    GuardedServer(argv, host="127.0.0.1", port=port, public_url=url, token="t0k3n").serve()
    """
)


@pytest.mark.slow
def test_a_child_that_ignores_sigterm_dies_with_its_group_and_a_detached_run_lives(tmp_path):
    pids_file = tmp_path / "pids.json"
    port = free_port()
    cmd = [sys.executable, "-c", SERVER, WEDGED, str(pids_file), str(port)]
    served = Served(tmp_path, cmd=cmd, port=port)
    detached = None
    try:

        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = f"{served.base}/ws?token={served.token}"
                async with session.ws_connect(url, headers={"Origin": served.base}):
                    wait_for(pids_file.exists, 30, "the stand-in workbench starting")
                    await asyncio.sleep(0.2)
                    (kid,) = served.children()
                    pids = json.loads(pids_file.read_text())
            started = time.monotonic()
            assert await asyncio.to_thread(wait_gone, [kid, pids["grandchild"]], 5) == []
            return time.monotonic() - started, pids["detached"]

        took, detached = asyncio.run(scenario())
        assert took < 5
        assert alive(detached), "a process in its own session (a detached run) was killed"
    finally:
        served.stop()
        if detached:
            os.kill(detached, signal.SIGKILL)


# die_with_parent on its own: a parent that starts the child, then is SIGKILLed.
PARENT = textwrap.dedent(
    """
    import os, subprocess, sys
    code = sys.argv[1]
    child = subprocess.Popen([sys.executable, "-c", code, str(os.getpid()), sys.argv[2]])
    print(child.pid, flush=True)
    child.wait()
    """
)
CHILD = textwrap.dedent(
    """
    import sys, time
    import tuidl.cli.serve_child as sc
    if sys.argv[2] == "no-prctl":  # where prctl is missing: only the polling thread is left
        sc.set_parent_death_signal = lambda sig: False
    print("armed" if sc.die_with_parent(int(sys.argv[1])) else "polling", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.parametrize("mode", ["prctl", "no-prctl"])
def test_a_child_hears_of_its_parent_s_death_within_seconds(mode):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mode], stdout=subprocess.PIPE, env=env
    )
    kid = None
    try:
        kid = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == (
            b"armed" if mode == "prctl" and sys.platform.startswith("linux") else b"polling"
        )
        assert children(parent.pid) == [kid]
        parent.kill()
        parent.wait(timeout=5)
        assert wait_gone([kid], 5) == []
    finally:
        if parent.poll() is None:
            parent.kill()
        if kid is not None and alive(kid):
            os.kill(kid, signal.SIGKILL)


# A Textual app on ServeDriver whose event loop blocks once it is up: SIGTERM cannot reach it
# through the loop (Textual's own WebDriver never exits then), the driver's own handler can.
WEDGED_APP = textwrap.dedent(
    """
    import os, sys, time
    os.environ["TEXTUAL_DRIVER"] = "tuidl.cli.serve_driver:ServeDriver"
    from textual.app import App

    class Wedged(App):
        def on_mount(self):
            self.set_timer(0.3, self.block)

        def block(self):
            open(sys.argv[1], "w").close()
            time.sleep(600)

    Wedged().run()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sigterm", "end of input"])
def test_a_workbench_whose_loop_is_blocked_still_ends(tmp_path, how):
    up = tmp_path / "up"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (tmp_path / "out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WEDGED_APP, str(up)],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,  # as the server starts it: the group it may kill is its own
        )
    try:
        wait_for(up.exists, 60, "the app blocking its loop")
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.stdin.close()
        assert wait_gone([proc.pid], 5) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
