"""Unpickling CIFAR-10's files without trusting pickle, and parsing them with the pixels cut out.

Safety: the files are unpickled by :class:`SafeUnpickler`, which resolves only numpy's
array reconstruction, ``ndarray`` and ``dtype`` (what the real files name), plus plain
sets and Python 3's spelling of ``bytes``, and refuses every other global before anything
is called, so a tampered file cannot run code. :func:`safe_load` turns every failure into a
:class:`~tuidl.errors.TuidlError` naming the file.

Speed: unpickling a batch reads its 30 MB pixel string into a fresh bytes object and
copies it into the array. :func:`load_cut` instead maps the file read-only and parses the
pickle with the pixel string cut out: the first ``NEWFALSE`` + ``BINSTRING``/``BINBYTES``
opcode whose 4-byte length is a whole number of rows and fits the file is taken for the
array's raw data, and :class:`SafeUnpickler` (the same allow-list, the same C unpickler)
parses the file with those ``5 + L`` bytes replaced by a 16-byte string of fresh random
bytes. The caller then reads the pixels straight from the mapping (the page cache) through
:meth:`CutPickle.pixels`. Why this is as safe and gives the same result as unpickling the
whole file:

* Every byte that is interpreted as a pickle opcode is interpreted by SafeUnpickler: the
  bytes before the cut and after it are parsed, the cut-out bytes are never parsed, only
  copied as pixels. A refused global anywhere, before or after the pixels, fails the parse.
* The only change to the allow-list is that numpy's ``_reconstruct``, called exactly as
  numpy pickles an array, returns an inert stand-in (:class:`_PixelArray`) that can only
  be BUILT once, and only with the state ``(1, (n, row), uint8, False, <the random
  string>)`` (``row`` is the caller's row length, 3,072 for CIFAR-10). Every other use of
  it (hashing, item assignment, calling, iterating, as a buffer, shape or dtype, a second
  BUILD) raises, so the cut parse fails wherever the whole-file parse would do more with
  the array than store it. Any other ``_reconstruct`` call goes to numpy.
* The parse is accepted only if that BUILD saw the random string (:meth:`CutPickle.pixels`
  checks it). Nobody can write those bytes into the file beforehand, and the only way to
  read exactly them as a string is a ``T``/``B`` opcode at the cut, so the parser really
  was at an opcode boundary there. The bytes before the cut are the file's own, so
  unpickling the whole file reaches the same opcode with the same state, reads the L pixel
  bytes as the string, and continues at the same place with the same bytes. The random
  string is shorter than any payload and is not a valid dtype, so nothing that fails on the
  payload succeeds on it.
* The argument relies on the C unpickler, for which FRAME opcodes only announce how much
  to buffer; where there is none, :func:`load_cut` does not apply.
* The caller decides what it accepts from the result (for CIFAR-10: a dict whose data is
  the stand-in and whose labels are a list of plain ints, then the same checks as any other
  batch), and anything else (no candidate, a parse error, a refused global, an unexpected
  shape, an error in the checks) must fall back to unpickling the whole file with
  :func:`safe_load`, which gives the same result or the same error as without the cut.

The mapping stays alive as long as a pixel view of it does. A file truncated by another
process while a view of it is read can end the process with SIGBUS (as with any memory
map); replacing files is safe.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from typing import IO

import numpy as np

from tuidl.errors import TuidlError


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (``module.name`` in ``args[0]``)."""


def _latin1_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """How Python 3 spells ``bytes`` in protocol 2 (``_codecs.encode(text, "latin1")``):
    allowed so a batch re-pickled by Python 3 loads, but only for that one codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise RefusedGlobal(f"_codecs.encode with codec {encoding!r}")
    return text.encode("latin-1")


# The real files name exactly these globals. numpy 2 renamed numpy.core to numpy._core; both
# spellings resolve to the function numpy itself uses to unpickle arrays, taken from
# ndarray.__reduce__ so that the deprecated numpy.core module is never imported.
_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # plain containers: protocol 2 spells sets as a call of builtins.set / frozenset
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_bytes,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that only builds numpy arrays, dtypes and plain containers.

    Every global a pickle refers to goes through :meth:`find_class`; anything not in the
    allow-list raises :class:`RefusedGlobal` before it is imported or called. Extension
    codes and persistent ids also end up here or are unsupported, so nothing else can run.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def safe_load(fileobj: IO[bytes], source: str):
    """Unpickle one CIFAR-10 file with :class:`SafeUnpickler`; raise TuidlError on any problem.

    Python-2 ``str`` values come back as ``bytes`` (``encoding="bytes"``, like the classic
    loader), so dict keys are ``b"data"`` and so on. The error names ``source`` and says
    whether a global was refused, the pickle is truncated or corrupt, or it cannot be read.
    """
    try:
        return SafeUnpickler(fileobj, encoding="bytes").load()
    except RefusedGlobal as exc:
        raise TuidlError(
            f"{source}: refused to load: the pickle asks for {exc.args[0]}, which a CIFAR-10 "
            "file never contains (only numpy arrays, lists and dicts); nothing in it was run. "
            "The file is damaged or was tampered with; fetch it again."
        ) from None
    except (EOFError, pickle.UnpicklingError) as exc:
        raise TuidlError(
            f"{source}: truncated or corrupt pickle ({exc or type(exc).__name__}); fetch it again"
        ) from None
    except (tarfile.TarError, zlib.error, OSError) as exc:
        raise TuidlError(f"{source}: cannot read it ({exc})") from None
    except Exception as exc:  # ndarray.__setstate__ and friends on inconsistent data
        raise TuidlError(f"{source}: corrupt CIFAR-10 file ({type(exc).__name__}: {exc})") from None


def _find_pixels(mm: mmap.mmap, row: int) -> tuple[int, int] | None:
    """Offset and length L of the first string opcode that can hold the pixels, or None.

    numpy pickles an array's state as (version, shape, dtype, is_fortran, rawdata): a C-order
    array ends in NEWFALSE and then the raw bytes, ``T`` (BINSTRING, Python 2) or ``B``
    (BINBYTES, Python 3's protocol 3+) with a 4-byte little-endian length. L must be a whole
    number of ``row``-byte rows.
    """
    size, best = len(mm), None
    for marker in (pickle.NEWFALSE + pickle.BINSTRING, pickle.NEWFALSE + pickle.BINBYTES):
        end = size if best is None else best[0]
        at = mm.find(marker, 0, end)
        while at >= 0:
            pos = at + 1
            length = int.from_bytes(mm[pos + 1 : pos + 5], "little")
            # < size: at least one opcode (STOP) must follow the string
            if 0 < length < 2**31 and length % row == 0 and pos + 5 + length < size:
                best = (pos, length)
                break
            at = mm.find(marker, at + 1, end)
    return best


# The argument in the module docstring relies on the C unpickler, for which FRAME opcodes
# only announce how much to buffer; the pure-Python one also checks that reads stay inside
# frames.
_C_UNPICKLER = pickle.Unpickler is not getattr(pickle, "_Unpickler", None)


class _PixelArray:
    """What numpy's ``_reconstruct(ndarray, (0,), b"b")`` returns while the pixels are cut out.

    It accepts exactly one BUILD, with the state a C-order (n, row) uint8 array has when its
    raw data is the cut's random stand-in string, and records n; any other state, or a
    second BUILD, raises UnpicklingError. It cannot be hashed, assigned into, called,
    iterated or read as a buffer, so whatever a real array would do beyond being stored
    fails here.
    """

    __slots__ = ("_row", "_token", "rows")
    __hash__ = None  # type: ignore[assignment]  # unhashable, like an ndarray

    def __init__(self, token: bytes, row: int):
        self._token = token
        self._row = row
        self.rows: int | None = None

    def __setstate__(self, state) -> None:
        if self.rows is not None:
            raise pickle.UnpicklingError("the pixel array is built twice")
        if not (type(state) is tuple and len(state) == 5):
            raise pickle.UnpicklingError("unexpected array state")
        version, shape, dtype, fortran, raw = state
        if not (
            type(version) is int
            and version == 1
            and type(shape) is tuple
            and len(shape) == 2
            and type(shape[0]) is int
            and type(shape[1]) is int
            and shape[0] > 0
            and shape[1] == self._row
            and isinstance(dtype, np.dtype)
            and dtype == np.uint8
            and fortran is False
            and type(raw) is bytes
            and raw == self._token
        ):
            raise pickle.UnpicklingError("not the cut-out pixel array")
        self.rows = shape[0]


class _CutUnpickler(SafeUnpickler):
    """SafeUnpickler whose numpy ``_reconstruct`` returns :class:`_PixelArray` for the call
    numpy makes for every array, and hands any other call to numpy."""

    def __init__(self, file: IO[bytes], token: bytes, row: int):
        super().__init__(file, encoding="bytes")
        self.token = token
        self.row = row

    def find_class(self, module: str, name: str):
        found = super().find_class(module, name)
        return self._reconstruct if found is _RECONSTRUCT else found

    def _reconstruct(self, cls, shape, typecode):
        if (
            cls is np.ndarray
            and type(shape) is tuple
            and len(shape) == 1
            and type(shape[0]) is int
            and shape[0] == 0
            and type(typecode) is bytes
            and typecode == b"b"
        ):
            return _PixelArray(self.token, self.row)
        return _RECONSTRUCT(cls, shape, typecode)


@dataclass
class CutPickle:
    """A pickle parsed with its pixel string cut out: ``obj`` holds a stand-in for the array."""

    obj: object
    _mm: mmap.mmap
    _offset: int  # where the pixel bytes start in the mapping
    _length: int
    _row: int

    def pixels(self, stand_in: object) -> np.ndarray | None:
        """The (n, row) read-only view of the mapped pixels, if ``stand_in`` is the array the
        parse built from the cut (it saw the random string and holds all L bytes), else None.
        """
        if (
            type(stand_in) is not _PixelArray
            or stand_in.rows is None
            or stand_in.rows * self._row != self._length
        ):
            return None
        # the pixels: a read-only view of the page cache, never parsed
        data = np.frombuffer(self._mm, np.uint8, count=self._length, offset=self._offset + 5)
        return data.reshape(stand_in.rows, self._row)


def load_cut(f: IO[bytes], row: int) -> CutPickle | None:
    """Map ``f`` and parse it with :class:`SafeUnpickler`, the pixel string cut out.

    Returns None where the cut does not apply (no C unpickler, a file that cannot be mapped,
    no string that can hold whole ``row``-byte rows); raises whatever the parse raises
    (UnpicklingError, :class:`RefusedGlobal`, EOFError, errors from numpy, ...). In every
    such case, and whenever the caller rejects the result, it must unpickle the whole file
    with :func:`safe_load` instead (see the module docstring for why).
    """
    if not _C_UNPICKLER:
        return None
    try:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # empty file, or a file system without mmap
        return None
    found = _find_pixels(mm, row)
    if found is None:
        return None
    pos, length = found
    token = b"\xff" + os.urandom(15)  # \xff: never a dtype, nor valid UTF-8
    head, tail = mm[: pos + 1], mm[pos + 5 + length :]
    cut = b"".join((head, len(token).to_bytes(4, "little"), token, tail))
    del head, tail
    obj = _CutUnpickler(io.BytesIO(cut), token, row).load()
    return CutPickle(obj, mm, pos, length, row)
