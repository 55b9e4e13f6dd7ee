"""tuidl: a terminal workbench for classic neural-network experiments.

Importing the package is cheap and pulls in neither Textual nor plotext; the engine
(:mod:`tuidl.engine`) is pure numpy and usable on its own.
"""

from tuidl.errors import TuidlError

__version__ = "0.1.0"
__all__ = ["TuidlError", "__version__"]
