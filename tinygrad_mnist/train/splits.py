"""The data a run trains on: loaded and prepared from its config (or given), checked, fingerprinted.

Subsets (``train_size`` / ``test_size``) keep the first N examples. When the config's data set
(``dataset``: MNIST, Fashion-MNIST or KMNIST) is loaded here the training subset is taken before
the validation split, so ``val_size`` is carved out of those N; data passed in as ``Splits`` is
sliced as it is (and must agree with the config's ``normalize`` and whether it asks for a
validation split).
"""
from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Dict, Optional

import numpy as np

from ..data import Mnist, Splits, load_mnist, prepare
from ..errors import ConfigError
from .config import TrainConfig, check_batch_fits

_ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def load_splits(config: TrainConfig, data: Optional[Splits] = None) -> Splits:
    """The prepared, subset and checked data for ``config``; ``data`` replaces loading MNIST.

    >>> x = np.zeros((6, 4), np.float32); y = np.arange(6) % 2
    >>> s = load_splits(TrainConfig(train_size=4, batch_size=2), Splits(x, y, None, None, x, y))
    >>> s.x_train.shape, s.x_test.shape
    ((4, 4), (6, 4))
    """
    if data is None:
        data = _load_mnist_splits(config)
    elif not isinstance(data, Splits):
        raise TypeError(f"data must be a tinygrad_mnist.data.Splits (from prepare()), got {type(data).__name__}")
    else:
        _check_matches_config(data, config)
        data = _subset(data, config)
    check_splits(data, config)
    return data


def _load_mnist_splits(config: TrainConfig) -> Splits:
    mnist = load_mnist(config.data_dir, download=True, progress=config.progress, dataset=config.dataset)
    if config.train_size is not None or config.test_size is not None:
        mnist = Mnist(
            train_images=mnist.train_images[: config.train_size],
            train_labels=mnist.train_labels[: config.train_size],
            test_images=mnist.test_images[: config.test_size],
            test_labels=mnist.test_labels[: config.test_size],
        )
    try:
        return prepare(mnist, normalize=config.normalize, val_size=config.val_size, seed=config.seed, dtype=np.dtype(config.dtype))
    except ValueError as error:
        raise ConfigError(f"cannot prepare the data: {error}") from None


def _check_matches_config(data: Splits, config: TrainConfig) -> None:
    """Given data were prepared already: the options that prepare them must agree with the config."""
    if config.val_size and data.x_val is None:
        raise ConfigError(
            f"val_size={config.val_size} asks for a validation split but the given data have none; "
            "prepare them with prepare(..., val_size=...) or set val_size to 0"
        )
    if data.normalize != config.normalize:
        raise ConfigError(
            f"the given data were prepared with normalize={data.normalize!r} but the config says "
            f"{config.normalize!r}; make them agree"
        )


def _subset(data: Splits, config: TrainConfig) -> Splits:
    if config.train_size is None and config.test_size is None:
        return data
    return dataclasses.replace(
        data,
        x_train=data.x_train[: config.train_size],
        y_train=data.y_train[: config.train_size],
        x_test=data.x_test[: config.test_size],
        y_test=data.y_test[: config.test_size],
    )


def check_splits(data: Splits, config: TrainConfig, num_classes: int = 10) -> None:
    """Raise ConfigError unless the arrays fit each other, the config's dtype and the classes.

    Labels must be integers in ``[0, num_classes)``: the losses index logits with them.

    >>> x = np.zeros((2, 3), np.float32)
    >>> check_splits(Splits(x, np.array([0, 12]), None, None, x, np.array([0, 1])), TrainConfig())
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: y_train has labels up to 12, but the model has 10 classes (0..9); ...
    """
    want = np.dtype(config.dtype)
    features = None
    for part in ("train", "val", "test"):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        if part == "val" and x is None and y is None:
            continue
        if x is None or y is None:
            raise ConfigError(f"x_{part} and y_{part} must both be arrays (or, for val, both None)")
        if x.ndim != 2:
            raise ConfigError(f"x_{part} must be 2-d (examples, features), got shape {x.shape}; prepare the data with flatten=True")
        if x.dtype != want:
            raise ConfigError(f"x_{part} is {x.dtype} but dtype is {config.dtype}; prepare the data with dtype={config.dtype} or set dtype to {x.dtype}")
        if features is None:
            features = x.shape[1]
        elif x.shape[1] != features:
            raise ConfigError(f"x_{part} has {x.shape[1]} features but x_train has {features}")
        if y.ndim != 1 or len(y) != len(x):
            raise ConfigError(f"y_{part} must be 1-d with one label per row of x_{part} ({len(x)}), got shape {y.shape}")
        if len(x) == 0:
            raise ConfigError(f"the {part} split is empty")
        if y.dtype.kind not in "iu":
            raise ConfigError(f"y_{part} must hold integer class labels, got dtype {y.dtype}")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            which = "down to" if low < 0 else "up to"
            raise ConfigError(
                f"y_{part} has labels {which} {bad}, but the model has {num_classes} classes (0..{num_classes - 1}); "
                "fix the labels or the data"
            )
    check_batch_fits(config.batch_size, len(data.x_train))


def fingerprint(data: Splits) -> Dict[str, Any]:
    """Shapes, dtypes and CRC32 checksums of every array, to tell whether a resume sees the same data.

    >>> x = np.zeros((2, 3), np.float32); y = np.array([0, 1])
    >>> fingerprint(Splits(x, y, None, None, x, y))["x_train"]["shape"]
    [2, 3]
    """
    prints: Dict[str, Any] = {}
    for name in _ARRAYS:
        array = getattr(data, name)
        if array is None:
            prints[name] = None
            continue
        contiguous = np.ascontiguousarray(array)
        prints[name] = {
            "shape": list(array.shape),
            "dtype": array.dtype.str,
            "crc32": zlib.crc32(memoryview(contiguous).cast("B")),
        }
    return prints
