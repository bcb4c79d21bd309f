"""Functions that accept an ndarray or a Tensor, for writing backward rules once.

In first-order mode the engine hands backward rules ndarrays and these are plain NumPy calls; with
``create_graph=True`` it hands them Tensors and these record differentiable ops. Operators (+ - * /
@), ``.reshape``, ``.sum``, ``.transpose`` and ``.swapaxes`` already behave the same on both.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def value(x) -> np.ndarray:
    """The ndarray behind ``x`` (for masks and other constants of a local derivative).

    >>> value(Tensor([1.0])), value(np.array([1.0]))
    (array([1.], dtype=float32), array([1.]))
    """
    return x.data if isinstance(x, Tensor) else x


def exp(x):
    """``np.exp`` for arrays, the differentiable ``exp`` op for Tensors.

    >>> exp(np.array([0.0])), exp(Tensor([0.0]))
    (array([1.]), Tensor([1.], dtype=float32))
    """
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x):
    """``np.log`` for arrays, the differentiable ``log`` op for Tensors.

    >>> log(np.array([1.0])), log(Tensor([1.0]))
    (array([0.]), Tensor([0.], dtype=float32))
    """
    return x.log() if isinstance(x, Tensor) else np.log(x)


def where(condition: np.ndarray, a, b):
    """Pick from ``a`` where the (constant, boolean) condition holds, else from ``b``.

    >>> where(np.array([True, False]), np.array([1.0, 2.0]), 0.0)
    array([1., 0.])
    """
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return elementwise.where(condition, a, b)
    return np.where(condition, a, b)


def broadcast_to(x, shape):
    """Broadcast to ``shape`` (a read-only view for arrays, a differentiable op for Tensors).

    >>> broadcast_to(np.array([1.0, 2.0]), (2, 2)).shape, broadcast_to(Tensor([1.0, 2.0]), (2, 2)).shape
    ((2, 2), (2, 2))
    """
    return x.broadcast_to(shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def scatter(x, key, shape):
    """Place ``x`` at ``key`` in zeros of ``shape``, adding where ``key`` repeats an index.

    The adjoint of ``getitem``: its own gradient is ``getitem`` again.

    >>> scatter(np.array([1.0, 2.0]), np.array([0, 0]), (3,))
    array([3., 0., 0.])
    """
    if isinstance(x, Tensor):
        return movement.scatter(x, key, shape)
    return movement.scatter_array(x, key, shape)


from . import elementwise, movement  # noqa: E402  (they import this module)
