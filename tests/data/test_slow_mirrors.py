"""Slow, stalled and trickling mirrors are given up, the progress bar moves, and an interrupted
download leaves nothing behind (the attack: one byte every 5 s never tripped the 30 s socket timeout,
and the bar, updated per megabyte, showed nothing).

The servers run on 127.0.0.1; the limits are shortened through ``DownloadLimits`` so each case takes
a second or two instead of the real minutes.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_mnist.data import MNIST_FILES, DownloadLimits, Mnist, MnistDataError, load_mnist
from tinygrad_mnist.data import download as download_module

LABELS = MNIST_FILES["train_labels"].name
QUICK = DownloadLimits(deadline_s=1.5, idle_s=0.5, min_bytes_per_s=1000, window_s=0.5)
# Servers stop dribbling after this long, so no handler thread outlives its test by much.
_SERVER_GIVES_UP_S = 8.0


class _Slow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def dribble(self, piece: bytes, every_s: float) -> None:
        end = time.monotonic() + _SERVER_GIVES_UP_S
        try:
            while time.monotonic() < end:
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(every_s)
        except OSError:
            pass  # the client hung up, as it should


class TrickleHandler(_Slow):
    """Announces 100 kB, then sends one byte every 0.1 s: alive, but hopeless."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.dribble(b"\x1f", 0.1)


class TrickleHeadersHandler(_Slow):
    """Never finishes its headers: one byte of a header line every 0.1 s."""

    def do_GET(self) -> None:
        self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        self.dribble(b"z", 0.1)


class StallHandler(_Slow):
    """Sends its headers, then nothing at all."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        time.sleep(_SERVER_GIVES_UP_S)


class SteadyButLongHandler(_Slow):
    """Fast enough for the minimum rate (20 kB/s), too long for the deadline (100 kB, 5 s)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.dribble(bytes(2000), 0.1)


def set_mirrors(monkeypatch: pytest.MonkeyPatch, *urls: str) -> None:
    monkeypatch.setenv("TINYGRAD_MNIST_MIRRORS", " ".join(urls))


@pytest.mark.parametrize(
    "handler, reason",
    [
        (TrickleHandler, "too slow: "),
        (TrickleHeadersHandler, "not complete after the deadline of 1.5 s"),
        (StallHandler, "timed out"),
        (SteadyButLongHandler, "not complete after the deadline of 1.5 s"),
    ],
    ids=["trickling-body", "trickling-headers", "stalled", "steady-but-too-long"],
)
def test_a_slow_mirror_is_given_up_for_the_next(
    tmp_path: Path, link_real: Any, http_mirror: Any, shared_dir: Path, mnist: Mnist,
    monkeypatch: pytest.MonkeyPatch, handler: type, reason: str,
) -> None:
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    slow = http_mirror(tmp_path, handler)
    set_mirrors(monkeypatch, slow)
    start = time.monotonic()
    with pytest.raises(MnistDataError) as info:
        load_mnist(dest, progress=False, download_limits=QUICK)
    # Given up within the deadline plus one idle timeout, instead of hanging for ever.
    assert time.monotonic() - start < QUICK.deadline_s + QUICK.idle_s + 1.5
    assert any(line.startswith(f"  {slow}{LABELS}.gz: ") and reason in line for line in str(info.value).splitlines()), str(info.value)

    set_mirrors(monkeypatch, slow, http_mirror(shared_dir))
    loaded = load_mnist(dest, progress=False, download_limits=QUICK)
    assert np.array_equal(loaded.train_labels, mnist.train_labels)


class PiecesHandler(_Slow):
    """Serves the real labels file in ten pieces 50 ms apart."""

    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        step = -(-len(self.body) // 10)
        for start in range(0, len(self.body), step):
            self.wfile.write(self.body[start : start + step])
            self.wfile.flush()
            time.sleep(0.05)


class RecordingBar:
    """Stands in for tqdm and records what a user would see change."""

    made: list[RecordingBar] = []

    def __init__(self, **options: Any) -> None:
        self.options, self.total, self.updates, self.closed = options, options.get("total"), [], False
        RecordingBar.made.append(self)

    def update(self, n: int) -> None:
        self.updates.append(n)

    def close(self) -> None:
        self.closed = True


def test_the_progress_bar_moves_while_bytes_arrive(
    tmp_path: Path, link_real: Any, http_mirror: Any, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    PiecesHandler.body = (shared_dir / f"{LABELS}.gz").read_bytes()
    monkeypatch.setattr(download_module, "_tqdm", RecordingBar)
    RecordingBar.made.clear()
    dest = tmp_path / "dest"
    link_real(dest, ["train_images", "test_images", "test_labels"])
    set_mirrors(monkeypatch, http_mirror(tmp_path, PiecesHandler))
    load_mnist(dest, progress=True)
    [bar] = RecordingBar.made
    assert bar.total == len(PiecesHandler.body) and bar.closed
    assert sum(bar.updates) == len(PiecesHandler.body)
    assert len(bar.updates) >= 5  # it moved with the pieces, not once at the end


class HoldingHandler(_Slow):
    """Sends a little of a file, tells the test it is mid-download, then dribbles."""

    midway = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(5000))
        self.wfile.flush()
        HoldingHandler.midway.set()
        self.dribble(bytes(10), 0.05)


_LOAD_IN_CHILD = "import sys; from tinygrad_mnist.data import load_mnist; load_mnist(sys.argv[1], progress=False)"


def test_sigterm_during_a_download_leaves_no_file_and_no_folder(
    tmp_path: Path, http_mirror: Any
) -> None:
    HoldingHandler.midway.clear()
    misspelled = tmp_path / "dta" / "mnist"
    env = dict(os.environ, TINYGRAD_MNIST_MIRRORS=http_mirror(tmp_path, HoldingHandler))
    child = subprocess.Popen([sys.executable, "-c", _LOAD_IN_CHILD, str(misspelled)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert HoldingHandler.midway.wait(30), "the child never started downloading"
        time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        child.wait(30)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGTERM
    # Nothing was written: the download was still in memory, and the folder is made only for a good file.
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_creates_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: Any) -> None:
    set_mirrors(monkeypatch, f"http://127.0.0.1:{closed_port()}/")
    misspelled = tmp_path / "dtaa" / "mnist"
    with pytest.raises(MnistDataError, match="Download failed from every mirror"):
        load_mnist(misspelled, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field, value", [("deadline_s", 0), ("idle_s", -1.0), ("window_s", float("inf")), ("min_bytes_per_s", -5)])
def test_download_limits_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"DownloadLimits: {field} must be"):
        DownloadLimits(**{field: value})
