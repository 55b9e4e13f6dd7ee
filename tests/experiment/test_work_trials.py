"""Worker trial bookkeeping and the spec's [training] accessor (typed contracts)."""

from __future__ import annotations

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment.spec_check import validate
from tuidl.experiment.work import Context, Worker


def test_a_worker_builds_searched_trials_in_any_order_and_keeps_the_callers_list():
    from tuidl.experiment.runner import load_data

    reg = registry()
    spec = blobs_spec()
    given: list = []  # the runner's list: only the runner appends to it
    worker = Worker(Context(spec.to_toml(), 0), load_data(spec, reg), registry=reg, trials=given)
    s5 = worker.spec_of(5, {"optimizer.lr": 0.5})
    s2 = worker.spec_of(2, {"optimizer.lr": 0.25})
    assert s5.optimizer is not None and s5.optimizer.params["lr"] == 0.5
    assert s2.optimizer is not None and s2.optimizer.params["lr"] == 0.25
    assert worker.spec_of(5) is s5  # built once, then known
    assert given == []  # no placeholder holes in the caller's list


def test_require_training_returns_the_table_or_names_what_is_missing():
    reg = registry()
    assert validate(blobs_spec(), reg).require_training().batch_size == 20
    spec = blobs_spec()
    spec.training = None
    with pytest.raises(TuidlError, match=r"training: model 'linear' has no \[training\] table"):
        spec.require_training()
