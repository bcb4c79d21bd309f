"""Settings: defaults < --config file < options typed on the command line; grids and overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinygrad_mnist.cli import build_parser, read_config, resolve_grid
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import TrainConfig


def resolved(cli, *argv) -> dict:
    result = cli("train", *argv, "--dry-run")
    assert result.code == 0, result.err
    return json.loads(result.out)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_trainconfig_defaults(cli):
    assert resolved(cli) == TrainConfig().to_dict()


def test_file_values_apply_and_typed_options_override_them(cli, tmp_path):
    config = write(tmp_path / "c.toml", 'lr = 0.05\nepochs = 3\nactivation = "gelu"\nhidden = [64, 32]\n')
    settings = resolved(cli, "--config", config, "--lr", "0.2")
    assert settings["lr"] == 0.2  # typed: wins over the file
    assert settings["epochs"] == 3 and settings["activation"] == "gelu"  # from the file
    assert settings["hidden"] == [64, 32]
    assert settings["momentum"] == TrainConfig().momentum  # in neither: the default


def test_options_not_typed_never_override_the_file(cli, tmp_path):
    config = write(tmp_path / "c.toml", "nesterov = true\nprogress = false\ntrain_size = 600\n")
    settings = resolved(cli, "--config", config)
    assert settings["nesterov"] is True and settings["progress"] is False and settings["train_size"] == 600
    settings = resolved(cli, "--config", config, "--no-nesterov", "--progress", "--train-size", "all")
    assert settings["nesterov"] is False and settings["progress"] is True and settings["train_size"] is None


def test_option_order_does_not_matter(cli, tmp_path):
    config = write(tmp_path / "c.toml", "lr = 0.05\n")
    assert resolved(cli, "--lr", "0.3", "--config", config)["lr"] == 0.3


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--hidden"], []),
        (["--hidden", "128"], [128]),
        (["--hidden", "256", "128"], [256, 128]),
    ],
)
def test_hidden_layers(cli, argv, expected):
    assert resolved(cli, *argv)["hidden"] == expected


def test_focal_alpha_one_value_or_one_per_class(cli):
    assert resolved(cli, "--loss", "focal", "--focal-alpha", "0.25")["focal_alpha"] == 0.25
    weights = [str(0.05 * (i + 1)) for i in range(10)]
    assert resolved(cli, "--focal-alpha", *weights)["focal_alpha"] == pytest.approx([0.05 * (i + 1) for i in range(10)])


def test_names_are_case_insensitive_and_every_field_can_be_typed(cli):
    settings = resolved(
        cli, "--activation", "GeLU", "--loss", "hinge", "--margin", "2", "--focal-gamma", "1",
        "--label-smoothing", "0.1", "--lr", "1e-3", "--momentum", "0.5", "--momentum-form", "lab",
        "--weight-decay", "2e-4", "--nesterov", "--batch-size", "64", "--epochs", "7", "--init", "he",
        "--init-std", "0.02", "--lr-schedule", "step", "--lr-step-size", "3", "--lr-gamma", "0.5",
        "--early-stop", "2", "--early-stop-min-delta", "0.001", "--seed", "9", "--dtype", "float64",
        "--disp-freq", "10", "--dataset", "Fashion-MNIST", "--normalize", "standardize", "--val-size", "0.1",
        "--train-size", "5000",
        "--test-size", "1000", "--data-dir", "somewhere", "--on-nonfinite", "skip", "--detect-anomaly",
        "--no-progress", "--checkpoint-every", "2", "--model", "MLP", "--batch-norm", "--dropout", "0.25",
        "--optimizer", "SGD", "--no-jit",
    )
    assert settings == {
        "hidden": [128], "activation": "gelu", "loss": "hinge", "margin": 2.0, "focal_gamma": 1.0,
        "focal_alpha": None, "label_smoothing": 0.1, "lr": 1e-3, "momentum": 0.5, "momentum_form": "lab",
        "weight_decay": 2e-4, "nesterov": True, "batch_size": 64, "epochs": 7, "init": "he",
        "init_std": 0.02, "lr_schedule": "step", "lr_step_size": 3, "lr_gamma": 0.5, "early_stop": 2,
        "early_stop_min_delta": 0.001, "seed": 9, "dtype": "float64", "disp_freq": 10,
        "dataset": "fashion-mnist", "normalize": "standardize", "val_size": 0.1, "train_size": 5000, "test_size": 1000,
        "data_dir": "somewhere", "on_nonfinite": "skip", "detect_anomaly": True, "progress": False,
        "checkpoint_every": 2, "model": "mlp", "batch_norm": True, "dropout": 0.25, "optimizer": "sgd",
        "betas": None, "eps": None, "alpha": None, "jit": False,
    }
    # the settings of the other optimizers, each with its optimizer
    adam = resolved(cli, "--optimizer", "AdamW", "--betas", "0.8", "0.99", "--eps", "1e-6", "--model", "lenet5")
    assert (adam["optimizer"], adam["betas"], adam["eps"], adam["model"]) == ("adamw", [0.8, 0.99], 1e-6, "lenet5")
    rmsprop = resolved(cli, "--optimizer", "rmsprop", "--alpha", "0.9", "--eps", "1e-7", "--momentum", "0.5")
    assert (rmsprop["alpha"], rmsprop["eps"], rmsprop["momentum"]) == (0.9, 1e-7, 0.5)


def test_read_config_checks_values_and_grid(tmp_path):
    config = write(tmp_path / "g.toml", """
lr = 0.1
[grid]
activation = ["relu", "gelu"]
loss = ["ce", "hinge"]
[[grid.override]]
match = { loss = "hinge" }
set = { lr = 1e-4 }
""")
    settings, grid = read_config(config)
    assert settings == {"lr": 0.1}
    assert grid == {
        "axes": {"activation": ["relu", "gelu"], "loss": ["ce", "hinge"]},
        "overrides": [{"match": {"loss": "hinge"}, "set": {"lr": 1e-4}}],
    }


def test_grid_overrides_apply_to_the_matching_runs_only(tmp_path):
    config = write(tmp_path / "g.toml", """
lr = 0.1
[grid]
activation = ["relu", "gelu"]
loss = ["ce", "hinge"]
[[grid.override]]
match = { loss = "hinge" }
set = { lr = 1e-4 }
""")
    request = resolve_grid(build_parser().parse_args(["grid", "--config", str(config)]))
    assert request.base.lr == 0.1
    assert [{**run["params"], **run["overrides"]} for run in request.runs()] == [
        {"activation": "relu", "loss": "ce"},
        {"activation": "relu", "loss": "hinge", "lr": 1e-4},
        {"activation": "gelu", "loss": "ce"},
        {"activation": "gelu", "loss": "hinge", "lr": 1e-4},
    ]


def test_grid_command_line_values_replace_file_axes(tmp_path):
    config = write(tmp_path / "g.toml", '[grid]\nactivation = ["relu", "gelu"]\nloss = ["ce", "hinge"]\n')
    parse = build_parser().parse_args
    plan = resolve_grid(parse(["grid", "--config", str(config), "--activation", "tanh"]))
    assert plan.axes == {"loss": ["ce", "hinge"]} and plan.base.activation == "tanh"
    plan = resolve_grid(parse(["grid", "--config", str(config), "--lr", "0.1", "0.01"]))
    assert plan.axes == {"activation": ["relu", "gelu"], "loss": ["ce", "hinge"], "lr": [0.1, 0.01]}
    assert len(plan.runs()) == 8


def test_grid_architectures_are_comma_separated(tmp_path):
    plan = resolve_grid(build_parser().parse_args(["grid", "--hidden", "128", "256,128", "none"]))
    assert plan.axes == {"hidden": [[128], [256, 128], []]}


def test_grid_validates_every_run_before_training(cli):
    result = cli("grid", "--batch-size", "50", "500", "--train-size", "400", "--dry-run")
    assert result.code == 2
    assert "batch_size=500" in result.err and "larger than the 400 training samples" in result.err


def test_grid_dry_run_lists_the_runs(cli):
    result = cli("grid", "--activation", "sigmoid", "relu", "gelu", "--loss", "euclidean", "ce", "hinge",
                 "--lr", "0.1", "0.01", "--jobs", "2", "--out", "somewhere", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.startswith("18 runs into somewhere with 2 jobs")
    assert 'run 18 (somewhere/gelu-hinge-lr0.01): activation="gelu" loss="hinge" lr=0.01' in result.out.replace("'", '"')


def test_train_runs_one_run_of_a_grid_file_when_every_axis_is_given(cli, tmp_path):
    config = write(tmp_path / "g.toml", 'lr = 0.1\n[grid]\nactivation = ["relu", "gelu"]\nloss = ["ce", "hinge"]\n'
                   '[[grid.override]]\nmatch = { loss = "hinge" }\nset = { lr = 1e-4, margin = 2.0 }\n')
    result = cli("train", "--config", config, "--activation", "gelu", "--dry-run")
    assert result.code == 2 and "grid over loss" in result.err and "--loss X" in result.err
    settings = resolved(cli, "--config", config, "--activation", "gelu", "--loss", "hinge")
    assert (settings["activation"], settings["loss"], settings["lr"], settings["margin"]) == ("gelu", "hinge", 1e-4, 2.0)
    settings = resolved(cli, "--config", config, "--activation", "gelu", "--loss", "hinge", "--lr", "0.5")
    assert settings["lr"] == 0.5 and settings["margin"] == 2.0  # typed beats the override
    assert resolved(cli, "--config", config, "--activation", "relu", "--loss", "ce")["lr"] == 0.1


def test_trainconfig_checks_still_apply(tmp_path):
    config = write(tmp_path / "c.toml", "nesterov = true\nmomentum = 0.0\n")
    with pytest.raises(ConfigError, match="nesterov"):
        from tinygrad_mnist.cli import resolve_train

        resolve_train(build_parser().parse_args(["train", "--config", str(config)]))
