"""Elementwise comparisons (``a < b``, ``a == b``, ...): bool tensors, outside the graph.

They have no derivative, so they are not ops of the graph: the result is a constant of the inputs'
class. Shapes broadcast like NumPy; shapes that do not broadcast are one error naming both.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Node, first_node
from . import arraylike as A


def _compare(ufunc, a, b) -> Node:
    like = first_node((a, b), ufunc.__name__)
    try:
        return like._wrap(ufunc(A.value(a), A.value(b)))
    except ValueError as error:
        shapes = f"{np.shape(A.value(a))} and {np.shape(A.value(b))}"
        raise ValueError(f"{ufunc.__name__}: shapes {shapes} do not broadcast ({error})") from None


def less(a, b) -> Node:
    """Elementwise ``a < b`` as a bool tensor (not differentiable).

    >>> from tinygrad_mnist import Tensor
    >>> less(Tensor([1.0, 3.0]), 2.0).numpy()
    array([ True, False])
    """
    return _compare(np.less, a, b)


def less_equal(a, b) -> Node:
    """Elementwise ``a <= b`` as a bool tensor.

    >>> from tinygrad_mnist import Tensor
    >>> less_equal(Tensor([2.0, 3.0]), 2.0).numpy()
    array([ True, False])
    """
    return _compare(np.less_equal, a, b)


def greater(a, b) -> Node:
    """Elementwise ``a > b`` as a bool tensor.

    >>> from tinygrad_mnist import Tensor
    >>> greater(Tensor([1.0, 3.0]), 2.0).numpy()
    array([False,  True])
    """
    return _compare(np.greater, a, b)


def greater_equal(a, b) -> Node:
    """Elementwise ``a >= b`` as a bool tensor.

    >>> from tinygrad_mnist import Tensor
    >>> greater_equal(Tensor([2.0, 1.0]), 2.0).numpy()
    array([ True, False])
    """
    return _compare(np.greater_equal, a, b)


def equal(a, b) -> Node:
    """Elementwise ``a == b`` as a bool tensor.

    >>> from tinygrad_mnist import Tensor
    >>> equal(Tensor([2.0, 1.0]), 2.0).numpy()
    array([ True, False])
    """
    return _compare(np.equal, a, b)


def not_equal(a, b) -> Node:
    """Elementwise ``a != b`` as a bool tensor.

    >>> from tinygrad_mnist import Tensor
    >>> not_equal(Tensor([2.0, 1.0]), 2.0).numpy()
    array([False,  True])
    """
    return _compare(np.not_equal, a, b)
