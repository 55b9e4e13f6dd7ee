"""``tuidl plugins new``: write a ready-to-install plugin package for one kind of component.

The package is what a third party would publish: ``pyproject.toml`` with the entry point in
group ``tuidl``, ``src/<package>/plugin.py`` with one working example component of the kind,
``tests/`` that check registration through the entry point, tuidl's contract checks and (for
losses and models) a numeric gradient, and a README. Its tests pass right after
``pip install -e <dir>``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from tuidl.errors import TuidlError
from tuidl.plugins.manager import HOOK_KINDS
from tuidl.plugins.scaffold_templates import (
    INIT,
    KIND_TEMPLATES,
    PYPROJECT,
    README,
    TEST_HEADER,
)

KIND_HOOKS = {kind: hook for hook, kind in HOOK_KINDS.items()}


@dataclass(frozen=True)
class Names:
    """How one plugin is spelled in each place: ``tuidl-focal`` / ``tuidl_focal`` / ``focal``."""

    dist: str
    package: str
    name: str


def plugin_names(raw: str) -> Names:
    """Derive the names from what the user typed (``focal``, ``Focal-Loss``, ``tuidl-focal``).

    Raises :class:`TuidlError` unless the result is a valid, non-keyword Python identifier
    made of lowercase letters, digits and underscores that starts with a letter.
    """
    base = raw.strip().lower()
    base = re.sub(r"^tuidl[-_]", "", base)
    name = re.sub(r"[-\s.]+", "_", base)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise TuidlError(
            f"plugin name {raw!r} is not usable; allowed: letters, digits, '-' and '_', "
            "starting with a letter (e.g. 'focal-loss')"
        )
    return Names(dist=f"tuidl-{name.replace('_', '-')}", package=f"tuidl_{name}", name=name)


def render(names: Names, kind: str) -> dict[str, str]:
    """The files of the package, relative path -> text. Raises for an unknown kind."""
    if kind not in KIND_TEMPLATES:
        raise TuidlError(f"unknown kind {kind!r}; allowed: {', '.join(KIND_TEMPLATES)}")
    from tuidl import __version__

    values = {
        "dist": names.dist,
        "package": names.package,
        "name": names.name,
        "kind": kind,
        "hook": KIND_HOOKS[kind],
        "title": names.name.replace("_", " ").capitalize(),
        "tuidl_version": __version__,
        # only what the kind's tests use: the generated package passes ruff as written
        "testing_imports": ", ".join(
            ["assert_contract", "load_plugin"]
            + (["numeric_gradient", "rel_error"] if kind in ("loss", "model") else [])
            + ["run_tiny"]
        ),
    }
    module, tests = KIND_TEMPLATES[kind]

    def fill(text: str) -> str:
        return Template(text).substitute(values)

    return {
        "pyproject.toml": fill(PYPROJECT),
        "README.md": fill(README),
        f"src/{names.package}/__init__.py": fill(INIT),
        f"src/{names.package}/plugin.py": fill(module),
        f"tests/test_{names.name}.py": fill(TEST_HEADER) + fill(tests),
    }


def create_plugin(
    raw_name: str, kind: str = "loss", dest: str | Path = ".", *, force: bool = False
) -> Path:
    """Write the package into ``dest/<dist>`` and return that folder.

    Refuses (:class:`TuidlError`) to write into an existing non-empty folder unless
    ``force``, which overwrites only the files it writes.
    """
    names = plugin_names(raw_name)
    files = render(names, kind)
    root = Path(dest).expanduser() / names.dist
    if root.exists() and any(root.iterdir()) and not force:
        raise TuidlError(f"{root} already exists and is not empty; choose --dest or use --force")
    try:
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TuidlError(f"cannot write the plugin package to {root}: {exc}") from exc
    return root
