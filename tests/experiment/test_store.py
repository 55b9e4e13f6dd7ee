"""The SQLite run store: runs, trials, folds, curves, tests; live readers; bad files."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from exp_helpers import blobs_spec

from tuidl.errors import TuidlError
from tuidl.experiment.store import SCHEMA_VERSION, Store, best_trial, default_store_path


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.sqlite") as s:
        yield s


def test_create_run_is_queued_and_listed(store):
    spec = blobs_spec()
    run_id = store.create_run(spec, seed=7)
    run = store.get_run(run_id)
    assert run["status"] == "queued" and run["seed"] == 7
    assert run["trials"] == [] and run["best"] is None and run["test"] is None
    assert run["spec"]["model"]["name"] == "linear"
    assert "[cv.grid]" in run["spec_toml"]
    (row,) = store.list_runs()
    assert row["id"] == run_id and row["model"] == "linear" and row["dataset"] == "blobs"
    assert row["grid"] == ["optimizer.lr", "model.reg"]


def test_folds_trials_curves_and_test_round_trip(store):
    run_id = store.create_run(blobs_spec())
    store.start_run(run_id, [(0, {"model.k": 1}), (1, {"model.k": 3})], 2)
    store.record_fold(run_id, 0, 0, status="ok", score=0.5, train_acc=0.6, fit_seconds=1.0)
    store.record_fold(run_id, 0, 1, status="ok", score=0.7, fit_seconds=1.0)
    store.finish_trial(run_id, 0, status="ok", mean=0.6, std=0.1, train_acc=0.6, fit_seconds=2)
    store.record_fold(run_id, 1, 0, status="diverged", score=None, message="loss became nan")
    store.finish_trial(
        run_id,
        1,
        status="diverged",
        mean=None,
        std=None,
        train_acc=None,
        fit_seconds=None,
        message="loss became nan",
    )
    store.add_points(
        run_id, 0, 0, [("loss", 1, 2.3), ("loss", 2, float("nan")), ("val_acc", 1, 0.5)]
    )
    store.record_test(
        run_id,
        best_trial=0,
        params={"model.k": 1},
        test_accuracy=0.55,
        num_test=20,
        confusion=[[5, 5], [4, 6]],
        class_names=["a", "b"],
    )
    run = store.get_run(run_id)
    t0, t1 = run["trials"]
    assert run["status"] == "running" and run["num_folds"] == 2
    assert t0["fold_scores"] == [0.5, 0.7] and t0["mean"] == 0.6 and t0["params"] == {"model.k": 1}
    assert t1["status"] == "diverged" and t1["fold_scores"] == [None, None]
    assert run["best"] == {"trial": 0, "params": {"model.k": 1}, "mean": 0.6, "std": 0.1}
    assert run["test"]["confusion"] == [[5, 5], [4, 6]] and run["test"]["test_accuracy"] == 0.55
    curves = store.curves(run_id, 0, 0)
    assert curves["loss"] == ([1.0, 2.0], [2.3, None])
    assert curves["val_acc"] == ([1.0], [0.5])
    assert set(store.done_folds(run_id)) == {(0, 0), (0, 1), (1, 0)}


def test_reset_unfinished_drops_partial_curves_only(store):
    run_id = store.create_run(blobs_spec())
    store.start_run(run_id, [(0, {})], 2)
    store.record_fold(run_id, 0, 0, status="ok", score=0.5)
    store.add_points(run_id, 0, 0, [("loss", 1, 1.0)])
    store.add_points(run_id, 0, 1, [("loss", 1, 1.0)])  # fold 1 was in flight
    store.reset_unfinished(run_id)
    assert store.curves(run_id, 0, 0) and not store.curves(run_id, 0, 1)


def test_best_trial_ties_go_to_lower_std_then_earlier_trial():
    def t(i, mean, std, status="ok"):
        return {"index": i, "mean": mean, "std": std, "status": status, "params": {}}

    assert best_trial([t(0, 0.5, 0.02), t(1, 0.5, 0.01), t(2, 0.4, 0.0)])["trial"] == 1
    assert best_trial([t(0, 0.5, 0.01), t(1, 0.5, 0.01)])["trial"] == 0
    assert best_trial([t(0, 0.9, 0.0, "diverged"), t(1, 0.5, 0.1)])["trial"] == 1
    assert best_trial([t(0, None, None, "failed")]) is None


def test_wal_mode_and_a_reader_sees_each_committed_fold_live(tmp_path):
    path = tmp_path / "runs.sqlite"
    writer = Store(path)
    run_id = writer.create_run(blobs_spec())
    writer.start_run(run_id, [(0, {})], 3)
    reader = Store(path)
    assert reader.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # a long-lived read connection (the TUI) keeps seeing new commits
    for fold in range(3):
        writer.record_fold(run_id, 0, fold, status="ok", score=0.1 * fold)
        assert reader.get_run(run_id)["trials"][0]["fold_scores"][fold] == pytest.approx(0.1 * fold)
    writer.close()
    reader.close()


def test_unknown_run_id(store):
    store.create_run(blobs_spec())
    with pytest.raises(TuidlError, match=r"no run 42 in the store .*recent runs: 1"):
        store.get_run(42)


def test_corrupt_store_file_names_the_file_and_what_to_do(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"this is not a database at all, just some text" * 100)
    with pytest.raises(TuidlError, match=r"runs\.sqlite.* corrupt or not a tuidl store.*--store"):
        Store(bad)


def test_foreign_sqlite_file_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(TuidlError, match=r"not a tuidl store \(tables: people\)"):
        Store(other)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_store_in_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(TuidlError, match=r"cannot write the run store .*--store PATH"):
            Store(folder / "runs.sqlite")
    finally:
        folder.chmod(0o700)


def test_store_path_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TuidlError, match=r"cannot create the folder of the run store"):
        Store(blocker / "sub" / "runs.sqlite")
    with pytest.raises(TuidlError, match=r"is a folder"):
        Store(tmp_path)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_store_where_no_file_can_be_created_even_as_root():
    # /proc exists but refuses new files, for root too
    with pytest.raises(TuidlError, match=r"cannot write the run store '/proc/self/runs.sqlite'"):
        Store("/proc/self/runs.sqlite")


def test_read_only_store_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    Store(path).close()
    for p in tmp_path.iterdir():
        p.chmod(0o400)
    tmp_path.chmod(0o500)
    try:
        if os.geteuid() == 0:
            pytest.skip("root ignores file permissions")
        with pytest.raises(TuidlError, match="cannot write the run store"):
            s = Store(path)
            s.create_run(blobs_spec())
    finally:
        tmp_path.chmod(0o700)
        for p in tmp_path.iterdir():
            p.chmod(0o600)


def test_default_path_is_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "tuidl" / "runs.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert str(default_store_path()).endswith(
        os.path.join(".local", "share", "tuidl", "runs.sqlite")
    )


def test_delete_run(store):
    run_id = store.create_run(blobs_spec())
    store.delete_run(run_id)
    assert store.list_runs() == []


V2_SCHEMA = (Path(__file__).parent / "store_v2_schema.sql").read_text()


def _old_store(path, version=2):
    """A store as an older tuidl wrote it (its tables verbatim from
    store_v2_schema.sql; version 1 has no metrics column): one run with a test result
    (accuracy 0.75, a confusion matrix) and a row-per-point loss and accuracy curve."""
    spec = blobs_spec()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V2_SCHEMA)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
    if version == 1:
        conn.execute("ALTER TABLE tests DROP COLUMN metrics_json")
    conn.execute(
        "INSERT INTO runs (name, spec_toml, spec_json, seed, status, created) "
        "VALUES (?, ?, ?, ?, 'running', 1.0)",
        (spec.name, spec.to_toml(), spec.to_json(), spec.seed),
    )
    conn.execute(
        "INSERT INTO tests (run_id, best_trial, params_json, test_accuracy, num_test, "
        "confusion_json, class_names_json, finished) VALUES (1, 0, '{}', 0.75, 4, ?, ?, 2.0)",
        (json.dumps([[2, 0], [1, 1]]), json.dumps(["a", "b"])),
    )
    rows = [(1, 0, 0, "loss", float(i + 1), 2.3 - 0.001 * i) for i in range(2500)]
    rows[7] = (1, 0, 0, "loss", 8.0, None)  # a diverged point
    rows += [(1, 0, 0, "val_acc", e, 0.5 + e / 10) for e in (1.0, 2.0, 3.0)]
    rows += [(1, 0, 1, "loss", 1.0, 1.5)]
    conn.executemany("INSERT INTO curves VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return 1


def _version_1_store(path):
    return _old_store(path, version=1)


def test_a_store_from_the_previous_schema_is_upgraded_in_place(tmp_path):
    """Version 1 stores (no per-attribute test metrics) open, keep their runs, and gain the
    metrics column."""
    path = tmp_path / "old.sqlite"
    run_id = _version_1_store(path)
    with Store(path) as s:
        test = s.get_run(run_id)["test"]
        assert test["test_accuracy"] == 0.75 and test["confusion"] == [[2, 0], [1, 1]]
        assert test["metrics"] is None
        metrics = {"attributes": {"a": {"accuracy": 0.5}}, "mean": {"accuracy": 0.5}}
        s.record_test(
            run_id,
            best_trial=0,
            params={},
            test_accuracy=0.5,
            num_test=4,
            confusion=None,
            class_names=["a"],
            metrics=metrics,
        )
        assert s.get_run(run_id)["test"]["metrics"] == metrics
    version = sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0]
    assert version == str(SCHEMA_VERSION) == "4"


def test_an_old_store_that_cannot_be_upgraded_is_still_read(tmp_path, monkeypatch):
    """A version-1 store we may not write (a read-only copy of someone's results) opens and
    shows its runs as they are, instead of failing on the upgrade."""
    path = tmp_path / "old.sqlite"
    run_id = _version_1_store(path)

    def read_only(self, version):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "_migrate", read_only)
    with Store(path) as s:
        test = s.get_run(run_id)["test"]
    assert test["test_accuracy"] == 0.75 and test["metrics"] is None
