"""tuidl runs (filter, sort, rm, tag, untag, name, note, vacuum), export and compare."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tuidl.cli import main
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.store import Store

SPEC = """
name = "{name}"
[dataset]
name = "digits"
[model]
name = "{model}"
[optimizer]
name = "sgd"
lr = {lr}
[cv]
folds = 2
[cv.grid]
"model.reg" = [1e-4, 1e-2]
"""


def _run(store, name, model, lr, score, *, status="finished"):
    spec = loads_spec(SPEC.format(name=name, model=model, lr=lr))
    run_id = store.create_run(spec)
    store.start_run(run_id, [(0, {"model.reg": 1e-4}), (1, {"model.reg": 1e-2})], 2)
    for trial in range(2):
        for fold in range(2):
            store.record_fold(run_id, trial, fold, status="ok", score=score - trial / 10)
            store.add_points(
                run_id, trial, fold, [("loss", i + 1, 2.0 / (i + 1)) for i in range(30)]
            )
            store.add_points(run_id, trial, fold, [("val_acc", 1.0, score), ("train_acc", 1.0, 1)])
        store.finish_trial(
            run_id, trial, status="ok", mean=score - trial / 10, std=0.01, train_acc=1.0,
            fit_seconds=0.5,
        )  # fmt: skip
    store.record_test(
        run_id, best_trial=0, params={"model.reg": 1e-4}, test_accuracy=score - 0.05,
        num_test=10, confusion=[[5, 0], [1, 4]], class_names=["a", "b"],
    )  # fmt: skip
    store.set_status(run_id, status)
    return run_id


@pytest.fixture
def env(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as s:
        ids = [
            _run(s, "small", "linear", 1e-3, 0.8),
            _run(s, "wide", "fc_net", 1e-2, 0.95),
            _run(s, "deep", "fc_net", 1e-3, 0.9),
        ]
    return {"store": str(path), "ids": ids, "tmp": tmp_path}


def tuidl(env, capsys, *argv):
    rc = main([*argv, "--store", env["store"]])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_filter_and_sort_read_like_other_tools(env, capsys):
    rc, out, _ = tuidl(
        env, capsys, "runs", "--filter", "status=finished", "-f", "model=fc_net", "--sort", "-best"
    )
    lines = out.splitlines()
    assert rc == 0 and [ln.split()[0] for ln in lines[2:]] == ["2", "3"]
    rc, out, _ = tuidl(env, capsys, "runs", "--filter", "optimizer.lr=1e-3", "--json")
    assert [r["id"] for r in json.loads(out)] == [3, 1]
    rc, out, _ = tuidl(env, capsys, "runs", "--filter", "best>0.99")
    assert out == "no runs match those filters\n"
    rc, _, err = tuidl(env, capsys, "runs", "--filter", "best")
    assert rc == 2 and err.startswith("error: filter 'best' has no operator")


def test_tag_name_note_and_find_by_tag(env, capsys):
    assert tuidl(env, capsys, "runs", "tag", "2", "baseline", "cifar")[1] == (
        "run 2 tags: baseline, cifar\n"
    )
    assert tuidl(env, capsys, "runs", "untag", "2", "cifar")[1] == "run 2 tags: baseline\n"
    assert tuidl(env, capsys, "runs", "name", "2", "wide net")[1] == "run 2 name set\n"
    assert tuidl(env, capsys, "runs", "note", "2", "lr 1e-2 is best")[1] == "run 2 note set\n"
    rc, out, _ = tuidl(env, capsys, "show", "2", "--no-charts")
    assert "run 2 'wide net'" in out and "tags: #baseline\nnote: lr 1e-2 is best" in out
    rc, out, _ = tuidl(env, capsys, "runs", "--filter", "tag=baseline")
    assert rc == 0 and "wide net #baseline" in out and out.count("\n") == 3
    [row] = json.loads(tuidl(env, capsys, "runs", "-f", "name~WIDE", "--json")[1])
    assert (row["note"], row["tags"]) == ("lr 1e-2 is best", ["baseline"])
    rc, _, err = tuidl(env, capsys, "runs", "tag", "9", "x")
    assert rc == 2 and err.startswith("error: no run 9")


def test_rm_deletes_only_the_named_runs_and_vacuum_shrinks(env, capsys):
    rc, out, _ = tuidl(env, capsys, "runs", "rm", "1", "3")
    assert rc == 0 and out.startswith("deleted runs 1, 3")
    runs = json.loads(tuidl(env, capsys, "runs", "--json")[1])
    assert [r["id"] for r in runs] == [2]
    rc, out, _ = tuidl(env, capsys, "runs", "vacuum")
    assert rc == 0 and " -> " in out
    rc, _, err = tuidl(env, capsys, "runs", "rm", "2", "7")
    assert rc == 2 and "no run 7" in err
    with Store(env["store"]) as s:
        s.set_status(2, "running")
    rc, _, err = tuidl(env, capsys, "runs", "rm", "2")
    assert rc == 2 and "run 2 is running; stop it first" in err
    assert tuidl(env, capsys, "runs", "rm", "2", "--force")[0] == 0


def test_export_json_holds_everything_and_csv_one_table(env, capsys):
    rc, out, _ = tuidl(env, capsys, "export", "2")
    data = json.loads(out)
    assert rc == 0 and data["run"]["id"] == 2 and data["run"]["spec"]["model"]["name"] == "fc_net"
    assert data["trials"][0]["folds"][1]["score"] == 0.95
    assert data["test"]["test_accuracy"] == pytest.approx(0.9)
    losses = [c for c in data["curves"] if c["kind"] == "loss"]
    assert len(losses) == 4 and len(losses[0]["steps"]) == 30
    rc, out, _ = tuidl(env, capsys, "export", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 and rows[0]["model.reg"] == "0.0001" and rows[0]["score"] == "0.95"
    rc, out, _ = tuidl(env, capsys, "export", "2", "--format", "csv", "--table", "curves")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 * 32 and set(rows[0]) == {"run", "trial", "fold", "kind", "step", "value"}
    folder = env["tmp"] / "out"
    rc, _, err = tuidl(
        env, capsys, "export", "2", "--format", "csv", "--table", "all", "-o", str(folder)
    )
    assert rc == 0 and sorted(p.name for p in folder.iterdir()) == [
        "run-2-curves.csv",
        "run-2-folds.csv",
        "run-2-test.csv",
        "run-2-trials.csv",
    ]
    rc, _, err = tuidl(env, capsys, "export", "5")
    assert rc == 2 and err.startswith("error: no run 5")


def test_compare_many_runs(env, capsys):
    rc, out, _ = tuidl(env, capsys, "compare", "1", "2", "3")
    assert rc == 0
    assert "spec differences:" in out and "model.name" in out and "optimizer.lr" in out
    assert "Cross-validation on run (best configuration)" in out
    assert "training loss (best configuration, fold 1)" in out
    data = json.loads(tuidl(env, capsys, "compare", "1", "2", "3", "--json")[1])
    assert [r["id"] for r in data["runs"]] == [1, 2, 3]
    assert data["runs"][1]["fold_scores"] == [0.95, 0.95]
    rc, _, err = tuidl(env, capsys, "compare", "2")
    assert rc == 2 and "at least two different runs" in err


def test_listing_runs_imports_no_numpy(env):
    """`tuidl runs` starts in a fraction of a second: numpy (~0.15 s to import) is not
    needed to list, filter or sort, and nothing on the way may pull it in."""
    import subprocess
    import sys

    code = (
        "import sys; from tuidl.cli import main; "
        "rc = main(['runs', '--filter', 'model=fc_net', '--sort', '-best', "
        f"'--store', {env['store']!r}]); "
        "print('numpy' in sys.modules, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines()[-1] == "False 0", out.stderr
