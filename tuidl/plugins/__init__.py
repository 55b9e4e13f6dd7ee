"""The plugin system: hookspecs, the plugin manager and the component registry.

A plugin author needs three names from here::

    from tuidl.plugins import Component, Param, hookimpl

and one hook per kind of component (see :mod:`tuidl.plugins.hookspecs`).
"""

from tuidl.plugins.hookspecs import hookimpl
from tuidl.plugins.schema import KINDS, Component, Param

__all__ = ["KINDS", "Component", "Param", "hookimpl"]
