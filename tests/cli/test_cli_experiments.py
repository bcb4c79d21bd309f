"""The experiment configs in examples/experiments say what the lab reports did, and all parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygrad_mnist.cli import build_parser, resolve_grid

EXPERIMENTS = Path(__file__).resolve().parents[2] / "examples" / "experiments"
NOT_REPORTS = ("quick.toml", "e_beyond.toml")
REPORTS = sorted(p.name for p in EXPERIMENTS.glob("*.toml") if p.name not in NOT_REPORTS)
LAB_SETTING = {"batch_size": 100, "momentum": 0.9, "momentum_form": "lab", "init": "normal",
               "init_std": 0.01, "seed": 0}


def plan(name: str):
    return resolve_grid(build_parser().parse_args(["grid", "--config", str(EXPERIMENTS / name)]))


def test_every_config_is_listed_in_the_readme():
    readme = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in EXPERIMENTS.glob("*.toml"))
    assert len(names) == 11
    for name in names:
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", REPORTS)
def test_reports_use_the_lab_setting(name):
    base = plan(name).base.to_dict()
    for key, value in LAB_SETTING.items():
        assert base[key] == value, (name, key)
    assert base["train_size"] is None and base["test_size"] is None  # the full data set


@pytest.mark.parametrize("name, hidden", [("a_one_hidden.toml", [128]), ("b_two_hidden.toml", [256, 128])])
def test_activation_by_loss_reports(name, hidden):
    grid = plan(name)
    assert grid.base.hidden == hidden and grid.base.epochs == 100 and grid.base.weight_decay == 2e-4
    assert grid.axes == {"activation": ["sigmoid", "relu", "gelu"], "loss": ["euclidean", "ce", "hinge"]}
    lrs = {(run["params"]["activation"], run["params"]["loss"]): run["config"].lr for run in grid.runs()}
    assert len(lrs) == 9
    assert all(lr == (1e-4 if loss == "hinge" else 0.1) for (_, loss), lr in lrs.items())
    assert grid.base.margin == 5.0


@pytest.mark.parametrize(
    "name, axis, values",
    [
        ("c_gelu_hyper_lr.toml", "lr", [0.1, 0.01, 0.001, 0.0001]),
        ("c_gelu_hyper_batch.toml", "batch_size", [10, 50, 100, 200]),
        ("c_gelu_hyper_momentum.toml", "momentum", [0.0, 0.5, 0.9, 0.99]),
        ("c_gelu_hyper_wd.toml", "weight_decay", [0.0, 2e-4, 2e-3, 2e-2]),
    ],
)
def test_gelu_hyperparameter_reports(name, axis, values):
    grid = plan(name)
    assert grid.axes == {axis: values}
    base = grid.base
    assert (base.hidden, base.activation, base.loss, base.epochs) == ([128], "gelu", "ce", 50)
    assert (base.lr, base.weight_decay) == (0.01, 2e-4)


def test_small_hidden_report():
    grid = plan("d_small_hidden.toml")
    base = grid.base
    assert (base.hidden, base.lr, base.weight_decay, base.momentum, base.epochs) == ([28], 0.01, 1e-4, 0.9, 20)
    assert grid.axes == {"activation": ["selu", "hardswish", "tanh"], "loss": ["ce", "kldiv", "hinge"]}
    assert base.margin == 5.0 and not grid.overrides


def test_beyond_config_crosses_models_optimizers_and_batch_norm():
    grid = plan("e_beyond.toml")
    runs = {run["name"]: run["config"] for run in grid.runs()}
    assert grid.axes == {"model": ["mlp", "lenet5"], "optimizer": ["sgd", "adam"], "batch_norm": [False, True]}
    assert len(runs) == 8 and grid.base.epochs == 20 and grid.base.seed == 0 and grid.base.train_size is None
    assert runs["mlp-sgd-no_batch_norm"].hidden == [256, 128] and runs["mlp-adam-batch_norm"].hidden == [256, 128]
    assert runs["lenet5-sgd-batch_norm"].lr == 0.01 and runs["lenet5-adam-no_batch_norm"].lr is None  # Adam's 0.001
    assert runs["mlp-sgd-no_batch_norm"].lr is None  # SGD's 0.1, with momentum 0.9


def test_quick_config_is_small():
    grid = plan("quick.toml")
    assert len(grid.runs()) == 4 and grid.base.epochs <= 2 and grid.base.train_size <= 1000


@pytest.mark.parametrize("name,hidden", [("a_hinge_summed_lr.toml", [128]), ("b_hinge_summed_lr.toml", [256, 128])])
def test_hinge_summed_loss_assumption_configs(name, hidden):
    # The reports' lr 1e-4 and weight decay 2e-4 on a loss summed over 100 examples take the same
    # steps as lr 1e-2 and weight decay 2e-6 on our batch mean.
    grid = plan(name)
    base = grid.base.to_dict()
    assert base["hidden"] == hidden and base["epochs"] == 100 and base["margin"] == 5.0
    assert base["lr"] == pytest.approx(1e-4 * 100) and base["weight_decay"] == pytest.approx(2e-4 / 100)
    assert grid.axes == {"activation": ["sigmoid", "relu", "gelu"], "loss": ["hinge"]}
