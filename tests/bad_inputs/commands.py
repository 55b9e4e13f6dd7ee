"""Bad flags, subcommands, paths and environment settings."""

from __future__ import annotations

import os

from bad_inputs import KNN, RUN, Case, both, case, empty_store, write

SPEC = write("s.toml", KNN)
PLUGIN_SPEC = write("s.toml", KNN.replace('name = "digits"', 'name = "fromplugin"'))
FILE = write("f.txt", "x")
FETCH = ("data", "fetch", "cifar10", "--dest")


def _one_run(t) -> None:
    """A store at {t}/r.sqlite holding run 1 (queued: nothing needs to have run)."""
    import tomllib

    from tuidl.experiment.spec import Spec
    from tuidl.experiment.store import Store

    with Store(t / "r.sqlite") as store:
        store.create_run(Spec.from_dict(tomllib.loads(KNN)))


RUN1 = _one_run
EXPORT_ALL = ("export", "1", "--store", "{t}/r.sqlite", "--format", "csv", "--table", "all")
EXPORT_ALL += ("--output",)


def _fifo(t) -> None:
    os.mkfifo(t / "ff")  # nothing ever writes to it: reading it would block forever


def _mkdir(name: str):
    return lambda t: (t / name).mkdir()


# (id, argv, expected, make)
ROWS: list[tuple] = [
    # --workers
    *(
        (f"workers-{v or 'empty'}", [*RUN, f"--workers={v}"], "--workers", SPEC)
        for v in ("0", "-1", "abc", "1.5", "", "1e3")
    ),
    # commands and their arguments
    ("cmd-unknown", ["frobnicate"], "invalid choice: 'frobnicate'", None),
    ("cmd-unknown-option", ["--frob"], "unrecognized arguments: --frob", None),
    ("run-unknown-option", [*RUN, "--fast"], "unrecognized arguments: --fast", SPEC),
    ("run-no-spec", ["run", "--store", "{t}/r.sqlite"], "give a SPEC file", None),
    ("run-two-specs", [*RUN, "{t}/s.toml"], "unrecognized arguments", SPEC),
    ("run-resume-abc", ["run", "--resume", "abc"], "--resume", None),
    ("run-resume-missing", ["run", "--resume", "99", "--store", "{t}/r.sqlite"], "no run 99", None),
    ("run-resume-and-spec", [*RUN, "--resume", "1"], "--resume continues a stored run", SPEC),
    ("run-resume-and-set", ["run", "--resume", "1", "--set", "model.k=3"], "--resume", None),
    ("run-resume-and-seed", ["run", "--resume", "1", "--seed", "3"], "--resume continues", None),
    ("run-executor-bogus", [*RUN, "--executor", "bogus"], "--executor 'bogus'", SPEC),
    ("run-executor-no-host", [*RUN, "--executor", "tcp://:"], "tcp://:", SPEC),
    ("run-executor-bad-port", [*RUN, "--executor", "tcp://127.0.0.1:99999"], "99999", SPEC),
    ("show-abc", ["show", "abc"], "invalid int value: 'abc'", None),
    ("show-missing", ["show", "7", "--store", "{t}/r.sqlite"], "no run 7", empty_store),
    ("show-zero", ["show", "0", "--store", "{t}/r.sqlite"], "no run 0", empty_store),
    ("show-negative", ["show", "--store", "{t}/r.sqlite", "--", "-1"], "no run -1", empty_store),
    ("cancel-missing", ["cancel", "99", "--store", "{t}/r.sqlite"], "99", empty_store),
    ("cancel-no-id", ["cancel"], "RUN_ID", None),
    ("attach-missing", ["attach", "99", "--store", "{t}/r.sqlite"], "99", empty_store),
    (
        "spec-new-bad-dataset",
        ["spec", "new", "--dataset", "mnist"],
        "invalid choice: 'mnist'",
        None,
    ),
    ("spec-check-no-file", ["spec", "check"], "SPEC", None),
    ("spec-bad-subcommand", ["spec", "explode"], "invalid choice", None),
    ("data-info-unknown", ["data", "info", "imagenet"], "imagenet", None),
    ("data-info-no-name", ["data", "info"], "name", None),
    ("data-fetch-unknown", ["data", "fetch", "imagenet"], "invalid choice: 'imagenet'", None),
    ("fetch-bad-md5", [*FETCH, "{t}/d", "--md5", "xyz"], "--md5 'xyz'", None),
    ("fetch-bad-scheme", [*FETCH, "{t}/d", "--url", "gopher://x/y"], "gopher://x/y", None),
    ("fetch-missing-file", [*FETCH, "{t}/d", "--url", "file:///nonexistent/c.tgz"], "c.tgz", None),
    ("fetch-refused-port", [*FETCH, "{t}/d", "--url", "http://127.0.0.1:9/c.tgz"], "refused", None),
    ("plugins-check-unknown", ["plugins", "check", "nosuchthing"], "nosuchthing", None),
    ("plugins-new-bad-kind", ["plugins", "new", "x", "--kind", "gizmo"], "'gizmo'", None),
    ("plugins-new-bad-name", ["plugins", "new", "Bad Name!", "--dest", "{t}"], "Bad Name!", None),
    (
        "plugins-new-exists",
        ["plugins", "new", "thing", "--dest", "{t}"],
        "already exists",
        write("tuidl-thing/x.txt", "x"),
    ),
    ("serve-bad-port", ["serve", "--port", "abc"], "--port", None),
    ("serve-port-range", ["serve", "--port", "99999"], "99999", None),
    # a broken plugin is reported where the component it should have added is asked for
    (
        "plugin-raises",
        ["--plugin", "{t}/p.py", "spec", "check", "{t}/s.toml"],
        "failed plugins: p;",
        both(write("p.py", "raise RuntimeError('broken')\n"), PLUGIN_SPEC),
    ),
    (
        "plugin-missing",
        ["--plugin", "{t}/nope.py", "spec", "check", "{t}/s.toml"],
        "failed plugins: nope;",
        PLUGIN_SPEC,
    ),
    (
        "plugin-syntax-error",
        ["--plugin", "{t}/p.py", "spec", "check", "{t}/s.toml"],
        "failed plugins: p;",
        both(write("p.py", "def (:\n"), PLUGIN_SPEC),
    ),
    # paths
    ("spec-missing", ["spec", "check", "{t}/missing.toml"], "does not exist", None),
    ("spec-folder", ["spec", "check", "{t}"], "is a folder", None),
    ("spec-empty-name", ["spec", "check", ""], "spec file", None),
    ("spec-dev-null", ["spec", "check", "/dev/null"], "dataset", None),
    ("spec-through-file", ["spec", "check", "{t}/f.txt/s.toml"], "Not a directory", FILE),
    ("spec-too-long", ["spec", "check", "{t}/" + "x" * 300 + ".toml"], "too long", None),
    # an unreadable file (root reads any mode-000 file, but not /proc/self/mem)
    ("spec-unreadable", ["spec", "check", "/proc/self/mem"], "cannot read spec file", None),
    ("npz-unreadable", ["data", "info", "npz", "--path", "/proc/self/mem"], "cannot read", None),
    ("cifar-unreadable", ["data", "info", "cifar10", "--path", "/proc/self/mem"], "mem", None),
    ("store-unreadable", ["runs", "--store", "/proc/self/mem"], "/proc/self/mem", None),
    ("json-unwritable", [*RUN, "--json", "/proc/self/mem"], "cannot write --json", SPEC),
    ("run-spec-missing", ["run", "{t}/missing.toml", "--store", "{t}/r"], "does not exist", None),
    ("run-spec-folder", ["run", "{t}", "--store", "{t}/r.sqlite"], "is a folder", None),
    ("json-missing-folder", [*RUN, "--json", "{t}/no/out.json"], "'{t}/no' does not exist", SPEC),
    ("json-is-folder", [*RUN, "--json", "{t}"], "is a folder", SPEC),
    ("json-proc", [*RUN, "--json", "/proc/self/out.json"], "/proc/self/out.json", SPEC),
    ("json-through-file", [*RUN, "--json", "{t}/s.toml/out.json"], "is a file, not a folder", SPEC),
    ("store-is-folder", ["runs", "--store", "{t}"], "is a folder", None),
    ("store-dev-null", ["runs", "--store", "/dev/null"], "/dev/null", None),
    ("store-proc", ["runs", "--store", "/proc/self/runs.sqlite"], "/proc/self/runs.sqlite", None),
    ("store-through-file", ["runs", "--store", "{t}/f.txt/r.sqlite"], "f.txt", FILE),
    ("store-show-missing", ["show", "1", "--store", "{t}/never.sqlite"], "never.sqlite", None),
    ("store-runs-missing", ["runs", "--store", "{t}/never.sqlite"], "never.sqlite", None),
    ("store-run-proc", [*RUN[:2], "--store", "/proc/self/r.sqlite"], "/proc/self/r.sqlite", SPEC),
    ("npz-no-path", ["data", "info", "npz"], "path", None),
    ("npz-missing", ["data", "info", "npz", "--path", "{t}/no.npz"], "no such file", None),
    ("npz-fifo", ["data", "info", "npz", "--path", "{t}/ff"], "not a regular file", _fifo),
    ("npz-dev-null", ["data", "info", "npz", "--path", "/dev/null"], "not a regular file", None),
    ("npz-folder", ["data", "info", "npz", "--path", "{t}"], "is a folder", None),
    ("cifar-missing", ["data", "info", "cifar10", "--path", "{t}/nocifar"], "nocifar", None),
    (
        "cifar-empty-folder",
        ["data", "info", "cifar10", "--path", "{t}/e"],
        "holds no CIFAR-10",
        _mkdir("e"),
    ),
    ("cifar-is-file", ["data", "info", "cifar10", "--path", "{t}/f.txt"], "f.txt", FILE),
    ("fetch-dest-is-file", [*FETCH, "{t}/f.txt", "--url", "file:///x"], "f.txt", FILE),
    ("fetch-dest-proc", [*FETCH, "/proc/self/d", "--url", "file:///x"], "/proc/self/d", None),
    ("export-missing-run", ["export", "9", "--store", "{t}/r.sqlite"], "no run 9", empty_store),
    ("export-all-into-file", [*EXPORT_ALL, "{t}/f.txt"], "--output '{t}/f.txt'", both(FILE, RUN1)),
    ("export-all-into-proc", [*EXPORT_ALL, "/proc/self/x"], "/proc/self/x", RUN1),
    (
        "export-output-folder",
        ["export", "1", "--store", "{t}/r.sqlite", "--output", "{t}"],
        "{t}",
        RUN1,
    ),
    ("export-bad-format", ["export", "1", "--format", "xml"], "invalid choice: 'xml'", None),
    ("compare-one-run", ["compare", "1", "--store", "{t}/r.sqlite"], "at least two", RUN1),
    ("compare-missing-run", ["compare", "1", "9", "--store", "{t}/r.sqlite"], "no run 9", RUN1),
    (
        "runs-filter-no-operator",
        ["runs", "--store", "{t}/r.sqlite", "--filter", "x"],
        "operator",
        RUN1,
    ),
    ("runs-sort-unknown", ["runs", "--store", "{t}/r.sqlite", "--sort", "nosuch"], "nosuch", RUN1),
    ("check-config-zero", ["check", "{t}/s.toml", "--config", "0"], "--config 0", SPEC),
    ("check-missing-spec", ["check", "{t}/missing.toml"], "does not exist", None),
    ("plugins-new-dest-file", ["plugins", "new", "thing", "--dest", "{t}/f.txt"], "f.txt", FILE),
]

# (id, environment, expected): `tuidl run` of a good spec under a bad setting
ENV_ROWS: list[tuple[str, dict[str, str], str]] = [
    ("fold-memory-word", {"TUIDL_FOLD_MEMORY": "lots"}, "TUIDL_FOLD_MEMORY='lots'"),
    ("fold-memory-negative", {"TUIDL_FOLD_MEMORY": "-5"}, "TUIDL_FOLD_MEMORY='-5'"),
    ("fold-memory-nan", {"TUIDL_FOLD_MEMORY": "nan"}, "TUIDL_FOLD_MEMORY='nan'"),
    ("fold-memory-zero", {"TUIDL_FOLD_MEMORY": "0"}, "TUIDL_FOLD_MEMORY='0'"),
]

CASES: list[Case] = [
    *(case(f"cmd-{i}", argv, e, make) for i, argv, e, make in ROWS),
    *(case(f"env-{i}", RUN, e, SPEC, env=env) for i, env, e in ENV_ROWS),
    case(
        "env-data-home-is-file",
        ["run", "{t}/s.toml", "--workers", "1"],
        "cannot create the folder of the run store '/proc/self/mem/tuidl/runs.sqlite'",
        SPEC,
        env={"XDG_DATA_HOME": "/proc/self/mem"},
    ),
    case(
        "cmd-show-huge-id",
        ["show", str(2**70), "--store", "{t}/r.sqlite"],
        f"no run {2**70}",
        empty_store,
    ),
    # a plugin that calls sys.exit() at import must not end the CLI (#15 item 11): a real
    # process, since SystemExit would end this one
    case(
        "cmd-plugin-exits-at-import",
        ["--plugin", "{t}/p.py", "spec", "check", "{t}/s.toml"],
        "failed plugins: p;",
        both(write("p.py", "import sys\nsys.exit(3)\n"), PLUGIN_SPEC),
        sub=True,
    ),
]
