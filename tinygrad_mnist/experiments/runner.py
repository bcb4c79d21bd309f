"""Training a grid's remaining runs on an executor: submitting, watching, retrying, stopping.

The same code drives every executor (:mod:`.executors`). Runs are submitted as capacity frees up,
so the runs not yet submitted are this loop's queue: after a stop request they simply never
start, and a retried run goes to the front.

Faults:

* a run whose worker is lost (killed, out of memory, machine gone) is retried once, on another
  worker, from the last checkpoint the grid has of it (the one in its folder: written there by a
  local worker, or received from a cluster worker); losing its worker a second time fails it,
  with the reason, and its folder keeps the checkpoint for the next session;
* Ctrl-C or SIGTERM asks running runs to save a resumable checkpoint and return; queued runs do
  not start. A second signal stops at once.
"""
from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

from ..data import Splits
from ..train import RunStatus, end_of_run_line
from ..train.interrupt import InterruptGuard
from .executors import GridExecutor, Message
from .folder import SESSION_SETTINGS, GridFolder
from .task import VERSIONS, RunTask, run_task

Log = Callable[[str], None]
#: How many times a run is retried after losing its worker, in one session of a grid.
RETRIES_AFTER_LOST_WORKER = 1
_WATCH_SECONDS = 0.2


def not_started(why: str) -> Dict[str, Any]:
    """The summary of a run that this session of the grid did not start.

    >>> not_started("the grid was interrupted")["stopped"]
    'not_started'
    """
    return {"stopped": RunStatus.NOT_STARTED.value, "error": why}


@dataclass
class _Attempt:
    run: Dict[str, Any]
    token: str
    future: Optional[Future] = None
    worker: Optional[str] = None

    @property
    def name(self) -> str:
        return self.run["name"]


@dataclass
class _Progress:
    total: int
    done: int = 0
    queue: Deque[Dict[str, Any]] = field(default_factory=deque)


class GridRunner:
    """Trains ``runs`` (planned runs: name, config, ...) on ``executor`` into ``folder``.

    ``log`` receives every line: the workers' progress lines prefixed with ``[run]``, and the
    grid's own (which worker runs what, retries, a status line after each change). ``data`` is
    given to every run instead of loading MNIST (only where tasks share the grid's memory or
    can receive it).

    >>> results = GridRunner(executor, folder, print).run(runs)  # doctest: +SKIP
    """

    def __init__(self, executor: GridExecutor, folder: GridFolder, log: Log, data: Optional[Splits] = None) -> None:
        self.executor = executor
        self.folder = folder
        self._log = log
        self._log_lock = threading.Lock()
        self.data = data
        self._lock = threading.Lock()
        self._running: Dict[str, _Attempt] = {}  # by attempt token
        self._losses: Counter = Counter()
        self._warned: set = set()
        self._progress = _Progress(0)

    def log(self, line: str) -> None:
        """Pass one line to the grid's log; lines come from several threads, one at a time."""
        with self._log_lock:
            self._log(line)

    def run(self, runs: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
        """Train the runs; return each run's summary by name (see the module docstring)."""
        progress = self._progress = _Progress(len(runs), queue=deque(runs))
        results: Dict[str, Dict[str, Any]] = {}
        futures: Dict[Future, _Attempt] = {}
        stopping = False
        self.executor.listen(self._on_message)
        try:
            with InterruptGuard() as guard:
                while futures or (progress.queue and not stopping):
                    while progress.queue and not stopping and len(futures) < self.executor.capacity():
                        attempt = self._submit(progress.queue.popleft(), results)
                        if attempt is not None:
                            futures[attempt.future] = attempt
                    done, _ = wait(list(futures), timeout=_WATCH_SECONDS, return_when=FIRST_COMPLETED)
                    if done:
                        self.executor.drain()
                    for future in done:
                        self._settle(futures.pop(future), results, stopping)
                    if guard.requested and not stopping:
                        stopping = True
                        self.executor.request_stop()
                        self.log(f"grid: {guard.signal_name} received; running runs save a resumable checkpoint, "
                                 "queued runs do not start")
        finally:
            self.executor.listen(None)
        for run in progress.queue:
            results[run["name"]] = not_started("the grid was stopped before this run started")
        return results

    # ---- submitting and settling --------------------------------------------------------------
    def _submit(self, run: Dict[str, Any], results: Dict[str, Dict[str, Any]]) -> Optional[_Attempt]:
        name, config = run["name"], run["config"]
        attempt = _Attempt(run, secrets.token_hex(4))
        shared = self.executor.shared_filesystem
        with self._lock:
            self._running[attempt.token] = attempt
            try:
                task = RunTask(
                    name, config.to_dict(), {key: getattr(config, key) for key in SESSION_SETTINGS}, attempt.token,
                    str(self.folder.run_dir(name)), shared, lock=str(self.folder.run_lock(name)) if shared else None,
                    snapshot=None if shared else self.folder.resume_files(name),
                )
                attempt.future = self.executor.submit(run_task, task, self.executor.link, self.data)
                return attempt
            except Exception as error:  # noqa: BLE001 - e.g. the cluster's scheduler is gone, an unreadable file
                del self._running[attempt.token]
                failed = error
        self._record(name, {"stopped": RunStatus.ERROR.value,
                            "error": f"it could not be started: {type(failed).__name__}: {failed}"}, results)
        return None

    def _settle(self, attempt: _Attempt, results: Dict[str, Dict[str, Any]], stopping: bool) -> None:
        with self._lock:
            self._running.pop(attempt.token, None)
        name = attempt.name
        try:
            value = attempt.future.result()
        except CancelledError:
            self._lose(attempt, "its task was cancelled by the cluster", results, stopping)
            return
        except Exception as error:  # noqa: BLE001 - whatever happened, it is this run's outcome
            reason = self.executor.lost_worker(error)
            if reason is not None:
                self._lose(attempt, reason, results, stopping)
            else:
                self._record(name, {"stopped": RunStatus.ERROR.value, "error": f"{type(error).__name__}: {error}"},
                             results)
            return
        if "lost" in value:
            self._lose(attempt, value["lost"], results, stopping)
            return
        if value.get("files"):
            try:
                self.folder.receive(name, value["files"])
            except OSError as error:
                self._record(name, {"stopped": RunStatus.ERROR.value, "error": f"its run directory came back but "
                                    f"could not be written into the grid folder: {error}"}, results)
                return
        self._record(name, value["summary"], results)

    def _lose(self, attempt: _Attempt, reason: str, results: Dict[str, Dict[str, Any]], stopping: bool) -> None:
        name = attempt.name
        self._losses[name] += 1
        start = self.folder.state(name).describe_start()
        if stopping:
            why = f"{reason} while the grid was stopping; rerun the grid to continue it {start}"
        elif self._losses[name] > RETRIES_AFTER_LOST_WORKER:
            why = (f"{reason}, the second time this run lost its worker; it was not retried again: rerun the grid "
                   f"to continue it {start}")
        else:
            self.log(f"[{name}] {reason}; retrying it on another worker {start}")
            self._progress.queue.appendleft(attempt.run)
            return
        self._record(name, {"stopped": RunStatus.ERROR.value, "error": why}, results)

    def _record(self, name: str, summary: Dict[str, Any], results: Dict[str, Dict[str, Any]]) -> None:
        results[name] = summary
        self._progress.done += 1
        self.log(f"[{name}] {end_of_run_line(summary)}")
        self._status()

    # ---- messages from the tasks --------------------------------------------------------------
    def _current(self, message: Message) -> bool:
        """Whether a message comes from an attempt the grid still waits for."""
        with self._lock:
            return message.get("attempt") in self._running

    def _on_message(self, message: Message) -> None:
        kind, name = message.get("kind"), message.get("run")
        if kind == "line":
            if self._current(message):
                self.log(f"[{name}] {message['line']}")
        elif kind == "warning":
            self.log(f"grid: warning: {message['line']}")
        elif kind == "checkpoint":
            try:
                self.folder.receive(name, message["files"], progress=tuple(message["progress"]))
            except OSError as error:  # the run goes on; only a retry would start further back
                self.log(f"grid: warning: could not keep the checkpoint of {name} that came in: {error}")
        elif kind == "started":
            self._started(message)

    def _started(self, message: Message) -> None:
        with self._lock:
            attempt = self._running.get(message.get("attempt"))
            if attempt is None:
                return  # an attempt already settled (messages and results travel separately)
            attempt.worker = message["worker"]
        versions = message.get("versions") or {}
        if versions != VERSIONS and message["worker"] not in self._warned:
            self._warned.add(message["worker"])
            self.log(f"grid: warning: worker {message['worker']} has {versions}, this process {VERSIONS}; its results "
                     "may differ from a local run's in the last bits")
        self.log(f"[{attempt.name}] running on {attempt.worker}, {message['start']}")
        self._status()

    def _status(self) -> None:
        with self._lock:
            running = sorted(f"{a.name} on {a.worker}" if a.worker else f"{a.name} (starting)" for a in self._running.values())
            queued = len(self._progress.queue)
            done, total = self._progress.done, self._progress.total
        parts = [f"{done} of {total} done"]
        if running:
            parts.append("running: " + ", ".join(running))
        parts.append(f"{queued} queued")
        self.log("grid: " + "; ".join(parts))
