"""``tuidl serve``: loopback unless --host is explicit (then a warning), the command each
browser session runs, and one short real start on 127.0.0.1 that prints its token. The token and
origin checks are in test_serve_guard.py, the lifetime of the sessions' processes in
test_serve_children.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from argparse import Namespace
from pathlib import Path

import pytest

from tuidl.cli import build_parser, main
from tuidl.cli.serve_cmd import bind_address, is_loopback, public_url_of, workbench_command
from tuidl.errors import TuidlError

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_loopback_without_a_warning():
    assert bind_address(None, 8000) == ("127.0.0.1", None)
    args = build_parser().parse_args(["serve"])
    assert args.host is None and args.port == 8000


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.5", "[::1]"])
def test_an_explicit_loopback_host_does_not_warn(host):
    assert is_loopback(host)
    assert bind_address(host, 8000) == (host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org", "10.0.0.1"])
def test_an_explicit_other_host_is_used_and_warns_that_the_token_travels_unencrypted(host):
    bound, warning = bind_address(host, 8123)
    assert bound == host
    assert warning is not None
    assert "token" in warning and "unencrypted" in warning
    assert "ssh -L 8123:127.0.0.1:8123" in warning


@pytest.mark.parametrize("port", [0, -1, 70000])
def test_bad_port(port):
    with pytest.raises(TuidlError, match="give a port from 1 to 65535"):
        bind_address(None, port)


def test_workbench_command_opens_the_tui_with_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text("")
    cmd = workbench_command(Namespace(spec="s.toml", store="runs.sqlite"))
    assert cmd == [
        sys.executable,
        "-m",
        "tuidl.cli.serve_child",  # the workbench, ended with its server
        "tui",
        str(tmp_path / "s.toml"),
        "--store",
        str(tmp_path / "runs.sqlite"),
    ]
    assert workbench_command(Namespace(spec=None, store=None))[3:] == ["tui"]


def test_public_url(monkeypatch):
    pytest.importorskip("textual_serve")
    assert public_url_of("127.0.0.1", 8000, None) == "http://127.0.0.1:8000"
    assert public_url_of("::1", 8000, None) == "http://[::1]:8000"
    assert public_url_of("[::1]", 8000, None) == "http://[::1]:8000"
    assert public_url_of("h", 1, "https://tuidl.example.org/") == "https://tuidl.example.org"
    for bad in ("tuidl.example.org", "ftp://x", "https://", "null"):
        with pytest.raises(TuidlError, match=r"--public-url .*give an http:// or https:// URL"):
            public_url_of("127.0.0.1", 8000, bad)


def test_missing_textual_serve_says_which_extra_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["serve", "--port", "8765"]) == 2
    assert "pip install 'tuidl[serve]'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp spells them) listening on ``port``."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].rsplit(":", 1)
            if int(hexport, 16) == port and fields[3] == "0A":  # LISTEN
                out.add(addr)
    return out


@pytest.mark.slow
def test_a_real_start_serves_the_page_on_127_0_0_1_only_with_its_token(tmp_path):
    pytest.importorskip("textual_serve")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    cmd = [sys.executable, "-m", "tuidl", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        first = proc.stderr.readline().decode()
        match = re.fullmatch(
            rf"serving the workbench on http://127\.0\.0\.1:{port}/\?token=([\w-]{{43}}) "
            r"\(Ctrl\+C stops\)\n",
            first,
        )
        assert match, first
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                assert refused.value.code == 403
                url = f"http://127.0.0.1:{port}/?token={match.group(1)}"
                with urllib.request.urlopen(url, timeout=2) as r:
                    assert r.status == 200
                    body = r.read().decode()
                    break
            except urllib.error.URLError:
                time.sleep(0.2)
        assert body, "tuidl serve did not answer within 30 s"
        assert "textual" in body.lower()
        assert f"ws://127.0.0.1:{port}/ws" in body
        if Path("/proc/net/tcp").exists():
            assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=5)
    text = first + err.decode()
    assert "warning" not in text
