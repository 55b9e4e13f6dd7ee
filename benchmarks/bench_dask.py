"""Dask benchmark: a 16-trial × 4-fold CV grid on a 2-worker ``LocalCluster`` (``tuidl run
--executor tcp://127.0.0.1:PORT``) against ``tuidl run --workers 2`` on the same machine.

    .venv/bin/python benchmarks/bench_dask.py                   # two unit sizes, 2 repeats
    .venv/bin/python benchmarks/bench_dask.py --quick           # one small size, 1 repeat
    .venv/bin/python benchmarks/bench_dask.py --iterations 200 1500 --repeat 3

Both sides are the real CLI in a fresh process, timed wall-clock from start to exit (data
loading, the 64 CV units, the retrain of the best, the results table), each writing its own
store. The cluster (scheduler + 2 worker processes, 1 thread each, on 127.0.0.1 only) is
started once before timing, as an existing cluster would be; its start-up time is reported
separately. The sides alternate (local, dask, local, ...) and the median is kept. Both runs
must store identical fold scores and test accuracy (checked).

What the overhead is made of on one machine: a TCP round trip through the scheduler per unit,
the broadcast of the split arrays to each worker at the start, and each worker building its
registry and trial specs on its first unit. It is a fixed cost per unit, so it shrinks relative
to the run as units get longer -- hence two unit sizes (``--iterations`` per fold). Dask pays
off when the cluster has more cores than this machine; on one machine ``--workers`` is the
faster choice. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SPEC = """
name = "bench dask"
seed = 0
[dataset]
name = "digits"
[split]
num_training = 1200
num_validation = 0
num_test = 297
shuffle = true
[[preprocess]]
name = "reshape"
dtype = "float32"
[[preprocess]]
name = "mean_subtraction"
[[preprocess]]
name = "bias_trick"
[model]
name = "linear"
[loss]
name = "softmax"
[optimizer]
name = "sgd"
lr = 1e-3
[training]
iterations = {iterations}
batch_size = 100
[cv]
method = "kfold"
folds = 4
[cv.grid]
"optimizer.lr" = [1e-4, 3e-4, 1e-3, 3e-3]
"model.reg" = [1e-4, 1e-3, 1e-2, 1e-1]
"""
TRIALS, FOLDS = 16, 4


def run_cli(spec: Path, store: Path, extra: list[str], env: dict[str, str]) -> tuple[float, dict]:
    out = store.with_suffix(".json")
    cmd = [sys.executable, "-m", "tuidl", "run", str(spec), "--store", str(store)]
    cmd += ["--json", str(out), "--no-charts", *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return seconds, json.loads(out.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, nargs="+", default=[200, 1500])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="--iterations 200 --repeat 1")
    args = ap.parse_args()
    if args.quick:
        args.iterations, args.repeat = [200], 1
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("needs dask.distributed: pip install 'tuidl[dask]'", file=sys.stderr)
        return 2

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUIDL_PLUGINS": ""}
    result: dict = {
        "cores": os.cpu_count(),
        "trials": TRIALS,
        "folds": FOLDS,
        "units": TRIALS * FOLDS,
        "repeat": args.repeat,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        tmp = Path(tmp)
        env["XDG_DATA_HOME"] = str(tmp / "xdg")
        t0 = time.perf_counter()
        cluster = LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        result["cluster_start_seconds"] = round(time.perf_counter() - t0, 2)
        address = cluster.scheduler_address
        result["scheduler"] = address
        try:
            for iterations in args.iterations:
                spec = tmp / f"spec-{iterations}.toml"
                spec.write_text(SPEC.format(iterations=iterations))
                local, dask, summaries = [], [], {}
                for i in range(args.repeat):
                    s, summaries["local"] = run_cli(
                        spec, tmp / f"local-{iterations}-{i}.sqlite", ["--workers", "2"], env
                    )
                    local.append(s)
                    s, summaries["dask"] = run_cli(
                        spec, tmp / f"dask-{iterations}-{i}.sqlite", ["--executor", address], env
                    )
                    dask.append(s)
                a, b = summaries["local"], summaries["dask"]
                identical = [t["fold_scores"] for t in a["trials"]] == [
                    t["fold_scores"] for t in b["trials"]
                ] and a["test_accuracy"] == b["test_accuracy"]
                lm, dm = statistics.median(local), statistics.median(dask)
                size = {
                    "iterations_per_fold": iterations,
                    "local_workers2_seconds": round(lm, 2),
                    "dask_2workers_seconds": round(dm, 2),
                    "dask_over_local": round(dm / lm, 3),
                    "overhead_seconds": round(dm - lm, 2),
                    "overhead_ms_per_unit": round(1000 * (dm - lm) / (TRIALS * FOLDS), 1),
                    "local_runs": [round(x, 2) for x in local],
                    "dask_runs": [round(x, 2) for x in dask],
                    "identical_results": identical,
                    "test_accuracy": b["test_accuracy"],
                }
                result["sizes"].append(size)
                print(json.dumps(size), file=sys.stderr)
        finally:
            client.close()
            cluster.close()
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    result["all_identical"] = all(s["identical_results"] for s in result["sizes"])
    print(json.dumps(result))
    return 0 if result["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
