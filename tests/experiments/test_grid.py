"""run_grid: every combination a run (in parallel), failures reported, results.md laid out like the lab tables."""
import json
import os
import signal

import pytest

from tinygrad_mnist.errors import ConfigError, RunDirectoryError
from tinygrad_mnist.experiments import results_markdown, run_grid
from tinygrad_mnist.train import TrainConfig, plan_grid
from grid_helpers import GridProcess, wait_for_checkpoints
from train_helpers import quiet, synthetic

TINY = TrainConfig(hidden=[8], epochs=2, batch_size=50, lr=0.05, disp_freq=0, progress=False)


@pytest.mark.curves
def test_two_axes_in_parallel_give_one_table_per_metric(tmp_path):
    data = synthetic(n_train=200, n_test=50)
    axes = {"activation": ["relu", "sigmoid"], "loss": ["ce", "hinge", "euclidean"]}
    lines = []
    entries = run_grid(TINY, axes, tmp_path / "grid", jobs=2, log=lines.append, data=data,
                       overrides=[({"loss": "hinge"}, {"lr": 1e-3})])
    assert [e["name"] for e in entries] == [f"{a}-{l}" for a in axes["activation"] for l in axes["loss"]]
    assert all(e["stopped"] == "completed" and e["epochs_run"] == 2 for e in entries)
    for entry in entries:
        config = json.loads((tmp_path / "grid" / entry["name"] / "config.json").read_text())
        assert config["activation"] == entry["params"]["activation"] and config["loss"] == entry["params"]["loss"]
        assert config["lr"] == (1e-3 if entry["params"]["loss"] == "hinge" else 0.05)
        assert config["progress"] is False
    assert lines[0] == f"grid: 6 runs into {tmp_path / 'grid'}, on 2 local worker processes"

    report = (tmp_path / "grid" / "results.md").read_text().splitlines()
    headings = [line for line in report if line.startswith("## ")]
    assert headings == ["## Final test accuracy", "## Final train accuracy", "## Final test loss", "## Final train loss"]
    first = report.index("## Final test accuracy")
    assert report[first + 2] == "| activation \\ loss | ce | hinge | euclidean |"
    assert report[first + 3] == "|---|---|---|---|"
    rows = report[first + 4 : first + 6]
    by_name = {e["name"]: e for e in entries}
    for row, activation in zip(rows, axes["activation"]):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == activation
        assert cells[1:] == [f"{by_name[f'{activation}-{loss}']['test_accuracy']:.4f}" for loss in axes["loss"]]

    results = json.loads((tmp_path / "grid" / "results.json").read_text())
    assert [r["name"] for r in results["runs"]] == [e["name"] for e in entries]
    assert results["axes"] == axes and results["overrides"] == [[{"loss": "hinge"}, {"lr": 1e-3}]]
    assert (tmp_path / "grid" / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path):
    data = synthetic(n_train=200, n_test=50)
    lines = []
    entries = run_grid(TINY, {"batch_size": [50, 500]}, tmp_path / "grid", jobs=2, log=lines.append, data=data)
    assert [e["name"] for e in entries] == ["batch_size50", "batch_size500"]
    assert entries[0]["stopped"] == "completed"
    assert entries[1]["stopped"] == "error" and "batch_size 500 is larger than the 200 training samples" in entries[1]["error"]
    assert any(line.startswith("[batch_size500] failed: ConfigError: batch_size 500") for line in lines)
    report = (tmp_path / "grid" / "results.md").read_text()
    assert "| run | batch_size | test accuracy | train accuracy | test loss | train loss | epochs | stopped |" in report
    assert "| batch_size500 | 500 | failed | failed | failed | failed |" in report
    assert "## Problems" in report


def test_one_varying_axis_in_process_gives_one_row_per_run(tmp_path):
    data = synthetic(n_train=200, n_test=50)
    lines = []
    entries = run_grid(TINY, {"hidden": [[], [8, 8]], "seed": [3]}, tmp_path / "grid", jobs=1, log=lines.append, data=data)
    assert [e["name"] for e in entries] == ["hiddenlinear", "hidden8x8"]
    assert any(line.startswith("[hiddenlinear] Epoch [2][2] | train loss") for line in lines)
    report = (tmp_path / "grid" / "results.md").read_text().splitlines()
    assert report[2] == "| run | hidden | test accuracy | train accuracy | test loss | train loss | epochs | stopped |"
    assert report[4].startswith("| hiddenlinear | none | ") and report[5].startswith("| hidden8x8 | 8-8 | ")
    assert json.loads((tmp_path / "grid" / "hidden8x8" / "config.json").read_text())["seed"] == 3


def test_a_diverging_run_shows_as_diverged(tmp_path):
    data = synthetic(n_train=200, n_test=50)
    entries = run_grid(TINY.replace(loss="euclidean"), {"lr": [0.05, 1e4]}, tmp_path / "grid", log=quiet, data=data)
    assert entries[1]["stopped"] == "nonfinite" and "probably too high" in entries[1]["error"]
    assert "| lr10000.0 | 10000.0 | diverged |" in (tmp_path / "grid" / "results.md").read_text()


def test_plans_are_checked_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="unknown option 'activations' in the grid axes; did you mean 'activation'"):
        run_grid(TINY, {"activations": ["relu"]}, tmp_path / "g", log=quiet)
    with pytest.raises(ConfigError, match="unknown activation 'rleu'"):
        run_grid(TINY, {"activation": ["relu", "rleu"]}, tmp_path / "g", log=quiet)
    with pytest.raises(ConfigError, match="lists a value twice"):
        run_grid(TINY, {"lr": [0.1, 0.1]}, tmp_path / "g", log=quiet)
    with pytest.raises(ConfigError, match="needs a non-empty list"):
        run_grid(TINY, {"lr": []}, tmp_path / "g", log=quiet)
    with pytest.raises(ConfigError, match="override #1 match"):
        run_grid(TINY, {"lr": [0.1]}, tmp_path / "g", log=quiet, overrides=[({"los": "hinge"}, {"lr": 1.0})])
    with pytest.raises(ConfigError, match="jobs must be a positive integer"):
        run_grid(TINY, {"lr": [0.1]}, tmp_path / "g", jobs=0, log=quiet)
    assert not (tmp_path / "g").exists()


def test_an_existing_grid_folder_is_never_overwritten(tmp_path):
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "results.md").write_text("old results")
    with pytest.raises(RunDirectoryError, match="not empty"):
        run_grid(TINY, {"lr": [0.1]}, tmp_path / "grid", log=quiet, data=synthetic(n_train=200, n_test=50))
    assert (tmp_path / "grid" / "results.md").read_text() == "old results"


def test_overrides_apply_in_order_and_match_on_the_combined_config():
    runs = plan_grid(
        TINY,
        {"loss": ["ce", "hinge"], "hidden": [[8], [16]]},
        overrides=[({"loss": "hinge"}, {"lr": 1e-4}), ({"loss": "hinge", "hidden": [16]}, {"margin": 1.0})],
    )
    settings = {r["name"]: (r["config"].lr, r["config"].margin) for r in runs}
    assert settings == {
        "ce-hidden8": (0.05, 5.0),
        "ce-hidden16": (0.05, 5.0),
        "hinge-hidden8": (1e-4, 5.0),
        "hinge-hidden16": (1e-4, 1.0),
    }


def test_overrides_may_be_written_as_match_set_tables():
    runs = plan_grid(TINY, {"loss": ["ce", "hinge"]}, overrides=[{"match": {"loss": "hinge"}, "set": {"lr": 1e-4}}])
    assert [r["config"].lr for r in runs] == [0.05, 1e-4]
    with pytest.raises(ConfigError, match="override #1 must be a pair"):
        plan_grid(TINY, {"loss": ["ce"]}, overrides=[{"match": {"loss": "hinge"}}])


def test_markdown_marks_missing_and_interrupted_cells():
    entries = [
        {"params": {"a": "x", "b": 1}, "stopped": "interrupted"},
        {"params": {"a": "x", "b": 2}, "stopped": "not_started", "error": "the grid was interrupted"},
    ]
    text = results_markdown({"a": ["x", "y"], "b": [1, 2]}, entries)
    assert "| x | interrupted | not started |" in text and "| y | n/a | n/a |" in text


@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c-to-the-group", "sigterm-to-the-parent"])
def test_a_signal_stops_the_pool_cleanly(tmp_path, to_group):
    config = TrainConfig(hidden=[128], epochs=3, batch_size=10, lr=0.02, disp_freq=1, progress=False).to_dict()
    grid = GridProcess(tmp_path / "grid", config, {"seed": [0, 1, 2, 3]}, 2, {"n_train": 2400, "n_test": 100}, tmp_path)
    try:
        grid.wait_for(r"\] Epoch \[1\]\[3\] Batch \[5\]\[240\]")
        if to_group:
            os.killpg(grid.process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        else:
            grid.process.send_signal(signal.SIGTERM)
        code, lines, err = grid.finish(timeout=60)
    finally:
        grid.kill()
    assert code == 0, err[-3000:]
    stopped = grid.done()
    # seed0 was training; seed1's worker may still have been starting, so it stops or never starts.
    assert stopped["seed0"] == "interrupted" and stopped["seed1"] in ("interrupted", "not_started")
    assert (stopped["seed2"], stopped["seed3"]) == ("not_started", "not_started")
    assert "Traceback" not in err
    name = "SIGINT" if to_group else "SIGTERM"
    assert f"grid: {name} received; running runs save a resumable checkpoint, queued runs do not start" in lines
    for run, state in stopped.items():
        run_dir = tmp_path / "grid" / run
        if state == "interrupted":
            assert json.loads((run_dir / "summary.json").read_text())["stopped"] == "interrupted"
        else:
            assert not run_dir.exists()
    report = (tmp_path / "grid" / "results.md").read_text()
    assert "| seed2 | 2 | not started |" in report


def test_a_run_that_another_process_is_training_is_left_alone(tmp_path, monkeypatch):
    """A killed grid's worker may still be saving a run when the grid is rerun: the run's lock
    keeps the rerun off it (here the lock stays held, so the rerun gives up on that run)."""
    import tinygrad_mnist.experiments.task as task
    from tinygrad_mnist.experiments.locks import exclusive_lock

    monkeypatch.setattr(task, "RUN_LOCK_WAIT_SECONDS", 0.3)
    data = synthetic(n_train=200, n_test=50)
    out = tmp_path / "grid"
    entries = run_grid(TINY, {"seed": [0, 1]}, out, log=quiet, data=data)
    (out / "seed1" / "summary.json").unlink()  # as if seed1 were still being trained elsewhere
    before = (out / "seed1" / "checkpoint.npz").read_bytes()
    with exclusive_lock(out / ".grid" / "runs" / "seed1.lock", "seed1"):
        entries = run_grid(TINY, {"seed": [0, 1]}, out, log=quiet, data=data)
    assert entries[0]["stopped"] == "completed"
    assert entries[1]["stopped"] == "error" and "is in use by another process" in entries[1]["error"]
    assert (out / "seed1" / "checkpoint.npz").read_bytes() == before


def test_ctrl_c_stops_a_grid_that_trains_in_its_own_process(tmp_path):
    """jobs=1: the run trains in a thread of the grid's process; the grid takes the Ctrl-C and
    asks the run to stop at the next batch."""
    config = TrainConfig(hidden=[128], epochs=5, batch_size=10, lr=0.02, disp_freq=0, progress=False).to_dict()
    grid = GridProcess(tmp_path / "grid", config, {"seed": [0, 1]}, 1, {"n_train": 2400, "n_test": 100}, tmp_path)
    try:
        wait_for_checkpoints({"seed0": tmp_path / "grid" / "seed0"}, (0, 0))  # seed0 has started
        os.killpg(grid.process.pid, signal.SIGINT)
        code, lines, err = grid.finish(timeout=60)
    finally:
        grid.kill()
    assert code == 0, err[-3000:]
    assert grid.done() == {"seed0": "interrupted", "seed1": "not_started"}
    assert "grid: SIGINT received; running runs save a resumable checkpoint, queued runs do not start" in lines
    assert any(line.startswith("[seed0] a stop request from the grid received: stopped at epoch ") for line in lines)
