"""The one exception type for errors a user can cause.

Bad params, bad files, a broken plugin, a bad spec: all raise :class:`TuidlError` with a
message that names the thing, the offending value and what is allowed. Views print the
message (never a traceback) and exit with status 2.
"""


class TuidlError(Exception):
    """A problem the user can fix; ``str(err)`` is the complete, user-facing message."""


class StorageError(TuidlError):
    """Writing to disk failed: the disk (or the store's file) is full, or it reported an
    I/O error. Not the fault of the trial being computed: a run that meets one stops as
    ``interrupted`` (never marks the trial failed) and ``tuidl run --resume`` re-runs what
    had not been committed once space is free."""


_STORAGE_TEXTS = (
    "database or disk is full",
    "disk i/o error",
    "no space left on device",
    "disk quota exceeded",
)


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk could not take a write (see :class:`StorageError`):
    an OSError with ENOSPC, EDQUOT, EIO, EFBIG or EROFS, or an SQLite full/IO error."""
    import errno

    if isinstance(exc, StorageError):
        return True
    if isinstance(exc, OSError):
        codes = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EROFS}
        codes.add(getattr(errno, "EDQUOT", errno.ENOSPC))
        if exc.errno is None:  # numpy's short write: "38400 requested and 28544 written"
            return " requested and " in str(exc) and str(exc).endswith(" written")
        return exc.errno in codes
    return is_storage_message(str(exc))


def is_storage_message(text: str) -> bool:
    """Whether a stored failure message is a disk-full / I/O error (older tuidl stored
    such folds as failed trials; a resume runs them again)."""
    low = text.lower()
    return any(t in low for t in _STORAGE_TEXTS)
