"""Checks of layer arguments and inputs shared by the convolution, pooling and normalization layers.

Each raises one error that names the layer and says what to do. ``owner`` is a name, or the layer
itself: its ``repr`` (with its settings) is then built only when an error message is.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..tensor import Tensor


def float_dtype(owner: str, dtype) -> np.dtype:
    """``dtype`` as a NumPy float dtype, or a ConfigError naming ``owner``.

    >>> float_dtype("Conv2d", "float64")
    dtype('float64')
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ConfigError(f"{owner}: dtype must be a float type such as float32, got {dtype}")
    return dtype


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
