"""``tuidl serve`` answers only its own origin with its own token (issue #15, item 2).

Everything runs against a real server on 127.0.0.1 at a free port, through aiohttp's client:
no traffic leaves loopback. A refused request gets 403 and starts no workbench process.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("textual_serve")
aiohttp = pytest.importorskip("aiohttp")

from serve_helpers import Served, needs_proc, wait_for, wait_gone  # noqa: E402

from tuidl.cli.serve_web import origin_of, token_matches  # noqa: E402


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTP://LocalHost:8000/x/y?z", "http://localhost:8000"),
        ("http://example.org:80", "http://example.org"),
        ("https://example.org:443/tuidl", "https://example.org"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("", None),
        ("file:///etc/passwd", None),
        ("http://127.0.0.1:99999", None),
        ("http://127.0.0.1:port", None),
    ],
)
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_token_matches_only_the_token():
    assert token_matches("abc", "abc")
    for given in (None, "", "ab", "abcd", "ABC", "äbc"):
        assert not token_matches(given, "abc")


def _refusals(port: int, token: str) -> list[tuple[str, str, dict[str, str]]]:
    base = f"http://127.0.0.1:{port}"
    own = {"Origin": base}
    evil = {"Origin": "http://evil.example"}
    return [
        ("page", "/", {}),
        ("page", "/?token=", {}),
        ("page", "/?token=wrong", {}),
        ("page", f"/?token={token}x", {}),
        ("page", f"/?token={token}", evil),
        ("page", f"/?token={token}", {"Origin": "null"}),
        ("page", f"/?token={token}", {"Origin": base.replace("127.0.0.1", "localhost")}),
        ("page", "/download/anything", {}),
        ("page", "/static/../", {}),  # spellings of other paths through the public /static
        ("page", "/static/%2e%2e/", {}),
        ("page", "/static/..%2f", {}),
        ("ws", "/static/../ws", own),
        ("ws", "/static/%2e%2e/ws", own),
        ("ws", "/ws", own),
        ("ws", "/ws?token=wrong", own),
        ("ws", f"/ws?token={token[:-1]}", own),
        ("ws", f"/ws?token={token}", evil),  # the right token from the wrong origin
        ("ws", f"/ws?token={token}", {}),  # a WebSocket with no Origin
        ("ws", f"/ws?token={token}", {"Origin": f"http://127.0.0.1:{port + 1}"}),
        ("ws", f"/ws?token={token}", {"Origin": f"https://127.0.0.1:{port}"}),
    ]


async def _status(session, kind: str, url: str, headers: dict[str, str]) -> int:
    if kind == "page":
        async with session.get(url, headers=headers) as response:
            return response.status
    try:
        async with session.ws_connect(url, headers=headers):
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def _first_screen(ws) -> None:
    """Wait for the workbench's first output: its process is up and drawing."""
    while True:
        message = await asyncio.wait_for(ws.receive(), 60)
        assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
        if message.type == aiohttp.WSMsgType.BINARY and message.data:
            return


@needs_proc
@pytest.mark.slow
def test_only_the_token_from_the_served_origin_gets_a_workbench(tmp_path):
    served = Served(tmp_path)
    base, token = served.base, served.token
    assert served.first_line.startswith(f"serving the workbench on {base}/?token=")
    try:

        async def scenario():
            # Cookies for 127.0.0.1 are what a browser keeps too; aiohttp's jar needs unsafe=True.
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                for kind, path, headers in _refusals(served.port, token):
                    status = await _status(session, kind, base + path, headers)
                    # A spelling through /static that the static handler itself answers (no
                    # such file: 404) never reached the page or the WebSocket either.
                    allowed = (403, 404) if path.startswith("/static/") else (403,)
                    assert status in allowed, (kind, path, headers, status)
                assert not jar.filter_cookies(base), "a refused request set a cookie"
                assert served.children() == [], "a refused request started a workbench"

                # The static files of textual-serve are public; they start nothing.
                async with session.get(base + "/static/js/textual.js") as response:
                    assert response.status == 200

                # The printed URL: the page, and the cookie its own WebSocket then carries.
                async with session.get(f"{base}/?token={token}") as response:
                    assert response.status == 200
                    body = await response.text()
                    cookie = response.cookies[f"tuidl-serve-{served.port}"]
                assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in body
                assert cookie.value == token and cookie["httponly"]
                assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
                assert served.children() == []
                # The cookie alone opens the page again, as a reload or Restart does.
                async with session.get(base + "/") as response:
                    assert response.status == 200
                # ...but never from another origin, cookie or not.
                headers = {"Origin": "http://evil.example"}
                assert await _status(session, "ws", base + "/ws", headers) == 403
                assert served.children() == []

                # As the page's script connects: its origin, the cookie, the terminal's size.
                ws_url = f"{base}/ws?width=100&height=30"
                async with session.ws_connect(ws_url, headers={"Origin": base}) as ws:
                    await _first_screen(ws)
                    (child,) = served.children()
                # Without the cookie, the token in the WebSocket's URL does as well.
            async with aiohttp.ClientSession() as bare:
                url = f"{base}/ws?token={token}&width=80&height=24"
                async with bare.ws_connect(url, headers={"Origin": base}) as ws:
                    await _first_screen(ws)
                    assert len(wait_for(served.children, 10, "the second workbench")) >= 1
            return child

        child = asyncio.run(scenario())
        assert wait_gone([child], 5) == []
    finally:
        served.stop()
