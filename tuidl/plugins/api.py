"""The typed contract of every kind of component: what the object a factory returns provides.

Import it as :mod:`tuidl.api` (``from tuidl.api import Loss, Optimizer``). Each kind is a
:class:`typing.Protocol`, so a plugin's classes need not inherit from anything: a type
checker (mypy, pyright) checks them structurally, and every protocol is
``runtime_checkable`` (``isinstance(obj, Loss)`` checks the methods are there, not their
signatures). ``tuidl plugins check`` (:mod:`tuidl.plugins.contract`) checks the behaviour.

What is **optional** is declared here as protocols of its own (``FitsData``, ``PathLoss``,
``ReportsMetrics``, ``ChanceLoss``, ``MultilabelTargets``, ``ShowsWeights``,
``ReportsHealth``): a component implements the ones it has and tuidl uses them only when
present. Everything else in a kind's protocol is required.

Array conventions: rows first (``X`` is (N, ...)), float32 unless a component is asked for
float64, labels int64 in ``range(num_classes)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Array = np.ndarray

# -- dataset ------------------------------------------------------------------------------------


@runtime_checkable
class Dataset(Protocol):
    """What a dataset factory returns; build it with ``tuidl.data.dataset.checked(...)``:

    ``checked(name, source, X_train, y_train, X_test=None, y_test=None, class_names=None)
    -> tuidl.data.Dataset`` validates the arrays (labels whole and in range, matching row
    counts, no NaN/inf, same per-row shape in both parts) and raises ``TuidlError``
    starting with ``source`` otherwise. ``class_names`` defaults to ``"0"``, ``"1"``, ...
    """

    name: str
    X_train: Array  # (N, ...) rows: images (N, H, W, C) or feature rows (N, D)
    y_train: Array  # (N,) int64 in range(len(class_names))
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...]  # X_train.shape[1:]
    X_test: Array | None  # an official test part, or None (both or neither)
    y_test: Array | None


@runtime_checkable
class MultilabelTargets(Protocol):
    """Optional, on a dataset: ``targets = "multilabel"`` means ``y`` is (N, A) of 0/1, one
    column per attribute named in ``class_names`` (see the tuidl-attributes plugin)."""

    targets: Literal["multilabel"]


# -- preprocessor ---------------------------------------------------------------------------------


@runtime_checkable
class Preprocessor(Protocol):
    """One step of the preprocessing chain."""

    def fit(self, X: Array) -> Preprocessor:
        """Learn from the training rows only; return ``self``. Must not modify ``X``."""
        ...

    def transform(self, X: Array) -> Array:
        """Apply the fitted state to any rows (never refit); a row's output depends only
        on that row. Must not modify ``X``; returns floating rows."""
        ...

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int | None, ...]:
        """The per-row shape after this step (``None`` entries: known only after fit)."""
        ...


# -- models ---------------------------------------------------------------------------------------


@runtime_checkable
class FittedModel(Protocol):
    """A model fitted directly, like kNN: ``learnable = False``."""

    learnable: bool  # False

    def fit(self, X: Array, y: Array) -> Any: ...

    def predict(self, X: Array) -> Array:
        """(N,) int labels."""
        ...


@runtime_checkable
class PredictsMany(Protocol):
    """Optional, on a fitted model: predictions for several values of one of its params at
    the cost of one (kNN: distances once, each k votes over a prefix of the neighbours).
    Declare which param with ``extra={"predicts_many": "k"}`` on the component: trials
    that differ only in it then share one fit and one call per fold. ``predict_many(X,
    [v])[v]`` must equal ``predict(X)`` of the model built with that value."""

    def predict_many(self, X: Array, values: Sequence[Any]) -> Mapping[Any, Array]:
        """``{value: (N,) labels}`` for every value given."""
        ...


@runtime_checkable
class LearnableModel(Protocol):
    """A model trained by tuidl's minibatch loop: ``learnable = True``.

    ``params`` maps names to the very arrays the model computes with; optimizers update
    them in place. **Key names:** weight matrices start with ``W`` and biases with ``b``
    (the built-in ``linear`` has ``W``, ``b``; ``fc_net`` has ``W1``, ``b1``, ... ``Wn``,
    ``bn`` and, with batchnorm, ``gamma1``, ``beta1``, ...). L2 regularization applies to
    the weights only; :func:`is_weight` tells the two apart for an optimizer that needs to
    (decoupled weight decay). A model of your own should follow the same naming.
    """

    learnable: bool  # True
    params: dict[str, Array]

    def setup(
        self,
        input_dim: int | Sequence[int],
        num_classes: int,
        loss: Loss,
        init: Initializer,
        rng: np.random.Generator,
    ) -> Any:
        """Create ``params`` (weights from ``init.weights``, biases from ``init.bias``,
        output width ``loss.output_dim(num_classes)``). Draw all randomness, dropout masks
        included, from ``rng``."""
        ...

    def loss(self, X: Array, y: Array) -> tuple[float, dict[str, Array]]:
        """Train-mode loss (data loss plus regularization) and a gradient per param key."""
        ...

    def scores(self, X: Array) -> Array:
        """Test-mode (N, K) scores."""
        ...

    def predict(self, X: Array) -> Array:
        """Test-mode (N,) labels (usually ``loss.predict(scores(X))``)."""
        ...

    def get_state(self) -> Any:
        """A deep copy of everything learned (params, running statistics)."""
        ...

    def set_state(self, state: Any) -> None: ...


Model = FittedModel | LearnableModel


@runtime_checkable
class ShowsWeights(Protocol):
    """Optional, on a model: its first layer's weights, which tuidl stores with a run (at
    most 100 units, float16) and draws as pictures for image datasets (``tuidl show RUN
    --weights``, the workbench's Pictures pane): a linear classifier's per-class templates,
    a net's first-layer features. A model without it shows "no weights to show"."""

    def first_layer_weights(self) -> tuple[Array, bool]:
        """``(W, per_class)``: (units, input_dim) rows, one per unit over the features the
        model sees (after preprocessing), and whether unit ``i`` scores class ``i``."""
        ...


def is_weight(key: str) -> bool:
    """True for a weight-matrix key of ``params`` (``W``, ``W1``, ``W_out``), False for
    biases and batchnorm scales/shifts (``b1``, ``gamma1``, ``beta1``): the naming rule
    of :class:`LearnableModel`."""
    return re.match(r"W(\d|_|$)", key) is not None


# -- loss -----------------------------------------------------------------------------------------


@runtime_checkable
class Loss(Protocol):
    """A data loss on the model's scores."""

    def output_dim(self, num_classes: int) -> int:
        """K, the number of scores per row the model must produce (usually num_classes)."""
        ...

    def __call__(self, scores: Array, y: Array) -> tuple[float, Array]:
        """``(loss, dscores)``: the mean loss over rows (a float) and its gradient with
        respect to ``scores``, same shape and dtype. ``scores`` is not modified."""
        ...

    def predict(self, scores: Array) -> Array:
        """(N,) int labels from (N, K) scores."""
        ...


@runtime_checkable
class FitsData(Protocol):
    """Optional, on a loss: called once per fold with the preprocessed training rows
    before the model is set up (hierarchical softmax builds its class tree here)."""

    def fit(self, X: Array, y: Array, num_classes: int) -> Any: ...


@runtime_checkable
class PathGradient(Protocol):
    loss: float
    dX: Array  # (N, D)
    nodes: Array  # (U,) the output columns touched
    dW: Array  # (D, U)
    db: Array  # (U,)


@runtime_checkable
class PathLoss(Protocol):
    """Optional, on a loss: an output-layer loss computed without all (N, K) scores.
    Must equal ``loss(X @ W + b, y)`` and the chain rule through it."""

    def path_loss(self, X: Array, W: Array, b: Array, y: Array) -> PathGradient: ...


@runtime_checkable
class ReportsMetrics(Protocol):
    """Optional, on a multi-label loss (``target = "multilabel"``): test metrics per
    attribute, ``{"attributes": {name: {metric: value}}, "mean": {metric: value}}``."""

    target: str

    def metrics(self, Y_true: Array, Y_pred: Array, names: Sequence[str]) -> Mapping[str, Any]: ...


@runtime_checkable
class ChanceLoss(Protocol):
    """Optional, on any loss: its value when every score is equal (0), which is about where a
    small-weight initialization starts. ``tuidl check`` compares the initial loss with it;
    without it that check is "n/a". The built-ins: ``ln C`` (softmax), ``(C - 1) * delta``
    (SVM), ``(C - 1) * delta**2`` (squared hinge)."""

    def chance_loss(self, num_classes: int) -> float: ...


@runtime_checkable
class ReportsHealth(Protocol):
    """Optional, on a learnable model: per-layer statistics of its last train-mode step,
    ``{"<stat>:<layer>": value}`` with stats ``act_mean``, ``act_std``, ``dead`` (fraction
    of ReLUs that output 0 on every row of the batch), ``bn_mean``, ``bn_var`` (see
    :func:`tuidl.engine.health.layer_stats`). Recorded while training beside the update/weight
    ratios and gradient norms every learnable model gets."""

    def layer_health(self) -> Mapping[str, float]: ...


# -- initializer and optimizer ---------------------------------------------------------------------


@runtime_checkable
class Initializer(Protocol):
    def weights(self, fan_in: int, fan_out: int, rng: np.random.Generator, dtype: Any) -> Array:
        """(fan_in, fan_out) in ``dtype``, drawn from ``rng`` only."""
        ...

    def bias(self, fan_out: int, dtype: Any) -> Array:
        """(fan_out,) in ``dtype``."""
        ...


@runtime_checkable
class Optimizer(Protocol):
    """Updates a model's params in place, with per-parameter state keyed by name."""

    lr: float  # the current learning rate

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Update every array of ``params`` **in place** (``p -= ...``, never
        ``params[k] = ...``) from ``grads[k]``; do not modify ``grads``. The keys follow
        :class:`LearnableModel`'s naming (:func:`is_weight`)."""
        ...

    def end_epoch(self) -> None:
        """Called after every epoch: apply the learning-rate decay."""
        ...


@runtime_checkable
class KeepsState(Protocol):
    """Optional, on an optimizer: its state can be saved and restored, so a successive
    halving rung continues the previous rung's training instead of starting over (without
    it, each rung trains from epoch 0). The engine's optimizers have it."""

    def get_state(self) -> dict[str, Any]:
        """A copy of everything the next :meth:`Optimizer.step` depends on (the rate, every
        parameter's moments and counters), made of floats, ints, arrays and dicts of them."""
        ...

    def set_state(self, saved: Mapping[str, Any], params: Mapping[str, Array]) -> None:
        """Restore a :meth:`get_state` result for ``params``: the next ``step`` continues
        exactly where the saved optimizer stopped. Raise ``ValueError`` when it does not fit."""
        ...


# -- searcher -----------------------------------------------------------------------------------


@runtime_checkable
class Searcher(Protocol):
    """Proposes configurations and budgets; the runner schedules them and reports back.

    The types it exchanges are in :mod:`tuidl.plugins.search` (``Dimension``, ``Budget``,
    ``Ask``, ``Told``, ``SearchProblem``). The loop, run by the runner in its own process::

        searcher.setup(problem)              # once; problem.history: a resumed run's trials
        while True:
            asks = searcher.ask(n)           # n: free worker slots (at least 1)
            ...                              # create trials, run their folds, fold-major
            searcher.tell(told)              # each trial that reached its budget, or ended
            # ask() == [] with nothing in flight: the search is over

    - ``ask(n)`` returns at most ``n`` :class:`~tuidl.plugins.search.Ask` (a new trial on a
      budget, or an existing trial continued to more folds). An empty list while trials are
      in flight means "wait for a result"; an empty list with nothing in flight ends the
      search. Asking for more than ``n`` is allowed (the runner queues them) but an
      asynchronous searcher should not, so that it sees results before it commits.
    - Trial numbers: new trials get consecutive numbers in the order they are asked,
      starting at ``len(problem.history)`` (0 for a new run); ``Told.trial`` is that number,
      so a searcher can map it to its own records (Optuna's trial).
    - ``tell(told)`` is called once per trial when it reaches its budget (``status="ok"``)
      or ends early (``diverged``, ``failed``, ``pruned``); a continued trial is told again
      when it reaches its new budget.
    - Reproducible: draw every random number from ``problem.seed`` (e.g. trial ``i``'s
      values from ``numpy.random.SeedSequence(seed, spawn_key=(2, i))``), so a run with the
      same seed proposes the same trials.
    - Resumable: ``problem.history`` holds every trial already stored, in creation order,
      with its budget, status and fold scores. The searcher rebuilds its state from it
      (deterministic replay from the seed and the told results) and continues; it must not
      propose them again as new trials. A ``pending`` one (not finished) runs on only if the
      searcher asks for it again, ``Ask(params, budget, trial=i)``; one it never asks for
      again keeps the folds it has (and ends ``pruned`` if that is below the full budget).

    Optional: an ``exhausted`` attribute (or property) that turns true once ``ask`` will
    never return anything again, whatever it is told (grid and random, once all is asked);
    the runner then stops asking and finishes the trials in flight.

    The trials a searcher leaves below the full budget (fewer folds, fewer epochs) are
    marked ``pruned`` when the search ends; only full-budget trials compete for best.
    Optuna's ask-and-tell maps onto this directly (``study.ask()`` per Ask, ``study.tell``
    per Told); its pruner onto the optional :class:`PrunesFolds`.
    """

    def setup(self, problem: Any) -> None:
        """Take the :class:`~tuidl.plugins.search.SearchProblem` (space, seed, folds,
        epochs, workers, history). Raise ``TuidlError`` for a space it cannot search
        (the grid: a continuous distribution), naming the key."""
        ...

    def ask(self, n: int) -> Sequence[Any]:
        """Up to ``n`` :class:`~tuidl.plugins.search.Ask` (see the class docstring)."""
        ...

    def tell(self, result: Any) -> None:
        """A trial's :class:`~tuidl.plugins.search.Told` result."""
        ...


@runtime_checkable
class PrunesFolds(Protocol):
    """Optional, on a searcher: a pruner of its own (Optuna's, say). After each fold a
    trial finishes below its budget, the runner calls ``should_prune(told)`` (``told``: the
    trial so far, ``status="pending"``, ``fold_scores`` with the folds done); a non-empty
    string stops the trial as ``pruned`` with that reason. It runs besides the spec's
    ``cv.prune`` rule, not instead."""

    def should_prune(self, told: Any) -> str: ...


KIND_PROTOCOLS: dict[str, tuple[type, ...]] = {
    "dataset": (Dataset,),
    "preprocessor": (Preprocessor,),
    "model": (FittedModel, LearnableModel),
    "loss": (Loss,),
    "initializer": (Initializer,),
    "optimizer": (Optimizer,),
    "searcher": (Searcher,),
}
OPTIONAL = {
    "dataset": (MultilabelTargets,),
    "model": (ShowsWeights, ReportsHealth, PredictsMany),
    "loss": (FitsData, PathLoss, ReportsMetrics, ChanceLoss),
    "searcher": (PrunesFolds,),
    "optimizer": (KeepsState,),
}

__all__ = [
    "KIND_PROTOCOLS",
    "OPTIONAL",
    "ChanceLoss",
    "Dataset",
    "FitsData",
    "FittedModel",
    "Initializer",
    "KeepsState",
    "LearnableModel",
    "Loss",
    "Model",
    "MultilabelTargets",
    "Optimizer",
    "PathGradient",
    "PathLoss",
    "PredictsMany",
    "Preprocessor",
    "PrunesFolds",
    "ReportsHealth",
    "ReportsMetrics",
    "Searcher",
    "ShowsWeights",
    "is_weight",
]
