"""A grid's folder: its record of the plan, its lock, and run directories arriving from elsewhere.

::

    <grid>/grid.json        the plan (base settings, axes, overrides, every run's config),
                            written when the grid first starts; a rerun must plan the same runs
    <grid>/<run>/           one run directory per run, as ``train`` writes it
    <grid>/results.md, results.json, curves.png     the report, rewritten by every session
    <grid>/.grid/lock       held by the grid process while it works here
    <grid>/.grid/runs/      one lock file per run, held by the process that trains it
    <grid>/.grid/incoming/  run directories from cluster workers, before they replace the old one

A run directory that comes from another machine (a checkpoint during the run, the whole folder at
its end) is written beside the old one and then swapped in with two renames, so ``<grid>/<run>``
always holds one consistent state: the old one or the new one, never a mix. A crash between the
two renames is repaired when the grid next opens the folder.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..atomic import atomic_write_text, fsync_dir
from ..errors import ConfigError, RunDirectoryError
from ..train import SETTINGS, TrainConfig, fixed_on_resume
from ..train.grid_plan import plan
from ..train.saved_run import with_local_settings
from .locks import exclusive_lock
from .rundirs import RESUME_FILES, Progress, RunDirState, check_file_names, inspect_run_dir, pack_run_dir, unpack_run_dir

GRID_FILE = "grid.json"
FORMAT = "tinygrad_mnist.grid"
VERSION = 1
_PRIVATE = ".grid"
_MAX_GRID_FILE_BYTES = 16 << 20
#: The settings a session of a grid may choose anew, as a resumed run may (what is shown, where
#: the data are): they do not decide results, so grids that differ only in them are the same grid.
SESSION_SETTINGS = tuple(s.name for s in SETTINGS if not fixed_on_resume([s.name]))


def grid_record(base: TrainConfig, axes: Dict[str, Sequence[Any]], overrides, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What grid.json holds: enough to plan the grid again, and every run's config to compare.

    >>> from tinygrad_mnist.train import plan_grid
    >>> runs = plan_grid(TrainConfig(), {"loss": ["ce", "hinge"]})
    >>> record = grid_record(TrainConfig(), {"loss": ["ce", "hinge"]}, [], runs)
    >>> [run["name"] for run in record["runs"]], record["format"]
    (['ce', 'hinge'], 'tinygrad_mnist.grid')
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "base": base.to_dict(),
        "axes": {key: list(values) for key, values in axes.items()},
        "overrides": [[match, changes] for match, changes in overrides],
        "runs": [{"name": run["name"], "config": run["config"].to_dict()} for run in runs],
    }


def _results_of(config: Dict[str, Any]) -> Dict[str, Any]:
    """The settings that decide a run's results (not the session's own)."""
    return {key: value for key, value in config.items() if key not in SESSION_SETTINGS}


def _first_difference(old: Dict[str, Any], new: Dict[str, Any]) -> Optional[str]:
    old_runs = {run["name"]: _results_of(run["config"]) for run in old["runs"]}
    new_runs = {run["name"]: _results_of(run["config"]) for run in new["runs"]}
    for name, config in new_runs.items():
        if name not in old_runs:
            return f"it has no run {name!r}"
        for key in config:
            if old_runs[name].get(key) != config[key]:
                return f"its run {name!r} has {key}={json.dumps(old_runs[name].get(key))}, this one {json.dumps(config[key])}"
    missing = [name for name in old_runs if name not in new_runs]
    return f"it also has the run {missing[0]!r}" if missing else None


def read_grid_record(out: Path) -> Dict[str, Any]:
    """The record in ``out/grid.json``, checked (RunDirectoryError if absent or malformed).

    >>> read_grid_record(Path("no/such/grid"))
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.RunDirectoryError: no/such/grid is not a grid folder (it has no grid.json); ...
    """
    path = out / GRID_FILE
    if not path.is_file():
        raise RunDirectoryError(f"{out} is not a grid folder (it has no {GRID_FILE}); give the --out folder of a "
                                "grid, or start a grid there")
    try:
        if path.stat().st_size > _MAX_GRID_FILE_BYTES:
            raise ValueError(f"larger than {_MAX_GRID_FILE_BYTES >> 20} MiB")
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError("not a grid record")
        if record.get("version") != VERSION:
            raise ValueError(f"version {record.get('version')!r}, this tinygrad_mnist reads version {VERSION}")
        if not isinstance(record.get("base"), dict) or not isinstance(record.get("axes"), dict) \
                or not isinstance(record.get("overrides"), list) or not isinstance(record.get("runs"), list):
            raise ValueError("base, axes, overrides or runs is missing or of the wrong type")
        for run in record["runs"]:
            if not isinstance(run, dict) or not isinstance(run.get("name"), str) or not isinstance(run.get("config"), dict):
                raise ValueError("a run entry lacks its name or config")
    except (OSError, ValueError, RecursionError) as error:
        raise RunDirectoryError(f"{path} cannot be read as a grid record ({error}); start the grid again in a new "
                                "folder") from None
    return record


def replan(record: Dict[str, Any], session: Optional[Dict[str, Any]] = None):
    """``(base, axes, overrides, runs)`` planned again from a grid record (as :func:`plan` does),
    with the settings of this ``session`` (SESSION_SETTINGS only).

    The data folder recorded is not used, as a resumed run does not use the one saved with it: it
    may have moved, or be relative to another working folder. It is the session's, else the
    environment's, else the download cache (the data are verified by checksum either way).

    >>> from tinygrad_mnist.train import plan_grid
    >>> record = grid_record(TrainConfig(data_dir="old/mnist"), {"loss": ["ce", "hinge"]}, [],
    ...                      plan_grid(TrainConfig(data_dir="old/mnist"), {"loss": ["ce", "hinge"]}))
    >>> base, axes, overrides, runs = replan(record, {"disp_freq": 10})
    >>> [run["name"] for run in runs], base.data_dir, base.disp_freq
    (['ce', 'hinge'], None, 10)
    """
    session = dict(session or {})
    fixed = fixed_on_resume(session)
    if fixed:
        raise ConfigError(f"a grid continued from its folder keeps its settings, so {', '.join(fixed)} cannot change "
                          f"(only {', '.join(SESSION_SETTINGS)} can)")
    base = with_local_settings(TrainConfig.from_dict(record["base"]), session).replace(**session)
    axes, overrides, runs = plan(base, record["axes"], [tuple(pair) for pair in record["overrides"]])
    return base, axes, overrides, runs


class GridFolder:
    """An open grid folder (see the module docstring); made by :meth:`open`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.private = out / _PRIVATE
        self._deliveries = threading.Lock()

    @classmethod
    @contextlib.contextmanager
    def open(cls, out: Path, record: Dict[str, Any]) -> Iterator["GridFolder"]:
        """Claim ``out`` for the grid of ``record`` for the duration of the block.

        A new or empty folder becomes this grid's; a folder of the same grid (same runs with the
        same settings, those of the session aside: what is shown, where the data are) is continued; anything else is refused with
        RunDirectoryError, before anything is written. Another grid process working in the
        folder is refused as well.

        >>> import tempfile
        >>> from tinygrad_mnist.train import plan_grid
        >>> out = Path(tempfile.mkdtemp()) / "grid"
        >>> runs = plan_grid(TrainConfig(), {"loss": ["ce", "hinge"]})
        >>> with GridFolder.open(out, grid_record(TrainConfig(), {"loss": ["ce", "hinge"]}, [], runs)) as folder:
        ...     (out / "grid.json").is_file()
        True
        """
        if out.exists():
            if not out.is_dir():
                raise RunDirectoryError(f"{out} exists and is not a folder; choose another output folder")
            if not (out / GRID_FILE).exists() and not (out / _PRIVATE).exists() and any(out.iterdir()):
                raise RunDirectoryError(_not_a_grid(out))
        folder = cls(out)
        try:
            folder.private.mkdir(parents=True, exist_ok=True)
            (folder.private / "runs").mkdir(exist_ok=True)
            (folder.private / "incoming").mkdir(exist_ok=True)
        except OSError as error:
            raise RunDirectoryError(f"cannot create the grid folder {out}: {error.strerror}") from None
        with exclusive_lock(folder.private / "lock", f"the grid folder {out}"):
            folder._adopt(record)
            folder._repair_incoming()
            yield folder

    def _adopt(self, record: Dict[str, Any]) -> None:
        path = self.out / GRID_FILE
        if path.exists():
            difference = _first_difference(read_grid_record(self.out), record)
            if difference is not None:
                raise RunDirectoryError(
                    f"{self.out} holds another grid ({difference}); continue that one with `tinygrad-mnist grid "
                    f"--resume {self.out}`, or choose a new --out")
            return
        if any(entry.name != _PRIVATE for entry in self.out.iterdir()):
            raise RunDirectoryError(_not_a_grid(self.out))
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")

    # ---- runs --------------------------------------------------------------------------------------
    def run_dir(self, name: str) -> Path:
        """Where the run ``name`` lives."""
        return self.out / name

    def run_lock(self, name: str) -> Path:
        """The lock file of the run ``name``, held by whoever trains it."""
        return self.private / "runs" / f"{name}.lock"

    def state(self, name: str) -> RunDirState:
        """Where the run ``name`` stands (see :func:`~.rundirs.inspect_run_dir`)."""
        return inspect_run_dir(self.run_dir(name))

    def resume_files(self, name: str) -> Optional[Dict[str, bytes]]:
        """The files a worker elsewhere needs to resume the run ``name``; None to start it."""
        with self._deliveries:
            if self.state(name).kind != "resumable":
                return None
            return pack_run_dir(self.run_dir(name), RESUME_FILES)

    def receive(self, name: str, files: Dict[str, bytes], progress: Optional[Progress] = None) -> bool:
        """Put a run directory that came from a worker in place of ``<grid>/<name>``.

        With ``progress`` the files are a checkpoint sent during the run: they are taken only if
        they are further on than what the folder holds (messages can arrive late, or from an
        attempt that was superseded), and never over a finished run. Without, they are the run's
        final directory and always taken. Returns whether the files were taken.
        """
        check_file_names(files)
        with self._deliveries:
            target = self.run_dir(name)
            if progress is not None:
                current = inspect_run_dir(target)
                if current.kind == "finished" or (current.progress is not None and tuple(progress) <= current.progress):
                    return False
            token = secrets.token_hex(4)
            incoming = self.private / "incoming"
            new = unpack_run_dir(files, incoming / f"{name}.new-{token}")
            fsync_dir(new)
            (incoming / f"{name}.new-{token}.complete").touch()
            fsync_dir(incoming)
            old = incoming / f"{name}.old-{token}"
            if target.exists():
                os.rename(target, old)
            os.rename(new, target)
            fsync_dir(self.out)
            (incoming / f"{name}.new-{token}.complete").unlink()
            shutil.rmtree(old, ignore_errors=True)
            return True

    def _repair_incoming(self) -> None:
        """Finish or undo a swap that a crash interrupted, and drop unfinished arrivals."""
        incoming = self.private / "incoming"
        entries = sorted(incoming.iterdir())
        for marker in [e for e in entries if e.name.endswith(".complete")]:
            stem = marker.name[: -len(".complete")]
            name, _, token = stem.rpartition(".new-")
            new, target = incoming / stem, self.run_dir(name)
            if new.is_dir():  # complete, and newer than what it was to replace
                if target.exists():
                    os.rename(target, incoming / f"{name}.old-{token}")
                os.rename(new, target)
        for old in [e for e in entries if ".old-" in e.name and e.is_dir()]:
            target = self.run_dir(old.name.rpartition(".old-")[0])
            if old.exists() and not target.exists():
                os.rename(old, target)
        for entry in incoming.iterdir():
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        fsync_dir(self.out)


def _not_a_grid(out: Path) -> str:
    return (f"{out} already exists, is not empty and is not a grid folder (it has no {GRID_FILE}); results are "
            "never overwritten: choose a new --out, or delete this folder")


def split_runs(folder: GridFolder, runs: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """``(finished, to_do)``: the planned runs whose folders say they finished, and the others.

    >>> import tempfile
    >>> split_runs(GridFolder(Path(tempfile.mkdtemp())), [{"name": "relu"}])
    ([], [{'name': 'relu'}])
    """
    finished, to_do = [], []
    for run in runs:
        (finished if folder.state(run["name"]).kind == "finished" else to_do).append(run)
    return finished, to_do
