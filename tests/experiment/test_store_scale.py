"""The store at scale: compact curves, run management (name, tags, note, filter, sort,
delete, vacuum), live readers, damaged and read-only files."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys

import pytest
from exp_helpers import blobs_spec

from tuidl.errors import TuidlError
from tuidl.experiment import store_curves
from tuidl.experiment.store import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.sqlite") as s:
        yield s


def _finished_run(store, *, model="linear", lr=1e-2, best=0.9, grid=None, points=50):
    spec = blobs_spec()
    spec.model.name = model
    spec.optimizer.params["lr"] = lr
    spec.cv.grid = grid or {}
    run_id = store.create_run(spec)
    store.start_run(run_id, [(0, {})], 2)
    for fold in range(2):
        store.record_fold(run_id, 0, fold, status="ok", score=best)
        store.add_points(
            run_id, 0, fold, [("loss", i + 1, 2.0 - i / points) for i in range(points)]
        )
    store.finish_trial(run_id, 0, status="ok", mean=best, std=0.0, train_acc=1.0, fit_seconds=0.1)
    store.set_status(run_id, "finished")
    return run_id


# ---- compact curves ----------------------------------------------------------------------


def test_curves_appended_in_small_deliveries_read_back_whole(store):
    run_id = store.create_run(blobs_spec())
    n = 2 * store_curves.CHUNK_POINTS + 37  # spans three chunks
    losses = [2.0 * math.exp(-i / 500) for i in range(n)]
    losses[100] = None  # a diverged point stays missing
    for start in range(0, n, 7):  # the trainer flushes a few points at a time
        store.add_curve(
            run_id, 0, 0, "loss", range(start + 1, min(n, start + 7) + 1), losses[start : start + 7]
        )
    for e in (0.5, 1.0, 1.75, 2.0):  # irregular steps
        store.add_points(run_id, 0, 0, [("val_acc", e, 0.5 + e / 10), ("train_acc", e, 0.95)])
    full = store.curves(run_id, 0, 0, max_points=None)
    steps, values = full["loss"]
    assert steps == [float(i + 1) for i in range(n)]
    assert values[100] is None
    assert all(
        (v is None and w is None) or abs(v - w) <= 1e-6 * abs(w)
        for v, w in zip(values, losses, strict=True)
    )
    assert full["val_acc"] == ([0.5, 1.0, 1.75, 2.0], [0.55, 0.6, 0.675, 0.7])
    assert full["train_acc"][1] == [0.95] * 4  # the float32 read back as what was written
    rows = store.conn.execute("SELECT COUNT(*) FROM curve_chunks WHERE kind='loss'").fetchone()
    assert rows[0] == 3


def test_curves_are_downsampled_by_default_for_drawing(store):
    run_id = store.create_run(blobs_spec())
    n = 40_000
    store.add_curve(run_id, 0, 0, "loss", range(1, n + 1), [float(i % 10) for i in range(n)])
    drawn = store.curves(run_id, 0, 0)["loss"]
    assert len(drawn[0]) <= store_curves.DEFAULT_MAX_POINTS
    assert drawn[0][0] == pytest.approx(sum(range(1, 81)) / 80)  # bucket means of 80 points
    assert drawn[1][0] == pytest.approx(4.5)
    assert len(store.curves(run_id, 0, 0, max_points=100)["loss"][0]) == 100
    assert len(store.curves(run_id, 0, 0, max_points=None)["loss"][0]) == n


def test_a_loss_point_costs_at_most_8_bytes(tmp_path):
    path = tmp_path / "size.sqlite"
    with Store(path) as s:
        run_id = s.create_run(blobs_spec())
        base = s.size()["bytes"]
        for fold in range(10):
            for start in range(1, 20_001, 500):
                s.add_curve(run_id, 0, fold, "loss", range(start, start + 500), [1.0 / start] * 500)
        per_point = (s.size()["bytes"] - base) / 200_000
    assert per_point <= 8, per_point


def test_a_reader_follows_curves_while_they_are_written(tmp_path):
    path = tmp_path / "live.sqlite"
    writer = Store(path)
    run_id = writer.create_run(blobs_spec())
    reader = Store(path)
    seen = []
    for k in range(5):
        writer.add_curve(run_id, 0, 0, "loss", [k + 1], [1.0 / (k + 1)])
        seen.append(len(reader.curves(run_id, 0, 0).get("loss", ([], []))[0]))
    assert seen == [1, 2, 3, 4, 5]
    assert reader.latest_curve_key(run_id) == (0, 0)
    writer.close()
    reader.close()


# ---- naming, tags, notes, filters ---------------------------------------------------------


def test_name_tags_and_note_are_listed(store):
    run_id = _finished_run(store)
    store.set_name(run_id, "  first   try ")
    store.set_note(run_id, "lr too high?\nlook at fold 2")
    assert store.tag(run_id, ["baseline", "cs231n"]) == ["baseline", "cs231n"]
    assert store.tag(run_id, ["cs231n"], remove=True) == ["baseline"]
    [row] = store.list_runs()
    assert (row["name"], row["note"], row["tags"]) == (
        "first try",
        "lr too high?\nlook at fold 2",
        ["baseline"],
    )
    run = store.get_run(run_id)
    assert run["name"] == "first try" and run["note"].startswith("lr too high")
    with pytest.raises(TuidlError, match=r"tag 'two words' is not allowed"):
        store.tag(run_id, ["two words"])
    with pytest.raises(TuidlError, match=r"no run 99"):
        store.set_name(99, "x")


def test_filter_and_sort_the_list(store):
    a = _finished_run(store, model="linear", lr=1e-3, best=0.8)
    b = _finished_run(store, model="fc_net", lr=1e-2, best=0.95)
    c = _finished_run(store, model="fc_net", best=0.9, grid={"optimizer.lr": [1e-3, 1e-1]})
    queued = blobs_spec()
    queued.cv.grid = {}
    d = store.create_run(queued)  # queued: no best
    store.tag(b, ["baseline"])

    def ids(*filters, sort=None):
        return [r["id"] for r in store.list_runs(filters, sort=sort)]

    assert ids() == [d, c, b, a]
    assert ids("model=fc_net") == [c, b]
    assert ids("model=fc_net", "tag=baseline") == [b]
    assert ids("status=queued") == [d]
    assert ids("status=finished,queued", sort="id") == [a, b, c, d]
    assert ids("best>=0.9", sort="-best") == [b, c]
    assert ids("optimizer.lr=0.001") == [c, a]  # c tried it on its grid
    assert ids("optimizer.lr>0.05") == [c]
    assert ids("model~FC") == [c, b]
    assert ids("seed~0") == [d, c, b, a]  # ~ matches text: "0" is not the number 0.0
    assert ids("model!=fc_net") == [d, a]
    assert ids(sort="-best") == [b, c, a, d]  # runs without a best come last
    assert ids(sort="best") == [a, c, b, d]
    assert [r["id"] for r in store.list_runs(sort="-best", limit=2)] == [b, c]
    with pytest.raises(TuidlError, match=r"filter 'model' has no operator"):
        store.list_runs(["model"])
    with pytest.raises(TuidlError, match=r"best>=high.* needs a number"):
        store.list_runs(["best>=high"])
    with pytest.raises(TuidlError, match=r"no stored run has the key 'optimiser.lr'"):
        store.list_runs(["optimiser.lr=1"])


# ---- deleting and reclaiming space --------------------------------------------------------


def test_deleting_runs_never_touches_another(store):
    keep = _finished_run(store, points=3000)
    store.tag(keep, ["keep"])
    before = (store.get_run(keep), store.curves(keep, 0, 1, max_points=None))
    gone = [_finished_run(store, points=3000) for _ in range(3)]
    store.tag(gone[0], ["keep"])
    size = store.size()["bytes"]
    assert store.delete_runs(gone) == gone
    assert [r["id"] for r in store.list_runs()] == [keep]
    assert (store.get_run(keep), store.curves(keep, 0, 1, max_points=None)) == before
    assert store.tags(keep) == ["keep"]
    for table in ("trials", "folds", "curve_chunks", "run_tags", "tests"):
        left = store.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id != ?", (keep,))
        assert left.fetchone()[0] == 0, table
    assert store.size()["bytes"] < size  # a new store gives the pages back by itself


def test_delete_checks_every_id_first_and_refuses_an_active_run(store):
    done = _finished_run(store)
    running = store.create_run(blobs_spec(), status="running")
    with pytest.raises(TuidlError, match=r"no run 77"):
        store.delete_runs([done, 77])
    with pytest.raises(TuidlError, match=rf"run {running} is running; stop it first"):
        store.delete_runs([done, running])
    assert len(store.list_runs()) == 2  # nothing was deleted
    store.delete_runs([running], force=True)
    assert [r["id"] for r in store.list_runs()] == [done]


def test_vacuum_shrinks_a_store(tmp_path):
    path = tmp_path / "v.sqlite"
    with Store(path) as s:
        runs = [_finished_run(s, points=5000) for _ in range(4)]
        s.conn.execute("PRAGMA auto_vacuum = NONE")  # as older stores are
        s.conn.execute("VACUUM")
        s.delete_runs(runs[1:])
        before, after = s.vacuum()
        assert after < before / 2
        assert s.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert s.curves(runs[0], 0, 0)["loss"]


# ---- damaged, missing and read-only stores ------------------------------------------------


def _damage(path):
    with Store(path) as s:
        for _ in range(3):
            _finished_run(s, points=3000)
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
    with open(path, "r+b") as f:  # garble an index page in the middle of the file
        f.seek(4096 * (pages // 2) + 8)
        f.write(os.urandom(2000))


def test_a_damaged_store_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "runs.sqlite"
    _damage(path)
    with pytest.raises(TuidlError, match=r"is damaged \(SQLite integrity check.*\.recover"):
        Store(path)
    for argv in (["runs"], ["show", "1"], ["runs", "rm", "1"]):
        out = subprocess.run(
            [sys.executable, "-m", "tuidl", *argv, "--store", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2, (argv, out.stderr)
        assert out.stderr.startswith("error: run store") and "Traceback" not in out.stderr


def test_readers_do_not_create_a_missing_store(tmp_path):
    path = tmp_path / "nope" / "runs.sqlite"
    with pytest.raises(TuidlError, match=r"no run store at .*nope/runs\.sqlite"):
        Store(path, create=False)
    for argv in (["runs"], ["show", "1"]):
        out = subprocess.run(
            [sys.executable, "-m", "tuidl", *argv, "--store", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and "no run store at" in out.stderr
    assert not (tmp_path / "nope").exists()


def test_a_store_on_a_read_only_filesystem_is_readable(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "none", str(mnt)]).returncode:
        pytest.skip("needs root and mount to make a read-only filesystem")
    try:
        with Store(mnt / "runs.sqlite") as s:
            run_id = _finished_run(s)
            s.tag(run_id, ["x"])
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        with Store(mnt / "runs.sqlite", create=False) as s:
            assert s.read_only
            assert [r["tags"] for r in s.list_runs()] == [["x"]]
            assert s.curves(run_id, 0, 0)["loss"]
            with pytest.raises(TuidlError, match="cannot write the run store"):
                s.set_note(run_id, "x")
        out = subprocess.run(
            [sys.executable, "-m", "tuidl", "runs", "--store", str(mnt / "runs.sqlite")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and "finished" in out.stdout, out.stderr
    finally:
        subprocess.run(["umount", str(mnt)])


def test_an_old_read_only_store_shows_its_curves(tmp_path, monkeypatch):
    from test_store import _old_store

    path = tmp_path / "old.sqlite"
    run_id = _old_store(path)

    def read_only(self, version):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "_migrate", read_only)
    with Store(path) as s:
        assert s.version == 2 and s.read_only
        assert s.curves(run_id, 0, 0)["val_acc"] == ([1.0, 2.0, 3.0], [0.6, 0.7, 0.8])
        assert len(s.curves(run_id, 0, 0, max_points=None)["loss"][0]) == 2500
        [row] = s.list_runs(["tag!=x"])
        assert row["tags"] == [] and row["note"] == ""
        assert s.curve_series(run_id) == [(0, 0, "loss"), (0, 0, "val_acc"), (0, 1, "loss")]


def test_a_version_2_store_keeps_its_curves_when_upgraded(tmp_path):
    from test_store import _old_store

    path = tmp_path / "old.sqlite"
    run_id = _old_store(path)
    raw = sqlite3.connect(path)
    old = raw.execute(
        "SELECT step, value FROM curves WHERE kind='loss' AND fold=0 ORDER BY rowid"
    ).fetchall()
    raw.close()
    with Store(path) as s:
        steps, values = s.curves(run_id, 0, 0, max_points=None)["loss"]
        assert steps == [r[0] for r in old]
        assert values[7] is None
        assert all(
            (v is None) == (r[1] is None) and (v is None or abs(v - r[1]) < 1e-6)
            for v, r in zip(values, old, strict=True)
        )
        assert s.curves(run_id, 0, 1) == {"loss": ([1.0], [1.5])}
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master")}
        assert "curves" not in tables and "curve_chunks" in tables
        s.tag(run_id, ["old"])
        s.set_note(run_id, "from before")
        assert s.list_runs()[0]["tags"] == ["old"]


def test_a_store_that_passed_is_not_read_through_again_until_it_changes(tmp_path, monkeypatch):
    from tuidl.experiment import store_schema

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    good = tmp_path / "good.sqlite"
    with Store(good) as s:
        _finished_run(s)
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checked = []
    real = store_schema._remember
    monkeypatch.setattr(store_schema, "_remember", lambda key: checked.append(key) or real(key))
    store_schema._CHECKED.clear()  # as a new process
    Store(good).close()  # read through, passed, remembered in the user data dir
    st = good.stat()
    key = (str(good.resolve()), st.st_mtime_ns, st.st_size)
    assert checked == [key]
    remembered = json.loads((tmp_path / "home" / "tuidl" / store_schema.CHECKED_FILE).read_text())
    assert remembered[key[0]] == [key[1], key[2]]
    store_schema._CHECKED.clear()
    Store(good).close()  # unchanged since: not read through again
    assert checked == [key]
    _damage(good)  # changed (and damaged): checked again, and refused
    store_schema._CHECKED.clear()
    with pytest.raises(TuidlError, match="is damaged"):
        Store(good)


def test_list_filter_follow_and_delete_while_a_run_writes(tmp_path):
    """A writer in another thread (its own connection, as a runner's process has) commits
    folds and curves while this one lists, filters, follows and deletes another run."""
    import threading

    path = tmp_path / "live.sqlite"
    with Store(path) as s:
        done = _finished_run(s)
        other = _finished_run(s, model="fc_net")
        live = s.create_run(blobs_spec(), status="running")
        s.start_run(live, [(0, {})], 50)
    errors = []

    def write():
        try:
            with Store(path) as w:
                for fold in range(50):
                    w.add_points(
                        live, 0, fold, [("loss", i + 1, 1.0 / (i + 1)) for i in range(200)]
                    )
                    w.record_fold(live, 0, fold, status="ok", score=0.5)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    with Store(path) as reader:
        before = (reader.get_run(done), reader.curves(done, 0, 1, max_points=None))
        writer.start()
        seen = set()
        while writer.is_alive():
            rows = reader.list_runs(["status=running,finished"], sort="-id")
            seen.add(next(r["folds_done"] for r in rows if r["id"] == live))
            reader.curves(live, 0, 0)
            reader.latest_curve_key(live)
        reader.delete_runs([other])
        writer.join()
        assert not errors
        assert len(seen) > 1  # the list saw the live run progress
        run = reader.get_run(live)
        assert [s for s in run["trials"][0]["fold_scores"]] == [0.5] * 50
        assert all(len(reader.curves(live, 0, f, None)["loss"][0]) == 200 for f in range(50))
        assert (reader.get_run(done), reader.curves(done, 0, 1, max_points=None)) == before
        assert [r["id"] for r in reader.list_runs()] == [live, done]


def test_flattened_specs_number_steps_from_one_like_every_key_a_user_writes():
    from tuidl.experiment.store_export import spec_differences
    from tuidl.experiment.store_query import flatten

    spec = {"model": {"name": "linear"}, "preprocess": [{"name": "reshape"}, {"name": "pca"}]}
    assert flatten(spec) == {
        "model.name": "linear",
        "preprocess.1.name": "reshape",
        "preprocess.2.name": "pca",
    }
    other = {"model": {"name": "linear"}, "preprocess": [{"name": "reshape"}, {"name": "whiten"}]}
    assert spec_differences([spec, other]) == [("preprocess.2.name", ["pca", "whiten"])]
