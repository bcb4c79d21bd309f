"""Helpers of the training tests, also imported by the training subprocesses they start.

``synthetic``: small stand-ins for MNIST with a learnable rule. Each example has 784 features in [0, 1): uniform noise, plus a bump on the block of 78 features
that belongs to its class, so a linear model can learn it but not instantly. Shared by the test
modules and by the training subprocesses the interrupt tests start.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_mnist.data import Splits

FEATURES = 784
CLASSES = 10


def synthetic(n_train: int = 600, n_test: int = 200, n_val: int = 0, seed: int = 1234, signal: float = 0.25) -> Splits:
    """A deterministic ``Splits`` (float32 features, int64 labels) from ``seed``."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test + n_val
    y = rng.integers(0, CLASSES, size=n).astype(np.int64)
    x = rng.random((n, FEATURES), dtype=np.float32) * np.float32(1.0 - signal)
    block = FEATURES // CLASSES
    columns = y[:, None] * block + np.arange(block)[None, :]
    x[np.arange(n)[:, None], columns] += np.float32(signal)
    train, test, val = np.split(np.arange(n), [n_train, n_train + n_test])
    x_val = y_val = None
    if n_val:
        x_val, y_val = x[val], y[val]
    return Splits(x[train], y[train], x_val, y_val, x[test], y[test])




def quiet(_line: str) -> None:
    """A log function that drops the progress lines."""


def model_arrays(checkpoint_path) -> dict:
    """The model arrays of a checkpoint file, by key."""
    with np.load(checkpoint_path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k.startswith("model/")}


def metrics_without_seconds(path) -> str:
    """metrics.csv without its wall-clock column (the only part that differs between equal runs)."""
    lines = Path(path).read_text().splitlines()
    drop = lines[0].split(",").index("seconds")
    return "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines) + "\n"
