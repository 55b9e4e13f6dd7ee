"""Bad inputs, table-driven: every one gives one ``error:`` line and a non-zero exit.

Each row of :data:`CASES` is something a careless user (or a hostile file) hands the
``tuidl`` command: a broken spec, a bad flag, a wrong path, a malformed ``.npz``, a
damaged run store, a hostile archive for ``data fetch --url file://...``. The command must
answer with exactly one line on stderr that starts with ``error:`` and names the problem
(the row's ``expect`` text), exit non-zero, print no traceback, and finish within
:data:`HANG_SECONDS` (a hang is a failure). Rows run in-process through
:func:`tuidl.cli.main` (fast); the few that need a real process (``sub=True``) run as one.

A row that still fails because its fix is elsewhere is marked ``xfail(strict=True)`` with
the item it awaits, so it cannot pass unnoticed: remove the mark once the fix lands.
``TUIDL_BAD_INPUTS_LOG=FILE pytest tests/test_bad_inputs.py`` collects every message in
FILE, to read them all in one place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tuidl.cli import main
from tuidl.plugins.manager import reset_registry

ROOT = Path(__file__).resolve().parents[1]
HANG_SECONDS = 30
MIN_CASES = 150


@dataclass(frozen=True)
class Case:
    """One bad input. ``argv`` may name ``{t}`` (the case's temporary folder) and any key
    that ``make(t)`` returns; ``expect`` must appear in the error line."""

    id: str
    argv: tuple[str, ...]
    expect: str
    make: Callable[[Path], dict[str, str] | None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    sub: bool = False
    awaits: str = ""  # "#15 item N (owner)": the fix this row waits for (strict xfail)
    outside_untouched: bool = False  # nothing may change in {t} outside {t}/dest


CASES: list[Case] = []


def case(id, argv, expect, make=None, **kw) -> None:
    CASES.append(Case(id, tuple(argv), expect, make, **kw))


# -- specs -------------------------------------------------------------------------------------

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


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def make(t: Path) -> None:
        path = t / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def spec_case(id, text, expect, *, run=False, extra=(), **kw) -> None:
    """``spec check`` on ``text`` (or ``run`` it, for what only the data can tell)."""
    if run:
        argv = ["run", "{t}/s.toml", "--store", "{t}/runs.sqlite", "--workers", "1", "--no-charts"]
    else:
        argv = ["spec", "check", "{t}/s.toml"]
    case(f"spec-{id}", [*argv, *extra], expect, _write("s.toml", text), **kw)


def knn(old, new):
    return _edit(KNN, old, new)


def net(old, new):
    return _edit(NET, old, new)


# TOML and text
spec_case("empty-file", "", "dataset")
spec_case("only-comments", "# nothing here\n", "dataset")
spec_case("toml-syntax", KNN + "seed = \n", "not valid TOML")
spec_case("toml-unclosed-table", "[dataset\nname = 'digits'\n", "not valid TOML")
spec_case("toml-duplicate-key", "seed = 1\n" + KNN, "not valid TOML")
spec_case("toml-duplicate-table", KNN + "[model]\nname = 'knn'\n", "not valid TOML")
spec_case("toml-unterminated-string", 'name = "abc\n' + KNN, "not valid TOML")
spec_case("toml-bad-escape", 'name = "\\q"\n' + KNN, "not valid TOML")
spec_case("toml-binary-garbage", b"\x00\x01\x02\x03seed = 1", "not valid TOML")
spec_case("not-utf8-latin1", KNN.encode() + b"# caf\xe9\n", "is not UTF-8 text")
spec_case("not-utf8-utf16", "\ufeff".encode("utf-16") + KNN.encode("utf-16-le"), "UTF-8")
spec_case("deep-arrays-5000", "seed = " + "[" * 5000 + "]" * 5000, "nested too deeply")
spec_case("deep-tables-5000", "seed = " + "{a = " * 5000 + "1" + "}" * 5000, "nested too deeply")
spec_case("deep-arrays-600", "seed = " + "[" * 600 + "]" * 600, "nested too deeply")
spec_case("deep-arrays-300", KNN.replace("seed = 0", "seed = " + "[" * 300 + "]" * 300), "seed")
spec_case(
    "deep-grid-300", knn('"model.k" = [1, 3]', '"model.k" = ' + "[" * 300 + "]" * 300), "model.k"
)
spec_case("deep-param-300", knn("k = 3", "k = " + "[" * 300 + "]" * 300), "model.k")
spec_case("deep-header-keys", "[" + ".".join(["a"] * 3000) + "]\n", "a")

# the seed (#15 item 8)
spec_case("seed-string", knn("seed = 0", 'seed = "abc"'), "seed")
spec_case("seed-float", knn("seed = 0", "seed = 1.5"), "seed")
spec_case("seed-bool", knn("seed = 0", "seed = true"), "seed")
spec_case("seed-nan", knn("seed = 0", "seed = nan"), "seed")
spec_case("seed-inf", knn("seed = 0", "seed = inf"), "seed")
spec_case("seed-negative", knn("seed = 0", "seed = -1"), "seed")
spec_case("seed-1e20", knn("seed = 0", "seed = 1e20"), "seed")
spec_case("seed-2**64", knn("seed = 0", "seed = 18446744073709551616"), "seed")
spec_case("seed-list", knn("seed = 0", "seed = [1]"), "seed")
spec_case("seed-table", knn("seed = 0", "seed = {a = 1}"), "seed")

# the layout
spec_case("unknown-top-key", "colour = 'red'\n" + KNN, "colour: unknown key")
spec_case("unknown-top-table", KNN + "[extras]\na = 1\n", "extras")
spec_case("name-not-string", "name = 3\n" + KNN, "name")
spec_case("no-dataset", knn('[dataset]\nname = "digits"\n', ""), "dataset")
spec_case(
    "dataset-is-string", knn('[dataset]\nname = "digits"\n', 'dataset = "digits"\n'), "dataset"
)
spec_case("dataset-no-name", knn('name = "digits"', 'path = "x"'), "dataset")
spec_case("dataset-unknown", knn('name = "digits"', 'name = "nosuch"'), "nosuch")
spec_case("dataset-name-number", knn('name = "digits"', "name = 7"), "dataset")
spec_case("dataset-name-nul", knn('name = "digits"', 'name = "dig\\u0000its"'), "dataset")
spec_case("dataset-unknown-param", knn('name = "digits"', 'name = "digits"\nsize = 3'), "size")
spec_case("no-model", knn('[model]\nname = "knn"\nk = 3\n', ""), "model")
spec_case("model-unknown", knn('name = "knn"', 'name = "svm9000"'), "svm9000")
spec_case(
    "model-array-of-tables",
    knn('[model]\nname = "knn"\nk = 3\n', '[[model]]\nname = "knn"\n'),
    "model",
)
spec_case("model-unknown-param", knn("k = 3", "k = 3\nkk = 1"), "kk")
spec_case("model-k-zero", knn("k = 3", "k = 0"), "model.k")
spec_case("model-k-negative", knn("k = 3", "k = -3"), "model.k")
spec_case("model-k-string", knn("k = 3", 'k = "three"'), "model.k")
spec_case("model-k-float", knn("k = 3", "k = 1.5"), "model.k")
spec_case("model-k-bool", knn("k = 3", "k = true"), "model.k")
spec_case("model-k-1e400", knn("k = 3", "k = 1e400"), "model.k")
spec_case("model-k-nan", knn("k = 3", "k = nan"), "model.k")
spec_case("model-k-list", knn("k = 3", "k = [3]"), "model.k")
spec_case("model-k-date", knn("k = 3", "k = 1979-05-27"), "model.k")
spec_case(
    "hidden-sizes-empty-string", net("hidden_sizes = [20]", 'hidden_sizes = "x"'), "hidden_sizes"
)
spec_case("hidden-sizes-zero", net("hidden_sizes = [20]", "hidden_sizes = [0]"), "hidden_sizes")
spec_case(
    "hidden-sizes-negative", net("hidden_sizes = [20]", "hidden_sizes = [-4]"), "hidden_sizes"
)
spec_case("hidden-sizes-floats", net("hidden_sizes = [20]", "hidden_sizes = [2.5]"), "hidden_sizes")
spec_case("loss-unknown", net('name = "softmax"', 'name = "hinge9"'), "hinge9")
spec_case("init-unknown", net('name = "small_random"', 'name = "zeros9"'), "zeros9")
spec_case("optimizer-unknown", net('name = "sgd"', 'name = "adamw9"'), "adamw9")
spec_case("lr-negative", net("lr = 0.01", "lr = -1.0"), "optimizer.lr")
spec_case("lr-nan", net("lr = 0.01", "lr = nan"), "optimizer.lr")
spec_case("lr-inf", net("lr = 0.01", "lr = inf"), "optimizer.lr")
spec_case("lr-string", net("lr = 0.01", 'lr = "fast"'), "optimizer.lr")
spec_case("epochs-negative", net("epochs = 1", "epochs = -1"), "training.epochs")
spec_case("epochs-nan", net("epochs = 1", "epochs = nan"), "training.epochs")
spec_case("iterations-zero", net("epochs = 1", "iterations = 0"), "training.iterations")
spec_case("batch-size-zero", net("batch_size = 50", "batch_size = 0"), "training.batch_size")
spec_case("batch-size-string", net("batch_size = 50", 'batch_size = "50"'), "training.batch_size")
spec_case(
    "sampling-bogus",
    net("batch_size = 50", 'batch_size = 50\nsampling = "bogus"'),
    "training.sampling",
)
spec_case("training-unknown-key", net("batch_size = 50", "batch_size = 50\nspeed = 3"), "speed")
spec_case(
    "split-num-training-zero", knn("num_training = 300", "num_training = 0"), "split.num_training"
)
spec_case(
    "split-num-training-negative",
    knn("num_training = 300", "num_training = -5"),
    "split.num_training",
)
spec_case("split-num-test-string", knn("num_test = 50", 'num_test = "x"'), "split.num_test")
spec_case(
    "split-shuffle-string", knn("num_test = 50", 'num_test = 50\nshuffle = "yes"'), "split.shuffle"
)
spec_case("split-unknown-key", knn("num_test = 50", "num_test = 50\nratio = 0.5"), "ratio")
spec_case(
    "split-more-rows-than-data",
    knn("num_training = 300", "num_training = 100000"),
    "num_training",
    run=True,
)
spec_case(
    "split-huge-number", knn("num_training = 300", "num_training = 1e30"), "num_training", run=True
)
spec_case("preprocess-unknown", knn('name = "reshape"', 'name = "sharpen"'), "sharpen")
spec_case(
    "preprocess-not-tables",
    "preprocess = 3\n" + knn('[[preprocess]]\nname = "reshape"\n', ""),
    "preprocess",
)
spec_case(
    "preprocess-in-split",
    knn('[[preprocess]]\nname = "reshape"\n', "preprocess = 3\n"),
    "split.preprocess",
)
spec_case(
    "preprocess-no-name",
    knn('[[preprocess]]\nname = "reshape"\n', "[[preprocess]]\nk = 3\n"),
    "preprocess",
)
spec_case(
    "preprocess-pca-k-zero",
    knn('name = "reshape"', 'name = "reshape"\n[[preprocess]]\nname = "pca"\nk = 0'),
    "parameter 'k' got 0",
)
spec_case(
    "preprocess-bad-dtype", knn('name = "reshape"', 'name = "reshape"\ndtype = "float7"'), "dtype"
)
spec_case("cv-folds-one", knn("folds = 3", "folds = 1"), "cv.folds")
spec_case("cv-folds-zero", knn("folds = 3", "folds = 0"), "cv.folds")
spec_case("cv-folds-string", knn("folds = 3", 'folds = "3"'), "cv.folds")
spec_case("cv-folds-more-than-rows", knn("folds = 3", "folds = 1000"), "cv.folds", run=True)
spec_case(
    "cv-folds-one-training-row",
    knn("num_training = 300", "num_training = 1"),
    "at least 2 training rows",
    run=True,
)
spec_case("cv-method-unknown", knn("folds = 3", 'folds = 3\nmethod = "loo"'), "cv.method")
spec_case("cv-unknown-key", knn("folds = 3", "folds = 3\nrepeats = 2"), "repeats")
spec_case("grid-empty-list", knn('"model.k" = [1, 3]', '"model.k" = []'), "model.k")
spec_case("grid-not-a-list", knn('"model.k" = [1, 3]', '"model.k" = 3'), "model.k")
spec_case("grid-names-nothing", knn('"model.k" = [1, 3]', '"model.nope" = [1]'), "model.nope")
spec_case("grid-unknown-section", knn('"model.k" = [1, 3]', '"weather.k" = [1]'), "weather.k")
spec_case(
    "grid-dataset-key", knn('"model.k" = [1, 3]', '"dataset.name" = ["digits"]'), "dataset.name"
)
spec_case("grid-bad-value-type", knn('"model.k" = [1, 3]', '"model.k" = ["a", "b"]'), "model.k")
spec_case("grid-bad-value-range", knn('"model.k" = [1, 3]', '"model.k" = [1, -3]'), "model.k")
spec_case("grid-nan", net('"optimizer.lr" = [0.01, 0.1]', '"optimizer.lr" = [nan]'), "optimizer.lr")
spec_case(
    "grid-preprocess-step-out-of-range",
    knn('"model.k" = [1, 3]', '"preprocess.5.k" = [1]'),
    "preprocess.5",
)
spec_case("grid-is-not-table", knn('[cv.grid]\n"model.k" = [1, 3]\n', "grid = 3\n"), "cv.grid")
spec_case(
    "npz-dataset-missing-file",
    knn('name = "digits"', 'name = "npz"\npath = "{t}/nope.npz"'),
    "no such file",
    run=True,
)
NO_GRID = KNN.split("[cv.grid]")[0]
spec_case(
    "knn-k-huge-run", NO_GRID.replace("k = 3", "k = " + "9" * 400), "nothing to retrain", run=True
)
spec_case(
    "hidden-sizes-huge-run",
    NET.split("[cv.grid]")[0].replace("[20]", "[10000000000000]"),
    "nothing to retrain",
    run=True,
)
spec_case(
    "cifar-missing-folder",
    knn('name = "digits"', 'name = "cifar10"\npath = "/nonexistent/cifar"'),
    "/nonexistent/cifar",
    run=True,
)

# --set and --seed
for i, (text, expect) in enumerate(
    [
        ("novalue", "expected KEY=VALUE"),
        ("=3", "the key is empty"),
        ("model..k=3", "empty part"),
        (".model.k=3", "empty part"),
        ("nosuch.key=1", "nosuch"),
        ("model.nope=1", "model.nope"),
        ("model.k=-1", "model.k"),
        ("model.k=abc", "model.k"),
        ("model.k.sub=1", "model.k"),
        ("dataset=3", "dataset"),
        ("preprocess.9.k=3", "preprocess.9"),
        ("preprocess.x.k=1", "preprocess.x"),
        ("cv.grid.model.nope=[1]", "model.nope"),
        ("cv.folds=1", "cv.folds"),
        ("seed=abc", "seed"),
        ("seed=-1", "seed"),
        ("model.k=" + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ]
):
    spec_case(f"set-{i}-{text[:16]}", KNN, expect, extra=("--set", text))
case("flag-seed-abc", ["run", "{t}/s.toml", "--seed", "abc"], "--seed", _write("s.toml", KNN))
case("flag-seed-float", ["run", "{t}/s.toml", "--seed", "1.5"], "--seed", _write("s.toml", KNN))
case("flag-seed-empty", ["run", "{t}/s.toml", "--seed", ""], "--seed", _write("s.toml", KNN))
case(
    "flag-seed-negative",
    ["run", "{t}/s.toml", "--store", "{t}/r.sqlite", "--seed=-1"],
    "seed",
    _write("s.toml", KNN),
)
case(
    "flag-seed-2**64",
    ["run", "{t}/s.toml", "--store", "{t}/r.sqlite", "--seed", str(2**64)],
    "seed",
    _write("s.toml", KNN),
)

# -- flags and commands ------------------------------------------------------------------------

RUN = ["run", "{t}/s.toml", "--store", "{t}/r.sqlite"]
for value in ("0", "-1", "abc", "1.5", "", "1e3"):
    case(
        f"flag-workers-{value or 'empty'}",
        [*RUN, f"--workers={value}"],
        "--workers",
        _write("s.toml", KNN),
    )
case("cmd-unknown", ["frobnicate"], "invalid choice: 'frobnicate'")
case("cmd-unknown-option", ["--frob"], "unrecognized arguments: --frob")
case(
    "cmd-run-unknown-option",
    [*RUN, "--fast"],
    "unrecognized arguments: --fast",
    _write("s.toml", KNN),
)
case("cmd-run-no-spec", ["run", "--store", "{t}/r.sqlite"], "give a SPEC file")
case("cmd-run-two-specs", [*RUN, "{t}/s.toml"], "unrecognized arguments", _write("s.toml", KNN))
case("cmd-run-resume-abc", ["run", "--resume", "abc"], "--resume")
case("cmd-run-resume-missing", ["run", "--resume", "99", "--store", "{t}/r.sqlite"], "no run 99")
case(
    "cmd-run-resume-and-spec",
    [*RUN, "--resume", "1"],
    "--resume continues a stored run",
    _write("s.toml", KNN),
)
case("cmd-run-resume-and-set", ["run", "--resume", "1", "--set", "model.k=3"], "--resume continues")
case("cmd-run-resume-and-seed", ["run", "--resume", "1", "--seed", "3"], "--resume continues")
case("cmd-run-executor-bogus", [*RUN, "--executor", "bogus"], "--executor", _write("s.toml", KNN))
case("cmd-run-executor-no-host", [*RUN, "--executor", "tcp://:"], "tcp://:", _write("s.toml", KNN))
case(
    "cmd-run-executor-bad-port",
    [*RUN, "--executor", "tcp://127.0.0.1:99999"],
    "99999",
    _write("s.toml", KNN),
)
case("cmd-show-abc", ["show", "abc"], "invalid int value: 'abc'")
case(
    "cmd-show-missing",
    ["show", "7", "--store", "{t}/r.sqlite"],
    "7",
    make=lambda t: _store(t / "r.sqlite"),
)
case(
    "cmd-show-zero",
    ["show", "0", "--store", "{t}/r.sqlite"],
    "0",
    make=lambda t: _store(t / "r.sqlite"),
)
case(
    "cmd-show-negative",
    ["show", "--store", "{t}/r.sqlite", "--", "-1"],
    "-1",
    make=lambda t: _store(t / "r.sqlite"),
)
case(
    "cmd-show-huge",
    ["show", str(2**70), "--store", "{t}/r.sqlite"],
    str(2**70),
    make=lambda t: _store(t / "r.sqlite"),
    awaits="a run id beyond SQLite's 64 bits: OverflowError in Store._require (H6, unassigned)",
)
case(
    "cmd-cancel-missing",
    ["cancel", "99", "--store", "{t}/r.sqlite"],
    "99",
    make=lambda t: _store(t / "r.sqlite"),
)
case("cmd-cancel-no-id", ["cancel"], "RUN_ID")
case(
    "cmd-attach-missing",
    ["attach", "99", "--store", "{t}/r.sqlite"],
    "99",
    make=lambda t: _store(t / "r.sqlite"),
)
case("cmd-spec-new-bad-dataset", ["spec", "new", "--dataset", "mnist"], "invalid choice: 'mnist'")
case("cmd-spec-check-no-file", ["spec", "check"], "SPEC")
case("cmd-spec-no-subcommand-bad", ["spec", "explode"], "invalid choice")
case("cmd-data-info-unknown", ["data", "info", "imagenet"], "imagenet")
case("cmd-data-info-no-name", ["data", "info"], "name")
case("cmd-data-fetch-unknown", ["data", "fetch", "imagenet"], "invalid choice: 'imagenet'")
case(
    "cmd-data-fetch-bad-md5",
    ["data", "fetch", "cifar10", "--dest", "{t}/d", "--md5", "xyz"],
    "--md5 'xyz'",
)
case(
    "cmd-data-fetch-bad-scheme",
    ["data", "fetch", "cifar10", "--dest", "{t}/d", "--url", "gopher://x/y"],
    "gopher://x/y",
)
case(
    "cmd-data-fetch-missing-file-url",
    ["data", "fetch", "cifar10", "--dest", "{t}/d", "--url", "file:///nonexistent/c.tar.gz"],
    "/nonexistent/c.tar.gz",
)
case(
    "cmd-data-fetch-refused-port",
    ["data", "fetch", "cifar10", "--dest", "{t}/d", "--url", "http://127.0.0.1:9/c.tar.gz"],
    "127.0.0.1:9",
)
case("cmd-plugins-check-unknown", ["plugins", "check", "nosuchthing"], "nosuchthing")
case(
    "cmd-plugins-new-bad-kind",
    ["plugins", "new", "x", "--kind", "gizmo"],
    "invalid choice: 'gizmo'",
)
case("cmd-plugins-new-bad-name", ["plugins", "new", "Bad Name!", "--dest", "{t}"], "Bad Name!")
case(
    "cmd-plugins-new-exists",
    ["plugins", "new", "thing", "--dest", "{t}"],
    "thing",
    _write("tuidl-thing/x.txt", "x"),
)
case("cmd-serve-bad-port", ["serve", "--port", "abc"], "--port")
case("cmd-serve-port-range", ["serve", "--port", "99999"], "99999")
case(
    "env-fold-memory-word",
    [*RUN],
    "TUIDL_FOLD_MEMORY",
    _write("s.toml", KNN),
    env={"TUIDL_FOLD_MEMORY": "lots"},
)
case(
    "env-fold-memory-negative",
    [*RUN],
    "TUIDL_FOLD_MEMORY",
    _write("s.toml", KNN),
    env={"TUIDL_FOLD_MEMORY": "-5"},
)
case(
    "env-fold-memory-nan",
    [*RUN],
    "TUIDL_FOLD_MEMORY",
    _write("s.toml", KNN),
    env={"TUIDL_FOLD_MEMORY": "nan"},
)
case(
    "plugin-exits-at-import",
    ["--plugin", "{t}/p.py", "spec", "check", "{t}/s.toml"],
    "failed plugins: p;",
    lambda t: (
        _write("p.py", "import sys\nsys.exit(3)\n")(t),
        _write("s.toml", knn('name = "digits"', 'name = "fromplugin"'))(t),
    )[0],
    sub=True,
)
case(
    "plugin-missing-component",
    ["--plugin", "{t}/p.py", "spec", "check", "{t}/s.toml"],
    "failed plugins: p;",
    lambda t: (
        _write("p.py", "raise RuntimeError('broken plugin')\n")(t),
        _write("s.toml", knn('name = "digits"', 'name = "fromplugin"'))(t),
    )[0],
)

# -- paths -------------------------------------------------------------------------------------

case("path-spec-missing", ["spec", "check", "{t}/missing.toml"], "does not exist")
case("path-spec-folder", ["spec", "check", "{t}"], "is a folder")
case("path-spec-empty-name", ["spec", "check", ""], "spec file")
case("path-spec-dev-null", ["spec", "check", "/dev/null"], "dataset")
case("path-spec-through-file", ["spec", "check", "{t}/f.txt/s.toml"], "f.txt", _write("f.txt", "x"))
case("path-spec-too-long", ["spec", "check", "{t}/" + "x" * 300 + ".toml"], "spec file")
case(
    "path-run-spec-missing",
    [*RUN[:1], "{t}/missing.toml", "--store", "{t}/r.sqlite"],
    "does not exist",
)
case("path-run-spec-folder", ["run", "{t}", "--store", "{t}/r.sqlite"], "is a folder")
case(
    "path-json-missing-folder",
    [*RUN, "--json", "{t}/no/out.json"],
    "does not exist",
    _write("s.toml", KNN),
)
case("path-json-is-folder", [*RUN, "--json", "{t}"], "is a folder", _write("s.toml", KNN))
case(
    "path-json-proc",
    [*RUN, "--json", "/proc/self/out.json"],
    "/proc/self/out.json",
    _write("s.toml", KNN),
)
case(
    "path-json-through-file",
    [*RUN, "--json", "{t}/s.toml/out.json"],
    "is not a folder",
    _write("s.toml", KNN),
)
case("path-store-is-folder", ["runs", "--store", "{t}"], "{t}")
case("path-store-dev-null", ["runs", "--store", "/dev/null"], "/dev/null")
case("path-store-proc", ["runs", "--store", "/proc/self/runs.sqlite"], "/proc/self/runs.sqlite")
case(
    "path-store-through-file",
    ["runs", "--store", "{t}/f.txt/r.sqlite"],
    "f.txt",
    _write("f.txt", "x"),
)
case("path-store-show-missing", ["show", "1", "--store", "{t}/never.sqlite"], "never.sqlite")
case("path-data-info-npz-no-path", ["data", "info", "npz"], "path")
case("path-data-info-npz-missing", ["data", "info", "npz", "--path", "{t}/no.npz"], "no such file")
case("path-data-info-npz-folder", ["data", "info", "npz", "--path", "{t}"], "is a folder")
case(
    "path-data-info-cifar-missing", ["data", "info", "cifar10", "--path", "{t}/nocifar"], "nocifar"
)
case(
    "path-data-info-cifar-empty-folder",
    ["data", "info", "cifar10", "--path", "{t}/e"],
    "holds no CIFAR-10",
    lambda t: (t / "e").mkdir(),
)
case(
    "path-data-info-cifar-is-file",
    ["data", "info", "cifar10", "--path", "{t}/f.txt"],
    "f.txt",
    _write("f.txt", "x"),
)
case(
    "path-fetch-dest-is-file",
    ["data", "fetch", "cifar10", "--dest", "{t}/f.txt", "--url", "file:///nonexistent"],
    "f.txt",
    _write("f.txt", "x"),
)
case(
    "path-fetch-dest-proc",
    ["data", "fetch", "cifar10", "--dest", "/proc/self/d", "--url", "file:///nonexistent"],
    "/proc/self/d",
)
case(
    "path-plugin-missing",
    ["--plugin", "{t}/nope.py", "spec", "check", "{t}/s.toml"],
    "failed plugins: nope;",
    _write("s.toml", knn('name = "digits"', 'name = "fromplugin"')),
)
case(
    "path-plugins-new-dest-file",
    ["plugins", "new", "thing", "--dest", "{t}/f.txt"],
    "f.txt",
    _write("f.txt", "x"),
)

# -- .npz files --------------------------------------------------------------------------------


def _npz(name="d.npz", **arrays):
    def make(t: Path) -> None:
        np.savez(t / name, **arrays)

    return make


def _raw_npz(entries: dict[str, bytes], name="d.npz"):
    def make(t: Path) -> None:
        with zipfile.ZipFile(t / name, "w") as z:
            for key, data in entries.items():
                z.writestr(key, data)

    return make


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
Y = np.arange(40) % 4


def npz_case(id, make, expect, **kw) -> None:
    case(f"npz-{id}", ["data", "info", "npz", "--path", "{t}/d.npz"], expect, make, **kw)


npz_case("empty-file", _write("d.npz", b""), "is empty")
npz_case("text-file", _write("d.npz", "X,y\n1,2\n"), "is not an .npz file")
npz_case("pickle-file", _write("d.npz", b"\x80\x04K\x01."), "pickle")
npz_case("single-npy", _write("d.npz", _npy(X)), "single .npy array")
npz_case(
    "truncated-zip",
    lambda t: (_npz(X=X, y=Y)(t), (t / "d.npz").write_bytes((t / "d.npz").read_bytes()[:200]))[0],
    "d.npz",
)
npz_case("zip-of-text", _raw_npz({"readme.txt": b"hello"}), "readme")
npz_case("empty-zip", _raw_npz({}), "missing key")
npz_case("missing-y", _npz(X=X), "missing key(s) y")
npz_case("missing-X", _npz(y=Y), "missing key(s) X")
npz_case("typo-key", _npz(x=X, y=Y), "'x'")
npz_case(
    "object-array",
    _raw_npz({"X.npy": _npy(np.array([{"a": 1}] * 40, dtype=object)), "y.npy": _npy(Y)}),
    "object array",
)
npz_case("pickle-inside", _raw_npz({"X.npy": b"\x80\x04K\x01.", "y.npy": _npy(Y)}), "X_train")
npz_case(
    "corrupt-npy-header", _raw_npz({"X.npy": b"\x93NUMPY\x01\x00garbage", "y.npy": _npy(Y)}), "'X'"
)
npz_case(
    "huge-declared-shape",
    _raw_npz(
        {
            "X.npy": _npy(X)[:10] + _npy(X)[10:].replace(b"(40, 6)", b"(4000000000000, 6)"),
            "y.npy": _npy(Y),
        }
    ),
    "d.npz",
)
npz_case("X-1d", _npz(X=np.arange(40.0), y=Y), "X")
npz_case("X-empty", _npz(X=np.zeros((0, 6)), y=np.zeros(0, int)), "empty")
npz_case("y-2d", _npz(X=X, y=Y.reshape(40, 1)), "y")
npz_case("length-mismatch", _npz(X=X, y=Y[:30]), "y")
npz_case("nan-features", _npz(X=np.where(np.eye(40, 6) > 0, np.nan, X), y=Y), "NaN")
npz_case("inf-features", _npz(X=np.where(np.eye(40, 6) > 0, np.inf, X), y=Y), "inf")
npz_case("string-features", _npz(X=np.array([["a"] * 6] * 40), y=Y), "X")
npz_case("complex-features", _npz(X=X.astype(np.complex64), y=Y), "X")
npz_case("float-labels", _npz(X=X, y=Y + 0.5), "non-integer labels")
npz_case("string-labels", _npz(X=X, y=np.array(["cat"] * 40)), "y")
npz_case("negative-labels", _npz(X=X, y=Y - 1), "y")
npz_case("label-2**40", _npz(X=X, y=np.where(Y == 0, 2**40, Y)), str(2**40))
npz_case("label-1e6", _npz(X=X, y=np.where(Y == 0, 10**6, Y)), "y")
npz_case("test-columns-mismatch", _npz(X=X, y=Y, X_test=X[:, :3], y_test=Y), "X_test")
npz_case("test-without-labels", _npz(X=X, y=Y, X_test=X), "y_test")
npz_case("class-names-too-few", _npz(X=X, y=Y, class_names=np.array(["a", "b"])), "with 2 classes")
npz_case("class-names-numbers", _npz(X=X, y=Y, class_names=np.arange(4)), "class_names")
npz_case(
    "class-names-empty",
    _npz(X=X, y=np.zeros(40, int), class_names=np.array([], dtype=str)),
    "class_names",
)
case(
    "npz-run-nan-features",
    ["run", "{t}/s.toml", "--store", "{t}/r.sqlite", "--workers", "1"],
    "NaN",
    lambda t: (
        _npz(X=np.where(np.eye(40, 6) > 0, np.nan, X), y=Y)(t),
        _write("s.toml", knn('name = "digits"', f'name = "npz"\npath = "{t}/d.npz"'))(t),
    )[0],
)

# -- run stores --------------------------------------------------------------------------------


def _store(path: Path) -> None:
    from tuidl.experiment.store import Store

    Store(path).close()


def _damaged_store(how: str):
    def make(t: Path) -> None:
        path = t / "r.sqlite"
        _store(path)
        data = bytearray(path.read_bytes())
        if how == "truncated":
            data = data[: len(data) // 2 + 7]
        elif how == "pages":
            data[4096 : len(data)] = b"\xde\xad" * ((len(data) - 4096) // 2)
        elif how == "header":
            data[:16] = b"not sqlite at al"
        path.write_bytes(bytes(data))

    return make


def _foreign_db(t: Path) -> None:
    with sqlite3.connect(t / "r.sqlite") as db:
        db.execute("create table things (a)")


def _future_store(t: Path) -> None:
    _store(t / "r.sqlite")
    with sqlite3.connect(t / "r.sqlite") as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")


for command in (["runs"], ["show", "1"], RUN):
    name = command[0]
    case(
        f"store-garbage-{name}",
        [*command[:2], "--store", "{t}/r.sqlite"] if name != "run" else RUN,
        "r.sqlite",
        lambda t: (_write("r.sqlite", b"garbage" * 1000)(t), _write("s.toml", KNN)(t))[0],
    )
    case(
        f"store-text-{name}",
        [*command[:2], "--store", "{t}/r.sqlite"] if name != "run" else RUN,
        "r.sqlite",
        lambda t: (_write("r.sqlite", "hello\n" * 500)(t), _write("s.toml", KNN)(t))[0],
    )
    case(
        f"store-foreign-db-{name}",
        [*command[:2], "--store", "{t}/r.sqlite"] if name != "run" else RUN,
        "r.sqlite",
        lambda t: (_foreign_db(t), _write("s.toml", KNN)(t))[0],
    )
    case(
        f"store-future-version-{name}",
        [*command[:2], "--store", "{t}/r.sqlite"] if name != "run" else RUN,
        "r.sqlite",
        lambda t: (_future_store(t), _write("s.toml", KNN)(t))[0],
    )
    for how in ("truncated", "pages", "header"):
        case(
            f"store-{how}-{name}",
            [*command[:2], "--store", "{t}/r.sqlite"] if name != "run" else RUN,
            "r.sqlite",
            lambda t, how=how: (_damaged_store(how)(t), _write("s.toml", KNN)(t))[0],
        )
case(
    "store-resume-missing-run",
    ["run", "--resume", "5", "--store", "{t}/r.sqlite"],
    "no run 5",
    lambda t: _store(t / "r.sqlite"),
)
case("store-runs-missing-file", ["runs", "--store", "{t}/never.sqlite"], "never.sqlite")

# -- archives for `data fetch --url file://...` ------------------------------------------------

F = "cifar-10-batches-py"
CIFAR_FILES = (
    "batches.meta",
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
    "readme.html",
)


def _member(name, kind=tarfile.REGTYPE, data=b"x", link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, io.BytesIO(data)
    return info, None


def _tar_gz(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return buf.getvalue()


def _good_members():
    return [_member(F, tarfile.DIRTYPE)] + [_member(f"{F}/{n}") for n in CIFAR_FILES]


def archive_case(id, payload: bytes | Callable[[], bytes], expect, md5="", **kw) -> None:
    """``data fetch`` of ``payload`` as a file:// URL with its md5 (or ``md5``)."""

    def make(t: Path) -> dict[str, str]:
        data = payload() if callable(payload) else payload
        (t / "a.tar.gz").write_bytes(data)
        (t / "dest").mkdir()
        (t / "victim.txt").write_text("keep")
        return {"md5": md5 or hashlib.md5(data).hexdigest()}

    argv = [
        "data",
        "fetch",
        "cifar10",
        "--dest",
        "{t}/dest",
        "--url",
        "file://{t}/a.tar.gz",
        "--md5",
        "{md5}",
    ]
    case(f"archive-{id}", argv, expect, make, outside_untouched=True, **kw)


def _hostile(*extra):
    return lambda: _tar_gz(_good_members() + list(extra))


archive_case(
    "not-gzip",
    b"plain text, not an archive\n" * 10,
    "cifar-10-python.tar.gz",
    awaits="#15 item 1 (H1): tarfile's 5-line ReadError is the message",
)
archive_case(
    "empty",
    b"",
    "cifar-10-python.tar.gz",
    awaits="#15 item 1 (H1): tarfile's 5-line ReadError is the message",
)
archive_case(
    "gzip-not-tar",
    gzip.compress(b"hello" * 1000),
    "cifar-10-python.tar.gz",
    awaits="#15 item 1 (H1): tarfile's 5-line ReadError is the message",
)
archive_case("truncated-gzip", lambda: _tar_gz(_good_members())[:60], "cifar-10-python.tar.gz")
archive_case(
    "bzip2",
    lambda: (lambda b: (tarfile.open(fileobj=b, mode="w:bz2").close(), b.getvalue())[1])(
        io.BytesIO()
    ),
    "cifar-10-python.tar.gz",
)
archive_case("no-cifar-folder", lambda: _tar_gz([_member("other/file.txt")]), "cifar-10")
archive_case("incomplete-folder", lambda: _tar_gz(_good_members()[:3]), "lacks")
archive_case(
    "symlink-out", _hostile(_member(f"{F}/up", tarfile.SYMTYPE, link="../../victim.txt")), "symlink"
)
archive_case(
    "symlink-absolute",
    _hostile(_member(f"{F}/abs", tarfile.SYMTYPE, link="/etc/passwd")),
    "symlink",
)
archive_case(
    "symlink-top-self",
    lambda: _tar_gz([_member(F, tarfile.SYMTYPE, link="."), _member(f"{F}/victim.txt")]),
    "symlink",
)
archive_case(
    "hardlink-out", _hostile(_member(f"{F}/h", tarfile.LNKTYPE, link="../victim.txt")), "hard link"
)
archive_case("char-device", _hostile(_member(f"{F}/tty", tarfile.CHRTYPE)), "character device")
archive_case("fifo", _hostile(_member(f"{F}/pipe", tarfile.FIFOTYPE)), "FIFO")
archive_case("dotdot", _hostile(_member(f"{F}/../../victim.txt", data=b"pwned")), "outside")
archive_case(
    "absolute-path",
    lambda: _tar_gz([*_good_members(), _member("/tmp/tuidl-pwned.txt", data=b"pwned")]),
    "outside",
)
archive_case("long-name", _hostile(_member(f"{F}/" + "a" * 300)), "longer than")
archive_case(
    "duplicate-member", _hostile(_member(f"{F}/data_batch_1", data=b"second")), "more than once"
)
archive_case("md5-mismatch", lambda: _tar_gz(_good_members()), "checksum mismatch", md5="0" * 32)


# -- running the table -------------------------------------------------------------------------


def _params():
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"awaiting {c.awaits}")] if c.awaits else []
        yield pytest.param(c, id=c.id, marks=marks)


def test_the_table_has_at_least_150_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len({(c.argv, c.make, c.expect, tuple(c.env.items())) for c in CASES}) == len(CASES)
    assert len(CASES) >= MIN_CASES, len(CASES)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _snapshot(root: Path) -> dict[str, bytes | str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel == "dest" or rel.startswith("dest/"):
            continue
        out[rel] = (
            os.readlink(path)
            if path.is_symlink()
            else (path.read_bytes() if path.is_file() else "dir")
        )
    return out


@pytest.mark.parametrize("c", list(_params()))
def test_bad_input_gives_one_error_line(c: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUIDL_PLUGINS", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # never the user's store
    for key, value in c.env.items():
        monkeypatch.setenv(key, value)
    t = tmp_path / "t"
    t.mkdir()
    values = {"t": str(t)}
    if c.make is not None:
        values.update(c.make(t) or {})
    argv = [a.format(**values) for a in c.argv]
    expect = c.expect.format(**values)
    before = _snapshot(t) if c.outside_untouched else None
    if c.sub:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-m", "tuidl", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=HANG_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        rc, err = proc.returncode, proc.stderr
    else:
        reset_registry()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG_SECONDS)
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code
        except _Hang:
            pytest.fail(f"hung for {HANG_SECONDS} s")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            reset_registry()
        err = capsys.readouterr().err
    if os.environ.get("TUIDL_BAD_INPUTS_LOG"):  # to read every message in one place
        with open(os.environ["TUIDL_BAD_INPUTS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{c.id}\t{rc}\t{err.replace(str(t), '{t}')!r}\n")
    assert rc not in (0, None), f"exit status {rc}; stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expect in lines[0], lines[0]
    if before is not None:
        assert _snapshot(t) == before
