"""Functions that accept an ndarray or a Tensor, for writing backward rules once.

In first-order mode the engine hands backward rules ndarrays and these are plain NumPy calls; with
``create_graph=True`` it hands them Tensors and these record differentiable ops. Operators (+ - * /
@), ``.reshape``, ``.sum``, ``.transpose`` and ``.swapaxes`` already behave the same on both.

For a Tensor each function calls the Tensor's own method (``x.exp()``, ...), so this module imports
no op module: the op modules import it, and imports stay one way.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Node
from .special import sigmoid as _sigmoid_array


def value(x) -> np.ndarray:
    """The ndarray behind ``x`` (for masks and other constants of a local derivative).

    >>> from tinygrad_mnist import Tensor
    >>> value(Tensor([1.0])), value(np.array([1.0]))
    (array([1.], dtype=float32), array([1.]))
    """
    return x.data if isinstance(x, Node) else x


def exp(x):
    """``np.exp`` for arrays, the differentiable ``exp`` op for Tensors.

    >>> from tinygrad_mnist import Tensor
    >>> exp(np.array([0.0])), exp(Tensor([0.0]))
    (array([1.]), Tensor([1.], dtype=float32))
    """
    return x.exp() if isinstance(x, Node) else np.exp(x)


def log(x):
    """``np.log`` for arrays, the differentiable ``log`` op for Tensors.

    >>> from tinygrad_mnist import Tensor
    >>> log(np.array([1.0])), log(Tensor([1.0]))
    (array([0.]), Tensor([0.], dtype=float32))
    """
    return x.log() if isinstance(x, Node) else np.log(x)


def sigmoid(x):
    """The logistic sigmoid of an array, the differentiable ``sigmoid`` op for Tensors.

    >>> from tinygrad_mnist import Tensor
    >>> sigmoid(np.array([0.0])), sigmoid(Tensor([0.0]))
    (array([0.5]), Tensor([0.5], dtype=float32))
    """
    return x.sigmoid() if isinstance(x, Node) else _sigmoid_array(x)


def where(condition: np.ndarray, a, b):
    """Pick from ``a`` where the (constant, boolean) condition holds, else from ``b``.

    >>> where(np.array([True, False]), np.array([1.0, 2.0]), 0.0)
    array([1., 0.])
    """
    if isinstance(a, Node):
        return a.where(condition, b)
    if isinstance(b, Node):
        return b.where(np.logical_not(condition), a)
    return np.where(condition, a, b)


def broadcast_to(x, shape):
    """Broadcast to ``shape`` (a read-only view for arrays, a differentiable op for Tensors).

    >>> from tinygrad_mnist import Tensor
    >>> broadcast_to(np.array([1.0, 2.0]), (2, 2)).shape, broadcast_to(Tensor([1.0, 2.0]), (2, 2)).shape
    ((2, 2), (2, 2))
    """
    return x.broadcast_to(shape) if isinstance(x, Node) else np.broadcast_to(x, shape)
