"""Soak (issue 12): a 40-run grid on two local workers is hit again and again, a worker killed and
then the grid itself at random moments, and rerun until it finishes; every run must then equal, bit
for bit, the same grid run without a fault, and no worker may outlive its grid.

Left out of the default run (a few minutes): ``python -m pytest -m soak tests/experiments``.
Three rounds (``SOAK_ROUNDS``), each a fresh grid attacked until it finishes; ``SOAK_SEED`` picks
other random moments.
"""
from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from grid_helpers import GridProcess, assert_same_run, process_exists, wait_until_gone

CONFIG = {"hidden": [16], "epochs": 5, "batch_size": 20, "lr": 0.05, "disp_freq": 10, "progress": False}
AXES = {"seed": list(range(10)), "lr": [0.02, 0.05], "hidden": [[16], [24]]}
DATA = {"n_train": 2000, "n_test": 100}
MAX_SESSIONS = 60
ROUNDS = int(os.environ.get("SOAK_ROUNDS", "3"))


@pytest.mark.soak
def test_a_grid_killed_again_and_again_finishes_equal_to_an_undisturbed_one(tmp_path):
    seed = int(os.environ.get("SOAK_SEED", "12"))
    chance = random.Random(seed)
    reference = GridProcess(tmp_path / "reference", CONFIG, AXES, 2, DATA, tmp_path)
    code, _, err = reference.finish(timeout=600)
    assert code == 0, err[-3000:]
    runs = sorted(reference.done())
    assert len(runs) == 40 and set(reference.done().values()) == {"completed"}

    for round_number in range(1, ROUNDS + 1):
        out = tmp_path / f"grid{round_number}"
        history = attack_until_done(out, tmp_path, chance)
        print(f"soak seed {seed}, round {round_number}: sessions (number, exit status, worker killed): {history}")
        assert len(history) > 1, "no session was interrupted; the soak proved nothing"
        for run in runs:
            assert_same_run(out / run, tmp_path / "reference" / run)


def attack_until_done(out, tmp_path, chance: random.Random) -> list:
    """Run the grid into ``out`` again and again, each session losing a worker and then its own
    process at random moments, until a session finishes it; return (session, exit status, whether
    a worker was killed) for each session."""
    history = []
    for session in range(1, MAX_SESSIONS + 1):
        grid = GridProcess(out, CONFIG, AXES, 2, DATA, tmp_path)
        # Moments counted from the first run's start: a worker dies, then the grid itself.
        worker_after, parent_after = chance.uniform(0.0, 1.5), chance.uniform(0.2, 2.0)
        first_run = worker_killed = None
        victim = 0
        try:
            while grid.process.poll() is None:
                grid.read_available()
                now = time.monotonic()
                if first_run is None and grid.workers:
                    first_run = now
                alive = [pid for pid in grid.workers.values() if process_exists(pid)]
                if first_run is not None and worker_killed is None and now - first_run > worker_after and alive:
                    victim = chance.choice(alive)
                    os.kill(victim, signal.SIGKILL)
                    worker_killed = now
                if worker_killed is not None and now - worker_killed > parent_after:
                    os.kill(grid.process.pid, signal.SIGKILL)
                    break
                time.sleep(0.005)
            code, lines, err = grid.finish(timeout=600)
        finally:
            grid.kill()
        workers = set(grid.workers.values()) - {victim}
        assert all(wait_until_gone(pid, 60) for pid in workers), f"session {session}: workers outlived the grid"
        history.append((session, code, int(worker_killed is not None)))
        assert "Traceback" not in err, err[-3000:]
        if code == 0:
            # A session that ran to its end lost at most one worker, whose run it retried.
            results = json.loads((out / "results.json").read_text())["runs"]
            problems = {run["name"]: run.get("error") for run in results if run["stopped"] != "completed"}
            assert not problems, f"session {session}: {problems}"
            return history
    pytest.fail(f"the grid did not finish in {MAX_SESSIONS} sessions: {history}")
