"""The default float type, declared once for the engine, the ops and ``Tensor``.

Python floats and lists become ``DEFAULT_FLOAT`` tensors, and ops whose result is a real number
even for integer inputs (division, ``mean``, ``exp``, ``sqrt``, ...) turn integer and bool inputs
into it, as PyTorch does: an int tensor meeting a float32 model must not drag it to float64.
"""
from __future__ import annotations

import numpy as np

DEFAULT_FLOAT = np.float32


def as_float_array(array: np.ndarray) -> np.ndarray:
    """``array`` itself if it is floating point, else converted to ``DEFAULT_FLOAT``.

    >>> as_float_array(np.arange(2)).dtype, as_float_array(np.zeros(1)).dtype
    (dtype('float32'), dtype('float64'))
    """
    return array if array.dtype.kind == "f" else array.astype(DEFAULT_FLOAT)
