"""Atomic file writes: a reader (or a crash) sees either the old file or the complete new one.

Every file the package writes (run files, checkpoints, the MNIST cache, downloads' neighbours,
drawings and plots) goes through here. The data goes to a temporary file in the same folder
(so ``os.replace`` is a rename on one file system, which POSIX makes atomic), is flushed and
fsynced, then renamed over the target; the folder is fsynced so the rename itself survives a crash.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable only by their owner; run files should get the usual permissions.
# Read once at import: os.umask can only be read by setting it, which is not thread-safe later.
_FILE_MODE = 0o666 & ~_read_umask()


def fsync_dir(directory: PathLike) -> None:
    """Flush a folder's entry table to disk so a rename inside it is durable.

    Some platforms (Windows) cannot open a folder for fsync; there the rename is as durable as
    the OS makes it, which is all we can do.

    >>> fsync_dir(".")
    """
    try:
        fd = os.open(os.fspath(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb", suffix: str = "") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on a clean exit it atomically becomes ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched. ``suffix`` is
    appended to the temporary name, for writers that pick a format from the file extension.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_open(target, "w") as f:
    ...     _ = f.write("hi")
    >>> target.read_text()
    'hi'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    try:
        os.chmod(tmp_name, _FILE_MODE)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline=None if "b" in mode else "\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "b.bin"
    >>> atomic_write_bytes(target, b"abc"); target.read_bytes()
    b'abc'
    """
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> atomic_write_text(target, "x\\n"); target.read_text()
    'x\\n'
    """
    with atomic_open(path, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path (same folder, same extension) for writers that want a file name;
    on a clean exit it is fsynced and atomically renamed to ``path``.

    Used for matplotlib figures, which pick the format from the extension.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "fig.png"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_bytes(b"png")
    >>> target.read_bytes()
    b'png'
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp_name, _FILE_MODE)
        yield Path(tmp_name)
        fd = os.open(tmp_name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)
