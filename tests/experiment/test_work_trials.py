"""The spec's [training] accessor (a typed contract). How a worker gets its trials:
test_workplan.py."""

from __future__ import annotations

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment.spec_check import validate


def test_require_training_returns_the_table_or_names_what_is_missing():
    reg = registry()
    assert validate(blobs_spec(), reg).require_training().batch_size == 20
    spec = blobs_spec()
    spec.training = None
    with pytest.raises(TuidlError, match=r"training: model 'linear' has no \[training\] table"):
        spec.require_training()
