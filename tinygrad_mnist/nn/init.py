"""Weight initialisations for a weight of shape (fan_in, fan_out), from an explicit random source.

Values are drawn in float64 and then cast, so a float32 and a float64 model built from the same seed
start from the same weights (up to rounding): runs that differ only in dtype stay comparable.
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from ..errors import ConfigError
from ..rng import Seed, as_generator

#: Names of the weight initialisations ``initial_weight`` (and ``Linear(init=...)``) accept.
INITS = ("normal", "xavier", "he")


def _fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"initialisations expect a (fan_in, fan_out) weight shape, got {shape}")
    return shape[0], shape[1]


def normal(shape: Tuple[int, ...], std: float = 0.01, seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """Zero-mean normal values with standard deviation ``std`` (the lab reports used 0.01).

    >>> normal((2, 3), std=0.01, seed=0).dtype
    dtype('float32')
    """
    if not (std > 0 and math.isfinite(std)):
        raise ConfigError(f"init_std must be a positive finite number, got {std!r}")
    return (as_generator(seed).standard_normal(shape) * std).astype(dtype)


def xavier_uniform(shape: Tuple[int, int], seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), keeping the variance of
    activations and of gradients about constant through tanh/sigmoid layers.

    >>> w = xavier_uniform((300, 100), seed=0)
    >>> bool(abs(w).max() <= (6 / 400) ** 0.5)
    True
    """
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(seed).uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: Tuple[int, int], seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """He/Kaiming normal (fan_in mode): N(0, 2 / fan_in), which keeps the variance of activations about
    constant through ReLU layers.

    >>> round(float(he_normal((800, 400), seed=0).std()), 2)
    0.05
    """
    fan_in, _ = _fans(shape)
    return (as_generator(seed).standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def initial_weight(
    init: str, shape: Tuple[int, int], std: float = 0.01, seed: Seed = None, dtype=np.float32
) -> np.ndarray:
    """Dispatch on an init name from ``INITS``; ``std`` is used by "normal" only.

    >>> initial_weight("he", (4, 2), seed=0).shape
    (4, 2)
    """
    if init == "normal":
        return normal(shape, std, seed, dtype)
    if init == "xavier":
        return xavier_uniform(shape, seed, dtype)
    if init == "he":
        return he_normal(shape, seed, dtype)
    raise ConfigError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
