"""``grid --cluster``: the grid's runs as tasks on a Dask cluster (issue 16), on a local cluster of two
worker processes (``--cluster local:2``) and on a scheduler and workers started by hand as the
guide shows: the same results as the local pool bit for bit, a killed worker's run retried from
the last checkpoint the grid received, a rerun after Ctrl-C doing only what is missing (the
command's answers to bad input are in tests/cli/test_cli_grid.py)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grid_helpers import GridProcess, assert_same_run, wait_for_checkpoints, without_matplotlib
from tinygrad_mnist.experiments.rundirs import checkpoint_progress

pytest.importorskip("distributed", reason='Dask is not installed (pip install "tinygrad_mnist[cluster]")')

RUNS = ["ce-seed0", "ce-seed1", "hinge-seed0", "hinge-seed1"]
EPOCHS = 4


@dataclass
class HandStarted:
    """A cluster started by hand: its scheduler's address, and the folder where its workers keep
    their scratch folders (one tinygrad-mnist-run-* per run they train)."""

    address: str
    scratch: Path


def grid_args(mnist_dir: Path, out: Path, *where: str) -> list:
    """Four small runs on real MNIST subsets (4 epochs of 300 batches each: a worker whose epoch-1
    checkpoint just reached the grid has most of its run ahead)."""
    return ["--loss", "ce", "hinge", "--seed", "0", "1", "--lr", "0.05", "--train-size", "3000", "--test-size", "200",
            "--hidden", "64", "--epochs", str(EPOCHS), "--batch-size", "10", "--disp-freq", "50", "--data-dir", mnist_dir,
            "--out", out, *where]


@pytest.fixture(scope="module")
def reference(mnist_dir, tmp_path_factory) -> Path:
    """The grid on the local pool of two workers."""
    tmp = tmp_path_factory.mktemp("reference")
    grid = GridProcess.command(grid_args(mnist_dir, tmp / "grid", "--jobs", "2"), tmp)
    code, lines, err = grid.finish()
    assert code == 0, err[-3000:]
    return tmp / "grid"


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A Dask scheduler and two single-thread workers started by hand (``dask scheduler``,
    ``dask worker``), in sessions of their own."""
    tmp = tmp_path_factory.mktemp("cluster")
    scratch = tmp / "scratch"
    scratch.mkdir()
    env = dict(without_matplotlib(tmp / "hidden"), TMPDIR=str(scratch))
    dask = [sys.executable, "-m", "dask"]
    scheduler_file = tmp / "scheduler.json"
    processes = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                          "--scheduler-file", str(scheduler_file)], cwd=tmp, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(subprocess.Popen(dask + ["worker", address, "--nworkers", "2", "--nthreads", "1",
                                                  "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        import distributed

        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield HandStarted(address, scratch)
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def assert_all_equal_the_reference(out: Path, reference: Path) -> None:
    for run in RUNS:
        assert_same_run(out / run, reference / run)


def test_a_local_dask_cluster_gives_the_local_pools_results_bit_for_bit(mnist_dir, tmp_path, reference):
    grid = GridProcess.command(grid_args(mnist_dir, tmp_path / "grid", "--cluster", "local:2"), tmp_path)
    code, lines, err = grid.finish()
    assert code == 0, err[-3000:]
    assert lines[0].endswith(", on a local Dask cluster of 2 worker processes")
    workers = {line.split(" running on ")[1].split(" (pid")[0] for line in lines if " running on " in line}
    assert len(workers) == 2 and all(worker.startswith("tcp://127.0.0.1:") for worker in workers)
    # Every run's folder came back whole: config, metrics, summary, checkpoint (no curves here: no matplotlib).
    for run in RUNS:
        assert sorted(p.name for p in (tmp_path / "grid" / run).iterdir()) == [
            "checkpoint.npz", "config.json", "metrics.csv", "summary.json"]
        summary = json.loads((tmp_path / "grid" / run / "summary.json").read_text())
        assert summary["run_dir"] == str(tmp_path / "grid" / run)  # the grid's path, not the worker's
    assert_all_equal_the_reference(tmp_path / "grid", reference)
    assert not list((tmp_path / "grid" / ".grid" / "incoming").iterdir())


# A local cluster leaves the retry to the grid (Dask's own rescheduling is off there: the grid gets
# KilledWorker); a scheduler started by hand runs the task again by itself, the task finds that it
# started before, and the grid restarts the run from its newest checkpoint.
@pytest.mark.parametrize("where", ["local:2", "by-hand"])
def test_a_killed_dask_worker_costs_only_its_run_which_resumes_from_the_last_checkpoint_received(
        mnist_dir, tmp_path, reference, request, where):
    out = tmp_path / "grid"
    if where.startswith("local"):
        cluster, scratch = where, tmp_path / "scratch"  # the local cluster's workers inherit TMPDIR
        scratch.mkdir()
    else:
        cluster, scratch = request.getfixturevalue("scheduler").address, request.getfixturevalue("scheduler").scratch
    grid = GridProcess.command(grid_args(mnist_dir, out, "--cluster", cluster), tmp_path, {"TMPDIR": str(scratch)})
    try:
        grid.wait_for(r"^\[ce-seed0\] running on")
        pid = grid.workers["ce-seed0"]
        on_the_worker = next(scratch.glob(f"tinygrad-mnist-run-{pid}-*")) / "ce-seed0"
        # Frozen as soon as the grid has its epoch-1 checkpoint, and killed: mid-run (checked on
        # the worker's own copy), as a machine lost without warning.
        wait_for_checkpoints({"ce-seed0": out / "ce-seed0"}, (1, 0))
        os.kill(pid, signal.SIGSTOP)
        assert checkpoint_progress(on_the_worker / "checkpoint.npz") < (EPOCHS, 0), "the machine is too busy for this test"
        os.kill(pid, signal.SIGKILL)
        received, _ = checkpoint_progress(out / "ce-seed0" / "checkpoint.npz")
        code, lines, err = grid.finish()
    finally:
        grid.kill()
    assert code == 0, err[-3000:]
    lost = [line for line in lines if line.startswith("[ce-seed0] its worker tcp://127.0.0.1:")]
    assert len(lost) == 1, [line for line in lines if "Batch" not in line]
    # From the newest checkpoint the grid had received (one that was on its way may have come in).
    epoch = int(re.fullmatch(r".* was lost; retrying it on another worker from its checkpoint after epoch (\d+)",
                             lost[0])[1])
    assert received <= epoch < EPOCHS
    assert f"(pid {pid})" in lost[0] or where.startswith("local")
    # Where Dask started the task again itself, that copy only said so: none of its lines show.
    assert not any("stop request" in line for line in lines)
    if where == "by-hand":  # the dead worker's scratch folder was cleared by the next task there
        assert not list(request.getfixturevalue("scheduler").scratch.glob("tinygrad-mnist-run-*"))
    assert sum(line.startswith("[ce-seed0] running on") for line in lines) == 2
    assert any(line.startswith("[ce-seed0] Resuming") and f"at epoch {epoch + 1} batch 1" in line for line in lines)
    assert_all_equal_the_reference(out, reference)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_an_interrupted_dask_grid_reruns_only_what_is_missing(mnist_dir, tmp_path, reference, scheduler, how):
    out = tmp_path / "grid"
    args = grid_args(mnist_dir, out, "--cluster", scheduler.address)
    grid = GridProcess.command(args, tmp_path)
    try:
        grid.wait_for(rf"^\[\S+\] done after {EPOCHS} epochs")
        grid.wait_for(r"^\[\S+\] running on")  # a third run started, the fourth is queued
        if how == "ctrl-c":
            os.killpg(grid.process.pid, signal.SIGINT)  # Ctrl-C in the grid's terminal
        else:
            os.kill(grid.process.pid, signal.SIGKILL)
        code, lines, err = grid.finish()
    finally:
        grid.kill()
    if how == "ctrl-c":
        assert code == 130, err[-3000:]
        assert f"the grid was interrupted; continue it with: tinygrad-mnist grid --resume {out}" in lines
    else:
        assert code == -signal.SIGKILL
        # Dask cancels the tasks of a client that went away: they stop instead of training on for
        # nobody, and leave no scratch folder behind.
        deadline = time.monotonic() + 30
        while list(scheduler.scratch.glob("tinygrad-mnist-run-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not list(scheduler.scratch.glob("tinygrad-mnist-run-*")), "tasks trained on after their grid was killed"
    finished = {run for run in RUNS if (out / run / "summary.json").is_file()
                and json.loads((out / run / "summary.json").read_text())["stopped"] == "completed"}
    assert finished and finished != set(RUNS)
    kept = {run: (out / run / "checkpoint.npz").stat().st_mtime_ns for run in finished}

    rerun = GridProcess.command(args, tmp_path)
    code, lines, err = rerun.finish()
    assert code == 0, err[-3000:]
    assert f"{len(finished)} finished earlier and kept" in lines[0]
    started = {line.split("]")[0][1:] for line in lines if " running on " in line}
    assert started == set(RUNS) - finished  # only the missing runs execute
    for run, mtime in kept.items():
        assert (out / run / "checkpoint.npz").stat().st_mtime_ns == mtime
    assert_all_equal_the_reference(out, reference)
