"""The spec: TOML in and out, overrides, and validation errors that name the key path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from exp_helpers import blobs_spec, registry

from tuidl.errors import TuidlError
from tuidl.experiment.spec import (
    Spec,
    dumps_toml,
    load_spec,
    loads_spec,
    parse_override,
)
from tuidl.experiment.spec_check import validate
from tuidl.plugins.manager import load_registry

ROOT = Path(__file__).resolve().parents[2]

ISSUE_EXAMPLE = """
[dataset]
name = "cifar10"
path = "data/cifar-10-batches-py"

[split]
num_training = 5000
num_validation = 0
num_test = 500

[[preprocess]]
name = "reshape"
dtype = "float64"

[model]
name = "knn"
k = 10
distance = "l2"

[cv]
method = "kfold"     # or "holdout": score on the split's validation rows
folds = 5

[cv.grid]
"model.k" = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
"""


@pytest.fixture(scope="module")
def reg():
    return load_registry(entry_points=False)


def test_issue_example_loads_validates_and_round_trips(reg):
    spec = loads_spec(ISSUE_EXAMPLE)
    assert spec.dataset.params == {"path": "data/cifar-10-batches-py"}
    assert spec.cv.grid == {"model.k": [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]}
    assert spec.preprocess[0].name == "reshape"
    validate(spec, reg)
    again = loads_spec(spec.to_toml())
    assert again == spec
    assert tomllib.loads(spec.to_toml())["cv"]["grid"]["model.k"][-1] == 100


def test_examples_are_valid(reg):
    files = sorted((ROOT / "examples").glob("*.toml"))
    assert len(files) >= 8
    for f in files:
        validate(load_spec(f), reg)


def test_knn_example_is_the_issue_spec():
    spec = load_spec(ROOT / "examples" / "cs231n_knn.toml")
    expected = loads_spec(ISSUE_EXAMPLE)
    assert spec.split == expected.split and spec.cv == expected.cv
    assert spec.model == expected.model and spec.preprocess == expected.preprocess


def test_overrides_parse_toml_values_else_strings():
    assert parse_override("optimizer.lr=1e-7") == ("optimizer.lr", 1e-7)
    assert parse_override("model.k=5") == ("model.k", 5)
    assert parse_override("split.shuffle=true") == ("split.shuffle", True)
    assert parse_override("cv.grid.model.k=[1, 3]") == ("cv.grid.model.k", [1, 3])
    assert parse_override("dataset.path=/data/cifar-10-batches-py") == (
        "dataset.path",
        "/data/cifar-10-batches-py",
    )
    with pytest.raises(TuidlError, match="KEY=VALUE"):
        parse_override("model.k")


def test_set_overrides_any_key_including_grid_and_preprocess_index(reg):
    spec = loads_spec(
        ISSUE_EXAMPLE,
        [
            "dataset.path=/x",
            "model.k=3",
            "preprocess.0.dtype=float32",
            'cv.grid."model.distance"=["l1", "l2"]',
            "cv.folds=3",
        ],
    )
    assert spec.dataset.params["path"] == "/x"
    assert spec.model.params["k"] == 3
    assert spec.preprocess[0].params["dtype"] == "float32"
    assert spec.cv.grid["model.distance"] == ["l1", "l2"]
    assert spec.cv.folds == 3


def test_preprocess_steps_are_numbered_from_1_and_checked():
    """#11 defect 11: steps are numbered from 1 wherever a user reads or types them."""
    with pytest.raises(
        TuidlError,
        match=r"^preprocess\.2: the spec has 1 preprocess step\(s\), numbered from 1 \(1\.\.1\)$",
    ):
        loads_spec(ISSUE_EXAMPLE, ["preprocess.2.dtype=float32"])
    spec = loads_spec(ISSUE_EXAMPLE, ["preprocess.1.dtype=float32"])
    assert spec.preprocess[0].params["dtype"] == "float32"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("bogus=1", r"^bogus: unknown key; allowed here: name, seed, dataset"),
        ("split.num_train=1", r"^split\.num_train: unknown key"),
        ("cv.method=loo", r"^cv\.method: got 'loo'; allowed: kfold, holdout"),
        ("cv.folds=1", r"^cv\.folds: got 1; must be >= 2"),
        ("split.num_training=0", r"^split\.num_training: got 0; must be >= 1"),
        ("split.num_test=-1", r"^split\.num_test: got -1; must be >= 0"),
        ("split.shuffle=3", r"^split\.shuffle: got 3; expected true or false"),
        ("seed=x", r"^seed: got 'x'; expected an integer"),
        ("model=3", r"^model: expected a table with a name"),
    ],
)
def test_plain_table_errors_name_the_key(override, message):
    with pytest.raises(TuidlError, match=message):
        loads_spec(ISSUE_EXAMPLE, [override])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.name=forest", r"^model\.name: unknown model 'forest'; known: .*knn"),
        ("model.kk=3", r"^model\.kk: unknown key; model knn takes k, distance"),
        ("model.k=0", r"^model\.k: model knn: parameter 'k' got 0; allowed: an int >= 1"),
        ("model.distance=cos", r"^model\.distance: .*allowed: one of 'l2', 'l1'"),
        ("preprocess.1.dtype=int8", r"^preprocess\.1\.dtype: .*float32"),
        ("dataset.name=mnist", r"^dataset\.name: unknown dataset 'mnist'"),
        ("cv.grid.model.foo=[1]", r"^cv\.grid\.model\.foo: names nothing; model knn takes"),
        ("cv.grid.model.k=[]", r"^cv\.grid\.model\.k: the list is empty"),
        ("cv.grid.model.k=3", r"^cv\.grid\.model\.k: expected a list of values"),
        ("cv.grid.model.k=[1, 0]", r"^cv\.grid point \(model\.k = 0\): model\.k: .*>= 1"),
        ("cv.grid.split.num_training=[1]", r"^cv\.grid\.split\.num_training: .*fixed for a run"),
        ("cv.grid.preprocess.3.dtype=[1]", r"preprocess step\(s\), numbered from 1"),
        ("cv.grid.training.speed=[1]", r"^cv\.grid\.training\.speed: names nothing"),
        ("cv.grid.loss.delta=[1.0]", r"^cv\.grid\.loss\.delta: names nothing; the spec has no"),
        ("cv.method=holdout", r"^cv\.method: holdout .*split\.num_validation is 0"),
    ],
)
def test_registry_errors_name_the_key_and_what_is_allowed(reg, override, message):
    with pytest.raises(TuidlError, match=message):
        validate(loads_spec(ISSUE_EXAMPLE, [override]), reg)


def test_component_name_grid_values_are_validated(reg):
    spec = blobs_spec()
    spec.cv.grid = {"loss.name": ["svm", "hinge"]}
    with pytest.raises(TuidlError, match=r"loss\.name = \"hinge\".*unknown loss 'hinge'"):
        validate(spec, registry())


def test_grid_may_switch_components_each_with_its_defaults():
    spec = blobs_spec()
    spec.cv.grid = {"loss.name": ["svm", "softmax"], "loss.delta": [1.0]}
    with pytest.raises(TuidlError, match=r"loss softmax takes no params"):
        validate(spec, registry())
    spec.cv.grid = {"loss.name": ["svm", "squared_hinge", "softmax"]}
    validate(spec, registry())


def test_a_switched_component_keeps_only_the_table_params_it_takes():
    """[loss] svm with delta: the softmax point drops delta (softmax takes none), the svm
    point keeps it; the model's reg carries over when the grid switches linear to fc_net;
    a param the point sets itself is never dropped, so a wrong one is still reported."""
    from tuidl.experiment.spec import ComponentSpec
    from tuidl.experiment.spec_check import point_spec
    from tuidl.experiment.workplan import trial_specs

    spec = blobs_spec()
    spec.loss = ComponentSpec("svm", {"delta": 2.0})
    spec.model.params["reg"] = 0.25
    spec.cv.grid = {"loss.name": ["svm", "softmax"], "model.name": ["linear", "fc_net"]}
    out = validate(spec, registry())
    trials = trial_specs(out, registry())
    by_point = {(t.loss.name, t.model.name): t for t in trials}
    assert by_point["svm", "linear"].loss.params["delta"] == 2.0
    assert by_point["softmax", "linear"].loss.params == {}
    assert by_point["svm", "fc_net"].model.params["reg"] == 0.25
    assert by_point["softmax", "fc_net"].model.params["hidden_sizes"]  # fc_net's defaults
    explicit = point_spec(out, {"loss.name": "softmax", "loss.delta": 1.0}, registry())
    assert explicit.loss.params == {"delta": 1.0}
    spec.cv.grid = {"loss.name": ["svm", "softmax"], "loss.delta": [1.0]}
    with pytest.raises(TuidlError, match=r"loss softmax takes no params"):
        validate(spec, registry())


def test_learnable_model_gets_default_tables():
    spec = blobs_spec()
    spec.loss = spec.init = spec.training = None
    out = validate(spec, registry())
    assert out.loss.name == "softmax" and out.init.name == "small_random"
    assert out.training is not None and out.training.epochs == 10.0
    assert out.init.params == {"scale": 0.01, "bias": 0.0}


def test_training_errors():
    with pytest.raises(TuidlError, match="either epochs or iterations"):
        blobs_spec(training__iterations=10)
    with pytest.raises(TuidlError, match=r"training\.sampling: got 'random'"):
        blobs_spec(training__sampling="random")
    with pytest.raises(TuidlError, match=r"training\.batch_size: got 0"):
        blobs_spec(training__batch_size=0)


def test_chain_order_checked_before_a_run(reg):
    spec = loads_spec(ISSUE_EXAMPLE)
    spec.preprocess.append(type(spec.preprocess[0])("whiten", {}))
    with pytest.raises(TuidlError, match=r"^preprocess: whiten must come right after pca"):
        validate(spec, reg)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(TuidlError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nname=")
    with pytest.raises(TuidlError, match="not valid TOML"):
        load_spec(bad)


def test_writer_escapes_and_round_trips():
    data = {
        "name": 'a "quoted"\\ name\n',
        "seed": 3,
        "dataset": {"name": "npz", "path": "C:\\data\\x.npz"},
        "model": {"name": "fc_net", "hidden_sizes": [100, 50], "dropout": 1.0, "reg": 2.5e4},
        "cv": {"method": "kfold", "folds": 5, "grid": {"model.reg": [1e-7, 0.5, 3]}},
    }
    text = dumps_toml(data)
    back = tomllib.loads(text)
    assert back["name"] == data["name"]
    assert back["dataset"]["path"] == data["dataset"]["path"]
    assert back["model"]["dropout"] == 1.0 and isinstance(back["model"]["dropout"], float)
    assert back["cv"]["grid"]["model.reg"] == [1e-7, 0.5, 3]
    assert Spec.from_dict(back).to_dict()["model"]["hidden_sizes"] == [100, 50]


def test_spec_new_templates_validate(reg):
    from tuidl.cli.spec_cmd import template

    for dataset in ("digits", "cifar10"):
        text = template(dataset)
        assert text.count("#") > 10  # commented
        validate(loads_spec(text), reg)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", r"^seed: got -1; must be between 0 and 4294967295$"),
        ("seed=1e20", r"^seed: got 1e\+20; must be between 0 and 4294967295$"),
        ("seed=4294967296", r"^seed: got 4294967296; must be between"),
        ("seed=1.5", r"^seed: got 1.5; expected an integer$"),
    ],
)
def test_a_seed_numpy_cannot_take_is_refused_when_read(override, message):
    """#15 item 8: these passed `spec check` and then crashed the run (and its resume)."""
    with pytest.raises(TuidlError, match=message):
        loads_spec(ISSUE_EXAMPLE, [override])


def test_a_seed_set_after_reading_is_checked_by_validate(reg):
    """`tuidl run --seed 2**64` sets the field after reading; validate checks it again."""
    spec = loads_spec(ISSUE_EXAMPLE)
    spec.seed = 2**64
    with pytest.raises(TuidlError, match=r"^seed: got 18446744073709551616; must be between"):
        validate(spec, reg)
    spec.seed = 2**32 - 1
    assert validate(spec, reg).seed == 2**32 - 1


def test_settings_are_declared_once_and_the_spec_takes_its_defaults_from_them():
    """The dataclasses' fields are exactly the declared settings, defaults included."""
    import dataclasses

    from tuidl.experiment import spec as spec_mod
    from tuidl.experiment.spec_schema import SETTINGS

    tables = {"split": spec_mod.SplitSpec, "training": spec_mod.TrainingSpec}
    tables["cv"] = spec_mod.CVSpec
    for table, cls in tables.items():
        fields = {f.name: f.default for f in dataclasses.fields(cls) if f.name != "grid"}
        assert fields == {p.name: p.default for p in SETTINGS[table]}, table
    base = Spec.from_dict({"dataset": {"name": "digits"}, "model": {"name": "knn"}})
    assert {p.name: p.default for p in SETTINGS["run"]} == {"name": base.name, "seed": base.seed}


def test_whole_epochs_are_written_as_integers():
    """#11 defect 12: `epochs = 400` came back from Save as `epochs = 400.0`."""
    spec = blobs_spec(training__epochs=400)
    assert spec.training.epochs == 400.0
    assert "epochs = 400\n" in spec.to_toml()
    assert "epochs = 2.5\n" in blobs_spec(training__epochs=2.5).to_toml()
    assert loads_spec(spec.to_toml()) == spec


def test_a_loss_the_dataset_cannot_feed_is_refused_by_spec_check():
    """#11 defect 13: the attributes loss on digits passed `spec check` and failed at start."""
    from tuidl_attributes import plugin as attributes

    reg = load_registry(extra_plugins=[("attributes", attributes)], entry_points=False)
    data = {
        "dataset": {"name": "digits"},
        "split": {"num_training": 600, "num_test": 100, "shuffle": True},
        "model": {"name": "linear"},
        "loss": {"name": "attributes"},
    }
    with pytest.raises(TuidlError, match=r"^loss\.name: 'attributes' takes multilabel targets"):
        validate(Spec.from_dict(data), reg)
    data["dataset"]["name"] = "digits_attributes"
    validate(Spec.from_dict(data), reg)
    data["loss"]["name"] = "softmax"
    with pytest.raises(TuidlError, match=r"^loss\.name: 'softmax' takes class targets"):
        validate(Spec.from_dict(data), reg)


PCA_SPEC = """
[dataset]
name = "digits"

[split]
num_training = 600
num_test = 100

[[preprocess]]
name = "reshape"

[[preprocess]]
name = "pca"
k = 20

[model]
name = "knn"
"""


def test_grid_keys_number_steps_from_1_and_old_0_based_specs_still_read(reg):
    """``preprocess.2.k`` is the second step (as the outline's "2. pca"); a spec using step
    0 can only be the old form, so it is read 0-based; a stored run without the marker is
    old; every spec tuidl writes carries the marker."""
    from tuidl.experiment.spec_steps import STEPS_MARKER

    new = loads_spec(PCA_SPEC + '[cv.grid]\n"preprocess.2.k" = [10, 20]\n')
    validate(new, reg)
    assert new.cv.grid == {"preprocess.2.k": [10, 20]}
    old = loads_spec(
        PCA_SPEC + '[cv.grid]\n"preprocess.1.k" = [10]\n"preprocess.0.dtype" = ["float32"]\n'
    )
    assert old.cv.grid == {"preprocess.2.k": [10], "preprocess.1.dtype": ["float32"]}
    validate(old, reg)
    text = new.to_toml()
    assert text.splitlines()[0] == STEPS_MARKER
    assert loads_spec(text, stored=True).cv.grid == {"preprocess.2.k": [10, 20]}
    stored_old = PCA_SPEC + '[cv.grid]\n"preprocess.1.k" = [10]\n'  # by an older tuidl
    assert loads_spec(stored_old, stored=True).cv.grid == {"preprocess.2.k": [10]}
    with pytest.raises(TuidlError, match=r"reshape takes .*numbered from 1"):
        validate(loads_spec(PCA_SPEC + '[cv.grid]\n"preprocess.1.k" = [10]\n'), reg)
    ov = loads_spec(PCA_SPEC, ["preprocess.0.dtype=float32"])  # the old --set habit
    assert ov.preprocess[0].params["dtype"] == "float32"


def test_save_keeps_comments_and_layout_of_a_hand_written_spec(tmp_path):
    """#11: Save (the workbench's, via spec_file) kept no comment; now only changed values
    are rewritten, so comments, order and spellings such as 1e-3 stay."""
    from tuidl.experiment.spec_file import read_spec_data, write_spec_data

    path = tmp_path / "exp.toml"
    path.write_text(
        "# my experiment\n"
        "seed = 0  # fixed\n\n"
        '[dataset]\nname = "digits"\n\n'
        '[model]   # the model\nname = "linear"\nreg = 1e-3  # L2\n\n'
        '[optimizer]\nname = "sgd"\nlr = 1e-2\n'
    )
    data = read_spec_data(path)
    data["optimizer"]["lr"] = 0.05
    data["training"] = {"epochs": 4}
    write_spec_data(data, path)
    text = path.read_text()
    assert text.startswith("# my experiment\nseed = 0  # fixed\n")
    assert "[model]   # the model" in text and "reg = 1e-3  # L2" in text
    assert "lr = 0.05" in text and "epochs = 4" in text
    assert tomllib.loads(text) == data
    del data["optimizer"]
    write_spec_data(data, path)
    assert "optimizer" not in tomllib.loads(path.read_text())


def test_spec_new_writes_the_settings_from_their_declarations():
    """`tuidl spec new` shows every declared split/training/cv setting with its help."""
    from tuidl.cli.spec_cmd import template
    from tuidl.experiment.spec_schema import SETTINGS

    text = template("digits")
    for table in ("split", "training", "cv"):
        for p in SETTINGS[table]:
            assert f"{p.name} = " in text and p.help in text, (table, p.name)


def test_a_run_stored_before_steps_counted_from_1_keeps_its_steps(tmp_path, reg):
    """Retry and "use these params" read a stored run's TOML: a run stored by an older tuidl
    (no marker) varied preprocess.1 meaning the second step, and still does."""
    import sqlite3

    from tuidl.experiment.spec import stored_spec
    from tuidl.experiment.spec_steps import stored_point
    from tuidl.experiment.store import Store

    old_text = PCA_SPEC + '[cv.grid]\n"preprocess.1.k" = [10, 20]\n'  # 0-based, as then
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(loads_spec(PCA_SPEC))
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.execute("UPDATE runs SET spec_toml = ? WHERE id = ?", (old_text, run_id))
    with Store(tmp_path / "runs.sqlite") as store:
        run = store.get_run(run_id)
    assert stored_spec(run).cv.grid == {"preprocess.2.k": [10, 20]}
    validate(stored_spec(run), reg)
    assert stored_point({"preprocess.1.k": 10}, old_text) == {"preprocess.2.k": 10}
    new_text = loads_spec(PCA_SPEC + '[cv.grid]\n"preprocess.2.k" = [10]\n').to_toml()
    assert stored_point({"preprocess.2.k": 10}, new_text) == {"preprocess.2.k": 10}


def test_an_old_habit_in_set_does_not_renumber_a_new_file(reg):
    """The file and the --set list are judged each on its own: `--set preprocess.0.dtype`
    (old habit) on a file using preprocess.2.k (new form) moves neither the wrong way."""
    spec = loads_spec(
        PCA_SPEC + '[cv.grid]\n"preprocess.2.k" = [10]\n', ["preprocess.0.dtype=float32"]
    )
    assert spec.cv.grid == {"preprocess.2.k": [10]}
    assert spec.preprocess[0].params["dtype"] == "float32"
    validate(spec, reg)


def test_a_typo_sized_schedule_and_more_folds_than_rows_are_refused_at_check_time():
    import pytest

    from tuidl.errors import TuidlError
    from tuidl.experiment.spec_check import validate

    with pytest.raises(TuidlError, match=r"training.epochs: got 1e\+300"):
        validate(blobs_spec(training__epochs=1e300), registry())
    with pytest.raises(TuidlError, match=r"training\.iterations"):
        validate(blobs_spec(training__epochs=None, training__iterations=10**12), registry())
    with pytest.raises(TuidlError, match=r"cv\.folds: 500 folds but only 180 training rows"):
        validate(blobs_spec(cv__folds=500), registry())
