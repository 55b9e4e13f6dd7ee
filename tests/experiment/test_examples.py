"""The example specs: digits versions always run; CIFAR-10 versions on the real data.

The CIFAR-10 tests need ``../shared/datasets/cifar-10-python.tar.gz`` beside the checkout
(skipped when absent); it is extracted once per session into pytest's temp dir, never into
the repository. ``cs231n_knn`` runs in full (about 10 s on 2 cores) and must reproduce the
published CS231n table exactly; the learnable ones run reduced (fewer rows and iterations).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import load_spec
from tuidl.experiment.store import Store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
REAL_CIFAR = ROOT.parent / "shared" / "datasets" / "cifar-10-python.tar.gz"

CS231N_KNN = {1: 0.2656, 3: 0.2496, 5: 0.2732, 8: 0.2760, 10: 0.2802, 12: 0.2794, 15: 0.2750,
              20: 0.2790, 50: 0.2744, 100: 0.2616}  # fmt: skip


def _run(tmp_path, name, overrides=(), workers=1):
    spec = load_spec(EXAMPLES / name, list(overrides))
    with Store(tmp_path / "runs.sqlite") as store:
        out = run_spec(spec, store, workers=workers)
        assert out.status == "finished"
        return store.get_run(out.run_id)


def _best(run):
    return run["best"]["mean"], run["test"]["test_accuracy"]


def test_digits_knn(tmp_path):
    run = _run(tmp_path, "digits_knn.toml")
    assert len(run["trials"]) == 9
    mean, test = _best(run)
    assert mean > 0.97 and test > 0.97


@pytest.mark.parametrize("name", ["digits_svm.toml", "digits_softmax.toml"])
def test_digits_linear(tmp_path, name):
    mean, test = _best(_run(tmp_path, name))
    assert mean > 0.9 and test > 0.9


def test_digits_two_layer(tmp_path):
    mean, test = _best(_run(tmp_path, "digits_two_layer.toml"))
    assert mean > 0.95 and test > 0.95


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory):
    if not REAL_CIFAR.is_file():
        pytest.skip(f"real CIFAR-10 not found at {REAL_CIFAR}")
    dest = tmp_path_factory.mktemp("cifar")
    with tarfile.open(REAL_CIFAR) as tar:
        tar.extractall(dest, filter="data")
    return dest / "cifar-10-batches-py"


@pytest.mark.cifar
def test_cs231n_knn_reproduces_the_published_table(tmp_path, cifar_dir):
    run = _run(tmp_path, "cs231n_knn.toml", [f"dataset.path={cifar_dir}"])
    means = {t["params"]["model.k"]: round(t["mean"], 4) for t in run["trials"]}
    assert means == CS231N_KNN
    assert run["best"]["params"] == {"model.k": 10}
    assert run["test"]["num_test"] == 500
    assert run["test"]["test_accuracy"] == pytest.approx(0.282, abs=1e-9)


@pytest.mark.cifar
@pytest.mark.slow
@pytest.mark.parametrize("name", ["cs231n_svm.toml", "cs231n_softmax.toml"])
def test_cs231n_linear_reduced(tmp_path, cifar_dir, name):
    overrides = [
        f"dataset.path={cifar_dir}",
        "split.num_training=10000",
        "training.iterations=600",
        'cv.grid."model.reg"=[5e3]',
    ]
    mean, test = _best(_run(tmp_path, name, overrides, workers=2))
    assert mean > 0.30 and test > 0.28


@pytest.mark.cifar
@pytest.mark.slow
def test_cs231n_two_layer_reduced(tmp_path, cifar_dir):
    overrides = [
        f"dataset.path={cifar_dir}",
        "split.num_training=10000",
        "model.hidden_sizes=[100]",
        "training.epochs=3",
        'cv.grid."model.reg"=[1e-3]',
    ]
    mean, test = _best(_run(tmp_path, "cs231n_two_layer.toml", overrides))
    assert mean > 0.38 and test > 0.38


@pytest.mark.cifar
@pytest.mark.slow
def test_cs231n_fc_net_reduced_tests_its_own_model(tmp_path, cifar_dir):
    # the full example (1024-512, 20 epochs on 49,000 rows) takes hours on 2 cores; this
    # checks its recipe end to end: batchnorm, dropout, the cosine schedule, and a holdout
    # test of the trial's own model (cv.refit = "auto": no second training)
    overrides = [
        f"dataset.path={cifar_dir}",
        "split.num_training=5000",
        "model.hidden_sizes=[200, 100]",
        "training.epochs=3",
    ]
    run = _run(tmp_path, "cs231n_fc_net.toml", overrides)
    mean, test = _best(run)
    assert mean > 0.3 and test > 0.3
    assert run["test"]["train_acc"] == run["trials"][0]["train_acc"]  # the same model
