"""``tuidl spec new`` (a commented default spec) and ``tuidl spec check`` (validate one)."""

from __future__ import annotations

import sys
from typing import Any

from tuidl.errors import TuidlError

_HEADER = """\
{marker}
# A tuidl experiment spec. Run it with:   tuidl run {file}
# Override any key on the command line:  tuidl run {file} --set optimizer.lr=1e-3
# Every table and key is described in docs/experiments.md; `tuidl plugins` lists every
# component and its params.
name = "{name}"
seed = 0                     # fixes the split, the folds, initial weights and batches

[dataset]                    # datasets: {datasets}
name = "{dataset}"
{dataset_params}
[split]                      # rows for training, validation (holdout) and test
{split}

# Preprocessing steps, in order; each is fitted on the training rows of each fold only.
# preprocessors: {preprocessors}
[[preprocess]]
name = "reshape"             # rows (N, D) as float32
dtype = "float32"

[[preprocess]]
name = "mean_subtraction"    # subtract the per-feature mean image

[[preprocess]]
name = "bias_trick"          # append a column of ones (harmless next to the model's own b)

[model]                      # models: {models}
name = "linear"
reg = {reg}                    # L2 strength: reg * sum(W**2)

[loss]                       # losses: {losses}
name = "softmax"

[init]                       # initializers: {initializers}
name = "small_random"
scale = 0.0001

[optimizer]                  # optimizers: {optimizers}
name = "sgd"
lr = {lr}
lr_decay = 0.95              # lr *= lr_decay after every epoch

[training]
{training}

[cv]
{cv}

[cv.grid]                    # every combination is a trial; preprocess steps count from 1
{grid}

# Search beyond the grid (docs/experiments.md, "Search"): uncomment to sample instead of
# trying every combination; the [cv.grid] lists join the space as choices.
# searchers: {searchers}
# [search]
# method = "random"            # or "halving": successive halving over epochs or folds
# trials = 20
# [search.space]               # log_uniform, uniform, int (log = true), choice
# "training.batch_size" = {{int = [50, 400], log = true}}
# "optimizer.lr_decay" = {{uniform = [0.9, 1.0]}}
"""

_DATASETS: dict[str, dict[str, Any]] = {  # per dataset: the template's values
    "digits": {
        "name": "digits softmax",
        "dataset_params": "",
        # digits has no test part: the parts are drawn at random
        "split": {"num_training": 1200, "num_validation": 300, "num_test": 297, "shuffle": True},
        "reg": "1e-3",
        "lr": "1e-2",
        "training": {"epochs": 10},
        "cv": {"method": "kfold"},
        "grid": '"optimizer.lr" = [1e-3, 1e-2]\n"model.reg" = [1e-4, 1e-2]',
    },
    "cifar10": {
        "name": "cifar10 softmax",
        "dataset_params": 'path = "data/cifar-10-batches-py"   # or the .tar.gz; '
        "`tuidl data fetch cifar10` gets it\n",
        "split": {"num_training": 49000, "num_validation": 1000, "num_test": 1000},
        "reg": "2.5e4",
        "lr": "1e-7",
        "training": {"iterations": 1500},
        "cv": {"method": "holdout"},
        "grid": '"optimizer.lr" = [1e-7, 5e-7]\n"model.reg" = [2.5e4, 5e4]',
    },
}


def template(dataset: str = "digits", file: str = "experiment.toml") -> str:
    """The commented default spec for ``dataset`` (``digits`` or ``cifar10``), naming the
    registered components in comments."""
    from tuidl.plugins.manager import get_registry

    if dataset not in _DATASETS:
        raise TuidlError(f"spec new --dataset {dataset!r}: choose one of {', '.join(_DATASETS)}")
    reg = get_registry()
    names = {
        key: ", ".join(reg.names(kind))
        for key, kind in (
            ("datasets", "dataset"),
            ("preprocessors", "preprocessor"),
            ("models", "model"),
            ("losses", "loss"),
            ("initializers", "initializer"),
            ("optimizers", "optimizer"),
            ("searchers", "searcher"),
        )
    }
    from tuidl.experiment.spec_steps import STEPS_MARKER

    values = dict(_DATASETS[dataset])
    tables = {t: _settings_table(t, values.pop(t, {})) for t in ("split", "training", "cv")}
    return _HEADER.format(
        marker=STEPS_MARKER, file=file, dataset=dataset, **names, **values, **tables
    )


def _settings_table(table: str, values: dict) -> str:
    """The body of ``[split]``/``[training]``/``[cv]`` from the spec layer's declarations of
    those settings (tuidl.experiment.spec_schema): every setting with its help as a comment,
    ``values`` overriding the defaults; a setting with no value (``iterations``) is shown
    commented out."""
    from tuidl.experiment.spec_schema import SETTINGS
    from tuidl.experiment.spec_toml import toml_value

    lines = []
    for p in SETTINGS[table]:
        value = values.get(p.name, p.default)
        line = f"# {p.name} = ..." if value is None else f"{p.name} = {toml_value(value)}"
        lines.append(f"{line:<28} # {p.help}")
    return "\n".join(lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "spec",
        help="write a default experiment spec, or check one",
        description="Experiment specs are TOML files; see docs/experiments.md.",
    )
    sub = p.add_subparsers(dest="spec_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    n = sub.add_parser(
        "new",
        help="print a commented default spec",
        description="Print a commented default spec to stdout: tuidl spec new > experiment.toml",
    )
    n.add_argument("--dataset", choices=sorted(_DATASETS), default="digits")
    n.set_defaults(func=new)

    c = sub.add_parser(
        "check",
        help="validate a spec against the registered components",
        description="Validate SPEC (with any --set overrides): every key, component and "
        "value, and every grid point. Prints the plan on success.",
    )
    c.add_argument("spec", metavar="SPEC")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides")
    c.add_argument("--normalized", action="store_true", help="print the spec with defaults filled")
    c.set_defaults(func=check)


def new(args) -> int:
    sys.stdout.write(template(args.dataset))
    return 0


def check(args) -> int:
    from tuidl.experiment.grid import plan
    from tuidl.experiment.spec import load_spec
    from tuidl.experiment.spec_check import validate
    from tuidl.plugins.manager import get_registry

    spec = load_spec(args.spec, args.overrides)
    normalized = validate(spec, get_registry())
    if args.normalized:
        sys.stdout.write(normalized.to_toml())
        return 0
    p = plan(spec.cv.grid, spec.cv.method, spec.cv.folds)
    scheme = f"{p.num_folds}-fold CV" if spec.cv.method == "kfold" else "holdout"
    steps = " -> ".join(s.name for s in normalized.preprocess) or "no preprocessing"
    work = f"{len(p.trials)} trial(s) x {scheme} = {p.num_tasks} fits"
    if spec.search is not None:  # a searcher plans the trials (tuidl.experiment.scheduler)
        from tuidl.experiment.scheduler import describe

        work = describe(normalized, get_registry())
    what = f"{normalized.model.name} on {normalized.dataset.name} ({steps})"
    from tuidl.experiment import refit

    reuse = refit.mode(normalized) == "reuse"
    final = "then the selected trial's own model is tested" if reuse else "then 1 retrain"
    print(f"ok: {what}; {work}, {final}")
    return 0
