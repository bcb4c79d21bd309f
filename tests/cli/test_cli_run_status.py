"""How a run ended, said once: the end-of-run line of every RunStatus, and real runs that stop early
or diverge (issue 10: an early-stopped run printed "done", and "loss became inf" appeared twice)."""

from __future__ import annotations

import json

import pytest

from tinygrad_mnist.cli.train import finish
from tinygrad_mnist.train import RunStatus, end_of_run_line

SUMMARY = {"epochs_run": 3, "test_accuracy": 0.9123, "run_dir": "runs/r", "error": "why it ended",
           "resume_command": "tinygrad-mnist train --resume runs/r"}
LINES = {
    RunStatus.RUNNING: "still running after 3 epochs",
    RunStatus.COMPLETED: "done after 3 epochs: test accuracy 91.23%; run directory runs/r",
    RunStatus.EARLY_STOP: "stopped early after 3 epochs: test accuracy 91.23%; run directory runs/r",
    RunStatus.NONFINITE: "diverged: why it ended",
    RunStatus.INTERRUPTED: "interrupted after 3 epochs; resume with: tinygrad-mnist train --resume runs/r",
    RunStatus.ERROR: "failed: why it ended",
    RunStatus.NOT_STARTED: "not started: why it ended",
}


def test_every_status_has_its_line():
    assert set(LINES) == set(RunStatus)


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_end_of_run_line(status):
    # Summaries hold the plain text (as read back from summary.json), and the enum alike.
    assert end_of_run_line({**SUMMARY, "stopped": status.value}) == LINES[status]
    assert end_of_run_line({**SUMMARY, "stopped": status}) == LINES[status]


@pytest.mark.parametrize("status, code", [(RunStatus.COMPLETED, 0), (RunStatus.EARLY_STOP, 0), (RunStatus.INTERRUPTED, 130)])
def test_train_command_says_how_the_run_ended(capsys, status, code):
    assert finish({**SUMMARY, "stopped": status.value}) == code
    out = capsys.readouterr().out
    # An interrupted run has already printed how to resume; the others end with their line.
    assert out == ("" if status is RunStatus.INTERRUPTED else LINES[status] + "\n")


def _small_run(mnist_dir, out, *options):
    return ["train", "--data-dir", mnist_dir, "--train-size", "200", "--test-size", "100", "--hidden", "8",
            "--batch-size", "50", "--disp-freq", "0", "--no-progress", "--out", out, *options]


def test_an_early_stopped_run_says_stopped_early(cli, mnist_dir, tmp_path):
    # Nothing improves by 100, so the second epoch is one without improvement: patience 1 stops there.
    result = cli(*_small_run(mnist_dir, tmp_path / "run", "--epochs", "5", "--early-stop", "1",
                             "--early-stop-min-delta", "100"))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith("stopped early after 2 epochs: test accuracy ")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stopped"] == "early_stop"


def test_a_diverging_run_says_so_once(cli, mnist_dir, tmp_path):
    result = cli(*_small_run(mnist_dir, tmp_path / "run", "--epochs", "2", "--lr", "1e30", "--init-std", "10"))
    assert result.code == 2
    assert len(result.err_lines) == 1 and "loss became" in result.err  # the one error line says it ...
    assert "became" not in result.out  # ... and the log does not repeat it
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stopped"] == "nonfinite"
