"""Reading and writing spec files, keeping what a person wrote in them.

:func:`read_spec_data` reads a spec file into its TOML-shaped dict (step numbers in the
current form, see :mod:`tuidl.experiment.spec_steps`). :func:`write_spec_data` writes a dict
back; when the file already exists and is TOML, it is updated in place with tomlkit, so the
user's comments, key order, blank lines and number spellings (``1e-3``) survive wherever the
value did not change. A new file is written by :func:`~tuidl.experiment.spec_toml.dumps_toml`.

How it fails: a missing, unreadable or non-TOML file and an unwritable path raise
:class:`tuidl.TuidlError` naming the path and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.spec_schema import tidy_for_toml
from tuidl.experiment.spec_steps import STEPS_MARKER
from tuidl.experiment.spec_toml import dumps_toml


def read_text(path: str | os.PathLike) -> str:
    """A spec file's text; TuidlError for a missing, unreadable or non-UTF-8 file."""
    path = Path(path).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TuidlError(f"spec file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise TuidlError(f"spec file {str(path)!r} is a folder; give a .toml file") from None
    except UnicodeDecodeError:
        raise TuidlError(f"spec file {str(path)!r} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise TuidlError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None


def read_spec_data(path: str | os.PathLike) -> dict[str, Any]:
    """The TOML-shaped dict of a spec file (not validated: see ``spec_check.validate``)."""
    from tuidl.experiment.spec import loads_spec_data

    path = Path(path).expanduser()
    return loads_spec_data(read_text(path), source=f"spec file {str(path)!r}")


def render(data: dict[str, Any], old_text: str | None = None) -> str:
    """``data`` as TOML: ``old_text`` updated in place (comments and layout kept) when given
    and parseable, else freshly written."""
    data = tidy_for_toml(data)
    if old_text is None:
        return dumps_toml(data)
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(old_text)
    except TOMLKitError:
        return dumps_toml(data)
    _merge(doc, data)
    text = tomlkit.dumps(doc)
    if data.get("preprocess") and STEPS_MARKER not in text:
        text = STEPS_MARKER + "\n" + text
    return text


def write_spec_data(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file, then a rename), keeping the
    comments and layout of the file already there. Returns the path written."""
    path = Path(path).expanduser()
    old = None
    if path.is_file():
        try:
            old = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            old = None  # not ours to keep: write a fresh spec
    text = render(data, old)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise TuidlError(f"cannot write spec file {str(path)!r}: {exc.strerror}") from None
    return path


def _merge(container: Any, data: dict[str, Any]) -> None:
    """Make tomlkit ``container`` (a document or table) hold exactly ``data``: keys not in
    ``data`` go, unchanged values keep their item (and so its spelling and comment)."""
    for key in [k for k in container if k not in data]:
        del container[key]
    for key, value in data.items():
        if value is None:
            continue
        if key not in container:
            container[key] = _item(value)
            continue
        old = container[key]
        if isinstance(value, dict) and hasattr(old, "items") and not _is_inline(old):
            _merge(old, value)
        elif _is_table_list(value) and _is_aot(old) and len(old) == len(value):
            for table, item in zip(old, value, strict=True):
                _merge(table, item)
        elif _plain(old) != value or type(_plain(old)) is not type(value):
            container[key] = _item(value)


def _item(value: Any) -> Any:
    import tomlkit

    if _is_table_list(value):
        aot = tomlkit.aot()
        for item in value:
            aot.append(tomlkit.item(item))
        return aot
    return tomlkit.item(value)


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _is_inline(item: Any) -> bool:
    from tomlkit.items import InlineTable

    return isinstance(item, InlineTable)


def _is_aot(item: Any) -> bool:
    from tomlkit.items import AoT

    return isinstance(item, AoT)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
