"""The web server of ``tuidl serve``: textual-serve's, with a token, an origin check and children
that never outlive their browser or their server.

**Who may connect.** Every start makes a new secret token (``secrets.token_urlsafe``), printed
as ``http://127.0.0.1:8000/?token=...`` like Jupyter. The page and the WebSocket answer only a
request that carries it, either as ``?token=`` or as the cookie the first token-bearing page
request sets (HttpOnly, SameSite=Strict, named after the port; the page's own WebSocket
carries the cookie, as textual-serve's script builds the socket's URL itself). Anything else
gets 403 and starts nothing. A request whose ``Origin`` is not the served origin (the
scheme://host:port of the public URL) is refused with 403 even with the token, and a WebSocket
must name its Origin: browsers always do, so a page elsewhere can never drive the workbench.
Tokens are compared with :func:`hmac.compare_digest`. ``/static`` (textual-serve's own script,
stylesheet and fonts) is served to anyone.

**Children.** Each session's workbench runs as ``python -m tuidl.cli.serve_child``, in a new
session (so its own process group), with this server's pid to watch (see
:mod:`tuidl.cli.serve_child`). When its WebSocket closes, and for every session when the server
stops (SIGINT, SIGTERM, SIGHUP), the server asks it to quit, closes its input, then sends
SIGTERM and at last SIGKILL to its process group, each after a short grace, and SIGKILLs what
is left of the group. Runs started from the workbench are in sessions of their own and go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shlex
import signal
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tuidl.cli.serve_child import PARENT_ENV

log = logging.getLogger("tuidl.serve")

QUIT_GRACE_S = 1.5  # after the quit request and closing its input
TERM_GRACE_S = 1.5  # after SIGTERM to its process group
SHUTDOWN_S = 5.0  # aiohttp's wait for open handlers when the server stops


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``, lower-cased, default port dropped; None when
    ``url`` is not an http(s) URL with a host (as ``Origin: null`` is not)."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:  # a port that is not a number
        return None
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == {"http": 80, "https": 443}[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is the token, in time that does not depend on where they differ."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _forbidden(why: str) -> web.Response:
    return web.Response(status=403, text=f"403 forbidden: {why}\n")


class SessionService(AppService):
    """One browser session's workbench process, started as the leader of its own process group
    and always ended by :meth:`stop`."""

    def __init__(self, argv: list[str], **kwargs) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv
        self.pid: int | None = None
        self._stopping: asyncio.Future | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width=width, height=height)
        env[PARENT_ENV] = str(os.getpid())
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        # exec, not textual-serve's shell: the child is the workbench itself, so its parent
        # is this server (what PR_SET_PDEATHSIG watches) and its pid leads its own group.
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        self.pid = process.pid
        self._stdin = process.stdin
        return process

    def kill_now(self) -> None:
        """SIGKILL the process group at once (when there is no time for :meth:`stop`)."""
        if self.pid is not None:
            signal_group(self.pid, signal.SIGKILL)

    async def stop(self) -> None:
        """End the process and its group; safe to call any number of times, also concurrently.
        Cancelled half-way, it SIGKILLs the group before giving way."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        try:
            await asyncio.shield(self._stopping)
        except asyncio.CancelledError:
            self.kill_now()
            raise

    async def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send_meta({"type": "quit"}), 0.5)
            with contextlib.suppress(Exception):
                self.stdin.close()  # end of input: the driver ends the app too
            for sig, grace in ((signal.SIGTERM, QUIT_GRACE_S), (signal.SIGKILL, TERM_GRACE_S)):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), grace)
                if process.returncode is not None:
                    break
                signal_group(process.pid, sig)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        signal_group(process.pid, signal.SIGKILL)  # whatever it left in its group
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 2)
            self._task = None


class GuardedServer(Server):
    """textual-serve's :class:`Server`, with the token, the origin check and
    :class:`SessionService` for each session."""

    def __init__(
        self, argv: list[str], *, host: str, port: int, public_url: str, token: str
    ) -> None:
        super().__init__(
            shlex.join(argv), host=host, port=port, title="tuidl", public_url=public_url
        )
        self.argv = argv
        self.token = token
        self.origin = origin_of(public_url)
        self.cookie_name = f"tuidl-serve-{port}"
        self.sessions: set[SessionService] = set()
        self.websockets: set[web.WebSocketResponse] = set()

    def authorized(self, request: web.Request) -> tuple[str | None, bool]:
        """(why the request is refused, or None; whether it carried the token in its URL)."""
        is_websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        origin = request.headers.get("Origin")
        if origin is not None or is_websocket:
            if origin is None:
                return "a WebSocket must name its Origin", False
            if origin_of(origin) != self.origin:
                return f"cross-origin request from {origin!r} (this is {self.origin})", False
        by_query = token_matches(request.query.get("token"), self.token)
        if by_query or token_matches(request.cookies.get(self.cookie_name), self.token):
            return None, by_query
        return (
            "open the URL with ?token=... that tuidl serve printed when it started",
            False,
        )

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def guard(request: web.Request, handler):
            resource = request.match_info.route.resource
            if resource is not None and resource.name == "static":
                # textual-serve's own public files; asked of the router, not of the path, so
                # no spelling of a path can reach another handler through this door.
                return await handler(request)
            refused, by_query = self.authorized(request)
            if refused:
                log.warning("refused %s %s: %s", request.method, request.path, refused)
                return _forbidden(refused)
            response = await handler(request)
            if by_query and not response.prepared:
                response.set_cookie(
                    self.cookie_name,
                    self.token,
                    path="/",
                    httponly=True,
                    samesite="Strict",
                    secure=self.origin is not None and self.origin.startswith("https:"),
                )
            return response

        app.middlewares.append(guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: ``tuidl serve`` prints its own line with the token."""

    async def on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(*(s.stop() for s in list(self.sessions)), return_exceptions=True)
        for websocket in list(self.websockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped"), 1
                )

    def kill_all_now(self) -> None:
        for session in list(self.sessions):
            session.kill_now()

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP; every session's process group is ended."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
                shutdown_timeout=SHUTDOWN_S,
            )
        finally:
            self.kill_all_now()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with :class:`SessionService` and its bookkeeping."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        session = SessionService(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.websockets.add(websocket)
        try:
            await websocket.prepare(request)
            self.sessions.add(session)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            try:
                await session.stop()
            finally:
                self.sessions.discard(session)
                self.websockets.discard(websocket)
        return websocket
