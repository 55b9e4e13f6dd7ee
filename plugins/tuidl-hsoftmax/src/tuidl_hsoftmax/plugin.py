"""The tuidl plugin: registers the ``hsoftmax`` loss through the ``register_losses`` hook.

tuidl finds this module through the entry point in group ``tuidl`` (see pyproject.toml).
"""

from __future__ import annotations

from tuidl.plugins import Component, Param, hookimpl


def _make_loss(tree: str):
    """Hierarchical softmax: classes are leaves of a binary tree; each inner node is a
    logistic unit and a label's loss is -sum log sigmoid(+-s) along its path (~log2 C nodes).

    A model produces C - 1 scores (one per inner node). tree="clustered" groups classes by
    their mean training row; it needs the trainer to call loss.fit(X_train, y_train).
    """
    from tuidl_hsoftmax.loss import HSoftmaxLoss  # numpy work only when the loss is built

    return HSoftmaxLoss(tree=tree)


@hookimpl
def register_losses(register):
    register(
        Component(
            "loss",
            "hsoftmax",
            "Hierarchical softmax over a binary class tree (C - 1 logistic nodes).",
            factory=_make_loss,
            params=(
                Param(
                    "tree",
                    "choice",
                    "balanced",
                    "class tree: balanced halves of 0..C-1, or balanced 2-means on the "
                    "training rows' class means; with many classes and a linear model prefer "
                    "clustered (each node must separate its two halves of the classes)",
                    choices=("balanced", "clustered"),
                ),
            ),
        )
    )
