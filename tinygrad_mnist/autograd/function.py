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

This module knows nodes (``autograd.node``), not ``Tensor``: ``apply`` builds its result with
``_wrap`` of its first input, so an op applied to Tensors gives a Tensor without this module
importing the class.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import anomaly, saved
from .dtypes import as_float_array
from .grad_mode import _state
from .node import Node, first_node

# Every recorded op gets the next number: an op's inputs always exist before it does, so numbers
# grow from inputs to users (``grad`` uses that to stop its walk at the inputs it was asked for).
# The same clock stamps deliberate in-place updates of saved arrays (``autograd/saved.py``).
_next_sequence = saved.next_stamp


def _common_float(inputs):
    """Integer and bool inputs that meet a float input take its dtype (as in PyTorch).

    NumPy would promote ``int64 * float32`` to float64, silently doubling the precision (and cost)
    of everything downstream; float inputs of different precision still promote as in NumPy.
    """
    floats = [t.data.dtype for t in inputs if t.data.dtype.kind == "f"]
    if not floats or len(floats) == len(inputs):
        return inputs
    target = np.result_type(*floats)
    return tuple(t if t.data.dtype.kind == "f" else t._wrap(t.data.astype(target)) for t in inputs)


def _as_floats(inputs):
    """Integer and bool inputs of an op with a real-valued result become the default float type."""
    return tuple(t if t.data.dtype.kind == "f" else t._wrap(as_float_array(t.data)) for t in inputs)


class ShapeError(ValueError):
    """An op got inputs whose shapes (or values) do not fit together; the message names the op.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> try:
    ...     Tensor(np.ones((2, 3))) + Tensor(np.ones(2))
    ... except ShapeError as error:
    ...     print(str(error).split(" (operands")[0])
    add: inputs of shapes (2, 3), (2,) do not fit together
    """


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

    # An op whose result is real even for integer inputs (exp, division, mean, ...) sets this, so that
    # integer and bool inputs become the default float type (float32) instead of NumPy's float64.
    real_result: bool = False

    # parents: the input nodes (None once the graph is freed); input_arrays: their arrays, as handed
    # to forward (the first-order backward gets these); needs_input_grad: one bool per input;
    # sequence: when the op was recorded (higher is later), the order the backward pass follows.
    parents: Optional[Tuple[Any, ...]]
    input_arrays: Optional[list]
    needs_input_grad: list
    sequence: int
    # The arrays this op made read-only until its saved values are freed (``autograd/saved.py``).
    held: list = ()

    def forward(self, *arrays: np.ndarray, **kwargs) -> np.ndarray:
        """Compute the op's result from the inputs' ndarrays (keyword arguments come from ``apply``).

        Save on ``self`` only what backward needs that the inputs and the output do not already give.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement forward(self, *arrays, **kwargs)")

    def backward(self, grad, *inputs_and_out):
        """Return one gradient per input (``None`` where none is needed) given the output's ``grad``.

        Subclasses write it as ``backward(self, grad, *inputs, out)``: ``grad`` has the output's
        shape, ``inputs`` are the op's inputs and ``out`` its result. They are ndarrays in
        first-order mode and Tensors under ``create_graph=True``, so a rule written with operators
        and ``tinygrad_mnist.ops.arraylike`` serves both. ``self.needs_input_grad`` says which inputs
        need a gradient. A gradient may have the broadcast shape; the engine sums it back.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement backward(self, grad, *inputs, out)")

    @property
    def name(self) -> str:
        """The op's name as shown in errors and graph drawings."""
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op forward on Tensors and, when grad mode is on, record it in the graph.

        Non-Tensor inputs (Python numbers, ndarrays) are wrapped as constants; at least one input
        must be a Tensor (its class makes the result).
        """
        # This is the hot path of every op: one plain loop and direct attribute writes, no helpers.
        if _state["recorder"] is not None:  # a jit recording: trace the parameters this op reads
            _state["recorder"].adopt(inputs)
        arrays = []
        needs = []
        for t in inputs:
            if not isinstance(t, Node):
                like = first_node(inputs, cls.__name__.lower())
                return cls.apply(*[x if isinstance(x, Node) else like._constant_like(x, inputs) for x in inputs],
                                 **kwargs)
            arrays.append(t.data)
            needs.append(t.requires_grad)
        if not arrays:
            raise TypeError(f"{cls.__name__}.apply needs at least one Tensor input")
        if len(arrays) > 1:
            dtype = arrays[0].dtype
            for array in arrays:
                if array.dtype is not dtype:
                    inputs = _common_float(inputs)
                    arrays = [t.data for t in inputs]
                    break
        if cls.real_result:
            for array in arrays:
                if array.dtype.kind != "f":
                    inputs = _as_floats(inputs)
                    arrays = [t.data for t in inputs]
                    break
        fn = cls()
        fn.needs_input_grad = needs
        try:
            data = fn.forward(*arrays, **kwargs)
        except ShapeError:
            raise
        except ValueError as error:  # NumPy's errors do not say which op failed
            shapes = ", ".join(str(t.shape) for t in inputs)
            if any(word in str(error) for word in ("shape", "broadcast", "dimension", "size", "align")):
                raise ShapeError(f"{fn.name.lower()}: inputs of shapes {shapes} do not fit together ({error})") from None
            raise ValueError(f"{fn.name.lower()}: {error} (inputs of shapes {shapes})") from None
        if _state["anomaly"]:
            anomaly.check_forward(fn, inputs, data)
        if not isinstance(data, np.ndarray):  # isinstance: a jit recording's traced arrays pass as they are
            returned, data = data, np.asarray(data)
            if data.dtype.kind not in "fiub":
                raise TypeError(f"forward of {fn.name} returned {type(returned).__name__} (dtype {data.dtype}); it "
                                "must return a numeric ndarray")
        out = inputs[0]._wrap(data)
        # Only float results are differentiable: a cast to int or bool leaves the graph.
        if _state["enabled"] and True in needs and data.dtype.kind == "f":
            out.requires_grad = True
            fn.parents = inputs
            fn.input_arrays = arrays
            fn.sequence = _next_sequence()
            fn.held = saved.hold(inputs)
            out._ctx = fn
        return out

    def free_saved(self) -> None:
        """Drop what backward needs (the graph below this op is freed) and unguard its arrays."""
        self.parents = self.input_arrays = None
        held = self.held  # _let_go's body, inlined: this runs for every op of every backward pass
        if held:
            self.held = ()
            saved.release(held)

    def _let_go(self) -> None:
        held = self.held
        if held:
            self.held = ()
            saved.release(held)

    # A graph dropped without a backward pass gives its arrays back when its ops are collected.
    __del__ = _let_go
