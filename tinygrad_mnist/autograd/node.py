"""``Node``: the little the engine needs to know about a value in a graph.

The engine, ``Function`` and the ops are written against this class, never against ``Tensor``:
``Tensor`` subclasses ``Node`` (``tensor.py`` imports the engine and the ops, not the other way
round), so imports go one way, ``autograd`` <- ``ops`` <- ``tensor``. A node carries

* ``data``: its ndarray;
* ``requires_grad``: whether gradients flow to it;
* ``grad``: a leaf's accumulated gradient (a node), or None;
* ``_ctx``: the ``Function`` that computed it (None for a leaf). The function holds ``parents``
  (the input nodes, None once the graph is freed), ``needs_input_grad``, ``sequence`` (when it was
  recorded) and the ``backward`` rule;

and two constructors, which is how code below ``tensor.py`` makes new nodes without naming the class:
it asks a node it already has. ``Function.apply`` builds an op's result with ``_wrap`` of its
first input, the engine wraps gradients with ``_wrap`` of the node they belong to.

A stand-in subclass with these two methods is enough to run the engine without ``Tensor`` (the
autograd tests do that).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np


class Node:
    """Base class of values the engine can differentiate (``Tensor`` is the one the package uses).

    >>> from tinygrad_mnist import Tensor
    >>> isinstance(Tensor([1.0]), Node)
    True
    """

    __slots__ = ("data", "requires_grad", "grad", "_ctx")

    @staticmethod
    def _wrap(data: np.ndarray, requires_grad: bool = False) -> "Node":
        """A new node of this family around ``data`` (an op's result, a gradient); no conversion."""
        raise NotImplementedError("a Node subclass must implement _wrap(data, requires_grad=False)")

    @staticmethod
    def _constant_like(value, operands) -> "Node":
        """``value`` (a number, list or ndarray given to an op) as a constant node that fits ``operands``."""
        raise NotImplementedError("a Node subclass must implement _constant_like(value, operands)")


def first_node(values: Iterable, op: str) -> Node:
    """The first ``Node`` among ``values``: the one whose family builds the result of ``op``.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0])
    >>> first_node([2.0, x], "mul") is x
    True
    """
    for value in values:
        if isinstance(value, Node):
            return value
    raise TypeError(f"{op}: needs at least one Tensor among its inputs (got only numbers or arrays)")
