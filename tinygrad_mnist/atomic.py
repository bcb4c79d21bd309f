"""Atomic file writes: a reader (or a crash) sees either the old file or the complete new one.

Every file the package writes (run files, checkpoints, the MNIST cache, downloads' neighbours,
drawings and plots) goes through here. The data goes to a temporary file in the same folder
(so ``os.replace`` is a rename on one file system, which POSIX makes atomic), is flushed and
fsynced, then renamed over the target; the folder is fsynced so the rename itself survives a crash.

A temporary file is named ``.<target name>.<writer's pid>.<random>.tmp``, so one left behind by a
killed writer (SIGKILL, power loss) is recognisable and :func:`remove_stale_temporaries` can clean it
up on the next start without touching the live temporary of a writer still running.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
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


def _temporary_next_to(path: Path, suffix: str = "") -> tuple[int, str]:
    """Create the temporary file for ``path`` (see the module docstring for its name)."""
    return tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=f".tmp{suffix}", dir=path.parent)


# Names of temporaries whose writer is unknown (written before temporaries carried a pid, e.g. the
# ".part" files of downloads) are stale once untouched this long.
_UNOWNED_STALE_AFTER_S = 3600.0


def _writer_is_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists, without signalling it
    except (ProcessLookupError, OverflowError):  # no such process, or no such pid at all
        return False
    except OSError:  # PermissionError: it exists but belongs to another user
        return True
    return True


def remove_stale_temporaries(target: PathLike) -> list[Path]:
    """Delete the temporary files left next to ``target`` by writers that died; return them.

    A temporary is stale when the process that created it (its pid is in its name) no longer runs
    on this machine; one without a pid in its name (``.<name>.<random>.tmp`` or ``.part``) when it
    has not been modified for an hour. Live writers' temporaries are left alone, so this is safe to
    call at any start. Files that cannot be removed (a read-only folder) are skipped silently.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> dead = folder / ".checkpoint.npz.999999999.x1y2z3.tmp"  # no process has that pid
    >>> _ = dead.write_bytes(b"half a checkpoint")
    >>> [p.name for p in remove_stale_temporaries(folder / "checkpoint.npz")]
    ['.checkpoint.npz.999999999.x1y2z3.tmp']
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)\.)?[\w-]+\.(?:tmp|part)(?:\.\w+)?")
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return []
    removed = []
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match is None:
            continue
        try:
            if match.group(1) is not None:
                stale = not _writer_is_alive(int(match.group(1)))
            else:
                stale = time.time() - candidate.lstat().st_mtime > _UNOWNED_STALE_AFTER_S
            if stale:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed


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
    with _naming(path):
        fd, tmp_name = _temporary_next_to(path, suffix)
    try:
        with _naming(path):
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


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError without a file name (a write that hit a full disk reports none) the name of
    the file being written, so the one-line error says which file could not be written."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, os.fspath(path)) from error


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
    with _naming(path):
        fd, tmp_name = _temporary_next_to(path, path.suffix)
    os.close(fd)
    try:
        os.chmod(tmp_name, _FILE_MODE)
        yield Path(tmp_name)
        with _naming(path):
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

