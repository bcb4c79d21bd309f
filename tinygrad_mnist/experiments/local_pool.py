"""A pool of local worker processes in which one dead worker costs only its own task.

``concurrent.futures.ProcessPoolExecutor`` treats a worker that dies (the OOM killer, a SIGKILL)
as a broken pool: every pending future fails and the other workers are terminated, so one run's
crash would end all the others. Here each worker has its own pipe: a dead worker's task alone
fails, with :class:`WorkerLost` saying how it died, and a fresh worker takes its place for the
tasks still queued (the grid then retries the lost run from its last checkpoint).

Workers are started with "spawn" and with an equal share of the cores for BLAS. Idle workers
ignore Ctrl-C (the grid decides what stops), and every worker watches its parent: when the
grid's process dies, however it dies, a running task is told to stop (its run saves a
resumable checkpoint) and the worker exits, instead of living on as an orphan.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import traceback
from collections import deque
from concurrent.futures import Future
from multiprocessing.connection import wait as wait_for_ready
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

from ..train.interrupt import stop_when
from .executors import GridExecutor, WorkerEnd, blas_environment, blas_threads, ctrl_c_ignored_while_starting

# How long a worker whose parent died waits for its running task to save a checkpoint and return
# before it exits anyway (a task stuck outside the training loop, e.g. in a download).
ORPHAN_GRACE_SECONDS = 60.0
# Workers that die before they ever run a task, this many in a row, mean that workers cannot start
# here (a script without the `if __name__ == "__main__":` guard, a broken installation): the pool
# then fails its queued tasks instead of starting workers forever.
STARTUP_FAILURES_ALLOWED = 3


class WorkerLost(Exception):
    """A worker process died while it ran a task (killed, out of memory, crashed).

    >>> str(WorkerLost(1234, -9))
    'its worker process (pid 1234) died: killed by SIGKILL'
    """

    def __init__(self, pid: int, exitcode: Optional[int]) -> None:
        super().__init__(pid, exitcode)  # the arguments, so that it pickles
        self.pid = pid
        self.exitcode = exitcode

    def __str__(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        return f"its worker process (pid {self.pid}) died: {how}"


class PoolBroken(RuntimeError):
    """Worker processes die as soon as they start, so the pool cannot run anything.

    >>> str(PoolBroken(3, 1)).startswith("3 worker processes died as they started")
    True
    """

    def __init__(self, count: int, exitcode: Optional[int]) -> None:
        super().__init__(count, exitcode)  # the arguments, so that it pickles
        self.count = count
        self.exitcode = exitcode

    def __str__(self) -> str:
        return (f"{self.count} worker processes died as they started (the last with exit status {self.exitcode}); "
                "see the messages above. A script that starts a grid with jobs > 1 must do so under "
                '`if __name__ == "__main__":`')


class TaskFailed(Exception):
    """A task raised in a worker; the worker's traceback is kept as text (exceptions of any kind
    travel, pickled or not).

    >>> str(TaskFailed("ValueError: bad", "Traceback ..."))
    'ValueError: bad'
    """

    def __init__(self, description: str, worker_traceback: str) -> None:
        super().__init__(description, worker_traceback)  # the arguments, so that it pickles
        self.description = description
        self.worker_traceback = worker_traceback

    def __str__(self) -> str:
        return self.description


# ---- the worker process ---------------------------------------------------------------------------

# The worker's end of its pipe and its stop events, for the task's link (one task at a time).
_worker: Dict[str, Any] = {}


class _AnyOf:
    """An event that counts as set when any of its events is (for stop_when)."""

    def __init__(self, *events: Any) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


def _watch_parent(parent_gone: threading.Event) -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    wait_for_ready([parent.sentinel])
    parent_gone.set()
    # The main thread stops its run at the next batch and then exits by itself (its pipe is
    # closed); this is for a task that never looks at the stop event.
    if not _worker["idle"].wait(ORPHAN_GRACE_SECONDS):
        os._exit(1)
    os._exit(0)


def _send(message: Any) -> None:
    with _worker["send_lock"]:
        _worker["conn"].send(message)


def _emit(message: Dict[str, Any]) -> None:
    try:
        _send(("message", message))
    except (OSError, ValueError):
        pass  # the grid is gone; the run still stops through the parent watch


def _worker_main(conn, stop_event, slot: int) -> None:
    # Ctrl-C reaches every process of the terminal's group: an idle worker leaves the decision to
    # the grid; a running training loop installs its own handler and saves a checkpoint.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    idle = threading.Event()
    idle.set()
    parent_gone = threading.Event()
    _worker.update(conn=conn, send_lock=threading.Lock(), slot=slot, idle=idle,
                   stop=_AnyOf(stop_event, parent_gone))
    threading.Thread(target=_watch_parent, args=(parent_gone,), daemon=True, name="watch-parent").start()
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            break  # the grid's process is gone
        if work is None:
            break
        fn, args, kwargs = work
        idle.clear()
        try:
            reply: Tuple[Any, ...] = ("result", True, fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - reported to the grid, which decides
            reply = ("result", False, TaskFailed(f"{type(error).__name__}: {error}", traceback.format_exc()))
        try:
            _send(reply)
        except (OSError, ValueError):
            break
        finally:
            idle.set()


class _PoolLink:
    """The link of :class:`LocalPool` tasks: the worker process's own pipe and stop events."""

    @contextlib.contextmanager
    def working(self, attempt: str) -> Iterator[WorkerEnd]:
        stop = _worker["stop"]
        stop_when(stop)
        try:
            yield WorkerEnd(f"worker {_worker['slot']} (pid {os.getpid()})", _emit, stop)
        finally:
            stop_when(None)


# ---- the pool -------------------------------------------------------------------------------------


class _Worker:
    def __init__(self, process, conn, slot: int) -> None:
        self.process = process
        self.conn = conn
        self.slot = slot
        self.future: Optional[Future] = None
        self.worked = False  # whether it was ever given a task


class LocalPool(GridExecutor):
    """``workers`` local processes running submitted tasks; see the module docstring.

    Each worker's BLAS uses ``threads`` threads (default: an equal share of the cores) unless the
    user set the BLAS variables.

    >>> import os
    >>> with LocalPool(2) as pool:  # doctest: +SKIP
    ...     pool.submit(os.getpid).result() != os.getpid()
    True
    """

    def __init__(self, workers: int, threads: Optional[int] = None) -> None:
        super().__init__()
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self._size = workers
        self._context = multiprocessing.get_context("spawn")
        self._stop_event = self._context.Event()
        self._queue: Deque[Tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._workers: List[_Worker] = []
        self._lock = threading.Lock()
        self._shutting_down = False
        self._startup_failures = 0
        self._broken: Optional[Exception] = None
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self._link = _PoolLink()
        # Workers load BLAS when they start, so they get their share of the cores from the
        # environment; it stays set while the pool may start replacements.
        self._environment = blas_environment(threads or blas_threads(workers))
        self._environment.__enter__()
        with ctrl_c_ignored_while_starting():
            for slot in range(1, workers + 1):
                self._start_worker(slot)
        self._manager = threading.Thread(target=self._manage, daemon=True, name="local-pool")
        self._manager.start()

    # -- the interface -----------------------------------------------------------------------------
    @property
    def link(self) -> _PoolLink:
        return self._link

    def capacity(self) -> int:
        return self._size

    def request_stop(self) -> None:
        self._stop_event.set()

    def lost_worker(self, error: BaseException) -> Optional[str]:
        return str(error) if isinstance(error, WorkerLost) else None

    def describe(self) -> str:
        return f"on {self._size} local worker process{'es' if self._size > 1 else ''}"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shutting_down:
                raise RuntimeError("cannot submit to a pool that is shutting down")
            if self._broken is not None:
                future.set_running_or_notify_cancel()
                future.set_exception(self._broken)
                return future
            self._queue.append((future, fn, args, kwargs))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            first_call = not self._shutting_down
            self._shutting_down = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
        if not wait:
            self._stop_event.set()
        self._wake()
        if wait:
            self._manager.join()
        if first_call:
            self._environment.__exit__(None, None, None)

    # -- the manager thread --------------------------------------------------------------------------
    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(None)

    def _start_worker(self, slot: int) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_worker_main, args=(child_end, self._stop_event, slot),
                                        name=f"grid-worker-{slot}", daemon=False)
        process.start()
        child_end.close()
        self._workers.append(_Worker(process, parent_end, slot))

    def _free_slot(self) -> int:
        taken = {w.slot for w in self._workers}
        return next(slot for slot in range(1, self._size + 1) if slot not in taken)

    def _dispatch(self) -> None:
        """Give queued tasks to idle workers, starting replacements for dead ones as needed."""
        with self._lock:
            while self._queue and self._broken is None:
                idle = next((w for w in self._workers if w.future is None), None)
                if idle is None:
                    if len(self._workers) >= self._size:
                        return
                    self._start_worker(self._free_slot())
                    continue
                future, fn, args, kwargs = self._queue.popleft()
                # A task sent back to the queue (its worker died as it was sent) is running already.
                if not future.running() and not future.set_running_or_notify_cancel():
                    continue
                try:
                    idle.conn.send((fn, args, kwargs))
                except (OSError, ValueError):
                    # It died just now: its sentinel reports that; this task goes back in front.
                    self._queue.appendleft((future, fn, args, kwargs))
                    return
                except Exception as error:  # noqa: BLE001 - e.g. arguments that cannot be pickled
                    future.set_exception(error)
                    continue
                idle.future = future
                idle.worked = True

    def _finished(self) -> bool:
        with self._lock:
            if not self._shutting_down or self._queue or any(w.future is not None for w in self._workers):
                return False
            for worker in self._workers:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
            return True

    def _manage(self) -> None:
        try:
            self._watch_workers()
        except BaseException as error:  # noqa: BLE001 - a bug here must fail the tasks, not hang them
            with self._lock:
                self._broken = self._broken or RuntimeError(f"the local pool stopped: {type(error).__name__}: {error}")
                pending = [item[0] for item in self._queue] + [w.future for w in self._workers if w.future]
                self._queue.clear()
            for future in pending:
                if not future.done() and (future.running() or future.set_running_or_notify_cancel()):
                    future.set_exception(self._broken)
            for worker in self._workers:
                worker.process.kill()
            raise

    def _watch_workers(self) -> None:
        while True:
            self._dispatch()
            if self._finished():
                break
            ready = set(wait_for_ready([self._wake_reader] + [w.conn for w in self._workers]
                                       + [w.process.sentinel for w in self._workers]))
            if self._wake_reader in ready:
                with contextlib.suppress(EOFError, OSError):
                    while self._wake_reader.poll():
                        self._wake_reader.recv()
            for worker in list(self._workers):
                if worker.conn in ready:
                    self._receive(worker)
                if worker.process.sentinel in ready:
                    self._bury(worker)
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()
        self._workers.clear()

    def _receive(self, worker: _Worker) -> None:
        while True:
            try:
                if not worker.conn.poll():
                    return
                kind, *rest = worker.conn.recv()
            except (EOFError, OSError):
                return  # it died; _bury reports it
            except Exception as error:  # noqa: BLE001 - a reply that cannot be unpickled fails its task, not the pool
                kind, rest = "result", [False, TaskFailed(f"{type(error).__name__}: {error}", traceback.format_exc())]
            if kind == "message":
                self.deliver(rest[0])
                continue
            ok, value = rest
            future, worker.future = worker.future, None
            if future is not None:
                future.set_result(value) if ok else future.set_exception(value)

    def _bury(self, worker: _Worker) -> None:
        self._receive(worker)  # a result it sent just before it died still counts
        worker.process.join()
        with self._lock:
            self._workers.remove(worker)
        worker.conn.close()
        if worker.future is not None:
            worker.future.set_exception(WorkerLost(worker.process.pid, worker.process.exitcode))
            worker.future = None
        if worker.worked:
            self._startup_failures = 0
            return
        self._startup_failures += 1
        if self._startup_failures >= STARTUP_FAILURES_ALLOWED:
            with self._lock:
                self._broken = PoolBroken(self._startup_failures, worker.process.exitcode)
                while self._queue:
                    future = self._queue.popleft()[0]
                    if future.running() or future.set_running_or_notify_cancel():
                        future.set_exception(self._broken)
