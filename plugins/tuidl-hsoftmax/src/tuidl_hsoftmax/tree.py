"""Binary class trees for hierarchical softmax, stored as padded per-class path arrays.

A tree over ``C`` classes has ``C - 1`` inner nodes, numbered in preorder (the root is 0).
Each class (leaf) has a path from the root: the inner nodes it passes and, at each, the
direction taken (+1 left, -1 right). The paths are kept as two ``(C, L)`` arrays, padded to
the depth ``L``, so that the loss for a batch is one gather (``paths[y]``) and its gradient
one scatter; nothing loops over rows or nodes in Python at train time.

Both builders keep the tree balanced (every leaf at depth ``floor`` or ``ceil`` of
``log2(C)``): a path length of ``~log2(C)`` is the whole point of hierarchical softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuidl.errors import TuidlError


@dataclass(frozen=True)
class ClassTree:
    """A binary tree over ``num_classes`` leaves.

    ``paths[c, l]`` is the ``l``-th inner node on class ``c``'s path, ``signs[c, l]`` is +1
    (go left: probability ``sigmoid(s)``) or -1 (right: ``sigmoid(-s)``), and 0 past the end
    of a short path, where ``paths`` holds 0 (the root) so that it can always be gathered.
    ``left``/``right`` give each inner node's children: an inner node ``k >= 0`` or a leaf
    encoded as ``-1 - c``.
    """

    num_classes: int
    paths: np.ndarray  # (C, L) int64
    signs: np.ndarray  # (C, L) float64 in {+1, -1, 0}
    left: np.ndarray  # (C-1,) int64
    right: np.ndarray  # (C-1,) int64

    @property
    def num_nodes(self) -> int:
        return self.num_classes - 1

    @property
    def depth(self) -> int:
        return int(self.paths.shape[1])

    def leaves_under(self, node: int) -> list[int]:
        """The classes below inner node ``node`` (left subtree first)."""
        out: list[int] = []
        stack = [node]
        while stack:
            k = stack.pop()
            if k < 0:
                out.append(-1 - k)
            else:
                stack.extend((int(self.right[k]), int(self.left[k])))
        return out


def balanced_tree(num_classes: int) -> ClassTree:
    """Classes ``0..C-1`` in order, split in halves recursively (left half gets the extra)."""
    _check_classes(num_classes)
    return _build(list(range(num_classes)), _halves)


def clustered_tree(class_means: np.ndarray, iters: int = 4) -> ClassTree:
    """A balanced tree whose splits group classes with similar means.

    Each inner node splits its classes into two halves by balanced 2-means on their means:
    start from the split along the principal direction (found by power iteration, so the
    result is deterministic), then alternate "centroids of the halves" and "re-split at the
    median of dist(a) - dist(b)" ``iters`` times. ``class_means`` is (C, D) and finite;
    classes absent from the data should be given the overall mean by the caller.
    """
    means = np.asarray(class_means, dtype=np.float64)
    if means.ndim != 2:
        raise TuidlError(f"hsoftmax: class means must be (C, D), got shape {means.shape}")
    _check_classes(means.shape[0])
    if not np.all(np.isfinite(means)):
        raise TuidlError("hsoftmax: class means contain NaN or infinity")
    return _build(list(range(means.shape[0])), lambda group: _two_means(group, means, iters))


def _check_classes(num_classes: int) -> None:
    if int(num_classes) < 2:
        raise TuidlError(f"hsoftmax needs at least 2 classes, got {num_classes}")


def _halves(group: list[int]) -> tuple[list[int], list[int]]:
    mid = (len(group) + 1) // 2
    return group[:mid], group[mid:]


def _two_means(group: list[int], means: np.ndarray, iters: int) -> tuple[list[int], list[int]]:
    if len(group) == 2:
        return [group[0]], [group[1]]
    idx = np.asarray(group)
    pts = means[idx] - means[idx].mean(axis=0)
    mid = (len(group) + 1) // 2
    order = np.argsort(pts @ _principal_direction(pts), kind="stable")
    for _ in range(iters):
        a = pts[order[:mid]].mean(axis=0)
        b = pts[order[mid:]].mean(axis=0)
        # |p-a|^2 - |p-b|^2 = 2 p.(b-a) + |a|^2 - |b|^2; the constant does not change the order.
        new = np.argsort(pts @ (b - a), kind="stable")
        if np.array_equal(np.sort(new[:mid]), np.sort(order[:mid])):
            break
        order = new
    left = sorted(idx[order[:mid]].tolist())
    right = sorted(idx[order[mid:]].tolist())
    return left, right


def _principal_direction(pts: np.ndarray, steps: int = 20) -> np.ndarray:
    norms = np.einsum("ij,ij->i", pts, pts)
    v = pts[int(np.argmax(norms))].copy()  # in the span of the data, so never orthogonal to it
    if not np.any(v):
        return np.ones(pts.shape[1]) / np.sqrt(pts.shape[1])  # all means equal: any split
    for _ in range(steps):
        v = pts.T @ (pts @ v)
        v /= np.linalg.norm(v) or 1.0
    return v


def _build(classes: list[int], split) -> ClassTree:
    num_classes = len(classes)
    left = np.zeros(num_classes - 1, dtype=np.int64)
    right = np.zeros(num_classes - 1, dtype=np.int64)
    class_path: dict[int, list[tuple[int, int]]] = {}
    next_node = 0
    # (group, path so far, slot to fill in the parent: (parent, is_left) or None for the root)
    stack: list[tuple[list[int], list[tuple[int, int]], tuple[int, bool] | None]] = [
        (classes, [], None)
    ]
    while stack:
        group, path, slot = stack.pop()
        if len(group) == 1:
            ident = -1 - group[0]
            class_path[group[0]] = path
        else:
            ident = next_node
            next_node += 1
            a, b = split(group)
            # Push right first so the left subtree is numbered first (preorder).
            stack.append((b, [*path, (ident, -1)], (ident, False)))
            stack.append((a, [*path, (ident, +1)], (ident, True)))
        if slot is not None:
            parent, is_left = slot
            (left if is_left else right)[parent] = ident
    depth = max(len(p) for p in class_path.values())
    paths = np.zeros((num_classes, depth), dtype=np.int64)
    signs = np.zeros((num_classes, depth), dtype=np.float64)
    for c, path in class_path.items():
        for i, (node, sign) in enumerate(path):
            paths[c, i] = node
            signs[c, i] = sign
    return ClassTree(num_classes, paths, signs, left, right)
