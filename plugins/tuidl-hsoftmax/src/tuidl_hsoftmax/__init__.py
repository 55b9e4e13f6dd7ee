"""tuidl-hsoftmax: a hierarchical softmax loss for tuidl, installed as a third-party plugin.

Use it through tuidl (``loss.name = "hsoftmax"``); the modules are :mod:`.tree` (class trees
as padded path arrays), :mod:`.loss` (the loss and its path-only fast path) and
:mod:`.plugin` (the entry point).
"""

__version__ = "0.1.0"
