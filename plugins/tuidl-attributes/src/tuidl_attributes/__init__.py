"""tuidl-attributes: attribute (multi-label) classification for tuidl, as a plugin.

:mod:`.loss` (independent per-attribute logistic losses and metrics), :mod:`.datasets`
(attribute tables and datasets derived from the built-ins) and :mod:`.plugin` (the entry
point). Targets are ``(N, A)`` arrays of 0/1; see the README for the contract extension.
"""

__version__ = "0.1.0"
