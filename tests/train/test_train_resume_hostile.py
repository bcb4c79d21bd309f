"""Resuming after the worst moments and from altered files: a kill in the middle of a checkpoint
write, a Ctrl-C (or a kill) while the final files are written, a training state edited by hand,
a summary.json nested thousands deep. Each ends in one clear line or a finished run, never in a
traceback or a run that can neither finish nor resume."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mnist.errors import CheckpointError, RunDirectoryError
from tinygrad_mnist.train import fit, load_checkpoint, resume
from tinygrad_mnist.train.checkpoint import META_KEY
from train_helpers import quiet, synthetic

HERE = Path(__file__).resolve().parent

# A training process with a hook: HOOK names what it does at one chosen moment.
CHILD = """
import os, signal, sys, time
sys.path.insert(0, {helpers!r})
from train_helpers import synthetic
from tinygrad_mnist.train import TrainConfig, fit
from tinygrad_mnist.train import run_files
hook, run_dir = sys.argv[1], sys.argv[2]
data = synthetic(n_train=400, n_test=100)
config = TrainConfig(hidden=[64], epochs=2, batch_size=20, lr=0.05, progress=False, disp_freq=0)

if hook == "block-second-checkpoint-write":
    # The write of the checkpoint after epoch 1 stops just before its fsync: the temporary file
    # holds the whole checkpoint; the parent kills the process there.
    real_fsync, writes = os.fsync, []

    def fsync(fd):
        if ".checkpoint.npz." in os.readlink(f"/proc/self/fd/{{fd}}"):
            writes.append(fd)
            if len(writes) == 2:
                print("WRITING", flush=True)
                time.sleep(60)
        return real_fsync(fd)

    os.fsync = fsync
else:
    # Signals at the moment the final files are written (the final checkpoint is on disk).
    real_write = run_files.write_metrics_csv

    def write_metrics_csv(*args, **kwargs):
        for signum in {{"late-ctrl-c": [signal.SIGINT], "two-ctrl-c": [signal.SIGINT, signal.SIGINT],
                       "kill": [signal.SIGKILL]}}[hook]:
            os.kill(os.getpid(), signum)
        return real_write(*args, **kwargs)

    run_files.write_metrics_csv = write_metrics_csv
summary = fit(config, out_dir=run_dir, data=data, log=lambda line: print(line, flush=True))
print("STOPPED " + summary["stopped"], flush=True)
"""
DATA = dict(n_train=400, n_test=100)


def _child(hook, run_dir):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", CHILD.format(helpers=str(HERE)), hook, str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


# ---- a kill in the middle of a checkpoint write --------------------------------------------------


def test_a_kill_during_a_checkpoint_write_leaves_a_temporary_that_resume_removes(tmp_path):
    run = tmp_path / "run"
    child = _child("block-second-checkpoint-write", run)
    try:
        for line in child.stdout:
            if line.strip() == "WRITING":
                break
        else:
            pytest.fail(f"the child never reached the write: {child.stderr.read()[-2000:]}")
        child.send_signal(signal.SIGKILL)
    finally:
        child.communicate(timeout=60)
    temporaries = list(run.glob(".checkpoint.npz.*.tmp"))
    assert len(temporaries) == 1
    # Full size: the killed write had written the whole checkpoint (the attack's leftover).
    assert temporaries[0].stat().st_size >= 0.9 * (run / "checkpoint.npz").stat().st_size
    assert load_checkpoint(run)["training"]["state"]["epoch"] == 0  # the previous one, intact

    lines = []
    summary = resume(run, data=synthetic(**DATA), log=lines.append)
    assert lines[0] == f"removed 1 temporary file(s) left in {run} by a write that was killed"
    assert not list(run.glob(".*.tmp*"))
    assert summary["stopped"] == "completed" and summary["epochs_run"] == 2


# ---- Ctrl-C or a kill while the final files are written ------------------------------------------


def test_a_ctrl_c_while_the_final_files_are_written_completes_them_first(tmp_path):
    run = tmp_path / "run"
    out, err = _child("late-ctrl-c", run).communicate(timeout=120)
    assert out.rstrip().endswith("STOPPED completed"), err[-2000:]
    assert "SIGINT received while the final files were written; they were completed first" in out
    assert json.loads((run / "summary.json").read_text())["stopped"] == "completed"
    assert (run / "curves.png").stat().st_size > 0
    with pytest.raises(RunDirectoryError, match=r"already finished \(completed\)"):
        resume(run, data=synthetic(**DATA), log=quiet)


@pytest.mark.parametrize("hook", ["two-ctrl-c", "kill"])
def test_a_run_stopped_while_writing_its_final_files_is_completed_by_resume(tmp_path, hook):
    run = tmp_path / "run"
    child = _child(hook, run)
    out, err = child.communicate(timeout=120)
    assert child.returncode != 0 and "STOPPED" not in out
    if hook == "two-ctrl-c":
        assert "KeyboardInterrupt: second SIGINT" in err
    assert load_checkpoint(run)["training"]["status"] == "completed"
    assert not (run / "summary.json").exists() and not (run / "curves.png").exists()

    lines = []
    summary = resume(run, data=synthetic(**DATA), log=lines.append)
    assert lines == [f"{run} had finished (completed) but was stopped before its final files were written; "
                     "wrote its metrics.csv, curves.png and summary.json"]
    assert summary["stopped"] == "completed" and summary["epochs_run"] == 2 and summary["checkpoint_epoch"] == 2
    assert json.loads((run / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (run / "curves.png").stat().st_size > 0
    assert len((run / "metrics.csv").read_text().splitlines()) == 3
    with pytest.raises(RunDirectoryError, match=r"already finished \(completed\)"):
        resume(run, data=synthetic(**DATA), log=quiet)


# ---- altered files -----------------------------------------------------------------------------------


@pytest.fixture
def interrupted(tmp_path, data, small_config):
    """A run stopped by SIGTERM in epoch 2 (of 3), batch 4."""

    def stop(line):
        if line.startswith("Epoch [2][3] Batch [3]"):
            os.kill(os.getpid(), signal.SIGTERM)

    fit(small_config.replace(disp_freq=1), out_dir=tmp_path / "run", data=data, log=stop)
    return tmp_path / "run"


def _edit_state(run, edit):
    path = run / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays[META_KEY].tobytes())
    edit(meta["training"]["state"])
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


CRAFTED_STATES = {
    "batch -5": (lambda s: s.update(batch=-5), r"malformed: batch must be >= 0, got -5"),
    "batch 1e9": (lambda s: s.update(batch=1e9), r"does not fit its run: batch 1000000000 is not one of the 30 batches \(0\.\.29\)"),
    "epoch -3": (lambda s: s.update(epoch=-3), r"malformed: epoch must be >= 0, got -3"),
    "epoch beyond the run": (lambda s: s.update(epoch=7), r"does not fit its run: epoch 7 is beyond the run's 3 epochs"),
    "junk rows": (lambda s: s.update(rows=[1, 2]), r"malformed: row 1 must be an object of metrics, got 1"),
    "a row of text": (lambda s: s["rows"][0].update(test_loss="low"), r"malformed: row 1: test_loss must be a number, got 'low'"),
    "a missing row": (lambda s: s.update(rows=[]), r"does not fit its run: it has 0 rows of metrics for 1 finished epochs"),
    "unknown keys": (lambda s: s.update(surprise=1), r"malformed: the training state has missing keys \[\] and unknown keys \['surprise'\]"),
    "a string batch": (lambda s: s.update(batch="3"), r"malformed: batch must be an integer, got '3'"),
    "sums of junk": (lambda s: s.update(epoch_sums={"loss_sum": 1.0}), r"malformed: epoch_sums has missing keys \['batches', 'correct', 'count'\]"),
    "more correct than seen": (lambda s: s["epoch_sums"].update(correct=10**6), r"malformed: epoch_sums counts 1000000 correct of \d+ examples"),
    "a state that is not an object": (lambda s: s.clear() or s.update(x=None), r"malformed"),
}


@pytest.mark.parametrize("name", list(CRAFTED_STATES))
def test_a_crafted_training_state_is_one_clear_error(interrupted, data, name):
    edit, message = CRAFTED_STATES[name]
    _edit_state(interrupted, edit)
    with pytest.raises(CheckpointError, match=message) as info:
        resume(interrupted, data=data, log=quiet)
    assert "\n" not in str(info.value)


def test_a_summary_nested_thousands_deep_does_not_stop_a_resume(interrupted, data):
    (interrupted / "summary.json").write_text("[" * 5000 + "]" * 5000)
    assert resume(interrupted, data=data, log=quiet)["stopped"] == "completed"
    assert json.loads((interrupted / "summary.json").read_text())["stopped"] == "completed"
