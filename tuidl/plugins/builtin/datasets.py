"""Built-in datasets: the embedded digits, CIFAR-10 from its original files, a user's .npz."""

from tuidl.data import cifar10
from tuidl.data.cifar10 import load_cifar10
from tuidl.data.digits import load_digits
from tuidl.data.npz import load_npz
from tuidl.plugins import Component, Param, hookimpl


def _digits():
    """UCI handwritten digits: 1,797 8x8 grayscale images (pixels 0..16), 10 classes.

    Embedded in tuidl (CC BY 4.0, Alpaydin & Kaynak), so it works offline. It has no
    official test part: a split takes its test rows from the pool after train and
    validation.
    """
    return load_digits()


def _cifar10(path):
    """CIFAR-10: 50,000 training and 10,000 test 32x32 RGB images in 10 classes.

    Reads the original cifar-10-batches-py folder, its parent, or cifar-10-python.tar.gz,
    with a restricted unpickler that cannot run code. Without a path it looks in data/ of
    a checkout (or the user data dir); `tuidl data fetch cifar10` puts it there.
    """
    return load_cifar10(path)


def _npz(path):
    """Your own dataset in one .npz: X (N, ...) and y (N,), optionally X_test, y_test and
    class_names (a string array). Loaded with allow_pickle=False; NaN/inf refused.
    """
    return load_npz(path)


@hookimpl
def register_datasets(register):
    register(
        Component(
            "dataset",
            "digits",
            "Handwritten digits, 1,797 8x8 images (built in)",
            _digits,
            extra={"targets": "class"},  # declared, so `spec check` can match the loss to it
        )
    )
    register(
        Component(
            "dataset",
            "cifar10",
            "CIFAR-10, 60,000 32x32 colour images in 10 classes",
            _cifar10,
            (
                Param(
                    "path",
                    "str",
                    None,
                    f"the {cifar10.FOLDER} folder, its parent, or {cifar10.ARCHIVE}; "
                    "none: data/ in a checkout or the user data dir (run `tuidl data fetch "
                    "cifar10` first)",
                    nullable=True,
                ),
            ),
            extra={"targets": "class"},
        )
    )
    register(
        Component(
            "dataset",
            "npz",
            "Your own arrays from an .npz file (X, y, optional X_test, y_test, class_names)",
            _npz,
            (Param("path", "str", None, "the .npz file to load"),),
            extra={"targets": "class"},
        )
    )
