"""The built-in ``digits`` dataset: 1,797 8×8 grayscale handwritten digits, 10 classes.

It is the UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak,
1998; CC BY 4.0), the same 1,797 images scikit-learn bundles, stored in the package as
``tuidl/data/files/digits.npz`` (uint8 pixels 0..16) so it works offline and from a
non-editable install. It has no official test part: splits take test rows from the pool.
"""

from __future__ import annotations

from importlib import resources

from tuidl.data.dataset import Dataset
from tuidl.data.npz import load_npz

_RESOURCE = "files/digits.npz"


def load_digits() -> Dataset:
    """Load the packaged digits: X_train (1797, 8, 8) uint8 in 0..16, y_train int64 in 0..9.

    Raises :class:`tuidl.TuidlError` only if the installed package is damaged.
    """
    ref = resources.files("tuidl.data").joinpath(_RESOURCE)
    with resources.as_file(ref) as path:
        ds = load_npz(path, name="digits")
    # the file records no class names; these are the digits themselves
    return Dataset(
        name="digits",
        X_train=ds.X_train,
        y_train=ds.y_train,
        class_names=tuple(str(i) for i in range(10)),
        image_shape=ds.image_shape,
        source="built-in (UCI handwritten digits, CC BY 4.0)",
    )
