"""A grid's view of one run directory: how far the run got, and its files as they travel.

The run directory itself (what ``fit`` and ``resume`` write into it) belongs to
:mod:`tinygrad_mnist.train`; a grid only needs to know whether a run finished, can be resumed, or
must start (``inspect_run_dir``), and to move a run's files between machines that share no
filesystem (``pack_run_dir`` / ``unpack_run_dir``).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from ..errors import CheckpointError, RunDirectoryError
from ..train import CHECKPOINT_NAME, RunStatus
from ..train.checkpoint import open_checkpoint

PathLike = Union[str, os.PathLike]
#: A run's position as its checkpoint records it: (epoch in progress, next batch of it).
Progress = Tuple[int, int]

SUMMARY_NAME = "summary.json"
#: What resuming a run needs: its checkpoint holds the whole state, config.json and metrics.csv are
#: the files a run directory shows from its first epoch on.
RESUME_FILES = ("config.json", "metrics.csv", CHECKPOINT_NAME)
#: The files a run writes before its first checkpoint, which a run that never got that far leaves.
_EARLY_FILES = ("config.json", "metrics.csv", SUMMARY_NAME)
# Statuses after which training a run again would only repeat it (a diverged run diverges again).
_FINISHED = (RunStatus.COMPLETED, RunStatus.EARLY_STOP, RunStatus.NONFINITE)
# summary.json and checkpoint metadata are small; anything larger is not one of ours.
_MAX_SUMMARY_BYTES = 1 << 20


@dataclass(frozen=True)
class RunDirState:
    """Where a run stands, read from its directory.

    ``kind`` is ``"finished"`` (its summary says completed, early_stop or nonfinite: keep it),
    ``"resumable"`` (it has a checkpoint: continue from it) or ``"fresh"`` (no checkpoint: start it;
    ``leftovers`` when the directory holds files of an attempt that stopped before its first
    checkpoint). ``progress`` is the checkpoint's position, when there is one.

    >>> RunDirState("fresh").describe_start()
    'from the start'
    >>> RunDirState("resumable", progress=(3, 0)).describe_start()
    'from its checkpoint after epoch 3'
    """

    kind: str
    summary: Optional[Dict[str, Any]] = None
    progress: Optional[Progress] = None
    leftovers: bool = False

    def describe_start(self) -> str:
        """Where training (re)starts, in words."""
        if self.kind != "resumable" or self.progress is None:
            return "from the start"
        return "from its checkpoint " + describe_progress(self.progress)


def describe_progress(progress: Progress) -> str:
    """A checkpoint position in words.

    >>> describe_progress((0, 0)), describe_progress((2, 0)), describe_progress((2, 17))
    ('at the start', 'after epoch 2', 'at epoch 3 batch 18')
    """
    epoch, batch = progress
    if batch:
        return f"at epoch {epoch + 1} batch {batch + 1}"
    return f"after epoch {epoch}" if epoch else "at the start"


def read_summary(run_dir: PathLike) -> Optional[Dict[str, Any]]:
    """The run's summary.json as a dict, or None when it is missing or unreadable.

    >>> read_summary("no/such/run") is None
    True
    """
    path = Path(run_dir) / SUMMARY_NAME
    with contextlib.suppress(OSError, ValueError, RecursionError):
        if path.stat().st_size <= _MAX_SUMMARY_BYTES:
            summary = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(summary, dict):
                return summary
    return None


def checkpoint_progress(path: PathLike) -> Optional[Progress]:
    """The (epoch, batch) a checkpoint file holds, or None when it cannot be read.

    >>> checkpoint_progress("no/such/checkpoint.npz") is None
    True
    """
    try:
        state = open_checkpoint(path).meta["training"]["state"]  # the metadata only, not the arrays
        return int(state["epoch"]), int(state["batch"])
    except (OSError, CheckpointError, KeyError, TypeError, ValueError):
        return None


def inspect_run_dir(run_dir: PathLike) -> RunDirState:
    """Whether the run in ``run_dir`` finished, can resume or must start (see RunDirState).

    >>> inspect_run_dir("no/such/run").kind
    'fresh'
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return RunDirState("fresh")
    summary = read_summary(run_dir)
    if summary is not None and summary.get("stopped") in _FINISHED:
        return RunDirState("finished", summary=summary)
    checkpoint = run_dir / CHECKPOINT_NAME
    if checkpoint.is_file():
        return RunDirState("resumable", summary=summary, progress=checkpoint_progress(checkpoint))
    return RunDirState("fresh", summary=summary, leftovers=any(run_dir.iterdir()))


def clear_leftovers(run_dir: PathLike) -> None:
    """Remove the directory of a run that stopped before its first checkpoint, so it can start
    afresh; refuse (RunDirectoryError) when it holds anything a run does not write there.

    >>> import tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp()) / "run"; run.mkdir()
    >>> _ = (run / "config.json").write_text("{}"); clear_leftovers(run); run.exists()
    False
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    if (run_dir / CHECKPOINT_NAME).exists():
        raise RunDirectoryError(f"{run_dir} has a checkpoint; resume it rather than starting it again")
    for entry in run_dir.iterdir():
        # Dot files are the temporaries of atomic writes that a killed process left behind.
        if not (entry.is_file() and (entry.name in _EARLY_FILES or entry.name.startswith("."))):
            raise RunDirectoryError(f"{run_dir} holds {entry.name}, which is not a file a run writes before its "
                                    "first checkpoint; move it away, then rerun the grid")
    shutil.rmtree(run_dir)


def pack_run_dir(run_dir: PathLike, names: Optional[Iterable[str]] = None) -> Dict[str, bytes]:
    """The files of a run directory (all of them, or those of ``names`` that exist) by name.

    Dot files (temporaries of atomic writes) stay behind; a run directory has no subfolders.

    >>> import tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp()); _ = (run / "metrics.csv").write_text("epoch\\n")
    >>> pack_run_dir(run)
    {'metrics.csv': b'epoch\\n'}
    """
    run_dir = Path(run_dir)
    wanted = None if names is None else set(names)
    files = {}
    for entry in sorted(run_dir.iterdir()):
        if entry.name.startswith(".") or not entry.is_file() or (wanted is not None and entry.name not in wanted):
            continue
        files[entry.name] = entry.read_bytes()
    return files


def check_file_names(files: Dict[str, bytes]) -> None:
    """Refuse names that are not plain file names (a path, a dot file) and contents that are
    not bytes: a run directory's files come back from other machines.

    >>> check_file_names({"../escape": b""})
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: a run's files came back with the name '../escape', which is not a plain file name
    """
    for name, content in files.items():
        if not isinstance(name, str) or not name or name.startswith(".") or os.sep in name or "/" in name \
                or (os.altsep and os.altsep in name):
            raise RunDirectoryError(f"a run's files came back with the name {name!r}, which is not a plain file name")
        if not isinstance(content, (bytes, bytearray)):
            raise RunDirectoryError(f"a run's file {name} came back as {type(content).__name__}, not bytes")


def unpack_run_dir(files: Dict[str, bytes], run_dir: PathLike) -> Path:
    """Write ``files`` (from :func:`pack_run_dir`) into the new folder ``run_dir``, each file
    flushed to disk, and return it.

    >>> import tempfile, pathlib
    >>> run = unpack_run_dir({"metrics.csv": b"epoch\\n"}, pathlib.Path(tempfile.mkdtemp()) / "run")
    >>> sorted(p.name for p in run.iterdir())
    ['metrics.csv']
    """
    check_file_names(files)
    run_dir = Path(run_dir)
    run_dir.mkdir()
    for name, content in files.items():
        with open(run_dir / name, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    return run_dir
