"""The hooks a tuidl plugin implements; their docstrings are the plugin author's reference.

Every hook takes one argument, ``register``: call it once per component, with a
:class:`tuidl.plugins.Component` whose ``kind`` matches the hook. Built-in components are
registered through exactly these hooks. A hook that raises, or registers something invalid,
marks its whole plugin as failed (nothing from it is used) and every other plugin still loads.
What each factory returns is typed in :mod:`tuidl.api` (one ``Protocol`` per kind).

``docs/plugins.md`` is generated from this module; a test keeps the two in sync.
"""

import pluggy

PROJECT = "tuidl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_datasets(register):
    """Register datasets (``kind="dataset"``).

    The factory takes the validated params (for example ``path``) and returns a
    ``tuidl.data.Dataset``: ``X_train`` (N, ...) and ``y_train`` (N,) int64, optional
    ``X_test``/``y_test`` for an official test part, ``class_names`` and ``image_shape``.
    Build it with ``tuidl.data.dataset.checked(name, source, X_train, y_train, X_test=None,
    y_test=None, class_names=None)``, which validates the arrays (``tuidl.api.Dataset``).
    Loading problems (missing or corrupt files) raise ``tuidl.TuidlError`` naming the file.
    """


@hookspec
def register_preprocessors(register):
    """Register preprocessing steps (``kind="preprocessor"``).

    The factory returns an object with ``fit(X) -> self`` (called with training rows only),
    ``transform(X) -> X'`` (never refits) and ``output_shape(input_shape) -> tuple`` giving
    the per-row shape after the step, so a chain can report shapes before any data flows
    (``tuidl.api.Preprocessor``).
    """


@hookspec
def register_models(register):
    """Register models (``kind="model"``).

    A model is either fitted directly (``learnable = False``: ``fit(X, y)``,
    ``predict(X)``), like kNN, or trained by tuidl's minibatch loop (``learnable = True``):
    ``setup(input_dim, num_classes, loss, init, rng)``, a ``params`` dict of arrays,
    ``loss(X, y) -> (loss, grads)`` including regularization, ``scores(X)`` and
    ``predict(X)``, ``get_state()``/``set_state()`` (``tuidl.api.FittedModel`` and
    ``LearnableModel``). Name ``params`` keys as the built-ins do: weight matrices start
    with ``W`` (``W1``), biases with ``b`` (``b1``); optimizers rely on it.
    """


@hookspec
def register_losses(register):
    """Register losses (``kind="loss"``).

    The factory returns a callable ``loss(scores, y) -> (loss, dscores)`` where ``scores``
    is (N, K), ``y`` is (N,) int labels, ``loss`` is the mean data loss (a float) and
    ``dscores`` its gradient with respect to ``scores``. It also has
    ``output_dim(num_classes) -> K`` (usually ``num_classes``) and ``predict(scores) -> labels``.
    Optionally ``fit(X, y, num_classes)``: the trainer calls it with each fold's training
    rows before the model is set up (hierarchical softmax builds its class tree there).
    The protocol and the other optional extensions: ``tuidl.api.Loss``, ``FitsData``,
    ``PathLoss``, ``ReportsMetrics``.
    """


@hookspec
def register_initializers(register):
    """Register weight initializers (``kind="initializer"``).

    The factory returns an object with ``weights(fan_in, fan_out, rng, dtype) -> W`` of
    shape (fan_in, fan_out) and ``bias(fan_out, dtype) -> b``; ``rng`` is a
    ``numpy.random.Generator`` so that a seed fixes the result (``tuidl.api.Initializer``).
    """


@hookspec
def register_optimizers(register):
    """Register optimizers (``kind="optimizer"``).

    The factory returns an object with ``step(params, grads)`` that updates the arrays in
    ``params`` in place, keeping per-parameter state keyed by name, and ``end_epoch()``
    which applies the per-epoch learning-rate decay. ``lr`` holds the current rate. The
    keys of ``params`` are the model's names: weight matrices start with ``W`` (``W``,
    ``W1``, ...), biases with ``b``, batchnorm's scales and shifts are ``gamma1``/``beta1``;
    ``tuidl.api.is_weight(key)`` tells weights from the rest (``tuidl.api.Optimizer``).
    """


@hookspec
def register_searchers(register):
    """Register searchers (``kind="searcher"``): how a run picks the configurations it
    scores. The spec chooses one with ``[search] method = "NAME"``; the other keys of
    ``[search]`` are its params. Built in: ``grid`` (every combination, the default),
    ``random`` and ``halving``.

    The factory returns an object with ``setup(problem)``, ``ask(n) -> [Ask]`` and
    ``tell(told)`` (``tuidl.api.Searcher``; the data types are in ``tuidl.plugins.search``):
    the runner asks for up to ``n`` trials, each a configuration and a budget (folds, and
    epochs for learnable models), runs them and tells every result, until ``ask`` returns
    nothing with nothing in flight. A searcher draws its randomness from
    ``problem.seed`` and rebuilds its state from ``problem.history`` on a resume. Optional:
    ``should_prune(told) -> reason`` (``tuidl.api.PrunesFolds``) to stop a trial between
    folds.
    """
