"""Grids that lose a worker, lose their own process, or are stopped, finish on a rerun with every run
equal bit for bit to a grid that was never disturbed (issue 12, items 2-4): real processes, real
signals, the grid's own lines to know which worker runs what."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from grid_helpers import GridProcess, assert_same_run, wait_for_checkpoints, wait_until_gone
from tinygrad_mnist.experiments.rundirs import checkpoint_progress

# Five runs of 3 epochs of 200 batches, two at a time (so seed4 starts only after two others ended).
# The tests strike when a run's checkpoint on disk says it finished its first epoch: then it is in
# its second, two epochs from its end, even on a busy machine (each test makes sure).
CONFIG = {"hidden": [64], "epochs": 3, "batch_size": 10, "lr": 0.02, "disp_freq": 40, "progress": False}
AXES = {"seed": [0, 1, 2, 3, 4]}
DATA = {"n_train": 2000, "n_test": 100}
RUNS = [f"seed{seed}" for seed in AXES["seed"]]


def start(out: Path, tmp_path: Path) -> GridProcess:
    return GridProcess(out, CONFIG, AXES, 2, DATA, tmp_path)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The same grid, never disturbed."""
    tmp = tmp_path_factory.mktemp("reference")
    grid = start(tmp / "grid", tmp)
    code, lines, err = grid.finish()
    assert code == 0 and grid.done() == {run: "completed" for run in RUNS}, err[-2000:]
    return tmp / "grid"


def assert_mid_run(run_dir: Path) -> None:
    """The run in ``run_dir`` (its worker frozen) has not finished: the attack lands mid-run."""
    assert checkpoint_progress(run_dir / "checkpoint.npz") < (CONFIG["epochs"], 0), (
        f"{run_dir.name} finished before it could be stopped: the machine is too busy for this test")


def kill_worker(grid: GridProcess, run: str, run_dir: Path) -> int:
    """SIGKILL the worker training ``run``, as the OOM killer would; SIGSTOP first, to make sure
    that it is killed mid-run. Returns its pid."""
    pid = grid.workers[run]
    os.kill(pid, signal.SIGSTOP)
    assert_mid_run(run_dir)
    os.kill(pid, signal.SIGKILL)
    return pid


def assert_all_equal_the_reference(out: Path, reference: Path) -> None:
    for run in RUNS:
        assert_same_run(out / run, reference / run)


def test_a_killed_worker_costs_only_its_run_which_is_retried_from_its_checkpoint(tmp_path, reference):
    grid = start(tmp_path / "grid", tmp_path)
    try:
        grid.wait_for(r"^\[seed0\] running on")
        wait_for_checkpoints({"seed0": tmp_path / "grid" / "seed0"}, (1, 0))
        pid = kill_worker(grid, "seed0", tmp_path / "grid" / "seed0")
        # The last checkpoint it saved: after epoch 1 (or 2, on a machine slow to react).
        epoch, _ = checkpoint_progress(tmp_path / "grid" / "seed0" / "checkpoint.npz")
        code, lines, err = grid.finish()
    finally:
        grid.kill()
    assert code == 0, err[-3000:]
    assert grid.done() == {run: "completed" for run in RUNS}
    assert (f"[seed0] its worker process (pid {pid}) died: killed by SIGKILL; retrying it on another worker from "
            f"its checkpoint after epoch {epoch}") in lines
    # The other worker's run went on undisturbed: started once, never retried.
    assert sum(line.startswith("[seed1] running on") for line in lines) == 1
    assert any(line.startswith("[seed0] Resuming") and f"at epoch {epoch + 1} batch 1" in line for line in lines)
    assert_all_equal_the_reference(tmp_path / "grid", reference)


def test_a_run_that_loses_its_worker_twice_is_reported_failed_and_a_rerun_finishes_it(tmp_path, reference):
    grid = start(tmp_path / "grid", tmp_path)
    try:
        grid.wait_for(r"^\[seed0\] running on")
        wait_for_checkpoints({"seed0": tmp_path / "grid" / "seed0"}, (0, 0))
        first = kill_worker(grid, "seed0", tmp_path / "grid" / "seed0")
        grid.wait_for(r"^\[seed0\] running on")
        second = kill_worker(grid, "seed0", tmp_path / "grid" / "seed0")
        code, lines, err = grid.finish()
    finally:
        grid.kill()
    assert code == 0, err[-3000:]
    assert grid.done() == {run: "error" if run == "seed0" else "completed" for run in RUNS}
    assert first != second
    results = json.loads((tmp_path / "grid" / "results.json").read_text())
    error = next(run["error"] for run in results["runs"] if run["name"] == "seed0")
    assert error.startswith(f"its worker process (pid {second}) died: killed by SIGKILL, the second time this run "
                            "lost its worker; it was not retried again: rerun the grid")
    assert "- seed0: its worker process" in (tmp_path / "grid" / "results.md").read_text()

    rerun = start(tmp_path / "grid", tmp_path)
    code, lines, err = rerun.finish()
    assert code == 0, err[-3000:]
    assert lines[0].endswith("(4 finished earlier and kept, 1 resumes from its checkpoint), on 1 local worker process")
    assert [line for line in lines if " running on " in line] == [line for line in lines if line.startswith("[seed0] running on")]
    assert_all_equal_the_reference(tmp_path / "grid", reference)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_an_interrupted_grid_is_continued_by_rerunning_it(tmp_path, reference, how):
    out = tmp_path / "grid"
    grid = start(out, tmp_path)
    try:
        # seed0 and seed1 are done when seed2 and seed3 run; seed4 waits for one of those.
        grid.wait_for_all(r"^\[seed2\] running on", r"^\[seed3\] running on")
        if how == "ctrl-c":
            wait_for_checkpoints({"seed2": out / "seed2"}, (1, 0))
            os.killpg(grid.process.pid, signal.SIGINT)
            assert_mid_run(out / "seed2")  # not finished when Ctrl-C came (it stops at the next batch)
        else:
            # The workers are frozen as soon as their runs are into epoch 2 and the grid dies while
            # they are, so they surely find it gone in the middle of their runs (issue 12, item 4).
            workers = {run: grid.workers[run] for run in ("seed2", "seed3")}
            wait_for_checkpoints({run: out / run for run in workers}, (1, 0),
                                 then=lambda run: os.kill(workers[run], signal.SIGSTOP))
            for run in workers:
                assert_mid_run(out / run)
            os.kill(grid.process.pid, signal.SIGKILL)
            grid.process.wait()
            for pid in workers.values():
                os.kill(pid, signal.SIGCONT)
            assert all(wait_until_gone(pid, 10) for pid in workers.values()), "workers outlived their grid"
        code, lines, err = grid.finish()
    finally:
        grid.kill()
    if how == "ctrl-c":
        assert code == 0, err[-3000:]
        assert grid.done()["seed4"] == "not_started"
    else:
        assert code == -signal.SIGKILL
        for run in ("seed2", "seed3"):  # saved by their workers after the grid died
            summary = json.loads((out / run / "summary.json").read_text())
            assert summary["stopped"] == "interrupted" and "a stop request from the grid received" in summary["message"]
            assert 1 <= summary["epochs_run"] < CONFIG["epochs"]
    assert not (out / "seed4").exists()
    kept = {run: (out / run / "checkpoint.npz").stat().st_mtime_ns for run in ("seed0", "seed1")}
    assert all(json.loads((out / run / "summary.json").read_text())["stopped"] == "completed" for run in kept)

    rerun = start(out, tmp_path)
    code, lines, err = rerun.finish()
    assert code == 0, err[-3000:]
    assert "(2 finished earlier and kept, 2 resume from their checkpoints, 1 starts)" in lines[0]
    started = {line.split("]")[0][1:] for line in lines if " running on " in line}
    assert started == {"seed2", "seed3", "seed4"}  # only what was missing
    assert any(line.startswith("[seed2] Resuming") and "at epoch " in line for line in lines)
    for run, mtime in kept.items():  # kept, not trained again
        assert (out / run / "checkpoint.npz").stat().st_mtime_ns == mtime
    assert_all_equal_the_reference(out, reference)
    rows = [line for line in (out / "results.md").read_text().splitlines() if line.startswith("| seed")]
    assert len(rows) == len(RUNS) and all(row.endswith("| 3 | completed |") for row in rows)
