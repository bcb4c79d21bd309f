"""Weight initialisations from an explicit random source, for a Linear weight of shape
(fan_in, fan_out) or a convolution weight of shape (out_channels, in_channels, KH, KW) (PyTorch's
layout; its fan-in is in_channels * KH * KW).

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
INITS = ("normal", "xavier", "he", "pytorch")


def _fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:  # (out_channels, in_channels, KH, KW): every kernel position is an input
        receptive = shape[2] * shape[3]
        return shape[1] * receptive, shape[0] * receptive
    raise ValueError(f"initialisations expect a (fan_in, fan_out) or (out, in, KH, KW) weight shape, got {shape}")


def normal(shape: Tuple[int, ...], std: float = 0.01, seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """Zero-mean normal values with standard deviation ``std`` (the lab reports used 0.01).

    >>> normal((2, 3), std=0.01, seed=0).dtype
    dtype('float32')
    """
    if not (std > 0 and math.isfinite(std)):
        raise ConfigError(f"init_std must be a positive finite number, got {std!r}")
    return (as_generator(seed).standard_normal(shape) * std).astype(dtype)


def xavier_uniform(shape: Tuple[int, ...], seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), keeping the variance of
    activations and of gradients about constant through tanh/sigmoid layers.

    >>> w = xavier_uniform((300, 100), seed=0)
    >>> bool(abs(w).max() <= (6 / 400) ** 0.5)
    True
    """
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(seed).uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: Tuple[int, ...], seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """He/Kaiming normal (fan_in mode): N(0, 2 / fan_in), which keeps the variance of activations about
    constant through ReLU layers.

    >>> round(float(he_normal((800, 400), seed=0).std()), 2)
    0.05
    """
    fan_in, _ = _fans(shape)
    return (as_generator(seed).standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def pytorch_uniform(shape: Tuple[int, ...], seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """PyTorch's default for Linear and Conv2d weights: U(-b, b) with b = 1 / sqrt(fan_in)
    (``kaiming_uniform_`` with a = sqrt(5); the same bound serves the bias, see ``initial_bias``).

    >>> w = pytorch_uniform((6, 1, 5, 5), seed=0)  # fan_in 25: bound 0.2
    >>> bool(abs(w).max() <= 0.2), w.shape
    (True, (6, 1, 5, 5))
    """
    bound = 1.0 / math.sqrt(_fans(shape)[0])
    return as_generator(seed).uniform(-bound, bound, size=shape).astype(dtype)


def initial_bias(init: str, fan_in: int, size: int, seed: Seed = None, dtype=np.float32) -> np.ndarray:
    """The bias that goes with a weight init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for "pytorch" (as
    PyTorch does), zeros for every other init.

    >>> initial_bias("he", 4, 2)
    array([0., 0.], dtype=float32)
    """
    if init == "pytorch":
        bound = 1.0 / math.sqrt(fan_in)
        return as_generator(seed).uniform(-bound, bound, size=size).astype(dtype)
    return np.zeros(size, dtype=dtype)


def initial_weight(
    init: str, shape: Tuple[int, ...], std: float = 0.01, seed: Seed = None, dtype=np.float32
) -> np.ndarray:
    """Dispatch on an init name from ``INITS``; ``std`` is used by "normal" only.

    ``shape`` is (fan_in, fan_out) for a Linear weight, (out, in, KH, KW) for a convolution.

    >>> initial_weight("he", (4, 2), seed=0).shape
    (4, 2)
    """
    if init == "normal":
        return normal(shape, std, seed, dtype)
    if init == "xavier":
        return xavier_uniform(shape, seed, dtype)
    if init == "he":
        return he_normal(shape, seed, dtype)
    if init == "pytorch":
        return pytorch_uniform(shape, seed, dtype)
    raise ConfigError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
