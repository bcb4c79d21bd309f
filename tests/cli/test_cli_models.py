"""The command line's models and optimizers: --model, --batch-norm, --dropout, --optimizer with its
settings; one-line errors for settings that make no sense together; grids over them; train,
resume, eval (with the confusion matrix), plot and graph of a CNN run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

SMALL = ("--train-size", "600", "--test-size", "200", "--batch-size", "20", "--no-progress")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--optimizer", "adam", "--nesterov"], "nesterov=true is a setting of optimizer sgd, not of optimizer 'adam'"),
        (["--betas", "0.9", "0.99"], "betas=[0.9, 0.99] is a setting of optimizer adam or adamw"),
        (["--optimizer", "sgd", "--eps", "1e-6"], "eps=1e-06 is a setting of optimizer adam, adamw or rmsprop"),
        (["--alpha", "0.9", "--optimizer", "adam"], "alpha=0.9 is a setting of optimizer rmsprop"),
        (["--optimizer", "adamw", "--momentum", "0.5"], "momentum=0.5 is a setting of optimizer sgd or rmsprop"),
        (["--model", "lenet5", "--hidden", "64"], "hidden=[64] is a setting of model mlp, not of model 'lenet5'"),
        (["--batch-norm", "--batch-size", "1"], "batch_norm=true needs batch_size >= 2"),
        (["--optimizer", "adam", "--betas", "0.9"], "betas must be 2 numbers (BETA1 BETA2), got [0.9]"),
        (["--optimizer", "adam", "--betas", "0.9", "1"], "BETA2 (in betas) must be >= 0 and < 1, got 1"),
        (["--model", "cnn"], "unknown model 'cnn'"),
        (["--optimizer", "adma"], "did you mean 'adam'"),
        (["--dropout", "1"], "dropout must be >= 0 and < 1"),
        (["--hidden", "--batch-norm"], "batch_norm=true acts after hidden layers, and this MLP has none"),
    ],
)
def test_settings_that_make_no_sense_together_are_one_line(cli, argv, words):
    for command in ("train", "grid"):
        result = cli(command, *(_as_grid_values(argv) if command == "grid" else argv), "--dry-run")
        assert result.code == 2 and len(result.err_lines) == 1, (command, result.err)
        assert result.err.startswith("tinygrad-mnist: error: ") and words in result.err, (command, result.err)


def _as_grid_values(argv):
    """The same settings for ``grid``, where each token is one run's value: a pair of betas is
    typed with a comma, and no hidden layer as none."""
    if argv[:2] == ["--hidden", "--batch-norm"]:
        return ["--hidden", "none", "--batch-norm"]
    if "--betas" not in argv:
        return argv
    at = argv.index("--betas")
    values = [token for token in argv[at + 1:] if not token.startswith("--")]
    return argv[:at] + ["--betas", ",".join(values)] + argv[at + 1 + len(values):]


def test_the_same_rule_holds_in_a_toml_file(cli, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('optimizer = "adam"\nnesterov = true\n', encoding="utf-8")
    result = cli("train", "--config", config, "--dry-run")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "nesterov=true is a setting of optimizer sgd" in result.err


def test_dry_run_shows_the_choices_and_leaves_defaults_to_the_optimizer(cli):
    result = cli("train", "--model", "lenet5", "--optimizer", "rmsprop", "--alpha", "0.9", "--batch-norm",
                 "--dropout", "0.1", "--dry-run")
    assert result.code == 0, result.err
    settings = json.loads(result.out)
    assert (settings["model"], settings["optimizer"], settings["alpha"], settings["batch_norm"], settings["dropout"]) == (
        "lenet5", "rmsprop", 0.9, True, 0.1)
    assert settings["lr"] is None  # the optimizer's own default: RMSprop's 0.01


def test_help_states_each_optimizer_default(cli):
    result = cli("train", "--help")
    text = " ".join(result.out.split())
    assert "default: 0.1 for sgd, 0.001 for adam and adamw, 0.01 for rmsprop (by --optimizer)" in text
    assert "default: 0.9 0.999 for adam and adamw (by --optimizer)" in text
    assert "--model {" not in text and "one of: mlp, lenet5" in text


def test_grid_over_optimizers_and_models(cli, mnist_dir, tmp_path):
    out = tmp_path / "grid"
    result = cli("grid", "--optimizer", "sgd", "adam", "--model", "mlp", "lenet5", "--epochs", "1",
                 "--data-dir", mnist_dir, "--jobs", "1", "--out", out, *SMALL)
    assert result.code == 0, result.err
    table = (out / "results.md").read_text()
    for name in ("mlp-sgd", "lenet5-sgd", "mlp-adam", "lenet5-adam"):
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["stopped"] == "completed", name
    assert "| model \\ optimizer | sgd | adam |" in table and "\n| lenet5 | " in table
    config = json.loads((out / "lenet5-adam" / "config.json").read_text())
    assert (config["model"], config["optimizer"]) == ("lenet5", "adam")
    lrs = [line.split(",")[1] for line in (out / "lenet5-adam" / "metrics.csv").read_text().splitlines()[1:]]
    assert lrs == ["0.001"]  # Adam's own default learning rate


def test_grid_of_a_flag_axis_from_a_toml_file(cli, tmp_path):
    config = tmp_path / "g.toml"
    config.write_text('optimizer = "adam"\n[grid]\nbatch_norm = [false, true]\nmodel = ["mlp", "lenet5"]\n'
                      '[[grid.override]]\nmatch = { model = "mlp" }\nset = { hidden = [64, 32] }\n', encoding="utf-8")
    result = cli("grid", "--config", config, "--dry-run")
    assert result.code == 0, result.err
    assert "run 1 (runs/grid-g/no_batch_norm-mlp): batch_norm=false model='mlp' hidden=[64, 32]" in result.out
    assert "run 4 (runs/grid-g/batch_norm-lenet5): batch_norm=true model='lenet5'" in result.out


def test_a_cnn_run_trains_evaluates_plots_and_draws(cli, mnist_dir, tmp_path):
    run = tmp_path / "lenet"
    result = cli("train", "--model", "lenet5", "--optimizer", "adam", "--batch-norm", "--dropout", "0.1",
                 "--epochs", "1", "--data-dir", mnist_dir, "--out", run, *SMALL)
    assert result.code == 0, result.err
    assert "LeNet-5 (relu) + batch norm + dropout 0.1, adam, ce loss" in result.out
    assert json.loads((run / "summary.json").read_text())["test_accuracy"] > 0.4  # chance is 0.1
    assert (run / "curves.png").is_file()

    evaluated = cli("eval", run, "--data-dir", mnist_dir)
    assert evaluated.code == 0, evaluated.err
    lines = evaluated.out.splitlines()
    assert lines[2].startswith("confusion matrix") and len(lines) == 4 + 10
    summary = json.loads((run / "summary.json").read_text())
    assert lines[0].startswith(f"accuracy {100 * summary['test_accuracy']:.2f}%")  # eval mode: running statistics

    assert cli("plot", run, "--out", tmp_path / "curves.png").code == 0
    dot = tmp_path / "lenet.dot"
    assert cli("graph", "--model", "lenet5", "--batch-norm", "--out", dot).code == 0
    source = dot.read_text()
    for text in ("Conv2d", "MaxPool2d", "(2, 6, 28, 28)", "(2, 16, 5, 5)", "features.0.weight", "images",
                 "cluster", "features.1: BatchNorm2d", "classifier.1: BatchNorm1d"):
        assert text in source, text


def test_ctrl_c_then_resume_of_a_cnn_run_matches_the_uninterrupted_run(mnist_dir, tmp_path):
    common = ["--data-dir", str(mnist_dir), "--model", "lenet5", "--optimizer", "adam", "--batch-norm",
              "--dropout", "0.2", "--train-size", "400", "--test-size", "100", "--batch-size", "10",
              "--epochs", "2", "--disp-freq", "5", "--no-progress"]
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    reference = subprocess.run([sys.executable, "-m", "tinygrad_mnist", "train", *common, "--out",
                                str(tmp_path / "reference")], capture_output=True, text=True, timeout=300,
                               env=environment)
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_mnist", "train", *common, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    assert process.stdout.readline().startswith("Run directory")
    while not process.stdout.readline().startswith("Epoch [1][2] Batch [10][40]"):
        pass
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert json.loads((out / "summary.json").read_text())["stopped"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "tinygrad_mnist", "train", "--resume", str(out),
                              "--data-dir", str(mnist_dir)], capture_output=True, text=True, timeout=300,
                             env=environment)
    assert resumed.returncode == 0, resumed.stderr
    import numpy as np

    with np.load(out / "checkpoint.npz") as left, np.load(tmp_path / "reference" / "checkpoint.npz") as right:
        keys = [k for k in left.files if k != "__meta__"]
        assert any("running_var" in k for k in keys) and any("exp_avg" in k for k in keys)
        for key in keys:
            assert left[key].tobytes() == right[key].tobytes(), key
