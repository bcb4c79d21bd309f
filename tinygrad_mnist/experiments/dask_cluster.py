"""Grids on a Dask cluster: the grid's executor interface over ``dask.distributed``.

Dask is an optional dependency (``pip install "tinygrad_mnist[cluster]"``); this module imports it
only when a cluster executor is made, and says how to install it when it is missing.

What travels, and why it is enough (no shared filesystem is assumed):

* to a worker, per run: the task (the run's settings, ~1 KB) and, when the run resumes, the
  files of its last checkpoint (checkpoint.npz, config.json, metrics.csv);
* back to the grid: progress lines, each new checkpoint of the run as it is written (so a lost
  worker costs only the epochs since), and at the end the whole run directory;
* never the training data: each worker finds MNIST itself (``data_dir`` of the run, else its own
  ``$TINYGRAD_MNIST_DATA`` or download cache) and verifies it by checksum, as every run does.

Messages go through a Dask queue of the grid's session; a stop request through a Dask event.
A task also stops when Dask cancels it (the grid's client went away), so a killed grid leaves no
runs training on the cluster.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional

from ..errors import ConfigError, UserError
from ..train.interrupt import stop_when
from .executors import BLAS_THREAD_VARIABLES, GridExecutor, WorkerEnd, blas_threads, cores, ctrl_c_ignored_while_starting

INSTALL_HINT = 'pip install "tinygrad_mnist[cluster]"'
#: How long connecting to a scheduler may take before the grid gives up.
CONNECT_TIMEOUT_SECONDS = 3
# How often a task looks whether the grid asked it to stop, and the grid for new messages.
_STOP_POLL_SECONDS = 0.5
_MESSAGE_POLL_SECONDS = 0.1
_CAPACITY_CACHE_SECONDS = 1.0
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*):(\d{1,5})$")


class ClusterError(UserError):
    """The cluster cannot be used: Dask is missing, or the scheduler cannot be reached.

    >>> isinstance(ClusterError("cannot reach the Dask scheduler"), UserError)
    True
    """


@dataclass(frozen=True)
class ClusterSpec:
    """Where a grid's cluster is: a scheduler ``address``, or (``address`` None) a local cluster
    of ``workers`` processes (None: one per core, or ``jobs``).

    >>> parse_cluster("local:2"), parse_cluster("tcp://10.0.0.5:8786").address
    (ClusterSpec(address=None, workers=2), 'tcp://10.0.0.5:8786')
    """

    address: Optional[str] = None
    workers: Optional[int] = None

    def describe(self) -> str:
        """The cluster in words.

        >>> parse_cluster("local:3").describe()
        'a local Dask cluster of 3 worker processes'
        """
        if self.address is not None:
            return f"the Dask scheduler at {self.address}"
        return f"a local Dask cluster of {self.workers or 'one per core'} worker processes"


def parse_cluster(text: str) -> ClusterSpec:
    """Read a cluster as the ``--cluster`` option spells it: ``local``, ``local:N`` or the
    address of a Dask scheduler (``tcp://host:8786``, ``host:8786``, ``tls://...``).

    >>> parse_cluster("local")
    ClusterSpec(address=None, workers=None)
    >>> parse_cluster("local:0")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: cluster must be local, local:N (N >= 1 worker processes) or a Dask scheduler address such as tcp://host:8786, got 'local:0'
    """
    if not isinstance(text, str):
        raise ConfigError(f"cluster must be a string such as local:2 or tcp://host:8786, got {type(text).__name__}")
    spelled = text.strip()
    local = re.fullmatch(r"local(?::(\d{1,4}))?", spelled)
    if local:
        workers = None if local.group(1) is None else int(local.group(1))
        if workers != 0:
            return ClusterSpec(None, workers)
    else:
        address = _ADDRESS.fullmatch(spelled)
        if address and 1 <= int(address.group(1)) <= 65535:
            return ClusterSpec(spelled if "://" in spelled else f"tcp://{spelled}", None)
    raise ConfigError("cluster must be local, local:N (N >= 1 worker processes) or a Dask scheduler address such "
                      f"as tcp://host:8786, got {text!r}")


def require_dask() -> None:
    """Raise ClusterError with the install command when Dask's distributed scheduler is missing
    (without importing it).

    >>> require_dask()  # doctest: +SKIP
    """
    if importlib.util.find_spec("distributed") is None:
        raise ClusterError(f"running a grid on a cluster needs Dask, which is not installed: {INSTALL_HINT}")


def _distributed():
    require_dask()
    import distributed  # an optional dependency, imported only for a cluster

    return distributed


# ---- the worker's end ---------------------------------------------------------------------------

_blas_limited = threading.Lock()
_blas_state: Dict[str, Any] = {"limits": None}


def _limit_blas(worker, client, emit: Callable[[Dict[str, Any]], None]) -> None:
    """Give this worker process's BLAS an equal share of its machine's cores, once: the same rule
    as the local pool (one run per worker thread). Workers started with the BLAS variables set
    (a local cluster, or by their user) keep them."""
    with _blas_limited:
        if _blas_state["limits"] is not None or any(name in os.environ for name in BLAS_THREAD_VARIABLES):
            return
        from distributed.comm import get_address_host

        host = get_address_host(worker.address)
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        slots = sum(info.get("nthreads", 1) for info in workers if info.get("host") == host) or worker.state.nthreads
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            _blas_state["limits"] = "unlimited"
            emit({"kind": "warning", "line": f"worker {worker.address}: threadpoolctl is not installed, so BLAS "
                  f"threads are not limited to {blas_threads(slots)} per run ({INSTALL_HINT} on the workers)"})
            return
        # Kept for the life of the worker: tasks of several threads share the process's BLAS.
        _blas_state["limits"] = threadpool_limits(limits=blas_threads(slots), user_api="blas")


class DaskLink:
    """The link of Dask tasks: the names of the grid session's message queue and stop event.

    >>> DaskLink("tinygrad-mnist-0a1b").session
    'tinygrad-mnist-0a1b'
    """

    def __init__(self, session: str) -> None:
        self.session = session

    @contextlib.contextmanager
    def working(self, attempt: str) -> Iterator[WorkerEnd]:
        """On a Dask worker: this task's end of the line (see :class:`~.executors.WorkerEnd`)."""
        distributed = _distributed()
        worker = distributed.get_worker()
        key = worker.get_current_task()
        client = distributed.get_client()
        label = f"{worker.address} (pid {os.getpid()})"
        # Each attempt leaves its worker's name where a second start of it finds it: Dask runs a
        # task again by itself when its worker is lost, from the files it was first sent with.
        started = distributed.Variable(f"{self.session}-started-{attempt}", client=client)
        try:
            started_before = started.get(timeout=0)
        except TimeoutError:
            started_before = None
        if started_before is not None:
            started.delete()
            yield WorkerEnd(label, lambda message: None, threading.Event(), started_before=started_before)
            return
        started.set(label)
        queue = distributed.Queue(self.session, client=client)
        stop_event = distributed.Event(f"{self.session}-stop", client=client)
        stop, finished = threading.Event(), threading.Event()

        def emit(message: Dict[str, Any]) -> None:
            with contextlib.suppress(Exception):  # the grid may be gone; the task stops on its own
                queue.put(message)

        def watch() -> None:
            while not finished.wait(_STOP_POLL_SECONDS):
                state = worker.state.tasks.get(key)
                cancelled = state is None or state.state == "cancelled"
                with contextlib.suppress(Exception):
                    cancelled = cancelled or stop_event.is_set()
                if cancelled:
                    stop.set()

        _limit_blas(worker, client, emit)
        watcher = threading.Thread(target=watch, daemon=True, name="grid-stop-watch")
        watcher.start()
        stop_when(stop)
        try:
            yield WorkerEnd(label, emit, stop)
        finally:
            stop_when(None)
            finished.set()
            watcher.join()
            with contextlib.suppress(Exception):
                started.delete()


# ---- the grid's end -------------------------------------------------------------------------------


def _ctrl_c_ignored(distributed):
    """A worker plugin that makes a local cluster's workers ignore Ctrl-C (Dask runs its setup in
    the worker's main thread, where signal handlers are set)."""

    class CtrlCIgnored(distributed.WorkerPlugin):
        def setup(self, worker) -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    return CtrlCIgnored


class DaskCluster(GridExecutor):
    """A grid executor on a Dask cluster (see the module docstring).

    ``spec`` says which cluster; ``jobs`` caps how many runs execute at once (None: as many as
    the cluster's worker threads; for a local cluster without a worker count it is the count).
    A local cluster gets one thread per worker process and each worker an equal share of the
    cores for BLAS; Dask's own rescheduling of lost tasks is off there, the grid retries them
    itself from their last checkpoint.

    >>> with DaskCluster(parse_cluster("local:2")) as cluster:  # doctest: +SKIP
    ...     cluster.capacity()
    2
    """

    shared_filesystem = False

    def __init__(self, spec: ClusterSpec, jobs: Optional[int] = None) -> None:
        super().__init__()
        distributed = _distributed()
        self._spec = spec
        self._cap = jobs
        self._cluster = None
        if spec.address is None:
            workers = spec.workers or jobs or cores()
            self._cap = jobs if spec.workers and jobs else None
            environment = {name: str(blas_threads(workers)) for name in BLAS_THREAD_VARIABLES if name not in os.environ}
            import dask

            with dask.config.set({"distributed.scheduler.allowed-failures": 0}), ctrl_c_ignored_while_starting():
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    worker_dashboard_address=None, silence_logs=logging.CRITICAL, env=environment)
            self._client = distributed.Client(self._cluster, timeout=f"{CONNECT_TIMEOUT_SECONDS}s")
            # Its workers share the terminal, whose Ctrl-C is the grid's to answer; the plugin also
            # reaches the workers Dask starts again after one dies.
            self._client.register_plugin(_ctrl_c_ignored(distributed)(), name="tinygrad-mnist-ignore-ctrl-c")
        else:
            try:
                self._client = distributed.Client(spec.address, timeout=f"{CONNECT_TIMEOUT_SECONDS}s")
            except (OSError, ValueError, TimeoutError) as error:
                raise ClusterError(f"cannot reach the Dask scheduler at {spec.address} ({error}); start one with "
                                   "`dask scheduler` and its workers with `dask worker ADDRESS`, or use --cluster "
                                   "local:N for a cluster on this machine") from None
        self._killed_worker = distributed.KilledWorker
        self.session = f"tinygrad-mnist-{secrets.token_hex(6)}"
        self._link = DaskLink(self.session)
        self._executor = self._client.get_executor(pure=False)
        self._queue = distributed.Queue(self.session, client=self._client)
        self._stop = distributed.Event(f"{self.session}-stop", client=self._client)
        self._capacity = (0.0, 1)
        self._closing = threading.Event()
        self._draining = threading.Lock()  # one drainer at a time keeps the messages in order
        self._poller = threading.Thread(target=self._poll, daemon=True, name="grid-messages")
        self._poller.start()

    @property
    def link(self) -> DaskLink:
        return self._link

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any):
        return self._executor.submit(fn, *args, **kwargs)

    def capacity(self) -> int:
        checked, known = self._capacity
        if time.monotonic() - checked > _CAPACITY_CACHE_SECONDS:
            with contextlib.suppress(Exception):
                known = max(1, sum(self._client.nthreads().values()))
            self._capacity = (time.monotonic(), known)
        return min(known, self._cap) if self._cap else known

    def request_stop(self) -> None:
        with contextlib.suppress(Exception):
            self._stop.set()

    def lost_worker(self, error: BaseException) -> Optional[str]:
        if not isinstance(error, self._killed_worker):
            return None
        last = getattr(error, "last_worker", None)
        return f"its worker {getattr(last, 'address', last) or '(unknown)'} was lost"

    def describe(self) -> str:
        workers = self._client.nthreads()
        threads = sum(workers.values())
        if self._cluster is not None:
            return f"on a local Dask cluster of {len(workers)} worker process{'es' if len(workers) != 1 else ''}"
        return f"on the Dask cluster at {self._spec.address} ({len(workers)} workers, {threads} threads)"

    def _poll(self) -> None:
        while not self._closing.is_set():
            self.drain()
            self._closing.wait(_MESSAGE_POLL_SECONDS)

    def drain(self) -> None:
        with self._draining:
            try:
                messages = self._queue.get(batch=True)
            except Exception:  # noqa: BLE001 - a lost connection shows in the futures; keep trying
                return
            for message in messages:
                self.deliver(message)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._closing.is_set():
            return
        if not wait or cancel_futures:
            self.request_stop()
        self._executor.shutdown(wait=wait)
        self._closing.set()
        self._poller.join()
        self.drain()  # messages sent just before the last task ended
        with contextlib.suppress(Exception):
            self._queue.close()
            self._stop.clear()
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
