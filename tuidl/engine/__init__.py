"""The engine: pure numpy building blocks, readable like a textbook and fast.

No Textual, no plotext, no pluggy, no file I/O here (a test enforces it). Contracts:

- **Layer** (``layers``): ``forward(x, mode) -> out`` with ``mode`` "train" or "test",
  keeping its own cache; ``backward(dout) -> dx`` filling ``self.grads`` (same keys as
  ``self.params``). Affine, ReLU, BatchNorm, Dropout.
- **Loss** (``losses``): ``loss(scores, y) -> (loss, dscores)``, mean over rows;
  ``output_dim(num_classes)``; ``predict(scores) -> labels``.
- **Initializer** (``init``): ``weights(fan_in, fan_out, rng, dtype)``, ``bias(fan_out, dtype)``.
- **Optimizer** (``optim``): ``step(params, grads)`` updates arrays in place with
  per-parameter state keyed by name; ``end_epoch()`` applies lr decay; ``lr``.
- **Model** (``models``): ``learnable = False`` models have ``fit(X, y)`` and ``predict(X)``;
  ``learnable = True`` models have ``setup(input_dim, num_classes, loss, init, rng)``,
  ``params`` (name -> array), ``loss(X, y) -> (loss, grads)`` (train mode, including L2
  ``reg * sum(W**2)`` over weights, not biases), ``scores(X)`` and ``predict(X)`` (test
  mode), and ``get_state()`` / ``set_state(state)`` for keep-best early stopping.
- **Preprocessor** (``preprocess``): ``fit(X) -> self`` on training rows only,
  ``transform(X)`` without refitting, ``output_shape(input_shape)``.

float32 is the default dtype everywhere; float64 on request (gradient checks use it).
"""
