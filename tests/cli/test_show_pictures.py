"""tuidl show RUN_ID: first-layer weight pictures and --examples TRUE,PRED."""

from __future__ import annotations

import io
import re

import pytest

from tuidl.cli import main, show_pictures
from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import Spec
from tuidl.experiment.store import Store


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("show") / "runs.sqlite"
    spec = {
        "seed": 0,
        "dataset": {"name": "digits"},
        "split": {"num_training": 500, "num_validation": 100, "num_test": 150},
        "model": {"name": "linear"},
        "training": {"epochs": 2, "batch_size": 100},
        "cv": {"method": "holdout", "grid": {}},
    }
    with Store(path) as store:
        linear = run_spec(Spec.from_dict(spec), store).run_id
        spec["model"] = {"name": "knn", "k": 1}
        knn = run_spec(Spec.from_dict(spec), store).run_id
        run = store.get_run(linear)
    cm = run["test"]["confusion"]
    pair = max(
        ((t, p) for t in range(10) for p in range(10) if t != p), key=lambda c: cm[c[0]][c[1]]
    )
    return {"store": str(path), "linear": linear, "knn": knn, "pair": pair, "cm": cm}


def tuidl(env, capsys, *argv):
    rc = main([*argv, "--store", env["store"]])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_show_draws_the_templates_without_colour_in_a_pipe(env, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, _ = tuidl(env, capsys, "show", str(env["linear"]))
    assert rc == 0
    assert "per-class templates of the linear classifier" in out
    pictures = out.split("per-class templates of the linear classifier\n", 1)[1]
    assert "\x1b[" not in pictures and "▀" not in pictures  # a ramp, not colour
    assert re.search(r"[@%#*]", pictures)
    assert all(len(line) <= 80 for line in pictures.splitlines())
    labels = [ln for ln in pictures.splitlines() if ln.split() == ["0", "1", "2", "3"]]
    assert labels  # four templates a row, each named by its class
    # the accuracy chart of the best: the gap and the (constant) lr in its title
    assert "accuracy · gap" in out and "lr 0.01" in out
    rc, out, _ = tuidl(env, capsys, "show", str(env["linear"]), "--no-weights")
    assert rc == 0 and "templates" not in out


def test_a_model_without_weights_says_so(env, capsys):
    rc, out, _ = tuidl(env, capsys, "show", str(env["knn"]))
    assert rc == 0
    assert "no weights to show: model 'knn' does not declare first_layer_weights()" in out


def test_examples_show_the_test_images_of_a_confusion_pair(env, capsys):
    true, pred = env["pair"]
    n = env["cm"][true][pred]
    rc, out, _ = tuidl(env, capsys, "show", str(env["knn"]), "--no-charts", "--examples", "1,1")
    assert rc == 0 and "test images of true '1' predicted as '1'" in out
    rc, out, _ = tuidl(
        env, capsys, "show", str(env["linear"]), "--no-charts", "--examples", f"{true},{pred}"
    )
    assert rc == 0
    assert f"test images of true '{true}' predicted as '{pred}'" in out
    assert len(re.findall(r"row \d+", out)) == min(n, 8)


def test_a_pair_that_never_happened_and_a_bad_pair(env, capsys):
    cm = env["cm"]
    t, p = next((t, p) for t in range(10) for p in range(10) if cm[t][p] == 0)
    rc, out, _ = tuidl(
        env, capsys, "show", str(env["linear"]), "--no-charts", "--examples", f"{t},{p}"
    )
    assert rc == 0 and "none among the 150 test rows" in out
    rc, _, err = tuidl(env, capsys, "show", str(env["linear"]), "--examples", "1,cow")
    assert rc == 2
    assert err.strip().splitlines()[-1].startswith("error: class 'cow' is not one of")


@pytest.mark.parametrize(
    "system,code", [("truecolor", "38;2;"), ("256", "38;5;"), ("standard", "\x1b[3")]
)
def test_a_colour_terminal_gets_half_blocks_in_its_colours(env, capsys, monkeypatch, system, code):
    monkeypatch.setattr(show_pictures, "color_system", lambda out: system)
    rc, out, _ = tuidl(env, capsys, "show", str(env["linear"]), "--no-charts", "--examples", "1,1")
    assert rc == 0 and "▀" in out and code in out


def test_no_color_and_pipes_turn_colour_off(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    assert show_pictures.color_system(Tty()) is None
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("COLORTERM", "truecolor")
    assert show_pictures.color_system(Tty()) == "truecolor"
    assert show_pictures.color_system(io.StringIO()) is None
