"""Attribute datasets derived from the built-in class datasets.

An attribute table maps each class to 0/1 per attribute; the targets of row ``i`` are the
table row of its class, so ``Y = table[y]`` is (N, A). The choices below are definitions,
not facts about each image (a handwritten 4 may or may not be closed); they are written down
so results are reproducible and arguable.

Digits (UCI 8x8, classes 0-9):

- ``even``: 0, 2, 4, 6, 8.
- ``ge5``: 5, 6, 7, 8, 9.
- ``closed_loop``: 0, 6, 8, 9, the digits whose usual handwritten glyph encloses a region.
  4 is *not* counted: in this dataset (and most handwriting) its top is usually open.

CIFAR-10 (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck):

- ``animal``: bird, cat, deer, dog, frog, horse.
- ``vehicle``: airplane, automobile, ship, truck.
- ``has_wheels``: airplane (landing gear), automobile, truck.
- ``can_fly``: airplane, bird.
- ``on_water``: ship, frog (found on or in water).
- ``four_legs``: cat, deer, dog, frog, horse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tuidl.data.dataset import Dataset
from tuidl.errors import TuidlError

DIGIT_ATTRIBUTES: dict[str, set[str]] = {
    "even": {"0", "2", "4", "6", "8"},
    "ge5": {"5", "6", "7", "8", "9"},
    "closed_loop": {"0", "6", "8", "9"},
}

CIFAR10_ATTRIBUTES: dict[str, set[str]] = {
    "animal": {"bird", "cat", "deer", "dog", "frog", "horse"},
    "vehicle": {"airplane", "automobile", "ship", "truck"},
    "has_wheels": {"airplane", "automobile", "truck"},
    "can_fly": {"airplane", "bird"},
    "on_water": {"ship", "frog"},
    "four_legs": {"cat", "deer", "dog", "frog", "horse"},
}


@dataclass(frozen=True)
class AttributeDataset(Dataset):
    """A :class:`Dataset` whose targets are attributes: the multi-label extension.

    ``y_train``/``y_test`` are (N, A) int64 of 0/1 and ``class_names`` are the A attribute
    names (so ``num_classes`` is A, the width a model must produce). ``targets`` is
    ``"multilabel"``; ``base_class_names``, ``base_y_train``/``base_y_test`` keep the
    original classes and ``table`` (C, A) the mapping, for views that want them.
    """

    targets: str = "multilabel"
    base_class_names: tuple[str, ...] = ()
    base_y_train: np.ndarray | None = None
    base_y_test: np.ndarray | None = None
    table: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))

    def class_counts(self, part: str = "train") -> np.ndarray:
        """Rows having each attribute in ``part`` (positives per attribute), int64 (A,)."""
        y = self.y_train if part == "train" else self.y_test
        if y is None:
            return np.zeros(self.num_classes, dtype=np.int64)
        return np.asarray(y).sum(axis=0).astype(np.int64)


def attribute_table(class_names, attributes: dict[str, set[str]]) -> np.ndarray:
    """(C, A) int64 0/1: ``table[c, a]`` is 1 when class ``c`` has attribute ``a``."""
    names = [str(c) for c in class_names]
    unknown = set().union(*attributes.values()) - set(names)
    if unknown:
        raise TuidlError(
            f"attribute table names classes {sorted(unknown)} that the dataset lacks; "
            f"its classes are {names}"
        )
    return np.array(
        [[int(c in members) for members in attributes.values()] for c in names], dtype=np.int64
    )


def derive(base: Dataset, attributes: dict[str, set[str]], name: str) -> AttributeDataset:
    """The attribute version of ``base``: same images, targets ``table[y]``."""
    table = attribute_table(base.class_names, attributes)
    y_test = None if base.y_test is None else table[base.y_test]
    return AttributeDataset(
        name=name,
        X_train=base.X_train,
        y_train=table[base.y_train],
        class_names=tuple(attributes),
        image_shape=base.image_shape,
        X_test=base.X_test,
        y_test=y_test,
        source=base.source,
        base_class_names=tuple(base.class_names),
        base_y_train=base.y_train,
        base_y_test=base.y_test,
        table=table,
    )
