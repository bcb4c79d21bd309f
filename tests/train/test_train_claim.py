"""Claiming run folders: of several runs started together into one --out exactly one proceeds, a
run being trained cannot be resumed by another process, and a claim whose run died is not a
folder lost forever. The races are real: separate processes released at the same instant."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_mnist.errors import ConfigError, RunDirectoryError
from tinygrad_mnist.train import TrainConfig, fit, load_checkpoint, memory, resume, runs
from tinygrad_mnist.train.rundir import LOCK_NAME, RunLock, check_claimable
from train_helpers import quiet

HERE = Path(__file__).resolve().parent

# Each child imports everything, then for every trial waits for "GO" on stdin and trains into
# BASE/<trial>; the parent releases both children at once, so their claims race for real.
RACER = """
import sys
sys.path.insert(0, {helpers!r})
from train_helpers import synthetic
from tinygrad_mnist.errors import RunDirectoryError
from tinygrad_mnist.train import TrainConfig, fit
from tinygrad_mnist.train.trainer import Trainer
Trainer._plot = lambda self: None
base, trials = sys.argv[1], int(sys.argv[2])
data = synthetic(n_train=100, n_test=50)
config = TrainConfig(hidden=[8], epochs=1, batch_size=50, progress=False, disp_freq=0)
for trial in range(trials):
    print(f"READY {{trial}}", flush=True)
    sys.stdin.readline()
    try:
        summary = fit(config, out_dir=f"{{base}}/{{trial}}", data=data, log=lambda line: None)
        print(f"RESULT {{trial}} trained {{summary['stopped']}}", flush=True)
    except RunDirectoryError as error:
        print(f"RESULT {{trial}} refused {{error}}", flush=True)
"""


def _expect(process, prefix):
    line = process.stdout.readline()
    assert line.startswith(prefix), f"expected {prefix!r}, got {line!r}: {process.stderr.read()[-2000:]}"
    return line.strip()


def test_two_trainings_started_together_into_one_folder_exactly_one_proceeds(tmp_path):
    trials = 8
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    script = RACER.format(helpers=str(HERE))
    racers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(trials)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    try:
        for trial in range(trials):
            for racer in racers:
                _expect(racer, f"READY {trial}")
            for racer in racers:  # both released together: their claims race
                racer.stdin.write("GO\n")
                racer.stdin.flush()
            results = [_expect(racer, f"RESULT {trial}") for racer in racers]
            trained = [r for r in results if " trained completed" in r]
            refused = [r for r in results if " refused " in r]
            assert len(trained) == 1 and len(refused) == 1, results
            assert "is in use by another run" in refused[0] or "already exists and is not empty" in refused[0]
            run = tmp_path / str(trial)
            summary = json.loads((run / "summary.json").read_text())
            assert summary["stopped"] == "completed" and summary["run_dir"] == str(run)
            assert load_checkpoint(run)["training"]["status"] == "completed"
    finally:
        for racer in racers:
            racer.kill()
            racer.communicate()


def test_a_running_run_cannot_be_resumed_by_another_process(tmp_path, data, small_config):
    def stop(line):
        if line.startswith("Epoch [1][2] Batch [3]"):
            os.kill(os.getpid(), signal.SIGTERM)

    fit(small_config.replace(epochs=2, disp_freq=1), out_dir=tmp_path / "run", data=data, log=stop)
    with RunLock.acquire(tmp_path / "run"):  # as the process training it holds it
        with pytest.raises(RunDirectoryError, match=r"it is being trained right now by process \d+"):
            resume(tmp_path / "run", data=data, log=quiet)
    assert resume(tmp_path / "run", data=data, log=quiet)["stopped"] == "completed"


def test_a_claim_whose_process_was_killed_can_be_taken_over(tmp_path, data, small_config):
    # A run SIGKILLed while loading its data leaves a folder holding only the lock file.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom tinygrad_mnist.train.rundir import RunLock\n"
         "lock = RunLock.claim(sys.argv[1]); print('CLAIMED', flush=True); time.sleep(60)", str(tmp_path / "run")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "CLAIMED"
        with pytest.raises(RunDirectoryError, match="is in use by another run"):
            fit(small_config, out_dir=tmp_path / "run", data=data, log=quiet)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [LOCK_NAME]
    check_claimable(tmp_path / "run")
    assert fit(small_config, out_dir=tmp_path / "run", data=data, log=quiet)["stopped"] == "completed"


def test_a_failed_or_interrupted_start_leaves_no_folder(tmp_path, data, small_config, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C during a download

    monkeypatch.setattr(runs, "load_splits", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit(small_config, out_dir=tmp_path / "a" / "run", data=data, log=quiet)
    assert not (tmp_path / "a").exists()  # nor the parent the claim created
    with pytest.raises(KeyboardInterrupt):
        fit(small_config, data=data, log=quiet)  # into a fresh runs/... in the working folder
    assert not (tmp_path / "runs").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyboardInterrupt):
        fit(small_config, out_dir=tmp_path / "empty", data=data, log=quiet)
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


def test_check_claimable_says_what_a_run_would_refuse_and_creates_nothing(tmp_path):
    check_claimable(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match="is not a folder"):
        check_claimable(tmp_path / "file")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="already exists and is not empty"):
        check_claimable(tmp_path / "full")
    with RunLock.claim(tmp_path / "busy"):
        with pytest.raises(RunDirectoryError, match="is in use by another run"):
            check_claimable(tmp_path / "busy")


def test_a_config_too_large_for_memory_is_refused_before_any_folder_exists(tmp_path, data, monkeypatch):
    config = TrainConfig(hidden=[65536, 65536], epochs=1, progress=False)
    monkeypatch.setattr(memory, "available_memory", lambda: 16 << 30)  # the same test on a bigger machine
    with pytest.raises(ConfigError, match=r"training this model needs about \d+\.\d GiB of memory .* use smaller hidden widths"):
        fit(config, out_dir=tmp_path / "run", data=data, log=quiet)
    assert not (tmp_path / "run").exists()
