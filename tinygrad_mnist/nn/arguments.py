"""Checks of layer arguments and inputs shared by the convolution, pooling and normalization layers.

Each raises one error that names the layer and says what to do. ``owner`` is a name, or the layer
itself: its ``repr`` (with its settings) is then built only when an error message is.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..tensor import Tensor
from .init import INITS


def float_dtype(owner: str, dtype) -> np.dtype:
    """``dtype`` as a NumPy float dtype, or a ConfigError naming ``owner``.

    >>> float_dtype("Conv2d", "float64")
    dtype('float64')
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ConfigError(f"{owner}: dtype must be a float type such as float32, got {dtype}")
    return dtype


def known_init(owner: str, init: str) -> str:
    """``init`` if it is one of ``INITS``, else a ConfigError naming ``owner`` and the choices.

    >>> known_init("Conv2d", "he")
    'he'
    """
    if init not in INITS:
        raise ConfigError(f"{owner}: unknown init {init!r}; choose one of {', '.join(INITS)}")
    return init


def positive_number(owner: str, name: str, value, upper: float = math.inf) -> float:
    """A finite float in (0, upper], or a ConfigError naming ``owner``.

    >>> positive_number("BatchNorm2d", "momentum", 0.1, upper=1.0)
    0.1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (0 < value <= upper) or not math.isfinite(value):
        bound = "a finite number > 0" if upper == math.inf else f"in (0, {upper:g}]"
        raise ConfigError(f"{owner}: {name} must be {bound}, got {value!r}")
    return float(value)


def as_input(owner, x, dtype: np.dtype) -> Tensor:
    """``x`` as a Tensor of the layer's float ``dtype``; another dtype is an error naming ``owner``
    (mixing dtypes would silently promote the whole graph).

    >>> as_input("Conv2d", np.zeros((1, 1, 2, 2), dtype=np.float32), np.dtype(np.float32)).shape
    (1, 1, 2, 2)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype != dtype:
        raise TypeError(
            f"{owner} holds {dtype} parameters but got a {x.dtype} input; convert the input "
            f"(x.astype(np.{dtype})) or build the model with dtype={x.dtype}"
        )
    return x
