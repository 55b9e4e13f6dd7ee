"""KNN against the classic CS231n implementations, a brute-force L1 and scikit-learn."""

import warnings

import numpy as np
import pytest

from tuidl.engine.knn import KNN
from tuidl.errors import TuidlError


# --- literal classic references (CS231n k_nearest_neighbor.py), float64 ----------------
def classic_two_loops(X, Xtr):
    dists = np.zeros((X.shape[0], Xtr.shape[0]))
    for i in range(X.shape[0]):
        for j in range(Xtr.shape[0]):
            dists[i, j] = np.sqrt(
                max(np.sum(X[i] ** 2) + np.sum(Xtr[j] ** 2) - 2 * X[i].dot(Xtr[j]), 0)
            )
    return dists


def classic_no_loops(X, Xtr):
    sq = np.sum(X**2, axis=1).reshape(-1, 1) + np.sum(Xtr**2, axis=1) - 2 * X.dot(Xtr.T)
    return np.sqrt(np.maximum(sq, 0))


def classic_predict(dists, y_train, k):
    pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        closest_y = y_train[np.argsort(dists[i], kind="stable")[:k]]
        pred[i] = np.argmax(np.bincount(closest_y))
    return pred


def l1_brute(X, Xtr):
    return np.array([[np.sum(np.abs(a - b)) for b in Xtr] for a in X])


def tied_data(seed=0, n_train=60, n_test=25, d=12, classes=4, dtype=np.float64):
    """Integer-valued features with duplicated training rows and test rows equal to some
    training rows: plenty of exact distance ties, zero distances and vote ties."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 4, size=(n_train // 3, d)).astype(dtype)
    Xtr = np.concatenate([base, base[::-1], base[rng.permutation(len(base))]])
    ytr = rng.integers(0, classes, size=len(Xtr))
    X = np.concatenate([Xtr[rng.choice(len(Xtr), 5)], rng.integers(0, 4, (n_test - 5, d))]).astype(
        dtype
    )
    return X, Xtr, ytr


def continuous_data(seed=1, n_train=200, n_test=40, d=20, classes=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    Xtr = rng.standard_normal((n_train, d)).astype(dtype)
    X = rng.standard_normal((n_test, d)).astype(dtype)
    ytr = rng.integers(0, classes, size=n_train)
    return X, Xtr, ytr


# --- L2: exact reproduction of the classic code ----------------------------------------
@pytest.mark.parametrize("data", [tied_data, continuous_data])
def test_l2_distances_bitwise_equal_to_no_loop_reference(data):
    X, Xtr, ytr = data()
    knn = KNN(k=1).fit(Xtr, ytr)
    np.testing.assert_array_equal(knn.distances(X), classic_no_loops(X, Xtr))
    np.testing.assert_allclose(knn.distances(X), classic_two_loops(X, Xtr), rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("chunk_size", [None, 1, 7, 10_000])
@pytest.mark.parametrize("data", [tied_data, continuous_data])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 13, 20])
def test_l2_predict_reproduces_classic_exactly(data, k, chunk_size):
    X, Xtr, ytr = data()
    knn = KNN(k=k, chunk_size=chunk_size).fit(Xtr, ytr)
    expected = classic_predict(classic_no_loops(X, Xtr), ytr, k)
    np.testing.assert_array_equal(knn.predict(X), expected)


def test_tied_data_really_has_ties():
    X, Xtr, _ = tied_data()
    dists = classic_no_loops(X, Xtr)
    sorted_d = np.sort(dists, axis=1)
    # some row's k-th and (k+1)-th neighbour are at the same distance for small k
    assert np.any(sorted_d[:, 2] == sorted_d[:, 3])
    assert np.any(dists == 0)


def test_stable_order_of_tied_neighbours():
    # Three copies of the same point: the earliest training rows win the tie.
    Xtr = np.array([[5.0, 5.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    ytr = np.array([0, 3, 1, 2, 2])
    knn = KNN(k=2).fit(Xtr, ytr)
    nearest = knn._select(knn._l2_block(np.array([[1.0, 1.0]])), 3)
    np.testing.assert_array_equal(nearest, [[1, 3, 4]])
    # k=2: labels {3, 2} tie one vote each -> smallest label 2.
    assert knn.predict(np.array([[1.0, 1.0]]))[0] == 2
    assert knn.predict(np.array([[1.0, 1.0]]), k=1)[0] == 3


def test_vote_tie_goes_to_smallest_label():
    Xtr = np.array([[0.0], [1.0], [-2.0], [3.0]])
    ytr = np.array([7, 4, 9, 4])
    # k=3 from x=0: rows 0 (7), 1 (4), 2 (9) -> all one vote -> smallest label 4
    assert KNN(k=3).fit(Xtr, ytr).predict(np.array([[0.0]]))[0] == 4
    # labels need not be contiguous or non-negative
    ytr2 = np.array([-1, 5, 2, 5])
    assert KNN(k=3).fit(Xtr, ytr2).predict(np.array([[0.0]]))[0] == -1


def test_sqrt_merged_squared_distances_keep_training_order():
    # Two distinct squared distances whose square roots round to the same float: the
    # reference ranks them as a tie (training order), not by the squared value.
    a = 3.0
    while np.sqrt(a) != np.sqrt(np.nextafter(a, np.inf)):
        a = np.nextafter(a, np.inf)
    b = np.nextafter(a, np.inf)
    assert b > a and np.sqrt(a) == np.sqrt(b)
    knn = KNN(k=1).fit(np.zeros((3, 1)), np.array([1, 0, 0]))
    block = np.array([[b, a, 50.0]])  # the larger squared value comes first in training order
    ref = np.argsort(np.sqrt(block[0]), kind="stable")
    assert list(ref[:2]) == [0, 1]
    np.testing.assert_array_equal(knn._select(block, 1), [[0]])
    np.testing.assert_array_equal(knn._select(block, 2), [[0, 1]])
    # and the merged pair inside the k nearest is still ordered by training index
    block = np.array([[50.0, b, 0.5, a]])
    np.testing.assert_array_equal(knn._select(block, 3), [[2, 1, 3]])


def test_negative_squared_distances_clip_to_zero_ties():
    knn = KNN(k=1).fit(np.zeros((3, 1)), np.array([2, 1, 0]))
    # -1e-9 and 0 both clip to 0 in the reference: tie -> training order -> row 0.
    block = np.array([[0.0, -1e-9, 1.0]])
    np.testing.assert_array_equal(knn._select(block, 1), [[0]])
    np.testing.assert_array_equal(knn._select(block, 2), [[0, 1]])


def test_k_equal_to_n_train():
    X, Xtr, ytr = tied_data()
    knn = KNN(k=len(Xtr)).fit(Xtr, ytr)
    expected = classic_predict(classic_no_loops(X, Xtr), ytr, len(Xtr))
    np.testing.assert_array_equal(knn.predict(X), expected)


# --- L1 --------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [None, 1, 7, 10_000])
@pytest.mark.parametrize("data", [tied_data, continuous_data])
def test_l1_matches_brute_force(data, chunk_size):
    X, Xtr, ytr = data()
    knn = KNN(k=1, distance="l1", chunk_size=chunk_size).fit(Xtr, ytr)
    ref = l1_brute(X, Xtr)
    np.testing.assert_allclose(knn.distances(X), ref, rtol=1e-12)
    for k in (1, 4, 9):
        np.testing.assert_array_equal(knn.predict(X, k=k), classic_predict(ref, ytr, k))


def test_l1_temporaries_are_chunked(monkeypatch):
    import tuidl.engine.knn as knn_mod

    # A tiny bound forces many (test, train) sub-blocks, including ragged ones.
    monkeypatch.setattr(knn_mod, "_L1_TEMP_BYTES", 8 * 20 * 5)
    X, Xtr, ytr = continuous_data(n_train=37, n_test=11)
    knn = KNN(k=3, distance="l1").fit(Xtr, ytr)
    np.testing.assert_allclose(knn.distances(X), l1_brute(X, Xtr), rtol=1e-12)


def test_auto_blocks_are_bounded(monkeypatch):
    import tuidl.engine.knn as knn_mod

    monkeypatch.setattr(knn_mod, "_BLOCK_BYTES", 8 * 200 * 3)  # 3 rows of 200 float64
    X, Xtr, ytr = continuous_data()
    knn = KNN(k=5).fit(Xtr, ytr)
    assert knn._block_rows(len(X)) == 3
    assert KNN(chunk_size=0).fit(Xtr, ytr)._block_rows(len(X)) == 3  # 0 also means automatic
    expected = classic_predict(classic_no_loops(X, Xtr), ytr, 5)
    np.testing.assert_array_equal(knn.predict(X), expected)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("distance", ["l1", "l2"])
def test_row_threads_give_identical_results(monkeypatch, threads, distance):
    import tuidl.engine.knn as knn_mod

    # Force many row tasks even for tiny blocks, with ragged ends, on 1-3 threads.
    monkeypatch.setattr(knn_mod, "_TASK_ELEMENTS", 3 * 60)  # 3-row tasks for 60 train rows
    monkeypatch.setattr(knn_mod, "_thread_count", lambda: threads)
    for data in (tied_data, continuous_data):
        X, Xtr, ytr = data()
        knn = KNN(distance=distance, chunk_size=11).fit(Xtr, ytr)
        ref = classic_no_loops(X, Xtr) if distance == "l2" else l1_brute(X, Xtr)
        ks = [1, 2, 5, 9]
        many = knn.predict_many(X, ks)
        for k in ks:
            np.testing.assert_array_equal(many[k], classic_predict(ref, ytr, k))


def test_thread_count_respects_env(monkeypatch):
    import tuidl.engine.knn as knn_mod

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert knn_mod._thread_count() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert knn_mod._thread_count() >= 1


def test_predict_memory_stays_bounded(monkeypatch):
    import tracemalloc

    import tuidl.engine.knn as knn_mod

    # 1 MiB blocks of 52 rows: the full (2000, 5000) float32 matrix would be 40 MB, and its
    # argpartition indices 80 MB. Only one block (plus its int64 indices) may be alive.
    monkeypatch.setattr(knn_mod, "_BLOCK_BYTES", 2**20)
    rng = np.random.default_rng(5)
    Xtr = rng.standard_normal((5000, 8), dtype=np.float32)
    X = rng.standard_normal((2000, 8), dtype=np.float32)
    knn = KNN(k=5).fit(Xtr, rng.integers(0, 10, 5000))
    tracemalloc.start()
    try:
        knn.predict_many(X, [1, 5])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --- dtypes, memory, API -----------------------------------------------------------------
@pytest.mark.parametrize("distance", ["l1", "l2"])
def test_float32_stays_float32(distance):
    X, Xtr, ytr = continuous_data(dtype=np.float32)
    knn = KNN(k=3, distance=distance).fit(Xtr, ytr)
    assert np.shares_memory(knn.X_train, Xtr)  # contiguous float input: no copy
    assert knn.X_train.dtype == np.float32
    d = knn.distances(X)
    assert d.dtype == np.float32
    ref = classic_no_loops(X.astype(np.float64), Xtr.astype(np.float64))
    if distance == "l1":
        ref = l1_brute(X.astype(np.float64), Xtr.astype(np.float64))
    np.testing.assert_allclose(d, ref, rtol=1e-4, atol=1e-3)
    # float32 ranking equals the classic code run in float32
    if distance == "l2":
        expected = classic_predict(classic_no_loops(X, Xtr), ytr, 3)
        np.testing.assert_array_equal(knn.predict(X), expected)


def test_float64_kept_without_copy_and_images_flattened():
    rng = np.random.default_rng(3)
    Xtr = rng.standard_normal((30, 4, 4, 3))
    ytr = rng.integers(0, 3, 30)
    knn = KNN(k=3).fit(Xtr, ytr)
    assert knn.X_train.dtype == np.float64
    assert np.shares_memory(knn.X_train, Xtr)
    X = rng.standard_normal((6, 4, 4, 3))
    expected = classic_predict(classic_no_loops(X.reshape(6, -1), Xtr.reshape(30, -1)), ytr, 3)
    np.testing.assert_array_equal(knn.predict(X), expected)


def test_integer_features_become_float64():
    X, Xtr, ytr = tied_data()
    knn = KNN(k=3).fit(Xtr.astype(np.uint8), ytr)
    assert knn.X_train.dtype == np.float64
    expected = classic_predict(classic_no_loops(X, Xtr), ytr, 3)
    np.testing.assert_array_equal(knn.predict(X.astype(np.uint8)), expected)


def test_predict_many_equals_predict_for_each_k():
    for data in (tied_data, continuous_data):
        X, Xtr, ytr = data()
        for distance in ("l1", "l2"):
            knn = KNN(distance=distance, chunk_size=7).fit(Xtr, ytr)
            ks = [1, 3, 5, 10, 17, len(Xtr)]
            many = knn.predict_many(X, ks)
            assert sorted(many) == ks
            for k in ks:
                np.testing.assert_array_equal(many[k], knn.predict(X, k=k))


def test_labels_come_back_in_training_label_space():
    X, Xtr, _ = continuous_data()
    ytr = np.repeat([10, 20, 30, 40], 50)
    pred = KNN(k=5).fit(Xtr, ytr).predict(X)
    assert set(np.unique(pred)) <= {10, 20, 30, 40}
    assert pred.dtype.kind == "i"


# --- scikit-learn ------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 5, 12])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_sklearn_brute_on_tie_free_data(k, dtype):
    neighbors = pytest.importorskip("sklearn.neighbors")
    X, Xtr, ytr = continuous_data(n_train=300, n_test=80, dtype=dtype)
    ours = KNN(k=k).fit(Xtr, ytr).predict(X)
    # Vote ties: sklearn also picks the smallest class (mode over sorted classes_)
    clf = neighbors.KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(Xtr, ytr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = clf.predict(X)
    np.testing.assert_array_equal(ours, theirs)
    _, idx = clf.kneighbors(X)
    knn = KNN(k=k).fit(Xtr, ytr)
    nearest = knn._select(knn._l2_block(knn._prepare_test(X)), k)
    np.testing.assert_array_equal(nearest, idx)


# --- errors ------------------------------------------------------------------------------
def test_k_larger_than_training_rows():
    X, Xtr, ytr = continuous_data(n_train=10)
    knn = KNN(k=11).fit(Xtr, ytr)
    with pytest.raises(TuidlError, match=r"k=11 exceeds the 10 training rows"):
        knn.predict(X)
    with pytest.raises(TuidlError, match=r"k=12 exceeds the 10 training rows"):
        knn.predict_many(X, [1, 12])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be an integer >= 1"),
        ({"k": 2.5}, "k must be an integer >= 1"),
        ({"k": True}, "k must be an integer >= 1"),
        ({"distance": "cosine"}, "distance must be 'l1' or 'l2'"),
        ({"chunk_size": -1}, "chunk_size must be"),
    ],
)
def test_bad_params(kwargs, match):
    with pytest.raises(TuidlError, match=match):
        KNN(**kwargs)


def test_bad_data():
    knn = KNN()
    with pytest.raises(TuidlError, match="call fit"):
        knn.predict(np.zeros((2, 3)))
    with pytest.raises(TuidlError, match="shape"):
        knn.fit(np.zeros(5), np.zeros(5, dtype=int))
    with pytest.raises(TuidlError, match="one per training row"):
        knn.fit(np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(TuidlError, match="labels must be integers"):
        knn.fit(np.zeros((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(TuidlError, match="no rows"):
        knn.fit(np.zeros((0, 2)), np.zeros(0, dtype=int))
    knn.fit(np.zeros((5, 2)), np.arange(5))
    with pytest.raises(TuidlError, match="test rows have 3 features, training rows have 2"):
        knn.predict(np.zeros((1, 3)))
    assert knn.predict(np.zeros((0, 2))).shape == (0,)
    with pytest.raises(TuidlError, match="no features"):
        knn.predict(np.zeros((3, 0)))
    with pytest.raises(TuidlError, match="at least one k"):
        knn.predict_many(np.zeros((1, 2)), [])
