"""The tuidl plugin: the ``attributes`` loss and the ``digits_attributes`` and
``cifar10_attributes`` datasets, registered through the public hooks."""

from __future__ import annotations

from tuidl.plugins import Component, Param, hookimpl


def _loss(pos_weight):
    """One independent logistic classifier per attribute: the loss is
    -sum_a [y log sigmoid(f) + (1 - y) log(1 - sigmoid(f))] (mean over rows) and its
    gradient sigmoid(f) - y. Targets are (N, A) 0/1 from an attribute dataset.
    """
    from tuidl_attributes.loss import AttributeLoss

    return AttributeLoss(pos_weight)


def _digits_attributes():
    """The built-in digits with attributes even, ge5 (>= 5) and closed_loop (0, 6, 8, 9)."""
    from tuidl.data.digits import load_digits
    from tuidl_attributes.datasets import DIGIT_ATTRIBUTES, derive

    return derive(load_digits(), DIGIT_ATTRIBUTES, "digits_attributes")


def _cifar10_attributes(path):
    """CIFAR-10 with attributes animal, vehicle, has_wheels, can_fly, on_water, four_legs."""
    from tuidl.data.cifar10 import load_cifar10
    from tuidl_attributes.datasets import CIFAR10_ATTRIBUTES, derive

    return derive(load_cifar10(path), CIFAR10_ATTRIBUTES, "cifar10_attributes")


@hookimpl
def register_losses(register):
    register(
        Component(
            "loss",
            "attributes",
            "Independent logistic loss per binary attribute (multi-label targets)",
            _loss,
            (
                Param(
                    "pos_weight",
                    "float",
                    1.0,
                    "weight of the positive term (raise it for rare attributes)",
                    min=1e-6,
                ),
            ),
        )
    )


@hookimpl
def register_datasets(register):
    register(
        Component(
            "dataset",
            "digits_attributes",
            "Digits with attributes even, >= 5, closed loop (multi-label)",
            _digits_attributes,
            extra={"targets": "multilabel"},  # declared, so `spec check` matches the loss
        )
    )
    register(
        Component(
            "dataset",
            "cifar10_attributes",
            "CIFAR-10 with attributes animal, vehicle, wheels, fly, water, legs",
            _cifar10_attributes,
            (
                Param(
                    "path",
                    "str",
                    None,
                    "cifar-10-batches-py folder, its parent or the .tar.gz (default: data/)",
                    nullable=True,
                ),
            ),
            extra={"targets": "multilabel"},
        )
    )
