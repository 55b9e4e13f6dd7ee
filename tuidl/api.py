"""tuidl's public API for plugin authors, in one import.

``from tuidl.api import Component, Param, hookimpl, Loss, checked`` gives the registration
names (:mod:`tuidl.plugins`), the typed protocol of every kind of component
(:mod:`tuidl.plugins.api`), the error type users see, and the dataset builder. Helpers for
a plugin's own tests are in :mod:`tuidl.testing`.
"""

from tuidl.data.dataset import checked
from tuidl.errors import TuidlError
from tuidl.plugins import KINDS, Component, Param, hookimpl
from tuidl.plugins.api import *  # noqa: F403
from tuidl.plugins.api import __all__ as _protocols

__all__ = ["KINDS", "Component", "Param", "TuidlError", "checked", "hookimpl", *_protocols]
