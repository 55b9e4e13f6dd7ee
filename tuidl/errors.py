"""The one exception type for errors a user can cause.

Bad params, bad files, a broken plugin, a bad spec: all raise :class:`TuidlError` with a
message that names the thing, the offending value and what is allowed. Views print the
message (never a traceback) and exit with status 2.
"""


class TuidlError(Exception):
    """A problem the user can fix; ``str(err)`` is the complete, user-facing message."""
