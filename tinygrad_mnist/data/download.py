"""Fetching a file over HTTP(S) into memory, with limits that a slow or hostile mirror cannot dodge.

A download is given up (and the next mirror tried) when any of these happens:

* nothing arrives for ``idle_s`` seconds (the socket timeout);
* less than ``min_bytes_per_s`` arrives on average over a window of ``window_s`` seconds, so a
  mirror trickling one byte every few seconds is dropped instead of holding the run forever;
* the whole transfer, headers included, takes longer than ``deadline_s``;
* the response is larger than the caller's ``max_bytes``.

The body is kept in memory and only returned when complete: nothing is written to disk until the
caller has verified it, so an interrupted or refused download leaves no file behind.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

from ..checks import NON_NEGATIVE, POSITIVE, check_float
from ..errors import DataError

try:  # tqdm is a runtime dependency, but a missing progress bar must not stop a download.
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - exercised by monkeypatching _tqdm in tests
    _tqdm = None

__all__ = ["DownloadFailed", "DownloadLimits", "fetch"]

_USER_AGENT = "tinygrad_mnist (python urllib)"
# Small reads so the progress bar moves and the limits are checked often, even on a slow link.
_READ_SIZE = 64 << 10


class DownloadFailed(DataError):
    """One URL could not deliver the file; the message says why (the caller tries the next mirror).

    Example:
        >>> str(DownloadFailed("HTTP Error 404: Not Found"))
        'HTTP Error 404: Not Found'
    """


@dataclass(frozen=True)
class DownloadLimits:
    """When a download is given up: see the module docstring. The defaults let a 10 MB file through
    a link of 10 kB/s (about 17 minutes) and drop a mirror that stalls within half a minute.

    Example:
        >>> DownloadLimits(deadline_s=2, idle_s=0.5, window_s=0.5).deadline_s
        2
        >>> DownloadLimits(idle_s=0)
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: DownloadLimits: idle_s must be > 0, got 0
    """

    deadline_s: float = 30 * 60.0
    idle_s: float = 30.0
    min_bytes_per_s: float = 10_000.0
    window_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("deadline_s", "idle_s", "window_s"):
            check_float(getattr(self, name), name, POSITIVE, owner="DownloadLimits")
        check_float(self.min_bytes_per_s, "min_bytes_per_s", NON_NEGATIVE, owner="DownloadLimits")


class _NoBar:
    total = None

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(desc: str, progress: bool):
    if progress and _tqdm is not None:
        # mininterval keeps a fast download from redrawing too often; a slow one still moves.
        return _tqdm(total=None, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False, mininterval=0.2)
    if progress:
        print(f"downloading {desc} ...", file=sys.stderr, flush=True)
    return _NoBar()


class _Transfer:
    """One HTTP GET, run in a worker thread so that the caller can give up at the deadline even
    while the worker is blocked in a read (a mirror trickling its headers, say)."""

    def __init__(self, url: str, max_bytes: int, limits: DownloadLimits, bar) -> None:
        self.url, self.max_bytes, self.limits, self.bar = url, max_bytes, limits, bar
        self.received = 0
        self.body: bytes | None = None
        self.error: BaseException | None = None
        self.cancelled = threading.Event()

    def run(self) -> None:
        try:
            self.body = self._receive()
        except BaseException as e:  # handed to the caller's thread, which raises it
            self.error = e

    def _receive(self) -> bytes:
        request = urllib.request.Request(self.url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=self.limits.idle_s) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                raise DownloadFailed(f"response is larger than {self.max_bytes:,} bytes ({int(length):,} announced)")
            if length and length.isdigit():
                self.bar.total = int(length)
            read_some = getattr(response, "read1", response.read)  # read1: whatever has arrived, not a full block
            parts: list[bytes] = []
            window_start, window_received = time.monotonic(), 0
            while not self.cancelled.is_set():
                chunk = read_some(_READ_SIZE)
                if not chunk:
                    break
                self.received += len(chunk)
                if self.received > self.max_bytes:
                    raise DownloadFailed(f"response is larger than {self.max_bytes:,} bytes")
                parts.append(chunk)
                self.bar.update(len(chunk))
                now = time.monotonic()
                if now - window_start >= self.limits.window_s:
                    rate = (self.received - window_received) / (now - window_start)
                    if rate < self.limits.min_bytes_per_s:
                        raise DownloadFailed(
                            f"too slow: {rate:,.0f} bytes/s over the last {now - window_start:.0f} s, below the "
                            f"minimum of {self.limits.min_bytes_per_s:,.0f} bytes/s"
                        )
                    window_start, window_received = now, self.received
        if self.cancelled.is_set():
            raise DownloadFailed("cancelled")
        if length and length.isdigit() and self.received != int(length):
            raise DownloadFailed(f"connection ended after {self.received:,} of {int(length):,} bytes")
        return b"".join(parts)


def fetch(url: str, max_bytes: int, limits: DownloadLimits | None = None, progress: bool = False) -> bytes:
    """Download ``url`` into memory within ``limits`` (see :class:`DownloadLimits`); return the body.

    Raises:
        DownloadFailed: the URL could not deliver the whole body within the limits, or sent more
            than ``max_bytes``; the message says which.

    Example:
        >>> fetch("http://127.0.0.1:9/x.gz", max_bytes=100)  # nothing listens on port 9
        Traceback (most recent call last):
        ...
        tinygrad_mnist.data.download.DownloadFailed: <urlopen error [Errno ...] Connection refused>
    """
    limits = limits or DownloadLimits()
    bar = _progress_bar(url.rsplit("/", 1)[-1], progress)
    transfer = _Transfer(url, max_bytes, limits, bar)
    worker = threading.Thread(target=transfer.run, name=f"download {url}", daemon=True)
    worker.start()
    try:
        worker.join(limits.deadline_s)
        timed_out = worker.is_alive()
    finally:
        # On the deadline, or Ctrl-C here, the worker stops at its next read; it holds no file.
        transfer.cancelled.set()
        bar.close()
    if timed_out:
        raise DownloadFailed(
            f"not complete after the deadline of {limits.deadline_s:g} s ({transfer.received:,} bytes received)"
        )
    if isinstance(transfer.error, DownloadFailed):
        raise transfer.error
    if isinstance(transfer.error, (OSError, http.client.HTTPException, ValueError)):
        # URLError/HTTPError/timeouts are OSErrors; ValueError is a malformed URL.
        raise DownloadFailed(str(transfer.error) or type(transfer.error).__name__) from transfer.error
    if transfer.error is not None:
        raise transfer.error
    assert transfer.body is not None
    return transfer.body
