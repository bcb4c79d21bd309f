"""Run directories: a fresh, descriptive name per run, and never overwriting an earlier run."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Union

from ..errors import RunDirectoryError
from .config import TrainConfig

DEFAULT_ROOT = "runs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")


def safe_name(text: str) -> str:
    """Replace characters that are awkward in file names (spaces, slashes, ...) with "_".

    >>> safe_name("relu/ce [1, 2]")
    'relu_ce_1_2_'
    """
    return _UNSAFE.sub("_", text)


def run_name(config: TrainConfig) -> str:
    """The descriptive part of a run directory name: ``<activation>-<loss>-<hidden>-s<seed>``,
    after the data set's name unless it is MNIST.

    Hidden widths are joined with "x"; no hidden layer is "linear".

    >>> run_name(TrainConfig(hidden=[256, 128], activation="gelu", loss="ce", seed=3))
    'gelu-ce-256x128-s3'
    >>> run_name(TrainConfig(dataset="kmnist"))
    'kmnist-relu-ce-128-s0'
    """
    hidden = "x".join(str(h) for h in config.hidden) or "linear"
    dataset = "" if config.dataset == "mnist" else f"{config.dataset}-"
    return safe_name(f"{dataset}{config.activation}-{config.loss}-{hidden}-s{config.seed}")


def create_run_dir(config: TrainConfig, out_dir: Optional[Union[str, os.PathLike]] = None, root: Union[str, os.PathLike] = DEFAULT_ROOT) -> Path:
    """Create and return the folder a run writes into.

    With ``out_dir=None`` the folder is ``<root>/<run_name>``, or ``<run_name>-2``, ``-3``, ...
    when taken (``os.mkdir`` claims a name atomically, so parallel runs never share one). An
    explicit ``out_dir`` may be new or an existing empty folder; an existing non-empty one raises
    RunDirectoryError rather than mixing or overwriting results.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> a = create_run_dir(TrainConfig(), root=root); b = create_run_dir(TrainConfig(), root=root)
    >>> a.name, b.name
    ('relu-ce-128-s0', 'relu-ce-128-s0-2')
    """
    if out_dir is not None:
        return claim_dir(Path(out_dir))
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = run_name(config)
    suffix = 1
    while True:
        candidate = root / (base if suffix == 1 else f"{base}-{suffix}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1


def claim_dir(path: Path) -> Path:
    """Create ``path`` (with parents) or accept it if it is an existing empty folder.

    >>> import tempfile, pathlib
    >>> claim_dir(pathlib.Path(tempfile.mkdtemp()) / "new").is_dir()
    True
    """
    if path.exists():
        if not path.is_dir():
            raise RunDirectoryError(f"{path} exists and is not a folder; choose another output folder")
        if any(path.iterdir()):
            raise RunDirectoryError(
                f"{path} already exists and is not empty; results are never overwritten: choose a new "
                "folder, delete this one, or resume it with `tinygrad-mnist train --resume "
                f"{path}` if it is an interrupted run"
            )
        return path
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        # Someone created it between our check and mkdir: apply the same rule to what is there now.
        return claim_dir(path)
    except OSError as error:
        raise RunDirectoryError(f"cannot create run folder {path}: {error.strerror}") from None
    return path
