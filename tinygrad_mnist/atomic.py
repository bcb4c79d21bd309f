"""Atomic file writes: a reader (or a crash) sees either the old file or the complete new one.

Every file the package writes (run files, checkpoints, the MNIST cache, downloads' neighbours,
drawings and plots) goes through here. The data goes to a temporary file in the same folder
(so ``os.replace`` is a rename on one file system, which POSIX makes atomic), is flushed and
fsynced, then renamed over the target; the folder is fsynced so the rename itself survives a crash.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Iterator, List, Union

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
    with _naming(path):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
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
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
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


def _temporary_patterns(target: Path) -> List["re.Pattern[str]"]:
    # The names atomic_open (".NAME.XXXXXXXX.tmpSUFFIX") and atomic_path (".STEM.XXXXXXXX.tmp.EXT")
    # give their temporary files; the random part is what tempfile.mkstemp makes.
    random_part = r"\.[A-Za-z0-9_]{8}\.tmp"
    return [
        re.compile(re.escape("." + target.name) + random_part + r".*"),
        re.compile(re.escape("." + target.stem) + random_part + re.escape(target.suffix)),
    ]


def remove_stale_temporaries(directory: PathLike, names) -> List[Path]:
    """Delete the temporary files that writes of ``directory/NAME`` (for each of ``names``) left
    behind when their process was killed mid-write; return what was removed.

    Only call this while no other process can be writing these files (the caller holds the
    folder's lock): a live writer's temporary file looks exactly like a stale one.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / ".checkpoint.npz.a1b2c3d4.tmp").write_bytes(b"half a checkpoint")
    >>> _ = (folder / "checkpoint.npz").write_bytes(b"the real one")
    >>> [p.name for p in remove_stale_temporaries(folder, ["checkpoint.npz"])], sorted(p.name for p in folder.iterdir())
    (['.checkpoint.npz.a1b2c3d4.tmp'], ['checkpoint.npz'])
    """
    directory = Path(directory)
    patterns = [pattern for name in names for pattern in _temporary_patterns(Path(name))]
    removed = []
    try:
        entries = sorted(directory.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if any(pattern.fullmatch(entry.name) for pattern in patterns) and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed
