"""Smaller parts of training: metrics, RNG state of dropout, the progress bar rule, JSON files."""
import io
import json
import math
import sys

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import CheckpointError
from tinygrad_mnist.train import fit, read_metrics_csv
from tinygrad_mnist.train.metrics import RunningMean, accuracy, confusion_matrix, write_metrics_csv
from tinygrad_mnist.train.rngstate import capture_rng_states, module_generators, restore_rng_states
from tinygrad_mnist.train.summary import write_summary
from train_helpers import quiet


def test_accuracy_and_confusion_matrix():
    logits = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    labels = np.array([1, 0, 1, 2])
    assert accuracy(logits, labels) == 0.5
    confusion = confusion_matrix(logits.argmax(axis=1), labels, 3)
    assert confusion.tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 0]]


def test_running_mean_weights_by_examples_and_round_trips():
    mean = RunningMean()
    assert math.isnan(mean.loss)
    mean.add(1.0, 10, 10)
    mean.add(4.0, 0, 5)
    assert mean.loss == 2.0 and mean.accuracy == 10 / 15 and mean.batches == 2
    assert RunningMean(**mean.state()).state() == mean.state()


def test_metrics_csv_round_trips_exact_floats(tmp_path):
    rows = [{"epoch": 1, "lr": 0.1, "loss": 1 / 3}, {"epoch": 2, "lr": 0.1, "loss": float("nan")}]
    write_metrics_csv(tmp_path / "m.csv", rows, ["epoch", "lr", "loss"])
    back = read_metrics_csv(tmp_path / "m.csv")
    assert back[0] == rows[0] and math.isnan(back[1]["loss"])


def test_summary_json_is_strict_json(tmp_path):
    write_summary(tmp_path / "s.json", {"loss": float("inf"), "nested": [float("nan"), 1.5]})
    text = (tmp_path / "s.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}")) == {
        "loss": None,
        "nested": [None, 1.5],
    }


def test_dropout_generators_are_captured_and_restored():
    def make():
        return nn.Sequential(nn.Linear(4, 4, seed=0), nn.Dropout(0.5, seed=7), nn.Linear(4, 2, seed=1), nn.Dropout(0.3, seed=8))

    model, twin = make(), make()
    assert [(name, attribute) for name, attribute, _ in module_generators(model)] == [("1", "rng"), ("3", "rng")]
    x = Tensor(np.ones((3, 4), dtype=np.float32))
    model(x)  # advance the generators
    states = json.loads(json.dumps(capture_rng_states(model)))  # as stored in a checkpoint
    restore_rng_states(twin, states)
    assert model(x).numpy().tobytes() == twin(x).numpy().tobytes()
    with pytest.raises(CheckpointError, match="different model"):
        restore_rng_states(nn.Sequential(nn.Linear(4, 2)), states)


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, data, small_config, capsys):
    fit(small_config.replace(epochs=1, progress=True), out_dir=tmp_path / "run", data=data, log=quiet)
    assert capsys.readouterr().err == ""


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_and_only_when_asked(tmp_path, data, small_config, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    fake = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    fit(small_config.replace(epochs=1, progress=True), out_dir=tmp_path / "bar", data=data, log=quiet)
    assert "epoch 1/1" in fake.getvalue() and "/30 [" in fake.getvalue()
    fake.seek(0)
    fake.truncate()
    fit(small_config.replace(epochs=1, progress=False), out_dir=tmp_path / "nobar", data=data, log=quiet)
    assert fake.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    fit(small_config.replace(epochs=1, progress=True), out_dir=tmp_path / "ci", data=data, log=quiet)
    assert fake.getvalue() == ""
