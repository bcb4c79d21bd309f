"""Ctrl-C / SIGTERM during training: a resumable checkpoint, restored handlers, and a resume that
ends bit for bit where the uninterrupted run ends."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mnist.errors import RunDirectoryError
from tinygrad_mnist.train import fit, load_checkpoint, resume
from tinygrad_mnist.train.interrupt import InterruptGuard
from train_helpers import metrics_without_seconds, quiet, synthetic

HERE = Path(__file__).resolve().parent


def assert_same_run(a: Path, b: Path) -> None:
    """Equal weights, optimizer buffers and metrics (all but the wall-clock column), byte for byte."""
    assert metrics_without_seconds(a / "metrics.csv") == metrics_without_seconds(b / "metrics.csv")
    with np.load(a / "checkpoint.npz", allow_pickle=False) as left, np.load(b / "checkpoint.npz", allow_pickle=False) as right:
        arrays = [k for k in left.files if k != "__meta__"]
        assert sorted(arrays) == sorted(k for k in right.files if k != "__meta__")
        assert any(k.startswith("optimizer/") for k in arrays)
        for key in arrays:
            assert left[key].dtype == right[key].dtype and left[key].tobytes() == right[key].tobytes(), key
    summary_a = json.loads((a / "summary.json").read_text())
    summary_b = json.loads((b / "summary.json").read_text())
    for key in ("stopped", "epochs_run", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "best"):
        if key == "best":
            summary_a[key].pop("seconds"), summary_b[key].pop("seconds")
        assert summary_a[key] == summary_b[key], key


def test_guard_sets_a_flag_and_restores_the_handlers():
    before_int, before_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with InterruptGuard() as guard:
        assert not guard.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert guard.requested and guard.signal_name == "SIGINT"
        with pytest.raises(KeyboardInterrupt, match="second SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before_int and signal.getsignal(signal.SIGTERM) is before_term


def test_interrupt_at_an_exact_batch_then_resume_in_process(tmp_path, small_config):
    # With a validation split, early stopping armed and a cosine schedule: all of it must survive.
    data = synthetic(n_train=600, n_test=100, n_val=100)
    config = small_config.replace(disp_freq=1, early_stop=5, lr_schedule="cosine")
    fit(config, out_dir=tmp_path / "reference", data=data, log=quiet)

    def log(line):
        if line.startswith("Epoch [2][3] Batch [7][30]"):
            os.kill(os.getpid(), signal.SIGINT)

    handler_before = signal.getsignal(signal.SIGINT)
    summary = fit(config, out_dir=tmp_path / "run", data=data, log=log)
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert summary["stopped"] == "interrupted" and summary["epochs_run"] == 1
    assert summary["message"].startswith("SIGINT received: stopped at epoch 2 batch 8 (of 30)")
    assert summary["message"].endswith(f"resume with: tinygrad-mnist train --resume {tmp_path / 'run'}")
    assert summary["resume_command"] == f"tinygrad-mnist train --resume {tmp_path / 'run'}"
    meta = load_checkpoint(tmp_path / "run")
    assert meta["training"]["status"] == "interrupted"
    assert (meta["training"]["state"]["epoch"], meta["training"]["state"]["batch"]) == (1, 7)
    assert meta["training"]["state"]["epoch_sums"]["batches"] == 7

    lines = []
    final = resume(tmp_path / "run", data=data, log=lines.append)
    assert lines[0] == f"Resuming {tmp_path / 'run'} at epoch 2 batch 8 (of 30)"
    assert final["stopped"] == "completed" and final["epochs_run"] == 3
    assert_same_run(tmp_path / "reference", tmp_path / "run")


def test_resume_after_a_crash_continues_from_the_last_epoch_checkpoint(tmp_path, data, small_config):
    config = small_config.replace(disp_freq=1, lr_schedule="step", lr_step_size=1, lr_gamma=0.5)
    fit(config, out_dir=tmp_path / "reference", data=data, log=quiet)

    def crash(line):
        if line.startswith("Epoch [3][3] Batch [4][30]"):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        fit(config, out_dir=tmp_path / "run", data=data, log=crash)
    assert load_checkpoint(tmp_path / "run")["training"]["state"]["epoch"] == 2
    resume(tmp_path / "run", data=data, log=quiet)
    assert_same_run(tmp_path / "reference", tmp_path / "run")


def test_resume_refuses_finished_runs_other_data_and_non_runs(tmp_path, data, small_config):
    fit(small_config.replace(epochs=1), out_dir=tmp_path / "done", data=data, log=quiet)
    with pytest.raises(RunDirectoryError, match=r"already finished \(completed\); nothing to resume"):
        resume(tmp_path / "done", data=data, log=quiet)
    with pytest.raises(RunDirectoryError, match="no such run folder"):
        resume(tmp_path / "missing", log=quiet)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirectoryError, match="has no checkpoint.npz"):
        resume(tmp_path / "empty", log=quiet)

    def stop(line):
        if line.startswith("Epoch [1][2] Batch [3]"):
            os.kill(os.getpid(), signal.SIGTERM)

    fit(small_config.replace(epochs=2, disp_freq=1), out_dir=tmp_path / "stopped", data=data, log=stop)
    with pytest.raises(RunDirectoryError, match="the data differ"):
        resume(tmp_path / "stopped", data=synthetic(seed=5), log=quiet)


# ---- for real: a training subprocess, a signal from outside, a resume in another process -------------

CHILD = """
import json, sys
sys.path.insert(0, {helpers!r})
from train_helpers import synthetic
from tinygrad_mnist.train import TrainConfig, fit, resume
from tinygrad_mnist.train.trainer import Trainer
Trainer._plot = lambda self: None  # curves.png is tested elsewhere; spare the time
mode, run_dir = sys.argv[1], sys.argv[2]
data = synthetic(n_train=2400, n_test=200)
log = lambda line: print(line, flush=True)
if mode == "fit":
    summary = fit(TrainConfig.from_dict(json.loads(sys.argv[3])), out_dir=run_dir, data=data, log=log)
else:
    summary = resume(run_dir, data=data, log=log)
print("STOPPED " + summary["stopped"], flush=True)
"""
# 240 batches per epoch; the signal goes out when epoch 2 reaches batch 3, far from its end.
SUBPROCESS_CONFIG = {"hidden": [128], "epochs": 3, "batch_size": 10, "lr": 0.02, "disp_freq": 1, "progress": False}
MARKER = "Epoch [2][3] Batch [3][240]"


def _start(mode, run_dir, cwd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    script = CHILD.format(helpers=str(HERE))
    args = [sys.executable, "-c", script, mode, str(run_dir)]
    if mode == "fit":
        args.append(json.dumps(SUBPROCESS_CONFIG))
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process, timeout=120):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"child failed ({process.returncode}):\n{err[-3000:]}"
    return out


def _interrupt_at_marker(process, signum):
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(MARKER):
            process.send_signal(signum)
            break
    else:
        raise AssertionError(f"the child ended before {MARKER!r}:\n{''.join(seen[-5:])}{process.stderr.read()[-3000:]}")
    return "".join(seen) + _finish(process)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The uninterrupted run, in a subprocess like the interrupted ones (same BLAS settings)."""
    folder = tmp_path_factory.mktemp("reference")
    process = _start("fit", folder / "run", folder)
    out = _finish(process)
    assert out.rstrip().endswith("STOPPED completed")
    return folder / "run"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_a_training_process_then_resume_bit_exactly(tmp_path, reference_run, signum):
    run_dir = tmp_path / "run"
    out = _interrupt_at_marker(_start("fit", run_dir, tmp_path), signum)
    name = signal.Signals(signum).name
    assert out.rstrip().endswith("STOPPED interrupted")
    assert f"{name} received: stopped at epoch 2 batch " in out
    assert f"resume with: tinygrad-mnist train --resume {run_dir}" in out
    state = load_checkpoint(run_dir)["training"]["state"]
    assert state["epoch"] == 1 and 3 <= state["batch"] < 240, "the signal should land mid-epoch 2"
    assert json.loads((run_dir / "summary.json").read_text())["stopped"] == "interrupted"
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 2

    resumed = _finish(_start("resume", run_dir, tmp_path))
    assert resumed.startswith(f"Resuming {run_dir} at epoch 2 batch {state['batch'] + 1} (of 240)")
    assert resumed.rstrip().endswith("STOPPED completed")
    assert_same_run(reference_run, run_dir)
