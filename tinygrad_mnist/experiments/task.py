"""One run of a grid as a task: what travels to a worker, and what the worker does with it.

On a worker that sees the grid's folder (this process, a local worker process) the run is trained
in place, in ``<grid>/<run>``, under a lock that keeps any other process off it. On a worker that
does not (a cluster), it is trained in a scratch folder: resumed from the checkpoint files the
task brought along, if any; each new checkpoint is sent back as soon as it is written (so a lost
worker costs only the epochs since), and the finished run directory is returned whole.

Either way the task never raises: whatever happens to the run comes back as its summary
(``"stopped": "error"`` with the reason when training raised).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import __version__
from ..data import Splits
from ..errors import NonFiniteError
from ..train import CHECKPOINT_NAME, RunStatus, TrainConfig, fit, resume
from ..train.summary import write_summary
from .locks import exclusive_lock
from .rundirs import (
    RESUME_FILES,
    SUMMARY_NAME,
    Progress,
    RunDirState,
    checkpoint_progress,
    clear_leftovers,
    inspect_run_dir,
    pack_run_dir,
    unpack_run_dir,
)

#: How long a task waits for another process to let go of its run: a killed grid's worker may
#: still be saving that run's last checkpoint when the grid is rerun.
RUN_LOCK_WAIT_SECONDS = 60.0
#: How often a task on a cluster looks for a new checkpoint to send back.
CHECKPOINT_POLL_SECONDS = 0.1
#: The versions a run's results depend on, reported by every worker (a grid warns when a worker's
#: differ from its own: results would not be bit-identical).
VERSIONS = {"tinygrad_mnist": __version__, "numpy": np.__version__}


@dataclass(frozen=True)
class RunTask:
    """One run as it travels to a worker.

    ``config`` is the run's settings (a dict); ``session`` the settings of this session of the
    grid (what is shown, where the data are) to resume it with; ``attempt`` tells this try from earlier ones. With ``shared`` the worker trains
    in ``run_dir`` itself, holding the lock file ``lock``; otherwise ``run_dir`` is only the
    grid's name for the run's folder (for the lines it sends), and ``snapshot`` holds the files
    to resume from (None: start).

    >>> task = RunTask("relu", {"epochs": 1}, {}, "a1", "runs/grid/relu", shared=True, lock="runs/grid/.grid/relu.lock")
    >>> task.name, task.snapshot is None
    ('relu', True)
    """

    name: str
    config: Dict[str, Any]
    session: Dict[str, Any]
    attempt: str
    run_dir: str
    shared: bool
    lock: Optional[str] = None
    snapshot: Optional[Dict[str, bytes]] = None


def run_task(task: RunTask, link: Any, data: Optional[Splits] = None) -> Dict[str, Any]:
    """Train (or resume) the run of ``task`` where this code executes; see the module docstring.

    ``link`` is the executor's link (its ``working(attempt)`` gives this worker's end of the
    line). Returns ``{"summary": ...}``, plus ``"files"`` (the run directory) when no filesystem
    is shared; or ``{"lost": why}`` without training, when the cluster runs this attempt again
    after losing the worker it started on (the grid then starts a new attempt from its newest
    checkpoint). Grids call it through their executor; it is public so that other executors can.

    >>> run_task(task, executor.link)  # doctest: +SKIP
    {'summary': {'stopped': 'completed', ...}}
    """
    with link.working(task.attempt) as worker:
        if worker.started_before is not None:
            return {"lost": f"its worker {worker.started_before} was lost"}
        try:
            if task.shared:
                return _run_in_place(task, worker, data)
            return _run_in_scratch(task, worker, data)
        except Exception as error:  # noqa: BLE001 - a task reports, it never raises
            return {"summary": _error_summary(error)}


def _error_summary(error: BaseException) -> Dict[str, Any]:
    return {"stopped": RunStatus.ERROR.value, "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc()}


def _message(task: RunTask, kind: str, **content: Any) -> Dict[str, Any]:
    return {"kind": kind, "run": task.name, "attempt": task.attempt, **content}


def _announce(task: RunTask, worker, state: RunDirState) -> None:
    worker.emit(_message(task, "started", worker=worker.label, pid=os.getpid(), versions=VERSIONS,
                         start=state.describe_start()))


def _train(task: RunTask, run_dir: Path, state: RunDirState, log: Callable[[str], None],
           data: Optional[Splits]) -> Dict[str, Any]:
    try:
        if state.kind == "resumable":
            return resume(run_dir, log=log, data=data, changes=task.session)
        clear_leftovers(run_dir)
        return fit(TrainConfig.from_dict(task.config), out_dir=run_dir, data=data, log=log)
    except NonFiniteError as error:
        summary = dict(getattr(error, "summary", {}) or {})
        summary.setdefault("stopped", RunStatus.NONFINITE.value)
        summary["error"] = str(error)
        return summary
    except Exception as error:  # noqa: BLE001 - one run's failure is reported, the grid goes on
        return _error_summary(error)


def _run_in_place(task: RunTask, worker, data: Optional[Splits]) -> Dict[str, Any]:
    run_dir = Path(task.run_dir)
    with exclusive_lock(task.lock, f"run {run_dir}", wait_seconds=RUN_LOCK_WAIT_SECONDS):
        state = inspect_run_dir(run_dir)
        if state.kind == "finished":  # an earlier attempt finished it after all
            return {"summary": state.summary}
        _announce(task, worker, state)

        def log(line: str) -> None:
            worker.emit(_message(task, "line", line=line))

        return {"summary": _train(task, run_dir, state, log, data)}


def _replace_text(value: Any, old: str, new: str) -> Any:
    """``value`` with ``old`` replaced by ``new`` in every string it holds."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _replace_text(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_text(v, old, new) for v in value]
    return value


_SCRATCH_PREFIX = "tinygrad-mnist-run-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def remove_abandoned_scratch(folder: Optional[str] = None) -> None:
    """Remove the scratch folders of runs whose worker process died (killed, out of memory): they
    hold nothing the grid still needs (it has the run's checkpoints) and are named after the
    process, ``tinygrad-mnist-run-<pid>-...``, so the folders of live workers are left alone.

    >>> remove_abandoned_scratch()
    """
    for entry in Path(folder or tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        pid = entry.name[len(_SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _run_in_scratch(task: RunTask, worker, data: Optional[Splits]) -> Dict[str, Any]:
    remove_abandoned_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"))
    # The folder keeps the run's name: the run's curves are titled with it.
    run_dir = scratch / task.name
    try:
        state = RunDirState("fresh")
        if task.snapshot:
            unpack_run_dir(task.snapshot, run_dir)
            state = inspect_run_dir(run_dir)
        _announce(task, worker, state)
        here = str(run_dir)

        def log(line: str) -> None:
            # Lines name the run's folder on this worker; the grid knows it under its own path.
            worker.emit(_message(task, "line", line=line.replace(here, task.run_dir)))

        with _CheckpointSender(task, run_dir, state.progress, worker.emit):
            summary = _train(task, run_dir, state, log, data)
        summary = _replace_text(summary, here, task.run_dir)
        if (run_dir / SUMMARY_NAME).is_file():
            write_summary(run_dir / SUMMARY_NAME, summary)
        files = pack_run_dir(run_dir) if run_dir.is_dir() else {}
        return {"summary": summary, "files": files}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class _CheckpointSender:
    """While a run trains in a scratch folder, send each new checkpoint (with the files resuming
    needs) to the grid, so that a lost worker costs only the epochs since."""

    def __init__(self, task: RunTask, run_dir: Path, sent: Optional[Progress], emit: Callable[[Dict[str, Any]], None]):
        self.task = task
        self.run_dir = run_dir
        self.sent = sent
        self.emit = emit
        self.seen: Optional[tuple] = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name=f"send-{task.name}")

    def __enter__(self) -> "_CheckpointSender":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.done.set()
        self.thread.join()

    def _signature(self) -> Optional[tuple]:
        try:
            st = os.stat(self.run_dir / CHECKPOINT_NAME)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _read(self) -> Tuple[Dict[str, bytes], Optional[Progress]]:
        """The files to send and the checkpoint's position, of one and the same checkpoint: a
        second name (a hard link) holds on to the file the trainer may replace meanwhile."""
        held = self.run_dir / f".sending-{CHECKPOINT_NAME}"
        with contextlib.suppress(FileNotFoundError):
            held.unlink()
        try:
            os.link(self.run_dir / CHECKPOINT_NAME, held)
        except FileNotFoundError:
            raise
        except OSError:  # a file system without hard links: read it, and notice a replacement
            before = self._signature()
            files = pack_run_dir(self.run_dir, RESUME_FILES)
            progress = checkpoint_progress(self.run_dir / CHECKPOINT_NAME)
            if self._signature() != before:
                raise FileNotFoundError(CHECKPOINT_NAME) from None
            return files, progress
        try:
            files = pack_run_dir(self.run_dir, [name for name in RESUME_FILES if name != CHECKPOINT_NAME])
            files[CHECKPOINT_NAME] = held.read_bytes()
            return files, checkpoint_progress(held)
        finally:
            held.unlink()

    def _watch(self) -> None:
        while not self.done.wait(CHECKPOINT_POLL_SECONDS):
            try:
                self._send_if_new()
            except Exception as error:  # noqa: BLE001 - sending is best effort; training goes on
                self.emit(_message(self.task, "line", line=f"warning: could not send a checkpoint: {error}"))

    def _send_if_new(self) -> None:
        before = self._signature()
        if before is None or before == self.seen:
            return
        try:
            files, progress = self._read()
        except FileNotFoundError:
            return  # replaced just then: the next look sends the newer one
        self.seen = before
        # The checkpoint at the very start holds nothing the grid cannot make itself.
        if progress is None or progress == (0, 0) or (self.sent is not None and progress <= self.sent):
            return
        self.emit(_message(self.task, "checkpoint", progress=list(progress), files=files))
        self.sent = progress
