"""Where datasets live: ``data/`` in a checkout, otherwise the user's data directory.

A checkout is recognised by a ``pyproject.toml`` naming the ``tuidl`` project beside the
package folder; an installed tuidl (site-packages) has none, so it falls back to the user data
directory platformdirs names for the platform: ``$XDG_DATA_HOME/tuidl`` or
``~/.local/share/tuidl`` on Linux and other Unix, ``~/Library/Application Support/tuidl`` on
macOS, ``%LOCALAPPDATA%\\tuidl`` on Windows.
"""

from __future__ import annotations

import os
import re
import sys
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


APP = "tuidl"


def user_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where tuidl keeps per-user things (the run store, logs, caches): platformdirs'
    user data dir for ``tuidl``. The one place that rule lives.

    ``environ`` (a mapping other than ``os.environ``, as tests and the plugin-check cache pass)
    is read the way platformdirs reads the process environment on Unix: its
    ``XDG_DATA_HOME``. On macOS and Windows a store that older tuidl versions made in
    ``~/.local/share/tuidl`` is still used while the platform's folder does not exist, so
    upgrading loses no runs.
    """
    import platformdirs

    unix = sys.platform not in ("win32", "darwin")
    if environ is not None and environ is not os.environ and unix:
        # platformdirs' Unix rule, applied to the given mapping instead of os.environ
        base = environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
        return Path(base).expanduser() / APP
    path = Path(platformdirs.user_data_dir(APP, appauthor=False))
    if not unix:
        legacy = Path.home() / ".local" / "share" / APP
        if legacy.is_dir() and not path.exists():
            return legacy
    return path


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``<checkout>/data`` in a checkout, else :func:`user_data_dir`."""
    root = checkout_root()
    if root is not None:
        return root / "data"
    return user_data_dir(environ)
