"""Where datasets live: ``data/`` in a checkout, otherwise the user's data directory.

A checkout is recognised by a ``pyproject.toml`` naming the ``tuidl`` project beside the
package folder; an installed tuidl (site-packages) has none, so it falls back to
``$XDG_DATA_HOME/tuidl`` or ``~/.local/share/tuidl``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_PROJECT_NAME = re.compile(r'^\s*name\s*=\s*["\']tuidl["\']', re.MULTILINE)


def checkout_root(package_dir: Path = _PACKAGE_DIR) -> Path | None:
    """The repository root when tuidl runs from a checkout, else ``None``."""
    pyproject = package_dir.parent / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return package_dir.parent if _PROJECT_NAME.search(text) else None


def user_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/tuidl``, or ``~/.local/share/tuidl``: the run store, logs, caches.

    The one place that rule lives; everything tuidl keeps per user is under it.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "tuidl"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``<checkout>/data`` in a checkout, else :func:`user_data_dir`."""
    root = checkout_root()
    if root is not None:
        return root / "data"
    return user_data_dir(environ)
