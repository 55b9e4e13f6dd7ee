"""Data benchmarks: CIFAR-10 loading vs plain pickle.load, PCA fit vs numpy's own eigh.

    .venv/bin/python benchmarks/bench_data.py                 # uses ../shared/datasets
    .venv/bin/python benchmarks/bench_data.py --path DIR      # a cifar-10-batches-py folder
    .venv/bin/python benchmarks/bench_data.py --quick         # smaller PCA (smoke test)

Targets (issue 3): loading the folder <= 1.5x plain ``pickle.load`` of the same files;
``PCA.fit`` on 40,000 x 3,072 float32 <= 1.5x ``numpy.linalg.eigh`` of that covariance.
Loading: median of ``--repeat`` interleaved runs. PCA: the fastest of alternating runs
(eigh, fit, eigh, ...). A busy machine slows both sides alike; still, run it on a quiet
one. Prints one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuidl.data.cifar10 import ALL_FILES, load_cifar10  # noqa: E402
from tuidl.engine.preprocess import PCA  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets" / "cifar-10-python.tar.gz"


def plain_load(folder: Path) -> list:
    out = []
    for name in ALL_FILES:
        with open(folder / name, "rb") as f:
            out.append(pickle.load(f, encoding="bytes"))
    return out


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


def bench_load(folder: Path, repeat: int) -> dict:
    plain, ours = [], []
    plain_load(folder)  # warm the page cache for both
    for _ in range(repeat):
        t, r = timed(plain_load, folder)
        plain.append(t)
        del r
        t, r = timed(load_cifar10, folder)
        ours.append(t)
        del r
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"load CIFAR-10 folder   tuidl {o:.3f} s   pickle.load {p:.3f} s   ratio {o / p:.2f}")
    print(f"  (min: tuidl {min(ours):.3f} s, plain {min(plain):.3f} s)")
    best = min(ours) / min(plain)
    return {"load_s": o, "pickle_s": p, "load_ratio": o / p, "load_min_ratio": best}


def _covariance(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc


def bench_pca(X: np.ndarray, k: int, repeat: int) -> dict:
    # baseline: numpy's own eigh of the same covariance (built here, not timed); eigh and
    # fit alternate so that a change in machine load hits both
    cov = _covariance(X) / len(X)
    eigh, fit, covs = [], [], []
    for _ in range(repeat):
        eigh.append(timed(np.linalg.eigh, cov)[0])
        t, pca = timed(PCA(k=k, method="eigh").fit, X)
        fit.append(t)
        covs.append(timed(_covariance, X)[0])
    eigh.append(timed(np.linalg.eigh, cov)[0])
    t_eigh, t_fit, t_cov = min(eigh), min(fit), min(covs)
    n, d = X.shape
    print(
        f"PCA fit {n} x {d} {X.dtype}   tuidl {t_fit:.2f} s   numpy eigh(cov) {t_eigh:.2f} s   "
        f"ratio {t_fit / t_eigh:.2f}"
    )
    print(
        f"  numpy by hand (centre + X.T @ X GEMM {t_cov:.2f} s + eigh): "
        f"{t_cov + t_eigh:.2f} s, ratio tuidl / by-hand {t_fit / (t_cov + t_eigh):.2f}"
    )
    assert pca.components_.dtype == X.dtype
    return {
        "pca_fit_s": t_fit,
        "eigh_s": t_eigh,
        "pca_ratio": t_fit / t_eigh,
        "cov_s": t_cov,
        "pca_vs_by_hand_ratio": t_fit / (t_cov + t_eigh),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", help="a cifar-10-batches-py folder (default: extract ../shared)")
    ap.add_argument("--repeat", type=int, default=7, help="loading repeats")
    ap.add_argument("--pca-repeat", type=int, default=1, help="PCA fit repeats")
    ap.add_argument("--quick", action="store_true", help="PCA on 4,000 x 768 only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.path:
            folder = Path(args.path)
        elif SHARED.is_file():
            with tarfile.open(SHARED) as tar:
                tar.extractall(tmp, filter="data")
            folder = Path(tmp) / "cifar-10-batches-py"
        else:
            print(f"no CIFAR-10: pass --path or put the archive at {SHARED}", file=sys.stderr)
            return 2
        result = {"numpy": np.__version__, "load_average_1min": os.getloadavg()[0]}
        result.update(bench_load(folder, args.repeat))
        data = load_cifar10(folder)
    n, d = (4000, 768) if args.quick else (40000, 3072)
    X = data.X_train[:n].reshape(n, -1)[:, :d].astype(np.float32)
    del data
    result.update(bench_pca(X, k=100, repeat=args.pca_repeat))
    result["load_target_met"] = result["load_ratio"] <= 1.5
    result["pca_target_met"] = result["pca_ratio"] <= 1.5
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
