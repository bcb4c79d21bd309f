"""``--help`` of every command explains every option, with its default and allowed values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_mnist.cli import build_parser
from tinygrad_mnist.train import SETTINGS, TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[2]

# Written out by hand (not derived from the parser) so that renaming or dropping an option fails.
TRAIN_SETTING_FLAGS = [
    "--model", "--hidden", "--activation", "--batch-norm", "--dropout", "--loss", "--margin", "--focal-gamma", "--focal-alpha",
    "--label-smoothing", "--optimizer", "--lr", "--momentum", "--momentum-form", "--weight-decay", "--nesterov",
    "--betas", "--eps", "--alpha",
    "--batch-size", "--epochs", "--init", "--init-std", "--lr-schedule", "--lr-step-size",
    "--lr-gamma", "--early-stop", "--early-stop-min-delta", "--seed", "--dtype", "--disp-freq",
    "--normalize", "--val-size", "--train-size", "--test-size", "--data-dir", "--on-nonfinite",
    "--detect-anomaly", "--no-progress", "--checkpoint-every",
]
EXPECTED_OPTIONS = {
    "train": TRAIN_SETTING_FLAGS + ["--config", "--resume", "--out", "--dry-run", "--no-nesterov"],
    "grid": TRAIN_SETTING_FLAGS + ["--config", "--jobs", "--out", "--dry-run", "--resume", "--cluster"],
    "eval": ["--data-dir", "--dry-run", "CHECKPOINT_OR_RUN_DIR"],
    "plot": ["--out", "--title", "--dry-run", "RUN_DIR"],
    "graph": ["--model", "--batch-norm", "--dropout", "--hidden", "--activation", "--loss", "--margin", "--seed", "--batch-size",
              "--show-values", "--show-grads", "--out", "--dry-run"],
}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_settings_cover_every_trainconfig_field_in_order():
    assert [s.name for s in SETTINGS] == TrainConfig.field_names()


@pytest.mark.parametrize("command", sorted(EXPECTED_OPTIONS))
def test_help_lists_every_option(cli, command):
    result = cli(command, "--help")
    assert result.code == 0 and result.err == ""
    for option in EXPECTED_OPTIONS[command]:
        assert option in result.out, f"{command} --help does not mention {option}"


@pytest.mark.parametrize("command", ["train", "grid"])
def test_help_gives_default_and_allowed_values_of_every_setting(cli, command):
    text = flat(cli(command, "--help").out)
    for setting in SETTINGS:  # the declarations are the one source of what --help says
        assert f"default: {setting.describe_default()}" in text, setting.name
        assert setting.kind.describe() in text, setting.name
    choices = [s for s in SETTINGS if getattr(s.kind, "choices", None)]
    assert len(choices) >= 8 and all(f"one of: {', '.join(s.kind.choices)}" in text for s in choices)
    assert "default: 0.1" in text  # lr
    assert "default: 128" in text  # hidden
    assert "default: all" in text  # train_size / test_size
    assert "> 0" in text and "< 1" in text
    # The euclidean loss compares raw outputs with the one-hot target; no softmax (issue 10).
    assert "euclidean (half the squared error between the raw outputs and the one-hot target, no softmax)" in text


@pytest.mark.parametrize("command", sorted(EXPECTED_OPTIONS))
def test_every_option_taking_a_value_states_its_default(command):
    sub = build_parser().commands[command]
    assert sub.option_help, f"{command} has no options taking a value"
    for option, text in sub.option_help.items():  # flags such as --help, --dry-run take no value
        assert text and "default" in text, f"{command} {option} help has no default"


def test_top_level_help_names_every_command(cli):
    result = cli("--help")
    assert result.code == 0
    for command in EXPECTED_OPTIONS:
        assert command in result.out


def test_python_dash_m_help_in_a_subprocess():
    done = subprocess.run([sys.executable, "-m", "tinygrad_mnist", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: tinygrad-mnist")
    assert "train" in done.stdout and "graph" in done.stdout
