"""``tuidl serve``: the workbench in a browser, through textual-serve (``tuidl[serve]``).

Whoever drives the workbench runs code as you: it reads files and starts runs. So ``serve``
binds 127.0.0.1 unless ``--host`` is given explicitly (and warns when that host is not a
loopback address), answers only requests that carry the secret token it prints at start
(``http://127.0.0.1:8000/?token=...``), and refuses every request from another origin, which
stops a web page in your own browser as well as other users of the machine. Each browser
session's workbench ends when its browser disconnects and when the server stops or dies
(:mod:`tuidl.cli.serve_web`, :mod:`tuidl.cli.serve_child`). For a remote machine keep the
default and forward the port: ``ssh -L 8000:127.0.0.1:8000 you@server tuidl serve``.
"""

from __future__ import annotations

import ipaddress
import secrets
import sys

from tuidl.errors import TuidlError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the workbench to a browser (127.0.0.1 only by default)",
        description="Serve the workbench through textual-serve (pip install 'tuidl[serve]'): "
        "each browser tab gets its own workbench process on this machine, which ends when "
        "the tab disconnects or the server stops. It listens on 127.0.0.1 only unless --host "
        "is given, and answers only the URL with the secret token it prints at start "
        "(http://127.0.0.1:8000/?token=...) and only pages of its own origin. For a remote "
        "machine: ssh -L 8000:127.0.0.1:8000 you@server tuidl serve, then open the printed "
        "URL locally.",
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a spec TOML file to open")
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="P",
        help=f"port (default: {DEFAULT_PORT})",
    )
    p.add_argument(
        "--host",
        default=None,
        metavar="H",
        help=f"address to listen on (default: {DEFAULT_HOST}); anything but loopback exposes "
        "the workbench to the network, guarded only by a token sent over plain HTTP",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers use, when it differs from http://HOST:PORT (a proxy); "
        "its scheme://host:port is the only origin whose pages may connect",
    )
    p.add_argument("--store", metavar="PATH", help="the run store (default: the user data dir)")
    p.set_defaults(func=serve)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_address(host: str | None, port: int) -> tuple[str, str | None]:
    """The host to listen on and the warning to print (``None`` for loopback).

    No ``--host``: 127.0.0.1. An explicit ``--host`` is used as given; one that is not a
    loopback address comes with a warning that the token travels unencrypted.
    """
    if not 1 <= port <= 65535:
        raise TuidlError(f"--port {port}: give a port from 1 to 65535")
    if host is None:
        return DEFAULT_HOST, None
    host = host.strip()
    if not host:
        raise TuidlError("--host '': give an address, e.g. 127.0.0.1")
    if is_loopback(host):
        return host, None
    everywhere = host in ("0.0.0.0", "::", "[::]")
    where = "every network interface of this machine" if everywhere else host
    warning = (
        f"warning: serving on {where}, port {port}. The workbench is guarded only by the "
        "token in its URL, which plain HTTP sends unencrypted: anyone who sees that traffic "
        "or the URL gets a workbench running as you, which can read your files and start "
        "runs. Prefer the default (127.0.0.1) with an SSH tunnel: "
        f"ssh -L {port}:127.0.0.1:{port} you@this-host"
    )
    return host, warning


def workbench_command(args) -> list[str]:
    """The command (argv) each browser session runs: the workbench, through
    :mod:`tuidl.cli.serve_child`, which ends it with the server; paths made absolute."""
    from pathlib import Path

    cmd = [sys.executable, "-m", "tuidl.cli.serve_child", "tui"]
    if args.spec:
        cmd.append(str(Path(args.spec).expanduser().resolve()))
    if args.store:
        cmd += ["--store", str(Path(args.store).expanduser().resolve())]
    return cmd


def public_url_of(host: str, port: int, given: str | None) -> str:
    """The URL browsers use (``--public-url``, else ``http://HOST:PORT``), without a trailing
    slash; a ``--public-url`` that is not an http(s) URL with a host is an error."""
    if given is None:
        url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{url_host}:{port}"
    from tuidl.cli.serve_web import origin_of

    if origin_of(given) is None:
        raise TuidlError(
            f"--public-url {given!r}: give an http:// or https:// URL with a host, "
            "e.g. https://tuidl.example.org"
        )
    return given.strip().rstrip("/")


def serve(args) -> int:
    host, warning = bind_address(args.host, args.port)
    if args.spec:
        from pathlib import Path

        if not Path(args.spec).expanduser().is_file():
            raise TuidlError(f"spec file {args.spec!r} does not exist")
    try:
        import textual_serve.server  # noqa: F401  (the extra; serve_web builds on it)

        from tuidl.cli.serve_web import GuardedServer
    except ImportError:
        raise TuidlError(
            "tuidl serve needs textual-serve, which is not installed; install it with: "
            "pip install 'tuidl[serve]'"
        ) from None
    public_url = public_url_of(host, args.port, args.public_url)
    token = secrets.token_urlsafe(32)
    if warning:
        print(warning, file=sys.stderr)
    print(f"serving the workbench on {public_url}/?token={token} (Ctrl+C stops)", file=sys.stderr)
    server = GuardedServer(
        workbench_command(args), host=host, port=args.port, public_url=public_url, token=token
    )
    try:
        server.serve()
    except OSError as exc:
        raise TuidlError(f"cannot listen on {host}:{args.port}: {exc.strerror or exc}") from None
    return 0
