"""tuidl-hsoftmax, exercised the way users get it: through tuidl's entry-point discovery.

Nothing here imports ``tuidl_hsoftmax``; every object comes from ``load_registry()``, so the
tests fail if the package is not installed (``pip install -e plugins/tuidl-hsoftmax``) or the
entry point is broken.
"""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.errors import TuidlError
from tuidl.plugins.manager import load_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry(environ={"TUIDL_LOAD_PLUGINS": "hsoftmax"})


@pytest.fixture
def make(registry):
    return lambda **params: registry.create("loss", "hsoftmax", params)


def numeric_grad(f, x, h=1e-5):
    """Centered differences of the scalar ``f()`` with respect to every entry of ``x``."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def test_registered_through_the_entry_point(registry):
    info = registry.plugin("hsoftmax")
    assert info.status == "ok", info.error
    assert info.source == "entry point"
    comp = registry.get("loss", "hsoftmax")
    assert comp.plugin == "hsoftmax"
    assert comp.param("tree").choices == ("balanced", "clustered")
    with pytest.raises(TuidlError, match="tree"):
        registry.create("loss", "hsoftmax", {"tree": "random"})


@pytest.mark.parametrize("c", [2, 3, 7, 10, 37, 64])
def test_balanced_tree_paths(make, c):
    loss = make()
    assert loss.output_dim(c) == c - 1
    tree = loss.tree
    assert tree.depth == int(np.ceil(np.log2(c)))
    assert sorted(tree.leaves_under(0)) == list(range(c))
    # each class's (node, sign) path is distinct and starts at the root
    keys = {tuple(zip(tree.paths[k], tree.signs[k], strict=True)) for k in range(c)}
    assert len(keys) == c
    assert np.all(tree.paths[:, 0] == 0)
    lengths = (tree.signs != 0).sum(axis=1)
    assert lengths.max() - lengths.min() <= 1


@pytest.mark.parametrize("c", [2, 5, 10, 33])
def test_leaf_probabilities_sum_to_one_and_match_the_loss(make, c):
    rng = np.random.default_rng(c)
    scores = rng.normal(scale=3.0, size=(20, c - 1))
    y = rng.integers(0, c, size=20)
    loss = make()
    logp = loss.log_proba(scores)
    assert logp.shape == (20, c)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-12)
    value, _ = loss(scores, y)
    assert value == pytest.approx(-logp[np.arange(20), y].mean(), rel=1e-12)
    np.testing.assert_array_equal(loss.predict(scores), np.argmax(logp, axis=1))


def test_two_classes_is_logistic_regression(make):
    s = np.array([[0.3], [-2.0], [5.0]])
    y = np.array([0, 0, 1])  # class 0 is the left leaf: p = sigmoid(s)
    value, d = make()(s, y)
    p = 1 / (1 + np.exp(-s[:, 0]))
    expect = -(np.log(p[0]) + np.log(p[1]) + np.log(1 - p[2])) / 3
    assert value == pytest.approx(expect, rel=1e-12)
    np.testing.assert_allclose(d[:, 0], (p - np.array([1, 1, 0])) / 3, rtol=1e-12)


@pytest.mark.parametrize("tree", ["balanced", "clustered"])
@pytest.mark.parametrize("c", [2, 6, 13])
def test_gradient_matches_centered_differences(make, tree, c):
    rng = np.random.default_rng(7 + c)
    n = 9
    loss = make(tree=tree)
    X = rng.normal(size=(40, 5))
    loss.fit(X, np.arange(40) % c, num_classes=c)
    scores = rng.normal(scale=2.0, size=(n, c - 1))
    y = rng.integers(0, c, size=n)
    _, d = loss(scores, y)
    num = numeric_grad(lambda: loss(scores, y)[0], scores)
    assert rel_error(d, num) < 1e-7


def test_large_scores_stay_finite(make):
    scores = np.array([[1e4, -1e4, 789.0], [-1e4, 1e4, -456.0]])
    value, d = make()(scores, np.array([3, 0]))
    assert np.isfinite(value) and np.all(np.isfinite(d))
    assert value > 1000  # both labels sit behind a hugely wrong decision


def test_float32_in_float32_out_and_input_untouched(make):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(8, 9)).astype(np.float32)
    before = scores.copy()
    value, d = make()(scores, rng.integers(0, 10, size=8))
    assert isinstance(value, float)
    assert d.dtype == np.float32 and d.shape == scores.shape
    np.testing.assert_array_equal(scores, before)


def test_wrong_width_and_unfitted_clustered_tree_raise(make):
    loss = make()
    loss.output_dim(10)
    with pytest.raises(TuidlError, match="needs 9"):
        loss(np.zeros((2, 10)), np.array([0, 1]))
    with pytest.raises(TuidlError, match="at least 2 classes"):
        make().output_dim(1)
    clustered = make(tree="clustered")
    clustered.output_dim(4)
    with pytest.raises(TuidlError, match=r"loss\.fit\(X_train, y_train\)"):
        clustered(np.zeros((1, 3)), np.array([0]))


def test_clustered_tree_groups_similar_classes(make):
    rng = np.random.default_rng(1)
    # classes 0,2,4,6 live near +10 and 1,3,5,7 near -10 on the first feature
    c = 8
    y = np.repeat(np.arange(c), 30)
    X = rng.normal(size=(len(y), 4))
    X[:, 0] += np.where(y % 2 == 0, 10.0, -10.0)
    loss = make(tree="clustered").fit(X, y)
    tree = loss.tree
    sides = [
        sorted(tree.leaves_under(int(tree.left[0]))),
        sorted(tree.leaves_under(int(tree.right[0]))),
    ]
    assert sorted(sides) == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert tree.depth == 3
    # deterministic: the same data gives the same tree
    again = make(tree="clustered").fit(X, y).tree
    np.testing.assert_array_equal(again.paths, tree.paths)


@pytest.mark.parametrize(("node_major", "n"), [(False, 16), (True, 16), (True, 600)])
def test_path_loss_equals_the_dense_chain_rule(make, node_major, n):
    rng = np.random.default_rng(3)
    dim, c = 7, 23
    X = rng.normal(size=(n, dim))
    W = rng.normal(size=(dim, c - 1))
    if node_major:
        W = np.ascontiguousarray(W.T).T  # same values, (K, D) storage
    b = rng.normal(size=c - 1)
    y = rng.integers(0, c, size=n)
    loss = make()
    value, ds = loss(X @ W + b, y)
    out = loss.path_loss(X, W, b, y)
    assert out.loss == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(out.dX, ds @ W.T, rtol=1e-10, atol=1e-14)
    dW, db = out.dense(c - 1)
    np.testing.assert_allclose(dW, X.T @ ds, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db, ds.sum(axis=0), rtol=1e-10, atol=1e-14)
    assert np.all(np.diff(out.nodes) > 0)
    untouched = np.setdiff1d(np.arange(c - 1), out.nodes)
    assert not np.any(X.T @ ds[:, untouched])


def test_path_loss_gradient_numerically(make):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 4))
    W = rng.normal(size=(4, 8))
    b = rng.normal(size=8)
    y = rng.integers(0, 9, size=6)
    loss = make()
    out = loss.path_loss(X, W, b, y)
    dW, db = out.dense(8)
    assert rel_error(dW, numeric_grad(lambda: loss.path_loss(X, W, b, y).loss, W)) < 1e-7
    assert rel_error(db, numeric_grad(lambda: loss.path_loss(X, W, b, y).loss, b)) < 1e-7
    assert rel_error(out.dX, numeric_grad(lambda: loss.path_loss(X, W, b, y).loss, X)) < 1e-7


def _blobs(c, n_per, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(c, dim))
    y = np.repeat(np.arange(c), n_per)
    return centers[y] + rng.normal(size=(len(y), dim)), y


def _train_dense(loss, X, y, c, steps=300):
    k = loss.output_dim(c)
    W = np.zeros((X.shape[1], k))
    b = np.zeros(k)
    for _ in range(steps):
        _, ds = loss(X @ W + b, y)
        W -= 0.5 * (X.T @ ds)
        b -= 0.5 * ds.sum(axis=0)
    return np.mean(loss.predict(X @ W + b) == y)


@pytest.mark.parametrize("tree", ["balanced", "clustered"])
def test_a_linear_classifier_learns_with_it(make, tree):
    # Enough dimensions that any split of the 12 blobs is linearly separable.
    X, y = _blobs(12, 40, 24, seed=5)
    assert _train_dense(make(tree=tree).fit(X, y), X, y, 12) > 0.95


def test_clustered_tree_beats_balanced_when_splits_must_be_linear(make):
    # 12 blobs in 10-D: an arbitrary half/half split is often not linearly separable, a
    # split by 2-means on the class means is. This is why the clustered tree exists.
    X, y = _blobs(12, 40, 10, seed=5)
    balanced = _train_dense(make(tree="balanced").fit(X, y), X, y, 12, steps=600)
    clustered = _train_dense(make(tree="clustered").fit(X, y), X, y, 12, steps=600)
    assert clustered > 0.97
    assert clustered > balanced + 0.1


def test_sparse_path_updates_learn_too(make):
    X, y = _blobs(50, 20, 16, seed=6)
    loss = make(tree="clustered").fit(X, y)
    k = loss.output_dim(50)
    V = np.zeros((k, 16))  # node-major weights: contiguous gathers
    b = np.zeros(k)
    rng = np.random.default_rng(0)
    for _ in range(600):
        rows = rng.choice(len(y), 128)
        g = loss.path_loss(X[rows], V.T, b, y[rows])
        V[g.nodes] -= 0.5 * g.dW.T
        b[g.nodes] -= 0.5 * g.db
    assert np.mean(loss.predict(X @ V.T + b) == y) > 0.9


def test_predict_handles_more_rows_than_one_chunk(make):
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(2500, 4))
    loss = make()
    np.testing.assert_array_equal(loss.predict(scores), np.argmax(loss.log_proba(scores), axis=1))


@pytest.mark.parametrize("classes", [2, 10, 37])
def test_chance_loss_is_the_loss_at_zero_scores_with_balanced_classes(make, classes):
    loss = make()
    K = loss.output_dim(classes)
    y = np.arange(classes)  # every class once: the mean over classes' paths
    assert loss(np.zeros((classes, K)), y)[0] == pytest.approx(loss.chance_loss(classes))
    if classes == 2:
        assert loss.chance_loss(2) == pytest.approx(np.log(2))
