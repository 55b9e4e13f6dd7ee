"""The rows of the bad-inputs table (run by ``tests/test_bad_inputs.py``).

Each :class:`Case` is one thing a careless user or a hostile file hands the ``tuidl``
command. The rows live in :mod:`.specs` (spec files, ``--set``, ``--seed``),
:mod:`.commands` (flags, subcommands, paths, environment) and :mod:`.files` (``.npz``
files, run stores, archives for ``data fetch``); :func:`all_cases` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Make = Callable[[Path], "dict[str, str] | None"]


@dataclass(frozen=True)
class Case:
    """One bad input. ``argv`` may name ``{t}`` (the case's own temporary folder) and any
    key that ``make(t)`` returns; ``expect`` (formatted the same way) must appear in the
    error line. ``awaits`` names the fix a still-failing row waits for (a strict xfail);
    ``sub`` runs it as a real process; ``outside_untouched`` checks that nothing in
    ``{t}`` outside ``{t}/dest`` changed."""

    id: str
    argv: tuple[str, ...]
    expect: str
    make: Make | None = None
    env: tuple[tuple[str, str], ...] = ()
    sub: bool = False
    awaits: str = ""
    outside_untouched: bool = False


def case(
    id: str,
    argv: list[str] | tuple[str, ...],
    expect: str,
    make: Make | None = None,
    *,
    env: dict[str, str] | None = None,
    **kw,
) -> Case:
    return Case(id, tuple(argv), expect, make, tuple((env or {}).items()), **kw)


def write(name: str, data: bytes | str) -> Make:
    """A ``make`` that writes ``data`` to ``{t}/name``."""

    def make(t: Path) -> None:
        path = t / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def both(*makes: Make) -> Make:
    """A ``make`` that runs several; the keys they return are merged."""

    def make(t: Path) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in makes:
            out.update(m(t) or {})
        return out

    return make


def empty_store(t: Path) -> None:
    """A fresh, empty run store at ``{t}/r.sqlite``."""
    from tuidl.experiment.store import Store

    Store(t / "r.sqlite").close()


KNN = """seed = 0
[dataset]
name = "digits"
[split]
num_training = 300
num_test = 50
[[preprocess]]
name = "reshape"
[model]
name = "knn"
k = 3
[cv]
folds = 3
[cv.grid]
"model.k" = [1, 3]
"""

NET = """seed = 0
[dataset]
name = "digits"
[split]
num_training = 300
num_test = 50
[[preprocess]]
name = "reshape"
[model]
name = "fc_net"
hidden_sizes = [20]
[loss]
name = "softmax"
[init]
name = "small_random"
[optimizer]
name = "sgd"
lr = 0.01
[training]
epochs = 1
batch_size = 50
[cv]
folds = 3
[cv.grid]
"optimizer.lr" = [0.01, 0.1]
"""

# `tuidl run` on the spec at {t}/s.toml, with its own store
RUN = ("run", "{t}/s.toml", "--store", "{t}/r.sqlite", "--workers", "1", "--no-charts")


def all_cases() -> list[Case]:
    """Every row, in table order."""
    from bad_inputs import commands, files, specs

    return [*specs.CASES, *commands.CASES, *files.CASES]
