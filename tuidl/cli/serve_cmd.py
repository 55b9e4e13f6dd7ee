"""``tuidl serve``: the workbench in a browser, through textual-serve (``tuidl[serve]``).

textual-serve has no authentication: whoever reaches the port gets a workbench, running as
you, that reads files and starts runs. So ``serve`` binds 127.0.0.1 unless ``--host`` is given
explicitly, and warns when that host is not a loopback address. For a remote machine keep the
default and forward the port: ``ssh -L 8000:127.0.0.1:8000 you@server tuidl serve``.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys

from tuidl.errors import TuidlError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the workbench to a browser (127.0.0.1 only by default)",
        description="Serve the workbench through textual-serve (pip install 'tuidl[serve]'): "
        "each browser tab gets its own workbench process on this machine. textual-serve has "
        "no authentication, so it listens on 127.0.0.1 only unless --host is given. For a "
        "remote machine: ssh -L 8000:127.0.0.1:8000 you@server tuidl serve, then open "
        "http://127.0.0.1:8000 locally.",
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
        "an unauthenticated workbench to the network",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers use, when it differs from http://HOST:PORT (a proxy)",
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
    loopback address comes with a warning that textual-serve has no authentication.
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
        f"warning: serving on {where}, port {port}. textual-serve has no authentication: "
        "anyone who can reach this port gets a workbench running as you, which can read "
        "your files and start runs. Prefer the default (127.0.0.1) with an SSH tunnel: "
        f"ssh -L {port}:127.0.0.1:{port} you@this-host"
    )
    return host, warning


def workbench_command(args) -> str:
    """The shell command textual-serve starts for each browser session."""
    cmd = [sys.executable, "-m", "tuidl", "tui"]
    if args.spec:
        from pathlib import Path

        cmd.append(str(Path(args.spec).expanduser().resolve()))
    if args.store:
        from pathlib import Path

        cmd += ["--store", str(Path(args.store).expanduser().resolve())]
    return shlex.join(cmd)


def serve(args) -> int:
    host, warning = bind_address(args.host, args.port)
    if args.spec:
        from pathlib import Path

        if not Path(args.spec).expanduser().is_file():
            raise TuidlError(f"spec file {args.spec!r} does not exist")
    try:
        from textual_serve.server import Server
    except ImportError:
        raise TuidlError(
            "tuidl serve needs textual-serve, which is not installed; install it with: "
            "pip install 'tuidl[serve]'"
        ) from None
    if warning:
        print(warning, file=sys.stderr)
    url_host = f"[{host}]" if ":" in host else host
    public_url = args.public_url or f"http://{url_host}:{args.port}"
    print(f"serving the workbench on {public_url} (Ctrl+C stops)", file=sys.stderr)
    server = Server(workbench_command(args), host=host, port=args.port, public_url=public_url)
    try:
        server.serve()
    except OSError as exc:
        raise TuidlError(f"cannot listen on {host}:{args.port}: {exc.strerror or exc}") from None
    return 0
