"""The data behind a run's pictures: stored with the final retrain (schema version 4),
upgraded in place from version 3, and read back as weight rows and confusion examples."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from tuidl.engine.models import FullyConnectedNet, LinearClassifier
from tuidl.errors import TuidlError
from tuidl.experiment import run_pictures, store_pictures
from tuidl.experiment.runner import load_data, run_spec
from tuidl.experiment.spec import Spec
from tuidl.experiment.store import SCHEMA_VERSION, Store
from tuidl.plugins.api import ShowsWeights
from tuidl.plugins.manager import get_registry


def digits_spec(model: dict, preprocess=("reshape", "mean_subtraction", "bias_trick")) -> Spec:
    return Spec.from_dict(
        {
            "seed": 0,
            "dataset": {"name": "digits"},
            "split": {"num_training": 500, "num_validation": 100, "num_test": 150},
            "preprocess": [{"name": n, **({"k": 20} if n == "pca" else {})} for n in preprocess],
            "model": model,
            "optimizer": {"name": "sgd", "lr": 0.01},
            "training": {"epochs": 2, "batch_size": 100},
            "cv": {"method": "holdout", "grid": {}},
        }
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One store with four finished runs: linear, a 150-unit net, kNN, linear after pca."""
    path = tmp_path_factory.mktemp("pictures") / "runs.sqlite"
    with Store(path) as store:
        ids = {
            "linear": run_spec(digits_spec({"name": "linear"}), store).run_id,
            "net": run_spec(digits_spec({"name": "fc_net", "hidden_sizes": [150]}), store).run_id,
            "knn": run_spec(digits_spec({"name": "knn", "k": 3}), store).run_id,
            "pca": run_spec(
                digits_spec({"name": "linear"}, ("reshape", "mean_subtraction", "pca")), store
            ).run_id,
        }
    return path, ids


def test_built_in_models_declare_their_first_layer_weights():
    from tuidl.engine.init import SmallRandom
    from tuidl.engine.losses import SoftmaxLoss as Softmax

    rng = np.random.default_rng(0)
    linear = LinearClassifier().setup(12, 3, Softmax(), SmallRandom(), rng)
    W, per_class = linear.first_layer_weights()
    assert isinstance(linear, ShowsWeights) and per_class
    np.testing.assert_array_equal(W, linear.params["W"].T)
    W[:] = 7  # a copy: the model's weights are untouched
    assert not np.any(linear.params["W"] == 7)
    net = FullyConnectedNet(hidden_sizes=[5]).setup(12, 3, Softmax(), SmallRandom(), rng)
    W, per_class = net.first_layer_weights()
    assert W.shape == (5, 12) and not per_class


def test_the_final_retrain_stores_predictions_and_templates(runs):
    path, ids = runs
    with Store(path) as store:
        run = store.get_run(ids["linear"])
        pics = store_pictures.load(store, ids["linear"])
        assert pics is not None and pics.image_shape == (8, 8) and pics.per_class
        # one prediction per test row, and exactly the ones the confusion matrix counts
        assert len(pics.predictions) == run["test"]["num_test"] == 150
        spec = Spec.from_dict(run["spec"])
        y = load_data(spec, get_registry()).y_test
        cm = np.zeros((10, 10), dtype=int)
        np.add.at(cm, (y, pics.predictions), 1)
        assert cm.tolist() == run["test"]["confusion"]
        assert pics.weights.shape == (10, 65)  # 64 pixels + the bias trick's column
        w = run_pictures.weights(store, run)
    assert not isinstance(w, str)
    assert w.rows.shape == (10, 64) and w.image_shape == (8, 8)  # bias column left out
    assert w.labels == [str(i) for i in range(10)]
    assert w.title == "per-class templates of the linear classifier"


def test_a_wide_first_layer_is_capped_at_100_units_in_float16(runs):
    path, ids = runs
    with Store(path) as store:
        w = run_pictures.weights(store, store.get_run(ids["net"]))
        blob = store.conn.execute(
            "SELECT length(weights) FROM test_pictures WHERE run_id=?", (ids["net"],)
        ).fetchone()[0]
    assert not isinstance(w, str)
    assert w.rows.shape == (100, 64) and w.labels[0] == "unit 1"
    assert w.title == "first-layer weights (the first 100 of 150 units)"
    assert blob == 100 * 65 * 2  # float16


def test_runs_without_weights_to_show_say_why(runs):
    path, ids = runs
    with Store(path) as store:
        knn = run_pictures.weights(store, store.get_run(ids["knn"]))
        pca = run_pictures.weights(store, store.get_run(ids["pca"]))
        # kNN still has its predictions, so its confusions can be shown
        assert len(store_pictures.load(store, ids["knn"]).predictions) == 150
    assert knn == (
        "no weights to show: model 'knn' does not declare first_layer_weights() "
        "(tuidl.api.ShowsWeights)"
    )
    assert "features after preprocessing, not the 64 pixels" in pca


def test_examples_are_the_test_rows_of_a_confusion_pair(runs):
    path, ids = runs
    with Store(path) as store:
        run = store.get_run(ids["linear"])
        true, pred = run_pictures.biggest_confusion(run["test"]["confusion"])
        assert true != pred and run["test"]["confusion"][true][pred] > 0
        ex = run_pictures.examples(store, run, true, pred, limit=3)
        pics = store_pictures.load(store, ids["linear"])
    data = load_data(Spec.from_dict(run["spec"]), get_registry())
    assert ex.total == run["test"]["confusion"][true][pred]
    assert len(ex.rows) == min(3, ex.total) and ex.image_shape == (8, 8)
    for i, img in zip(ex.rows, ex.images, strict=True):
        assert data.y_test[i] == true and pics.predictions[i] == pred
        np.testing.assert_array_equal(img, data.X_test[i])


def test_pairs_are_parsed_by_name_or_number():
    names = ["cat", "dog", "ship"]
    assert run_pictures.parse_pair("cat,2", names) == (0, 2)
    assert run_pictures.parse_pair(" dog , ship ", names) == (1, 2)
    with pytest.raises(TuidlError, match=r"class 'cow' is not one of this run's classes"):
        run_pictures.parse_pair("cow,dog", names)
    with pytest.raises(TuidlError, match="TRUE,PRED"):
        run_pictures.parse_pair("cat", names)
    with pytest.raises(TuidlError, match=r"0\.\.2"):
        run_pictures.parse_pair("3,1", names)
    assert run_pictures.biggest_confusion([[5, 1], [3, 4]]) == (1, 0)
    assert run_pictures.biggest_confusion([[5, 0], [0, 4]]) == (0, 0)
    assert run_pictures.biggest_confusion(None) is None


def test_a_version_3_store_is_upgraded_in_place_and_keeps_its_runs(runs, tmp_path):
    path, ids = runs
    old = tmp_path / "v3.sqlite"
    src = sqlite3.connect(path)
    src.execute("VACUUM INTO ?", (str(old),))
    src.close()
    conn = sqlite3.connect(old)  # what version 3 wrote: no test_pictures table
    conn.execute("DROP TABLE test_pictures")
    conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with Store(old) as store:
        run = store.get_run(ids["linear"])
        assert run["test"]["test_accuracy"] is not None
        assert store_pictures.load(store, ids["linear"]) is None
        assert run_pictures.weights(store, run) == (
            "no weights to show: this run was stored before tuidl kept weights"
        )
        with pytest.raises(TuidlError, match="stored before tuidl kept test predictions"):
            run_pictures.examples(store, run, 1, 8)
    version = sqlite3.connect(old).execute("SELECT value FROM meta").fetchone()[0]
    assert version == str(SCHEMA_VERSION) == "4"


def test_a_training_fold_writes_its_weights_for_the_live_view(runs):
    path, ids = runs
    with Store(path) as store:
        live = store_pictures.load_live(store, ids["linear"])
        run = store.get_run(ids["linear"])
        # before the test, a run's pictures are the live weights of the fold that trained last
        # (the final retrain's, or with cv.refit = reuse the holdout fold's)
        w = run_pictures.weights(store, dict(run, test=None))
        none_yet = run_pictures.weights(store, dict(store.get_run(ids["knn"]), test=None))
    assert live is not None and live.fold in (0, -1) and live.epoch >= 1
    assert live.weights.shape == (10, 65) and live.per_class
    assert live.class_names == [str(i) for i in range(10)] and live.image_shape == (8, 8)
    assert not isinstance(w, str) and w.rows.shape == (10, 64)
    assert w.title.startswith("per-class templates of the linear classifier (config 1, ")
    assert w.title.endswith(f", epoch {live.epoch:g})")
    assert none_yet.startswith("no weights to show yet")


def test_live_weights_are_written_at_most_every_live_seconds(tmp_path, monkeypatch):
    class Model:
        def first_layer_weights(self):
            return np.ones((3, 4)), False

    with Store(tmp_path / "s.sqlite") as store:
        run_id = store.create_run(digits_spec({"name": "linear"}))
        clock = iter([100.0, 100.5, 101.2])
        monkeypatch.setattr(store_pictures.time, "monotonic", lambda: next(clock))
        writer = store_pictures.LiveWriter.of(store, run_id, 0, 2, Model(), (2, 2))
        epochs = []
        for epoch in (1.0, 2.0, 3.0):
            writer.epoch(epoch)
            epochs.append(store_pictures.load_live(store, run_id).epoch)
        assert epochs == [1.0, 1.0, 3.0]  # the second epoch came too soon after the first
        assert store_pictures.LiveWriter.of(store, run_id, 0, 0, Model(), (4,)) is None
        assert store_pictures.LiveWriter.of(store, run_id, 0, 0, object(), (2, 2)) is None


def test_a_multi_label_run_has_no_confusion_examples():
    run = {"id": 7, "test": {"confusion": None, "metrics": {"attributes": {}}}}
    with pytest.raises(TuidlError, match=r"attribute \(multi-label\) targets: there is no"):
        run_pictures.examples(None, run, 0, 1)
