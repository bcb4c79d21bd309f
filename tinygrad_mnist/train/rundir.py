"""Run directories: a fresh, descriptive name per run, claimed by exactly one process, never
overwriting an earlier run.

A run folder holds a lock file (``.lock``). Claiming a folder for a new run creates it with an
exclusive create, so of several processes started together into the same ``--out`` exactly one
proceeds; while a process trains or resumes a run it also holds an OS lock on that file, so no
other process can resume the same run at the same time. The OS drops that lock when the process
ends in any way (SIGKILL included), so a crashed run never stays locked; the file itself stays,
as the mark of a claimed folder.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import List, Optional, Union

from ..errors import RunDirectoryError
from .config import TrainConfig

try:  # POSIX; elsewhere claiming stays exclusive but a running run is not protected from a resume
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

DEFAULT_ROOT = "runs"
LOCK_NAME = ".lock"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")

PathLike = Union[str, os.PathLike]


def safe_name(text: str) -> str:
    """Replace characters that are awkward in file names (spaces, slashes, ...) with "_".

    >>> safe_name("relu/ce [1, 2]")
    'relu_ce_1_2_'
    """
    return _UNSAFE.sub("_", text)


def run_name(config: TrainConfig) -> str:
    """The descriptive part of a run directory name: ``<activation>-<loss>-<hidden>-s<seed>``,
    after the data set's name unless it is MNIST.

    Hidden widths are joined with "x"; no hidden layer is "linear"; a model other than the MLP
    stands in the hidden widths' place.

    >>> run_name(TrainConfig(hidden=[256, 128], activation="gelu", loss="ce", seed=3))
    'gelu-ce-256x128-s3'
    >>> run_name(TrainConfig(dataset="kmnist"))
    'kmnist-relu-ce-128-s0'
    >>> run_name(TrainConfig(model="lenet5"))
    'relu-ce-lenet5-s0'
    """
    hidden = "x".join(str(h) for h in config.hidden) or "linear" if config.model == "mlp" else config.model
    dataset = "" if config.dataset == "mnist" else f"{config.dataset}-"
    return safe_name(f"{dataset}{config.activation}-{config.loss}-{hidden}-s{config.seed}")


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        # A file system without locks (some network and FUSE mounts): the exclusive create still
        # makes claiming safe; only a second resume of a running run goes undetected there.
        return True
    return True


def _owner_text() -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": stamp}) + "\n"


def _describe_owner(lock_path: Path) -> str:
    """"process 123 on host h, since ..." from a lock file, or a vaguer phrase when it is unreadable."""
    try:
        with open(lock_path, "rb") as handle:
            owner = json.loads(handle.read(4096).decode("utf-8"))
        return f"process {int(owner['pid'])} on {owner['host']}, since {owner['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _held_by_someone(lock_path: Path) -> bool:
    """Whether a live process holds the lock on ``lock_path`` (False when there is no lock file)."""
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(lock_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # no locks on this file system (see _try_lock)
        return False
    finally:
        os.close(fd)
    return False


def _in_use_message(path: Path) -> str:
    return (
        f"{path} is in use by another run ({_describe_owner(path / LOCK_NAME)}); wait for it to end, "
        "or choose another folder"
    )


def _taken_message(path: Path) -> str:
    if _held_by_someone(path / LOCK_NAME):
        return _in_use_message(path)
    return (
        f"{path} already exists and is not empty; results are never overwritten: choose a new "
        "folder, delete this one, or resume it with `tinygrad-mnist train --resume "
        f"{path}` if it is an interrupted run"
    )


class RunLock:
    """A process's exclusive hold on a run folder, from claiming (or reopening) it until
    :meth:`release`; use it as a context manager.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with RunLock.claim(folder) as lock:
    ...     RunLock.claim(folder)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: ... is in use by another run (process ...); wait for it to end, or choose another folder
    >>> with RunLock.acquire(folder):  # released: a resume may take it now
    ...     pass
    """

    def __init__(self, path: Path, fd: Optional[int], created: List[Path]) -> None:
        self.path = path
        self._fd = fd
        self._created = created  # the folders the claim made, deepest first

    @classmethod
    def claim(cls, path: PathLike, must_create: bool = False) -> "RunLock":
        """Claim ``path`` for a new run: create it (with parents), or take it if it is an existing
        empty folder. Exactly one of several processes claiming the same folder succeeds; the
        others get RunDirectoryError. With ``must_create`` an existing folder raises
        FileExistsError instead (for picking a fresh name).
        """
        path = Path(path)
        missing = [folder for folder in (path, *path.parents) if not folder.exists()]
        try:
            path.mkdir(parents=True)
            created = [folder for folder in missing if folder.is_dir()]
        except FileExistsError:
            if must_create:
                raise
            if not path.is_dir():
                raise RunDirectoryError(f"{path} exists and is not a folder; choose another output folder") from None
            created = []
        except OSError as error:
            raise RunDirectoryError(f"cannot create run folder {path}: {error.strerror or error}") from None
        lock_path = path / LOCK_NAME
        try:
            # The exclusive create is the claim: of two processes only one can create the file.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        except FileExistsError:
            fd = cls._take_over_stale_claim(path)
        except OSError as error:
            raise RunDirectoryError(f"cannot write into run folder {path}: {error.strerror or error}") from None
        if not _try_lock(fd):  # another process holds the file: it is that run's folder now
            os.close(fd)
            raise RunDirectoryError(_in_use_message(path))
        lock = cls(path, fd, created)
        if any(name != LOCK_NAME for name in os.listdir(path)):
            lock.abandon()
            raise RunDirectoryError(_taken_message(path))
        lock._write_owner()
        return lock

    @staticmethod
    def _take_over_stale_claim(path: Path) -> int:
        """The descriptor of the lock file of a folder holding nothing else, for a claim to take
        over; RunDirectoryError otherwise.

        Such a folder was claimed by a run killed before it wrote anything (during a download,
        say). Whoever locks the file first takes it: the OS lock, not the file, decides then.
        """
        if fcntl is None or os.listdir(path) != [LOCK_NAME]:
            raise RunDirectoryError(_taken_message(path))
        try:
            return os.open(path / LOCK_NAME, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            raise RunDirectoryError(_taken_message(path)) from None

    @classmethod
    def acquire(cls, run_dir: PathLike) -> "RunLock":
        """Lock an existing run folder (to resume it); RunDirectoryError if a process holds it.

        Runs written before lock files existed get one now.
        """
        run_dir = Path(run_dir)
        try:
            fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as error:
            raise RunDirectoryError(f"cannot lock run folder {run_dir}: {error.strerror or error}") from None
        if not _try_lock(fd):
            os.close(fd)
            raise RunDirectoryError(
                f"cannot resume {run_dir}: it is being trained right now by {_describe_owner(run_dir / LOCK_NAME)}; "
                "wait for that process to end (or stop it) first"
            )
        lock = cls(run_dir, fd, created=[])
        lock._write_owner()
        return lock

    def _write_owner(self) -> None:
        with contextlib.suppress(OSError):  # only a courtesy for the messages of other processes
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, _owner_text().encode("utf-8"))

    def release(self) -> None:
        """Let other processes take the folder (the lock file stays, marking it as claimed)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the OS lock
            self._fd = None

    def abandon(self) -> None:
        """Undo a claim whose run never got going: remove the lock file, and the folders this
        claim created (the run folder, and parents such as ``runs/``) while they are empty."""
        with contextlib.suppress(OSError):
            os.unlink(self.path / LOCK_NAME)
        self.release()
        for folder in self._created:
            try:
                folder.rmdir()  # only succeeds while it is empty
            except OSError:
                break

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc_info) -> bool:
        self.release()
        return False


def claim_run_dir(
    config: TrainConfig, out_dir: Optional[PathLike] = None, root: PathLike = DEFAULT_ROOT
) -> RunLock:
    """Claim the folder a new run writes into and hold it (see :class:`RunLock`).

    With ``out_dir=None`` the folder is ``<root>/<run_name>``, or ``<run_name>-2``, ``-3``, ...
    when taken. An explicit ``out_dir`` may be new or an existing empty folder; an existing
    non-empty one (or one another process is claiming) raises RunDirectoryError rather than
    mixing or overwriting results.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> with claim_run_dir(TrainConfig(), root=root) as a, claim_run_dir(TrainConfig(), root=root) as b:
    ...     a.path.name, b.path.name
    ('relu-ce-128-s0', 'relu-ce-128-s0-2')
    """
    if out_dir is not None:
        return RunLock.claim(out_dir)
    root = Path(root)
    base = run_name(config)
    suffix = 1
    while True:
        candidate = root / (base if suffix == 1 else f"{base}-{suffix}")
        try:
            return RunLock.claim(candidate, must_create=True)
        except FileExistsError:
            suffix += 1


def create_run_dir(config: TrainConfig, out_dir: Optional[PathLike] = None, root: PathLike = DEFAULT_ROOT) -> Path:
    """Claim a run folder as :func:`claim_run_dir` does, release it at once and return its path.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> a = create_run_dir(TrainConfig(), root=root); b = create_run_dir(TrainConfig(), root=root)
    >>> a.name, b.name
    ('relu-ce-128-s0', 'relu-ce-128-s0-2')
    """
    with claim_run_dir(config, out_dir, root) as lock:
        return lock.path


def check_claimable(path: PathLike) -> None:
    """Raise RunDirectoryError if a new run could not claim ``path``; create nothing.

    For ``--dry-run``, which must say what the real command would refuse.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "notes.txt").write_text("mine")
    >>> check_claimable(folder / "new"); check_claimable(folder)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: ... already exists and is not empty; results are never overwritten: ...
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise RunDirectoryError(f"{path} exists and is not a folder; choose another output folder")
    if any(name != LOCK_NAME for name in os.listdir(path)) or _held_by_someone(path / LOCK_NAME):
        raise RunDirectoryError(_taken_message(path))
