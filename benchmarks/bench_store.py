"""The run store at scale: size per point, listing, History, show, and logging cost.

    .venv/bin/python benchmarks/bench_store.py                # 1,000 runs (~1-2 minutes)
    .venv/bin/python benchmarks/bench_store.py --runs 200     # a smaller store
    .venv/bin/python benchmarks/bench_store.py --keep DIR     # keep the store in DIR

Targets (issue 16):

- bytes per stored loss point <= 8: the store's growth when one run with 400,000 loss
  points is added (a 4 x 4 five-fold grid, 16 trials x 5 folds x 5,000 points: the most a
  fold keeps, ``MAX_LOSS_POINTS``), divided by 400,000 (its accuracy and learning-rate
  points and fold rows are included in the growth, so this overstates the loss points);
- ``tuidl runs`` and a filtered, sorted list (``--filter status=finished --filter
  model=fc_net --sort -best``, and a spec-key filter ``--filter optimizer.lr=1e-3``)
  < 0.5 s each, the whole process (interpreter start and imports included), median of 5;
- the workbench's History tab opening on that store < 1 s: the app runs headless in a
  child process; from the key ``4`` until the History table holds every run, median of 3;
- ``tuidl show`` of the 400,000-point run with its charts < 1 s, the whole process,
  median of 5;
- logging during training costs <= 3 %: a 3073-10 softmax classifier trained on random
  CIFAR-shaped rows (batch 200, 600 iterations) with the store sink writing into the
  1,000-run store; the share of the training time spent inside the sink's calls (as
  benchmarks/bench_experiment.py measures it), the largest of 5 runs.

The store holds ``--runs`` realistic runs written directly through the store API (not
trained): digits and CIFAR-10, linear/fc_net/kNN, 1-8 trials x 5 folds, a loss point per
iteration (60 per fold on digits, 2,450 on CIFAR-10), accuracies and learning rate per
epoch, fold scores, test results, a few names and tags, mostly finished with some failed,
interrupted and running. Prints one JSON object on the last line with ``targets_met`` (the
wall-time targets) and ``targets_met_cpu`` (the same limits on the CPU seconds each process
used: what a shared, loaded machine can still show).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuidl.experiment.spec import loads_spec  # noqa: E402
from tuidl.experiment.store import Store  # noqa: E402

SPEC = """
name = "{name}"
seed = {seed}
[dataset]
name = "{dataset}"
[[preprocess]]
name = "reshape"
[[preprocess]]
name = "mean_subtraction"
[model]
name = "{model}"
{model_params}
[loss]
name = "softmax"
[optimizer]
name = "sgd"
lr = {lr}
[training]
epochs = 10
batch_size = 200
[cv]
folds = 5
[cv.grid]
{grid}
"""


def run_spec(rng: np.random.Generator, i: int):
    dataset = "cifar10" if rng.random() < 0.3 else "digits"
    model = rng.choice(["linear", "fc_net", "knn"], p=[0.4, 0.35, 0.25])
    lr = float(rng.choice([1e-4, 1e-3, 1e-2]))
    if model == "knn":
        ks = [1, 3, 5, 8, 10, 12, 15, 20][: int(rng.integers(1, 9))]
        params, grid = "", f'"model.k" = {ks}'
    elif model == "fc_net":
        params = f"hidden_sizes = [{int(rng.choice([50, 100, 200]))}]"
        grid = f'"optimizer.lr" = [{lr}, {lr * 3}]\n"model.reg" = [1e-4, 1e-2]'
    else:
        params = "reg = 1e-3"
        grid = f'"optimizer.lr" = [{lr}, {lr * 10}]'
    text = SPEC.format(
        name=f"run {i}", seed=i, dataset=dataset, model=model, model_params=params, lr=lr,
        grid=grid,
    )  # fmt: skip
    return loads_spec(text), dataset, model


def write_run(store: Store, rng, spec, dataset, model, *, points: int | None = None) -> int:
    """A run as the runner would leave it, written directly."""
    from tuidl.experiment.grid import grid_points

    trials = list(enumerate(grid_points(spec.cv.grid)))
    status = rng.choice(["finished", "failed", "interrupted"], p=[0.9, 0.05, 0.05])
    run_id = store.create_run(spec)
    store.start_run(run_id, trials, 5)
    per_fold = points or (0 if model == "knn" else 2450 if dataset == "cifar10" else 60)
    for t, _ in trials:
        scores = []
        for fold in range(5):
            score = float(rng.uniform(0.2, 0.98))
            scores.append(score)
            store.record_fold(run_id, t, fold, status="ok", score=score, train_acc=score + 0.01)
            if per_fold:
                loss = 2.3 * np.exp(-np.arange(per_fold) / (per_fold / 3)) + rng.normal(
                    0, 0.05, per_fold
                )
                pts = [("loss", k + 1, float(v)) for k, v in enumerate(loss)]
                for e in range(1, 11):
                    pts += [("train_acc", e, score), ("val_acc", e, score), ("lr", e, 1e-3)]
                store.add_points(run_id, t, fold, pts)
        store.finish_trial(
            run_id, t, status="ok", mean=float(np.mean(scores)), std=float(np.std(scores)),
            train_acc=0.99, fit_seconds=1.0,
        )  # fmt: skip
    if status == "finished":
        store.record_test(
            run_id, best_trial=0, params=trials[0][1], test_accuracy=float(rng.uniform(0.2, 0.98)),
            num_test=1000, confusion=[[90, 10], [5, 95]], class_names=["a", "b"],
        )  # fmt: skip
    store.set_status(run_id, str(status))
    return run_id


def build(path: Path, runs: int) -> dict:
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    with Store(path) as store:
        for i in range(runs):
            spec, dataset, model = run_spec(rng, i)
            run_id = write_run(store, rng, spec, dataset, model)
            if i % 10 == 0:
                store.tag(run_id, ["baseline"] if i % 20 == 0 else ["sweep"])
                store.set_note(run_id, f"note on run {run_id}")
        store.set_status(run_id, "running")  # the newest is still going
        before = store.size()["bytes"]
        spec = loads_spec(
            SPEC.format(
                name="big", seed=1, dataset="cifar10", model="fc_net",
                model_params="hidden_sizes = [100]", lr=1e-3,
                grid='"optimizer.lr" = [1e-4, 3e-4, 1e-3, 3e-3]\n'
                '"model.reg" = [1e-4, 1e-3, 1e-2, 1e-1]',
            )
        )  # fmt: skip
        big = write_run(store, rng, spec, "cifar10", "fc_net", points=5000)
        growth = store.size()["bytes"] - before
        loss_points = store.conn.execute(
            "SELECT SUM(n) FROM curve_chunks WHERE kind='loss'"
        ).fetchone()[0]
        big_points = store.conn.execute(
            "SELECT SUM(n) FROM curve_chunks WHERE kind='loss' AND run_id=?", (big,)
        ).fetchone()[0]
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    return {
        "runs": runs + 1,
        "build_seconds": round(time.perf_counter() - t, 1),
        "store_bytes": size,
        "loss_points": int(loss_points),
        "store_bytes_per_loss_point": round(size / loss_points, 2),
        "big_run": big,
        "big_run_loss_points": int(big_points),
        "big_run_bytes_per_loss_point": round(growth / big_points, 2),
    }


# Children run as an installed tuidl does: with compiled bytecode (a session that sets
# PYTHONDONTWRITEBYTECODE would otherwise compile every module in every process)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CPU: dict[str, float] = {}  # median CPU seconds (user + sys) of each whole-process timing


def whole_process(argv: list[str], repeats: int) -> tuple[float, str]:
    """Median wall seconds of ``tuidl ARGV`` in a fresh process (after one warm-up), and
    its output; the median CPU seconds go to :data:`CPU`."""
    times, cpu, out = [], [], ""
    for i in range(repeats + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "tuidl", *argv],
            capture_output=True, text=True, check=True, env=CHILD_ENV,
        )  # fmt: skip
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:  # the first run writes the bytecode
            times.append(wall)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out = res.stdout
    CPU["tuidl " + " ".join(argv[:-2])] = statistics.median(cpu)  # argv ends in --store PATH
    return statistics.median(times), out


HISTORY_CHILD = r"""
import asyncio, os, resource, sys, time
from tuidl.tui.app import WorkbenchApp
from tuidl.tui.widgets.history_panel import MAX_ROWS
from textual.widgets import DataTable

expected = int(os.environ["BENCH_RUNS"])

async def pilot(p):
    while not p.app.ready:
        await asyncio.sleep(0.01)
    await p.pause()
    history = p.app.query_one("#history")
    table = history.query_one(DataTable)
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    await p.press("4")
    # every run listed, the table filled (the newest MAX_ROWS) and drawn
    while len(history.runs) < expected or table.row_count < min(expected, MAX_ROWS):
        await asyncio.sleep(0.005)
    await p.pause()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print("HISTORY", time.perf_counter() - t0, cpu, flush=True)
    p.app.exit()

WorkbenchApp(store_path=os.environ["BENCH_STORE"]).run(
    headless=True, size=(120, 40), auto_pilot=pilot
)
"""


def history_open(path: Path, runs: int, repeats: int) -> float:
    """Median wall seconds from the key 4 to the History table drawn; the median CPU
    seconds of the app's process meanwhile go to :data:`CPU`."""
    times, cpu = [], []
    for _ in range(repeats):
        env = {**CHILD_ENV, "BENCH_STORE": str(path), "BENCH_RUNS": str(runs)}
        res = subprocess.run(
            [sys.executable, "-c", HISTORY_CHILD],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        line = [x for x in res.stdout.splitlines() if x.startswith("HISTORY")]
        if not line:
            raise RuntimeError(f"History child failed:\n{res.stdout}\n{res.stderr}")
        times.append(float(line[0].split()[1]))
        cpu.append(float(line[0].split()[2]))
    CPU["History tab"] = statistics.median(cpu)
    return statistics.median(times)


def logging_cost(path: Path, repeats: int) -> float:
    """Largest share of training time spent inside the store sink's calls."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_experiment import _Timed

    from tuidl.experiment.trainer import train
    from tuidl.experiment.work import StoreSink
    from tuidl.plugins.manager import get_registry

    reg = get_registry()
    rng = np.random.default_rng(0)
    n, d = 10000, 3073
    X = rng.normal(0, 1, (n, d)).astype(np.float32)
    y = rng.integers(0, 10, n)
    shares = []
    with Store(path) as store:
        run_id = store.create_run(run_spec(rng, 0)[0], status="running")
        for i in range(repeats):
            model = reg.create("model", "linear", {"reg": 2.5e4})
            model.setup(d, 10, reg.create("loss", "softmax"), reg.create("initializer",
                        "small_random", {"scale": 1e-3}), np.random.default_rng(1))  # fmt: skip
            opt = reg.create("optimizer", "sgd", {"lr": 1e-7})
            sink = _Timed(StoreSink(store, run_id, 0, i))
            t = time.perf_counter()
            train(model, opt, X, y, X[:1000], y[:1000], rng=np.random.default_rng(2),
                  iterations=600, batch_size=200, sink=sink)  # fmt: skip
            shares.append(sink.seconds / (time.perf_counter() - t))
        store.delete_runs([run_id], force=True)
    return max(shares)


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--keep", metavar="DIR", help="build the store in DIR and keep it")
    ap.add_argument(
        "--reuse", action="store_true", help="with --keep: measure the store already built there"
    )
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench.sqlite"
        if args.reuse and args.keep and (folder / "bench.json").exists():
            built = json.loads((folder / "bench.json").read_text())
        else:
            path.unlink(missing_ok=True)
            built = build(path, args.runs)
            (folder / "bench.json").write_text(json.dumps(built))
        print(
            f"built {built['runs']} runs in {built['build_seconds']} s: "
            f"{built['store_bytes'] / 1e6:.1f} MB, {built['loss_points']:,} loss points, "
            f"{built['store_bytes_per_loss_point']} bytes per loss point overall; the "
            f"{built['big_run_loss_points']:,}-point run added "
            f"{built['big_run_bytes_per_loss_point']} bytes per point"
        )
        store = ["--store", str(path)]
        t_runs, out = whole_process(["runs", *store], args.repeats)
        assert out.count("\n") > args.runs, "tuidl runs did not list every run"
        filtered = ["--filter", "status=finished", "--filter", "model=fc_net", "--sort", "-best"]
        t_filtered, out_f = whole_process(["runs", *filtered, *store], args.repeats)
        assert "fc_net" in out_f, "the filtered list is empty"
        t_spec, _ = whole_process(["runs", "--filter", "optimizer.lr=1e-3", *store], args.repeats)
        t_show, out_show = whole_process(["show", str(built["big_run"]), *store], args.repeats)
        assert "training loss" in out_show, "tuidl show drew no loss chart"
        t_hist = history_open(path, built["runs"], max(3, args.repeats // 2))
        share = logging_cost(path, args.repeats)
        t0 = time.perf_counter()
        from tuidl.experiment import store_schema

        store_schema._CHECKED.clear()
        Store(path, create=False).close()
        t_open = time.perf_counter() - t0
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    walls = (t_runs, t_filtered, t_spec, t_show, t_hist)
    for (label, cpu), wall in zip(CPU.items(), walls, strict=True):
        print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU")
    print(f"logging during training: at most {100 * share:.2f}% of training time")
    print(f"opening the store with its integrity check: {t_open:.3f} s")
    targets = {
        "bytes per loss point <= 8": built["big_run_bytes_per_loss_point"] <= 8,
        "tuidl runs < 0.5 s": t_runs < 0.5,
        "filtered runs < 0.5 s": max(t_filtered, t_spec) < 0.5,
        "History tab < 1 s": t_hist < 1.0,
        "show 400k-point run < 1 s": t_show < 1.0,
        "logging <= 3%": share <= 0.03,
    }
    # on a shared machine the queue for the cores inflates wall times: the same limits on
    # the CPU the process used show what it costs (reported apart, never instead)
    cpu = list(CPU.values())
    targets_cpu = {
        "tuidl runs < 0.5 s": cpu[0] < 0.5,
        "filtered runs < 0.5 s": max(cpu[1], cpu[2]) < 0.5,
        "History tab < 1 s": cpu[4] < 1.0,
        "show 400k-point run < 1 s": cpu[3] < 1.0,
    }
    for name, ok in targets.items():
        print(f"  {'met ' if ok else 'MISS'} {name}")
    for name, ok in targets_cpu.items():
        print(f"  {'met ' if ok else 'MISS'} {name} (CPU seconds)")
    result = {
        **built,
        "runs_s": round(t_runs, 3),
        "runs_filtered_s": round(t_filtered, 3),
        "runs_spec_filter_s": round(t_spec, 3),
        "show_big_s": round(t_show, 3),
        "history_open_s": round(t_hist, 3),
        "logging_share": round(share, 4),
        "open_with_check_s": round(t_open, 3),
        "cpu_s": {k: round(v, 3) for k, v in CPU.items()},
        "load_average": round(os.getloadavg()[0], 1),
        "targets_met": targets,
        "targets_met_cpu": targets_cpu,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
