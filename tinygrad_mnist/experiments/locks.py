"""Exclusive file locks that die with their holder.

A grid holds one on its folder while it runs, and the process training a run of it holds one on
that run: so two grids never work in one folder, and a run is never trained by two processes at
once, even when a killed grid's worker is still saving its last checkpoint while the grid is
already being rerun. The operating system releases such a lock when its holder exits, however it
exits (SIGKILL included), so a lock never outlives a crash.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator, Union

from ..errors import RunDirectoryError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

_POLL_SECONDS = 0.05


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows locks a byte range instead of the whole file
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(path.read_text(encoding="ascii").strip() or "0")
        if pid:
            return f" (process {pid})"
    return ""


@contextlib.contextmanager
def exclusive_lock(path: Union[str, os.PathLike], what: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) for the block.

    Waits up to ``wait_seconds`` for another holder to let go, then raises RunDirectoryError
    saying that ``what`` is in use (and by which process). The file keeps the holder's process id
    for that message; it is left in place afterwards (removing it would race with a new holder).

    >>> import tempfile, pathlib
    >>> lock = pathlib.Path(tempfile.mkdtemp()) / "lock"
    >>> with exclusive_lock(lock, "the demo folder"):
    ...     with exclusive_lock(lock, "the demo folder"):
    ...         pass
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: the demo folder is in use by another process (process ...); wait ...
    """
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise RunDirectoryError(f"{what} is in use by another process{_holder(path)}; wait for it to "
                                        "finish, or stop it first")
            time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
