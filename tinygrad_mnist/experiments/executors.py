"""Where a grid's runs execute: one interface, a ``concurrent.futures.Executor``, for every place.

A grid plans its runs, decides which still need training, watches them and writes the report in
one piece of code (:mod:`.runner`); what differs between running in this process, in local worker
processes and on a Dask cluster is only this interface:

* ``submit(fn, *args)`` / ``shutdown()``: the standard ``Executor`` (futures of
  ``concurrent.futures``, so ``concurrent.futures.wait`` watches them all alike);
* ``link``: a small picklable object that travels with each task; on the worker,
  ``link.working(attempt)`` gives the task its end of the line (:class:`WorkerEnd`): a label
  saying which worker runs it, ``emit`` to send messages (progress lines, checkpoints) back, a
  stop event that every training loop in that thread obeys, and whether this attempt already
  started on a worker that was lost (an engine that reschedules such tasks by itself would
  otherwise train the run again from where it was first sent);
* ``listen(handler)``: where the messages arrive, in the grid's process (from any thread);
* ``capacity()``: how many runs can execute at once now; ``request_stop()``: ask running runs to
  save a resumable checkpoint and return; ``lost_worker(error)``: whether a task's error means its
  worker died (then the grid retries the run), and how to say so;
* ``shared_filesystem``: whether workers write run directories straight into the grid's folder
  (this process, local workers), or the grid must send a run's checkpoint out and receive its
  directory back (a cluster).

This module holds the interface and the simplest executor, a thread of this process; the local
process pool is in :mod:`.local_pool` and Dask in :mod:`.dask_cluster`.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, Optional

from ..train.interrupt import stop_when

Message = Dict[str, Any]
Handler = Callable[[Message], None]

#: The variables by which OpenBLAS, OpenMP and MKL learn how many threads to use.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cores() -> int:
    """The cores this process may use.

    >>> cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def blas_threads(runs_at_once: int, available: Optional[int] = None) -> int:
    """BLAS threads per run when ``runs_at_once`` runs share a machine's cores: an equal share,
    at least one. The local pool and the Dask workers use the same rule, so a run's speed and
    results do not depend on where it ran.

    >>> blas_threads(2, available=8), blas_threads(16, available=8)
    (4, 1)
    """
    return max(1, (cores() if available is None else available) // max(1, runs_at_once))


@contextlib.contextmanager
def blas_environment(threads: int) -> Iterator[None]:
    """Set the BLAS thread variables that the user has not set, for processes started inside the
    block (BLAS reads them once, when the process loads it), and restore them afterwards.

    >>> with blas_environment(3):
    ...     os.environ["OMP_NUM_THREADS"] == "3" or "OMP_NUM_THREADS was set by the user"
    True
    """
    added = [name for name in BLAS_THREAD_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextlib.contextmanager
def ctrl_c_ignored_while_starting() -> Iterator[None]:
    """Start worker processes with SIGINT ignored from their first instruction.

    A terminal's Ctrl-C reaches every process of its group, workers included, and the grid
    decides what stops. An ignored disposition survives fork and exec, so a Ctrl-C that lands
    while a worker is still importing cannot kill it with a traceback. Only the main thread can
    change signal handlers; workers started later from another thread go without (a Ctrl-C in
    that short window costs the grid a worker, which it replaces).

    >>> with ctrl_c_ignored_while_starting():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


class WorkerEnd:
    """A task's end of the line, on the worker: who runs it, how to report, when to stop.

    ``label`` names the worker for progress lines; ``emit(message)`` sends a message (a dict) to
    the grid; ``stop`` is an event that is set when the grid asks its runs to stop (the training
    loops of this thread then save a resumable checkpoint and return). ``started_before`` is the
    label of the worker on which this very attempt started earlier, when the cluster runs it
    again after losing that worker (None otherwise).

    >>> end = WorkerEnd("this process", print, threading.Event())
    >>> end.emit({"kind": "line", "line": "hello"})
    {'kind': 'line', 'line': 'hello'}
    """

    def __init__(self, label: str, emit: Callable[[Message], None], stop: Any,
                 started_before: Optional[str] = None) -> None:
        self.label = label
        self.emit = emit
        self.stop = stop
        self.started_before = started_before


class GridExecutor(Executor):
    """The executor interface of grids (see the module docstring); subclasses fill it in.

    >>> with InThreadExecutor() as executor:
    ...     executor.submit(sum, [1, 2]).result(), executor.capacity(), executor.shared_filesystem
    (3, 1, True)
    """

    #: Whether workers see the grid's folder (they train runs in place) or not (files travel).
    shared_filesystem = True

    def __init__(self) -> None:
        self._handler: Optional[Handler] = None

    def listen(self, handler: Handler) -> None:
        """Deliver the tasks' messages to ``handler`` from now on (it may be called from any thread)."""
        self._handler = handler

    def deliver(self, message: Message) -> None:
        """Hand one message from a task to the listener (dropped when nobody listens). A listener
        that raises is a bug to show, but it must not stop the thread that delivers messages."""
        handler = self._handler
        if handler is not None:
            try:
                handler(message)
            except Exception:  # noqa: BLE001
                traceback.print_exc()

    @property
    def link(self) -> Any:
        """The picklable object each task receives; its ``working(attempt)`` gives a WorkerEnd."""
        raise NotImplementedError

    def capacity(self) -> int:
        """How many runs can execute at once right now (at least 1)."""
        raise NotImplementedError

    def drain(self) -> None:
        """Deliver every message the tasks sent so far, now: the grid calls it before it takes a
        task's result, so that a run's last lines come before its end. (Messages that travel with
        the results, in order, need nothing here.)"""

    def request_stop(self) -> None:
        """Ask the running tasks to checkpoint and return; queued ones are the caller's to drop."""
        raise NotImplementedError

    def lost_worker(self, error: BaseException) -> Optional[str]:
        """Why a task failed, in words, when ``error`` means its worker was lost; else None."""
        return None

    def describe(self) -> str:
        """Where the runs execute, for the grid's first line ("on 2 local worker processes")."""
        raise NotImplementedError


class _ThreadLink:
    """The link of :class:`InThreadExecutor`: the task runs in this process, next to its grid."""

    def __init__(self, executor: "InThreadExecutor") -> None:
        self._executor = executor

    def __reduce__(self):
        raise TypeError("an in-process grid's tasks cannot travel to another process")

    @contextlib.contextmanager
    def working(self, attempt: str) -> Iterator[WorkerEnd]:
        stop_when(self._executor.stop_event)
        try:
            yield WorkerEnd(f"the grid's own process (pid {os.getpid()})", self._executor.deliver, self._executor.stop_event)
        finally:
            stop_when(None)


class InThreadExecutor(GridExecutor):
    """Runs one task at a time in a thread of this process: what ``jobs=1`` means.

    The grid's own thread stays free to watch (it receives Ctrl-C, and stops the run through the
    stop event); the runs share this process's memory, so data given to the grid is not copied.

    >>> with InThreadExecutor() as executor:
    ...     executor.describe()
    'in this process'
    """

    def __init__(self) -> None:
        super().__init__()
        self.stop_event = threading.Event()
        self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grid-run")
        self._link = _ThreadLink(self)

    @property
    def link(self) -> _ThreadLink:
        return self._link

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._threads.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if not wait:
            self.stop_event.set()
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)

    def capacity(self) -> int:
        return 1

    def request_stop(self) -> None:
        self.stop_event.set()

    def describe(self) -> str:
        return "in this process"
