"""The commands end to end on small real-MNIST subsets: train, eval, grid, plot, graph."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "examples" / "experiments"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_train_leaves_a_complete_run_directory(trained_run):
    run_dir, out = trained_run
    for name in ("config.json", "metrics.csv", "summary.json", "checkpoint.npz", "curves.png"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["train_size"], config["test_size"], config["epochs"], config["hidden"]) == (1000, 500, 1, [32])
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped"] == "completed"
    assert summary["test_accuracy"] > 0.5  # 50 SGD steps already learn a lot; guessing gives 0.1


def test_train_prints_report_style_progress(trained_run):
    run_dir, out = trained_run
    # 1000 samples / batch 20 = 50 iterations, a line every 10.
    batch_lines = re.findall(r"^Epoch \[1\]\[1\] Batch \[(\d+)\]\[50\] Training Loss [\d.]+ Accuracy [\d.]+$",
                             out, flags=re.MULTILINE)
    assert batch_lines == ["10", "20", "30", "40", "50"]
    assert re.search(r"^Epoch \[1\]\[1\] \| train loss [\d.]+ acc [\d.]+ \| test loss [\d.]+ acc [\d.]+", out,
                     flags=re.MULTILINE)
    assert out.rstrip().splitlines()[-1].startswith("done after 1 epochs: test accuracy ")
    assert str(run_dir) in out.splitlines()[-1]


def test_eval_prints_accuracy_loss_and_confusion_matrix(cli, trained_run, mnist_dir):
    run_dir, _ = trained_run
    result = cli("eval", run_dir, "--data-dir", mnist_dir)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    accuracy = re.match(r"accuracy (\d+\.\d\d)% \((\d+) of (\d+) test images\)", lines[0])
    assert accuracy and int(accuracy.group(3)) == 500  # the run's test split (--test-size 500)
    assert float(accuracy.group(1)) > 50
    assert re.match(r"loss +\d+\.\d{4}$", lines[1])
    assert lines[2].startswith("confusion matrix (rows: true digit, columns: predicted digit)")
    assert lines[3].split() == ["true", *map(str, range(10)), "recall"]
    matrix = [[int(c) for c in line.split()[1:11]] for line in lines[4:14]]
    assert [line.split()[0] for line in lines[4:14]] == [str(d) for d in range(10)]
    assert sum(map(sum, matrix)) == 500
    assert sum(matrix[i][i] for i in range(10)) == int(accuracy.group(2))


def test_eval_accepts_the_checkpoint_file_itself(cli, trained_run, mnist_dir):
    run_dir, _ = trained_run
    by_dir = cli("eval", run_dir, "--data-dir", mnist_dir)
    by_file = cli("eval", run_dir / "checkpoint.npz", "--data-dir", mnist_dir)
    assert by_file.code == 0 and by_file.out == by_dir.out


def test_train_from_config_file_with_an_override(cli, mnist_dir, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('hidden = [16]\ntrain_size = 300\ntest_size = 100\nepochs = 3\nbatch_size = 100\n'
                      'progress = false\nactivation = "tanh"\n')
    out = tmp_path / "run"
    result = cli("train", "--config", config, "--epochs", "1", "--data-dir", mnist_dir, "--out", out)
    assert result.code == 0, result.err
    saved = json.loads((out / "config.json").read_text())
    assert saved["epochs"] == 1 and saved["activation"] == "tanh" and saved["hidden"] == [16]


def test_resume_of_a_finished_run_is_one_line(cli, trained_run):
    run_dir, _ = trained_run
    result = cli("train", "--resume", run_dir)
    assert result.code == 2 and len(result.err_lines) == 1 and "already finished" in result.err


def test_plot_writes_one_png_for_several_runs(cli, trained_run, tmp_path):
    run_dir, _ = trained_run
    twin = tmp_path / "twin"
    shutil.copytree(run_dir, twin)
    out = tmp_path / "plots" / "both.png"
    result = cli("plot", run_dir, twin, "--out", out, "--title", "two runs")
    assert result.code == 0, result.err
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_grid_with_two_jobs_writes_an_activation_by_loss_table(cli, mnist_dir, tmp_path):
    out = tmp_path / "quick"
    result = cli("grid", "--config", EXPERIMENTS / "quick.toml", "--data-dir", mnist_dir, "--jobs", "2",
                 "--out", out)
    assert result.code == 0, result.err
    results = (out / "results.md").read_text()
    assert (out / "curves.png").read_bytes().startswith(PNG_MAGIC)
    # One table row per activation, one column per loss.
    table = [line for line in results.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header[1:] == ["ce", "euclidean"]
    rows = {cells[0]: cells[1:] for cells in
            ([cell.strip() for cell in line.strip("|").split("|")] for line in table[2:])}
    assert set(rows) >= {"relu", "tanh"}
    summaries = [json.loads(p.read_text()) for p in out.glob("*/summary.json")]
    assert len(summaries) == 4
    assert all(s["test_accuracy"] > 0.5 for s in summaries), [s["test_accuracy"] for s in summaries]
    # A grid directory stands for all its runs.
    dry = cli("plot", out, "--out", tmp_path / "all.png", "--dry-run")
    assert dry.code == 0 and dry.out.startswith("would plot 4 runs")
    assert cli("plot", out, "--out", tmp_path / "all.png").code == 0
    assert (tmp_path / "all.png").read_bytes().startswith(PNG_MAGIC)


def test_graph_writes_dot(cli, tmp_path):
    dot_file = tmp_path / "graph.dot"
    result = cli("graph", "--hidden", "8", "--activation", "gelu", "--loss", "hinge", "--out", dot_file)
    assert result.code == 0, result.err
    source = dot_file.read_text()
    assert source.startswith("digraph")
    for name in ("layers.0.weight", "layers.0.bias", "images", "Linear"):
        assert name in source


@pytest.mark.requires_program("dot")
def test_graph_writes_svg(cli, tmp_path):
    svg_file = tmp_path / "graph.svg"
    assert cli("graph", "--hidden", "--batch-size", "3", "--show-grads", "--out", svg_file).code == 0
    svg = svg_file.read_text()
    assert "<svg" in svg and svg.rstrip().endswith("</svg>") and "layers.0.weight" in svg


def test_ctrl_c_exits_130_and_resume_finishes_the_run(mnist_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    # 2000 samples in batches of 10: 200 iterations per epoch, 4 epochs, so Ctrl-C lands mid-run.
    command = [sys.executable, "-m", "tinygrad_mnist", "train", "--data-dir", str(mnist_dir),
               "--train-size", "2000", "--test-size", "200", "--epochs", "4", "--batch-size", "10",
               "--hidden", "16", "--disp-freq", "20", "--no-progress", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ))
    first = process.stdout.readline()
    assert first.startswith("Run directory"), first + process.stderr.read()
    # The first progress line comes from inside the training loop, where Ctrl-C is caught.
    progress = process.stdout.readline()
    assert progress.startswith("Epoch [1][4] Batch [20][200]"), progress + process.stderr.read()
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived; nothing to resume")
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"train --resume {out}" in rest
    assert json.loads((out / "summary.json").read_text())["stopped"] == "interrupted"

    # The data folder comes from the environment on resume (a folder saved with the run is not used).
    resumed = subprocess.run([sys.executable, "-m", "tinygrad_mnist", "train", "--resume", str(out)],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, TINYGRAD_MNIST_DATA=str(mnist_dir)))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"Resuming {out}")
    assert resumed.stdout.rstrip().splitlines()[-1].startswith("done after 4 epochs")
    assert json.loads((out / "summary.json").read_text())["stopped"] == "completed"


def test_graph_shows_every_gradient_and_the_steps_of_backward(cli, tmp_path):
    grads = tmp_path / "grads.dot"
    assert cli("graph", "--hidden", "4", "--show-grads", "--out", grads).code == 0
    source = grads.read_text()
    assert source.count("grad ") >= 9  # every op and parameter node, not only the leaves
    steps = tmp_path / "steps.dot"
    result = cli("graph", "--hidden", "4", "--steps", "--out", steps)
    assert result.code == 0, result.err
    rows = result.out.splitlines()
    assert rows[0].split() == ["step", "node", "receives", "sends", "to", "its", "inputs"]
    assert rows[1].split()[:3] == ["1", "Mean", "()"] and any("layers.0.weight (784, 4)" in row for row in rows)
    numbered = steps.read_text()
    assert 'dir="back"' in numbered and "step 11: grad" in numbered


def test_plot_takes_the_metric_splits_and_limits(cli, tmp_path, trained_run):
    run_dir, _ = trained_run
    out = tmp_path / "acc.png"
    result = cli("plot", run_dir, "--metric", "accuracy", "--split", "test", "--ylim", "accuracy", "0.5", "1",
                 "--out", out)
    assert result.code == 0, result.err
    assert out.read_bytes().startswith(PNG_MAGIC)
    bad = cli("plot", run_dir, "--ylim", "accuracy", "1", "0.5", "--out", out)
    assert bad.code == 2 and "--ylim accuracy: LOW must be below HIGH" in bad.err
    assert "error:" in cli("plot", run_dir, "--metric", "acc", "--out", out).err
