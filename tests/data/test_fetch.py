"""fetch: a local HTTP server on 127.0.0.1 serves generated archives."""

from __future__ import annotations

import hashlib
import http.server
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from cifar_fakes import make_fake_cifar, make_tar, tar_bytes

from tuidl.cli import main
from tuidl.data import locations
from tuidl.data.cifar10 import load_cifar10
from tuidl.data.fetch import fetch
from tuidl.errors import TuidlError


class Server:
    """Serves ``body`` at any path; ``cut`` > 0 sends only that many bytes, then hangs up."""

    def __init__(self) -> None:
        self.body = b""
        self.cut = 0
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                data = owner.body[: owner.cut] if owner.cut else owner.body
                self.wfile.write(data)
                self.wfile.flush()
                if owner.cut:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, body: bytes) -> str:
        self.body = body
        return hashlib.md5(body).hexdigest()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def archive_bytes(tmp_path) -> bytes:
    fake = make_fake_cifar(tmp_path / "src", n=4, n_test=3)
    return make_tar(fake["folder"], tmp_path / "src.tar.gz").read_bytes()


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_fetch_verifies_extracts_and_loads(server, archive_bytes, tmp_path):
    md5 = server.serve(archive_bytes)
    seen = []
    dest = tmp_path / "data"
    folder = fetch("cifar10", dest, url=server.url, md5=md5, progress=lambda d, t: seen.append(t))
    assert folder == dest / "cifar-10-batches-py"
    assert _leftovers(dest) == ["cifar-10-batches-py"]  # no .part, archive removed
    assert seen and seen[-1] == len(archive_bytes)
    assert load_cifar10(dest).X_train.shape == (20, 32, 32, 3)
    # a complete folder is not fetched again
    fetch("cifar10", dest, url=server.url, md5=md5)
    assert server.hits == 1


def test_keep_archive(server, archive_bytes, tmp_path):
    md5 = server.serve(archive_bytes)
    fetch("cifar10", tmp_path, url=server.url, md5=md5, keep_archive=True)
    assert (tmp_path / "cifar-10-python.tar.gz").is_file()


def test_md5_mismatch_leaves_nothing(server, archive_bytes, tmp_path):
    server.serve(archive_bytes)
    with pytest.raises(TuidlError, match=r"checksum mismatch.*expected 0{32}"):
        fetch("cifar10", tmp_path / "d", url=server.url, md5="0" * 32)
    assert _leftovers(tmp_path / "d") == []


def test_official_md5_is_the_default(server, archive_bytes, tmp_path):
    server.serve(archive_bytes)
    with pytest.raises(TuidlError, match=r"expected c58f30108f718f92721af3b95e74349a"):
        fetch("cifar10", tmp_path, url=server.url)


def test_bad_md5_argument(tmp_path):
    with pytest.raises(TuidlError, match=r"not an md5"):
        fetch("cifar10", tmp_path, url="http://127.0.0.1:9/x", md5="xyz")


def test_interrupted_download_leaves_nothing_and_rerun_completes(server, archive_bytes, tmp_path):
    md5 = server.serve(archive_bytes)
    server.cut = len(archive_bytes) // 3
    with pytest.raises(TuidlError, match=r"broke off after \d+ .*run the command again"):
        fetch("cifar10", tmp_path / "d", url=server.url, md5=md5)
    assert _leftovers(tmp_path / "d") == []
    server.cut = 0
    fetch("cifar10", tmp_path / "d", url=server.url, md5=md5)
    assert _leftovers(tmp_path / "d") == ["cifar-10-batches-py"]


def test_unreachable_server(tmp_path):
    with pytest.raises(TuidlError, match=r"cannot download http://127\.0\.0\.1:9/"):
        fetch("cifar10", tmp_path / "d", url="http://127.0.0.1:9/x.tar.gz", md5="0" * 32, timeout=5)
    assert _leftovers(tmp_path / "d") == []


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "member, message",
    [
        ((_file("cifar-10-batches-py/../../evil"), b"x"), r"'cifar-10-batches-py/\.\./\.\./evil'"),
        ((_file("/tmp/tuidl-evil-abs"), b"x"), r"'/tmp/tuidl-evil-abs'"),
        ((_link("cifar-10-batches-py/up", "../../.."), None), r"symlink .*'\.\./\.\./\.\.'"),
        ((_link("cifar-10-batches-py/abs", "/etc/passwd"), None), r"symlink .*'/etc/passwd'"),
        ((_link("cifar-10-batches-py/h", "../outside", tarfile.LNKTYPE), None), r"hard link"),
    ],
)
def test_unsafe_members_refused(server, tmp_path, member, message):
    good = (_file("cifar-10-batches-py/batches.meta"), b"meta")
    md5 = server.serve(tar_bytes([good, member]))
    dest = tmp_path / "dest"
    with pytest.raises(TuidlError, match=r"cifar-10-python\.tar\.gz: refused: .*" + message):
        fetch("cifar10", dest, url=server.url, md5=md5)
    assert not (tmp_path / "evil").exists() and not Path("/tmp/tuidl-evil-abs").exists()
    # the verified archive stays for inspection; nothing was extracted
    assert _leftovers(dest) == ["cifar-10-python.tar.gz"]


def test_cli_fetch_shows_progress(server, archive_bytes, tmp_path, capsys, monkeypatch):
    md5 = server.serve(archive_bytes)
    argv = ["data", "fetch", "cifar10", "--url", server.url, "--md5", md5, "--dest"]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # the bar is for a terminal
    code = main([*argv, str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "cifar10 is ready in" in out
    assert "\r[" in err and "100%" in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a log or pipe: no bar
    assert main([*argv, str(tmp_path / "again")]) == 0
    assert capsys.readouterr().err == ""


def test_cli_info(server, archive_bytes, tmp_path, capsys):
    md5 = server.serve(archive_bytes)
    fetch("cifar10", tmp_path, url=server.url, md5=md5)
    assert main(["data", "info", "cifar10", "--path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(20, 32, 32, 3)" in out and "airplane" in out and "uint8" in out


def test_cli_error_is_one_line(tmp_path, capsys):
    assert main(["data", "info", "cifar10", "--path", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_default_dest_checkout_or_user_dir(tmp_path, monkeypatch):
    pkg = tmp_path / "repo" / "tuidl"
    pkg.mkdir(parents=True)
    assert locations.checkout_root(pkg) is None
    (pkg.parent / "pyproject.toml").write_text('[project]\nname = "tuidl"\n')
    assert locations.checkout_root(pkg) == pkg.parent
    monkeypatch.setattr(locations, "checkout_root", lambda: None)
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert locations.default_data_dir(env) == tmp_path / "xdg" / "tuidl"
    assert locations.default_data_dir({}) == Path.home() / ".local" / "share" / "tuidl"


def test_this_checkout_uses_data_dir():
    root = Path(__file__).resolve().parents[2]
    assert locations.default_data_dir() == root / "data"
