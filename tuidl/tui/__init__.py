"""The Textual workbench (``tuidl`` with no arguments, or ``tuidl tui SPEC``).

Importing this package is cheap; Textual is only imported by :mod:`tuidl.tui.app` and the
widgets. :mod:`tuidl.tui.backend` and :mod:`tuidl.tui.specdoc` are plain Python.
"""
