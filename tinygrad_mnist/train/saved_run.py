"""A run as its checkpoint describes it, for resuming and evaluating: the config and model shape
read from the metadata and checked like any user input, the model's memory estimated before it is
built, and the weights compared by declared shape before they are read.

Settings that say where things are on this machine (``local`` in their declaration: the data
folder) are never taken from the checkpoint: a path in a file may be stale (a relative
``--data-dir`` seen from another folder) or crafted. They come from the caller (the command line)
or the environment; the data found there are verified by checksum.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Union

from ..checks import Bounds, check_int
from ..data import MnistDataError, Splits
from ..errors import CheckpointError, ConfigError
from .builders import build_model
from .checkpoint import Checkpoint, load_into_model, open_checkpoint
from .config import MAX_LAYER_WIDTH, SETTINGS, TrainConfig
from .memory import MemoryEstimate, check_fits_in_memory
from .splits import load_splits

_SIZES = Bounds(1, MAX_LAYER_WIDTH)


@dataclass
class SavedRun:
    """A checkpoint with its config and model shape, checked but no array read yet.

    >>> import tempfile, pathlib
    >>> from tinygrad_mnist.train.checkpoint import save_checkpoint
    >>> config = TrainConfig(hidden=[4])
    >>> meta = {"config": config.to_dict(), "model": {"in_features": 784, "num_classes": 10}}
    >>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", build_model(config), meta=meta)
    >>> saved = open_saved_run(path)
    >>> saved.config.hidden, saved.model_meta
    ([4], {'in_features': 784, 'num_classes': 10})
    """

    checkpoint: Checkpoint
    config: TrainConfig
    model_meta: Dict[str, int]


def open_saved_run(path: Union[str, os.PathLike]) -> SavedRun:
    """Open a checkpoint (file or run folder) and check its config and model shape; CheckpointError
    (one line) for anything unusable, without reading any array."""
    checkpoint = open_checkpoint(path)
    meta = checkpoint.meta
    if not isinstance(meta.get("config"), dict) or not isinstance(meta.get("model"), dict):
        raise CheckpointError(f"{checkpoint.path}: its metadata lacks a usable config/model entry")
    try:
        config = TrainConfig.from_dict(meta["config"])
        shape = meta["model"]
        model_meta = {
            "in_features": check_int(shape.get("in_features"), "in_features", _SIZES),
            "num_classes": check_int(shape.get("num_classes"), "num_classes", _SIZES),
        }
    except ConfigError as error:
        raise CheckpointError(f"{checkpoint.path}: its saved settings are invalid: {error}") from None
    return SavedRun(checkpoint, config, model_meta)


def with_local_settings(config: TrainConfig, given: Mapping[str, Any]) -> TrainConfig:
    """``config`` with every local setting (the data folder) set from ``given``, or to its default
    (the environment variable, then the download cache) when not given.

    >>> with_local_settings(TrainConfig(data_dir="../old/mnist"), {}).data_dir is None
    True
    >>> with_local_settings(TrainConfig(data_dir="../old/mnist"), {"data_dir": "/data"}).data_dir
    '/data'
    """
    local = {s.name: given.get(s.name, s.default) for s in SETTINGS if s.local}
    return config.replace(**local)


def load_local_data(config: TrainConfig, given: Mapping[str, Any], data: Optional[Splits] = None) -> Splits:
    """The data of a saved run's config, found through the local settings ``given`` (see
    :func:`with_local_settings`); when they are missing, the error names the folder the run was
    started with, and how to use it."""
    try:
        return load_splits(with_local_settings(config, given), data)
    except MnistDataError as error:
        unused = [s for s in SETTINGS if s.local and getattr(config, s.name) is not None and s.name not in given]
        if not unused:
            raise
        hints = "; ".join(f"{s.name} {getattr(config, s.name)!r} (give {s.flag} to use it again)" for s in unused)
        raise MnistDataError(
            f"{error} The run was started with {hints}: a folder named in a saved run is not used, as it may have "
            "moved or be relative to another working folder."
        ) from None


def build_saved_model(saved: SavedRun, estimate: Callable[..., MemoryEstimate], doing: str):
    """The model of a saved run with its weights loaded, after checking that ``estimate``
    (``training_memory`` or ``evaluation_memory``) of it fits in memory; ``doing`` names the
    work in the message (``"resuming"``)."""
    check_fits_in_memory(estimate(saved.config, **saved.model_meta), f"{doing} the model of {saved.checkpoint.path}")
    model = build_model(saved.config, **saved.model_meta)
    load_into_model(saved.checkpoint, model)
    return model
