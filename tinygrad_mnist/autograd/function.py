"""The ``Function`` base class: one differentiable operation with its forward and backward rule.

A subclass implements ``forward(self, *arrays, **kwargs) -> ndarray`` on plain NumPy arrays and
``backward(self, grad, *inputs, out) -> tuple`` that returns one gradient per input (``None`` for an
input that needs none). The same backward rule serves both modes of the engine:

* first-order mode: ``grad``, ``inputs`` and ``out`` are ndarrays, so the rule is plain NumPy and no
  graph is recorded;
* ``create_graph=True``: they are Tensors, so the rule itself records a graph that can be
  differentiated again (higher-order gradients).

A rule therefore uses only operations that ndarrays and Tensors share (arithmetic operators, ``@``,
``.reshape``, ``.sum(axis=, keepdims=)``, ``.transpose``) and the helpers of
``tinygrad_mnist.ops.arraylike``. Masks computed in forward (for relu, max, ...) are ndarrays in both
modes: they are constants of the local derivative.

Gradients may have the broadcast shape of the output: the engine, not the op, sums them back to each
input's shape.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..tensor import Tensor
from . import anomaly
from .grad_mode import _state


class ShapeError(ValueError):
    """An op got inputs whose shapes (or values) do not fit together; the message names the op."""


class Function:
    """Base class of differentiable operations; subclass it to write your own op.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> class Cube(Function):
    ...     def forward(self, x):
    ...         return x ** 3
    ...     def backward(self, grad, x, out):
    ...         return (grad * 3 * x * x,)
    >>> t = Tensor([2.0], requires_grad=True)
    >>> Cube.apply(t).sum().backward()
    >>> t.grad.numpy()
    array([12.], dtype=float32)
    """

    # parents: the input Tensors (None once the graph is freed); needs_input_grad: one bool per input.
    parents: Optional[Tuple[Any, ...]]
    needs_input_grad: list

    def forward(self, *arrays: np.ndarray, **kwargs) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(self, *arrays, **kwargs)")

    def backward(self, grad, *inputs_and_out):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(self, grad, *inputs, out)")

    @property
    def name(self) -> str:
        """The op's name as shown in errors and graph drawings."""
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op forward on Tensors and, when grad mode is on, record it in the graph.

        Non-Tensor inputs (Python numbers, ndarrays) are wrapped as constants.
        """
        # A plain loop: this is the hot path of every op, and generator expressions cost more here.
        tensors = []
        needs = []
        for t in inputs:
            if not isinstance(t, Tensor):
                t = Tensor._constant_like(t, inputs)
            tensors.append(t)
            needs.append(t.requires_grad)
        fn = cls()
        fn.needs_input_grad = needs
        record = _state["enabled"] and True in needs
        try:
            data = fn.forward(*[t.data for t in tensors], **kwargs)
        except ShapeError:
            raise
        except ValueError as error:  # NumPy's broadcasting errors do not say which op failed
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"{fn.name.lower()}: inputs of shapes {shapes} do not fit together ({error})") from None
        if _state["anomaly"]:
            anomaly.check_forward(fn, tensors, data)
        out = Tensor._wrap(data, record)
        if record:
            fn.parents = tuple(tensors)
            out._ctx = fn
        return out
