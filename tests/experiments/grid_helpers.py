"""Grids in real subprocesses, for the tests that signal and kill them, and the comparisons of runs.

``GridProcess`` starts ``run_grid`` on the synthetic data in a new process (its own session, so a
signal to its group reaches its workers as a terminal's Ctrl-C would), reads its lines as they
come, and knows from them which worker process runs which run.
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

TRAIN_TESTS = Path(__file__).resolve().parents[1] / "train"
sys.path.insert(0, str(TRAIN_TESTS))

from train_helpers import metrics_without_seconds  # noqa: E402

CHILD = """
import json, sys
sys.path.insert(0, {helpers!r})
from train_helpers import synthetic
from tinygrad_mnist.experiments import run_grid
from tinygrad_mnist.train import TrainConfig

out, config, axes, jobs, data = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
entries = run_grid(TrainConfig.from_dict(config), axes, out, jobs=jobs, data=synthetic(**data),
                   log=lambda line: print(line, flush=True))
print("DONE " + json.dumps({{e["name"]: e["stopped"] for e in entries}}), flush=True)
"""
_RUNNING = re.compile(r"^\[(?P<run>[^\]]+)\] running on .*\(pid (?P<pid>\d+)\)")


def without_matplotlib(folder: Path) -> Dict[str, str]:
    """An environment in which ``import matplotlib`` fails, as where it is not installed: runs then
    skip their curves.png, which would take most of a tiny run's time in every worker."""
    (folder / "matplotlib").mkdir(parents=True, exist_ok=True)
    (folder / "matplotlib" / "__init__.py").write_text('raise ImportError("matplotlib is hidden from this test")\n')
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path)


class GridProcess:
    """A grid in a subprocess (without matplotlib: no curves): ``run_grid(config, axes, out, jobs,
    data=synthetic(**data))``, or with :meth:`command` the ``tinygrad-mnist grid`` command."""

    def __init__(self, out: Path, config: dict, axes: dict, jobs: int, data: dict, cwd: Path) -> None:
        script = CHILD.format(helpers=str(TRAIN_TESTS))
        # One BLAS thread, as the pool gives each of two workers on two cores: bit-identical runs.
        self._start([sys.executable, "-c", script, str(out), json.dumps(config), json.dumps(axes), str(jobs),
                     json.dumps(data)], cwd, {"OPENBLAS_NUM_THREADS": "1"})

    @classmethod
    def command(cls, args: List[str], cwd: Path, env: Optional[Dict[str, str]] = None) -> "GridProcess":
        """``tinygrad-mnist grid ARGS`` (the BLAS threads left to the grid, as a user would)."""
        grid = cls.__new__(cls)
        grid._start([sys.executable, "-m", "tinygrad_mnist", "grid", *map(str, args)], cwd, env or {})
        return grid

    def _start(self, argv: List[str], cwd: Path, env: Dict[str, str]) -> None:
        self.process = subprocess.Popen(argv, cwd=cwd, env=dict(without_matplotlib(cwd / "hidden"), **env),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.lines: List[str] = []
        self.workers: Dict[str, int] = {}  # run -> pid of the worker that last started it
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._err: List[str] = []
        self._readers = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=lambda: self._err.extend(self.process.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """Read lines until one matches ``pattern`` (a regex); fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matched {pattern!r} in {timeout} s; last lines: {self.lines[-10:]}")
            if line is None:
                raise AssertionError(f"the grid ended before a line matched {pattern!r}; last lines: {self.lines[-10:]}")
            self._take(line)
            match = re.search(pattern, line)
            if match:
                return match

    def read_available(self) -> None:
        """Take in the lines that arrived so far, without waiting."""
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self._lines.put(None)  # keep the end mark for finish()
                return
            self._take(line)

    def _take(self, line: str) -> None:
        self.lines.append(line)
        running = _RUNNING.match(line)
        if running:
            self.workers[running["run"]] = int(running["pid"])

    def wait_for_all(self, *patterns: str, timeout: float = 60.0) -> None:
        """Read lines until each of ``patterns`` matched one of them, in any order."""
        left = list(patterns)
        while left:
            self.wait_for("|".join(f"(?:{p})" for p in left), timeout=timeout)
            left = [p for p in left if not re.search(p, self.lines[-1])]

    def finish(self, timeout: float = 120.0):
        """Wait for the end; return (exit status, stdout lines, stderr text)."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            self.kill()
        for reader in self._readers:
            reader.join(timeout=10)
        while True:
            line = self._lines.get(timeout=10)
            if line is None:
                break
            self._take(line)
        return self.process.returncode, self.lines, "".join(self._err)

    def done(self) -> Dict[str, str]:
        """The runs' statuses from the DONE line."""
        final = [line for line in self.lines if line.startswith("DONE ")]
        assert final, self.lines[-10:]
        return json.loads(final[-1][len("DONE "):])

    def kill(self) -> None:
        """SIGKILL the whole group (the grid and its workers) if anything is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_for_checkpoints(run_dirs: Dict[str, Path], progress: tuple, then=None, timeout: float = 60.0) -> None:
    """Poll the runs' checkpoints until each is at ``progress`` (epoch, batch) or further, and
    call ``then(run)`` for each as soon as it is.

    Faster than the runs' lines, which travel through the grid's process: a worker can be far
    ahead of its last line that reached us, never ahead of its checkpoint on disk by more than
    the epoch it is in.
    """
    from tinygrad_mnist.experiments.rundirs import checkpoint_progress

    left = dict(run_dirs)
    deadline = time.monotonic() + timeout
    while left:
        for run, run_dir in list(left.items()):
            reached = checkpoint_progress(run_dir / "checkpoint.npz")
            if reached is not None and reached >= tuple(progress):
                del left[run]
                if then is not None:
                    then(run)
        if time.monotonic() > deadline:
            raise AssertionError(f"{sorted(left)} did not reach {progress} in {timeout} s")
        time.sleep(0.002)


def process_exists(pid: int) -> bool:
    """Whether a process (not a zombie) with this pid exists."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until_gone(pid: int, timeout: float) -> bool:
    """Whether the process ``pid`` ends within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_exists(pid):
            return True
        time.sleep(0.05)
    return not process_exists(pid)


def checkpoint_arrays(path: Path) -> Dict[str, np.ndarray]:
    """Every array of a checkpoint (model and optimizer), metadata aside."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files if key != "__meta__"}


def assert_same_run(run_dir: Path, reference_dir: Path) -> None:
    """The two run folders hold the same finished run: checkpoint arrays equal bit for bit, the
    same metrics (wall-clock seconds aside), both completed."""
    ours, theirs = checkpoint_arrays(run_dir / "checkpoint.npz"), checkpoint_arrays(reference_dir / "checkpoint.npz")
    assert sorted(ours) == sorted(theirs), run_dir
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype and ours[key].shape == theirs[key].shape, f"{run_dir}: {key}"
        assert ours[key].tobytes() == theirs[key].tobytes(), f"{run_dir}: {key} differs"
    assert metrics_without_seconds(run_dir / "metrics.csv") == metrics_without_seconds(reference_dir / "metrics.csv")
    assert json.loads((run_dir / "summary.json").read_text())["stopped"] == "completed"


# ---- tasks for the pool tests (importable by worker processes) -------------------------------------


def kill_myself() -> None:
    """End this process as the OOM killer would."""
    os.kill(os.getpid(), signal.SIGKILL)


def square_slowly(x: int) -> int:
    """x * x, after a moment (so that several tasks overlap)."""
    time.sleep(0.2)
    return x * x
