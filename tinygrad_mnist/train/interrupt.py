"""Turning Ctrl-C (SIGINT) and SIGTERM into a polite request the training loop answers at the
next batch boundary, where it can save a resumable checkpoint instead of dying mid-update."""
from __future__ import annotations

import signal
import threading
from typing import Dict, Optional

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InterruptGuard:
    """While active, SIGINT/SIGTERM only set ``requested`` (and remember which signal came).

    A second signal while a request is pending raises KeyboardInterrupt at once, for a user who
    does not want to wait for the checkpoint. The previous handlers are restored on exit. Outside
    the main thread (where Python cannot install handlers) the guard is inert.

    >>> import os, signal
    >>> with InterruptGuard() as guard:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    ...     guard.requested, guard.signal_name
    (True, 'SIGTERM')
    >>> signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    True
    """

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: Optional[str] = None
        self._previous: Dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping without a checkpoint")
        self.requested = True
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
