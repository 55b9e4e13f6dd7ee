"""tuidl-optuna: Optuna's TPE sampler (and its pruner) as a tuidl searcher, installed as a
third-party plugin.

Use it through tuidl (``search.name = "tpe"``); the modules are :mod:`.searcher` (the
ask-and-tell bridge between tuidl's search space and an Optuna study) and :mod:`.plugin`
(the entry point).
"""

__version__ = "0.1.0"
