"""The local pool: a worker that dies costs only its own task, and a grid whose workers cannot even
start fails its runs with the reason instead of starting workers forever."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grid_helpers import TRAIN_TESTS, kill_myself, square_slowly, without_matplotlib
from tinygrad_mnist.experiments import LocalPool, WorkerLost


def test_a_dead_worker_fails_only_its_task_and_a_fresh_worker_takes_its_place():
    with LocalPool(2) as pool:
        before = {pool.submit(os.getpid).result(timeout=60) for _ in range(6)}
        doomed = pool.submit(kill_myself)
        others = [pool.submit(square_slowly, x) for x in range(5)]
        with pytest.raises(WorkerLost, match=r"^its worker process \(pid \d+\) died: killed by SIGKILL$"):
            doomed.result(timeout=60)
        assert [future.result(timeout=60) for future in others] == [0, 1, 4, 9, 16]
        assert pool.lost_worker(doomed.exception()) == str(doomed.exception())
        assert pool.lost_worker(ValueError("not a lost worker")) is None
        after = {pool.submit(os.getpid).result(timeout=60) for _ in range(6)}
    assert os.getpid() not in before | after
    assert doomed.exception().pid in before and after - before  # a fresh worker joined


def test_a_task_that_raises_comes_back_as_its_error_and_the_worker_goes_on():
    with LocalPool(1) as pool:
        failed = pool.submit(int, "not a number")
        with pytest.raises(Exception, match="ValueError: invalid literal for int"):
            failed.result(timeout=60)
        assert "Traceback" in failed.exception().worker_traceback
        assert pool.submit(abs, -3).result(timeout=60) == 3


UNGUARDED = """
import sys
sys.path.insert(0, {helpers!r})
from train_helpers import synthetic
from tinygrad_mnist.experiments import run_grid
from tinygrad_mnist.train import TrainConfig

# No `if __name__ == "__main__":`: every spawned worker runs this again and dies as it starts.
entries = run_grid(TrainConfig(hidden=[8], epochs=1, batch_size=50, progress=False), {{"seed": [0, 1]}},
                   sys.argv[1], jobs=2, data=synthetic(n_train=100, n_test=50), log=lambda line: None)
print([entry["stopped"] for entry in entries])
"""


def test_workers_that_die_as_they_start_fail_the_runs_with_the_reason_instead_of_hanging(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(helpers=str(TRAIN_TESTS)))
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "grid")], cwd=tmp_path, timeout=120,
                            env=without_matplotlib(tmp_path / "hidden"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "['error', 'error']"
    runs = json.loads((tmp_path / "grid" / "results.json").read_text())["runs"]
    assert all(run["error"].startswith("PoolBroken: 3 worker processes died as they started") and
               'under `if __name__ == "__main__":`' in run["error"] for run in runs)
