"""Turning Ctrl-C (SIGINT) and SIGTERM into a polite request the training loop answers at the
next batch boundary, where it can save a resumable checkpoint instead of dying mid-update.

A thread can also be told to stop by an event that another thread or process sets (``stop_when``):
that is how a grid stops the runs it started, in worker processes, threads or cluster tasks.
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Dict, Optional

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXTERNAL_STOP = "a stop request from the grid"

# Per thread, an object with is_set() (a threading or multiprocessing Event) whose being set counts
# as an interrupt. Per thread because one process may train several runs at once in threads (a
# Dask worker does), each stopped on its own.
_external_stop = threading.local()


def stop_when(event: Optional[Any]) -> None:
    """Make every InterruptGuard in the calling thread report a request once ``event.is_set()``
    (``None`` forgets the event).

    >>> import threading
    >>> event = threading.Event()
    >>> stop_when(event)
    >>> with InterruptGuard() as guard:
    ...     before = guard.requested
    ...     event.set()
    ...     before, guard.requested, guard.signal_name
    (False, True, 'a stop request from the grid')
    >>> stop_when(None)
    """
    _external_stop.event = event


class InterruptGuard:
    """While active, SIGINT/SIGTERM only set ``requested`` (and remember which signal came).

    A second signal while a request is pending raises KeyboardInterrupt at once, for a user who
    does not want to wait for the checkpoint. The previous handlers are restored on exit. Outside
    the main thread (where Python cannot install handlers) only ``stop_when`` events are seen.

    >>> import os, signal
    >>> with InterruptGuard() as guard:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     guard.requested, guard.signal_name
    (True, 'SIGTERM')
    >>> signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    True
    """

    def __init__(self) -> None:
        self._requested = False
        self.signal_name: Optional[str] = None
        self._previous: Dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """True once a signal (or the ``stop_when`` event) asked the work to stop."""
        if self._requested:
            return True
        event = getattr(_external_stop, "event", None)
        if event is not None and event.is_set():
            self._requested = True
            self.signal_name = EXTERNAL_STOP
        return self._requested

    def _handle(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping without a checkpoint")
        self._requested = True
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "InterruptGuard":
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED_SIGNALS:
                self._previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> bool:
        for signum, handler in self._previous.items():
            # getsignal returns None for handlers installed from C; SIG_DFL is the honest fallback.
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
        return False
