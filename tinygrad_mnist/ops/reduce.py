"""Reductions over axes (int, tuple, negative or None, with ``keepdims``), NumPy-style."""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from ..autograd.function import Function, ShapeError
from ..autograd.node import Node
from . import arraylike as A
from . import elementwise
from .axes import axis_index, normalize_axes
from .spelling import numpy_spelling


def _kept_shape(shape, axes) -> tuple:
    if len(axes) == 1:  # the usual reduction over one axis, without a generator (a hot path)
        kept = list(shape)
        kept[axes[0]] = 1
        return tuple(kept)
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def _reduced_shape(shape, axes) -> tuple:
    if len(axes) == 1:
        return shape[:axes[0]] + shape[axes[0] + 1:]
    return tuple(size for i, size in enumerate(shape) if i not in axes)


def _check_nonempty_reduction(op: str, a: np.ndarray, axes) -> None:
    """max, min and logsumexp of no elements have no value: refuse a reduced axis of length 0.

    A zero-size tensor is fine when the reduced axes are not empty: (0, 3) over axis 1 gives (0,).
    """
    # Not any(...): this module defines its own any, all, sum, max and min.
    if a.size == 0 and 0 in [a.shape[i] for i in axes]:
        raise ShapeError(
            f"{op.lower()}: cannot reduce over an axis of length 0 (tensor of shape {a.shape}, axis {axes}); "
            "the result has no value"
        )


class _Reduction(Function):
    """Shared bookkeeping: the normalised axes and the shape with reduced axes kept as size 1."""

    def _setup(self, a: np.ndarray, axis, keepdims: bool) -> Tuple[int, ...]:
        # The class name as is: normalize_axes lowercases it only for an error message.
        self.axes = normalize_axes(type(self).__name__, axis, a.ndim)
        self.kept = _kept_shape(a.shape, self.axes)
        self.keepdims = keepdims
        return self.axes

    def _kept(self, x):
        """A reduced result (gradient or output) reshaped so it broadcasts against the input."""
        return x if self.keepdims else x.reshape(self.kept)


def _spread(grad, shape, scale: float = 1.0):
    """Broadcast a reduced gradient, times ``scale``, back over the input's shape.

    A scalar (a loss's mean) becomes a filled array: cheaper than ``np.broadcast_to``'s Python layer
    for the small arrays on the training hot path, and writable; scaling the one number is cheaper
    than scaling an array.
    """
    if isinstance(grad, np.ndarray) and grad.size == 1:
        filled = np.empty_like(grad, shape=shape)  # made from grad, so a jit recording traces it too
        filled.fill(grad.reshape(()) * scale if scale != 1.0 else grad.reshape(()))
        return filled
    return A.broadcast_to(grad * scale if scale != 1.0 else grad, shape)


class Sum(_Reduction):
    def forward(self, a, axis, keepdims):
        return np.add.reduce(a, axis=self._setup(a, axis, keepdims), keepdims=keepdims)

    def backward(self, grad, a, out):
        return (_spread(self._kept(grad), a.shape),)


class Mean(_Reduction):
    real_result = True

    def forward(self, a, axis, keepdims):
        axes = self._setup(a, axis, keepdims)
        self.count = a.size if len(axes) == a.ndim else math.prod([a.shape[i] for i in axes])
        total = np.add.reduce(a, axis=axes, keepdims=keepdims)
        # Dividing a Python float keeps float32 float32 (NumPy >= 2 treats it as a weak scalar).
        return total / self.count if self.count else total * np.nan

    def backward(self, grad, a, out):
        # An empty reduction has an empty gradient; any finite factor will do.
        return (_spread(self._kept(grad), a.shape, 1.0 / self.count if self.count else 0.0),)


class _Extreme(_Reduction):
    """max / min: the gradient goes to the extreme element, split evenly among ties.

    Subclasses name their ufunc as ``reducer``.
    """

    def forward(self, a, axis, keepdims):
        axes = self._setup(a, axis, keepdims)
        _check_nonempty_reduction(self.name, a, axes)
        return self.reducer.reduce(a, axis=axes, keepdims=keepdims)

    def backward(self, grad, a, out):
        hits = A.value(a) == self._kept(A.value(out))
        share = hits / hits.sum(axis=self.axes, keepdims=True, dtype=A.value(out).dtype)
        return (self._kept(grad) * share.astype(A.value(out).dtype, copy=False),)


class Max(_Extreme):
    reducer = np.maximum


class Min(_Extreme):
    reducer = np.minimum


class LogSumExp(_Reduction):
    real_result = True

    def forward(self, a, axis, keepdims):
        axes = self._setup(a, axis, keepdims)
        _check_nonempty_reduction(self.name, a, axes)
        # Shifting by the max keeps exp() from overflowing; an infinite max would give inf - inf.
        shift = np.maximum.reduce(a, axis=axes, keepdims=True)
        if not np.isfinite(shift).all():
            shift = np.where(np.isfinite(shift), shift, 0)
        self.shift = shift  # a constant of the derivative, as the max of the masks in Max
        out = np.log(np.add.reduce(np.exp(a - shift), axis=axes, keepdims=True)) + shift
        return out if keepdims else out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, grad, a, out):
        # The softmax, from the same shifted exponentials as forward: exp(a - out) would cancel for
        # large, close logits (an error of 1e-5 at 1e4 in float32), in this rule's second derivative too.
        shifted = A.exp(a - self.shift)
        return (self._kept(grad) * (shifted / shifted.sum(axis=self.axes, keepdims=True)),)


@numpy_spelling
def sum(a, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Sum over ``axis`` (None: all axes).

    >>> from tinygrad_mnist import Tensor
    >>> sum(Tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).numpy()
    array([4., 6.], dtype=float32)
    """
    return Sum.apply(a, axis=axis, keepdims=keepdims)


@numpy_spelling
def mean(a, axis=None, keepdims: bool = False) -> Node:
    """Arithmetic mean over ``axis``.

    >>> from tinygrad_mnist import Tensor
    >>> mean(Tensor([1.0, 2.0, 6.0])).item()
    3.0
    """
    return Mean.apply(a, axis=axis, keepdims=keepdims)


@numpy_spelling
def max(a, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly.

    >>> from tinygrad_mnist import Tensor
    >>> max(Tensor([1.0, 5.0, 2.0])).item()
    5.0
    """
    return Max.apply(a, axis=axis, keepdims=keepdims)


@numpy_spelling
def min(a, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly.

    >>> from tinygrad_mnist import Tensor
    >>> min(Tensor([[1.0, 5.0], [0.5, 2.0]]), axis=1).numpy()
    array([1. , 0.5], dtype=float32)
    """
    return Min.apply(a, axis=axis, keepdims=keepdims)


@numpy_spelling
def var(a, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Variance over ``axis`` (``ddof`` as in NumPy), written with differentiable ops.

    >>> from tinygrad_mnist import Tensor
    >>> var(Tensor([1.0, 2.0, 3.0, 4.0])).item()
    1.25
    """
    if not isinstance(a, Node):
        raise TypeError(f"var expects a Tensor, got {type(a).__name__}")
    axes = normalize_axes("var", axis, a.ndim)
    count = int(np.prod([a.shape[i] for i in axes]))
    if count - ddof <= 0:
        raise ShapeError(f"var: {count} element(s) with ddof={ddof} leaves no degrees of freedom")
    deviation = a - mean(a, axis=axes, keepdims=True)
    return sum(deviation * deviation, axis=axes, keepdims=keepdims) * (1.0 / (count - ddof))



@numpy_spelling
def std(a, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Standard deviation over ``axis``: ``sqrt(var(a, axis, keepdims, ddof))``.

    ``ddof=0`` by default, as in NumPy (PyTorch's ``std()`` is ``ddof=1``). Where every reduced value
    is the same the deviation is 0 and its gradient is undefined (NaN), as for any square root at 0.

    >>> from tinygrad_mnist import Tensor
    >>> std(Tensor([1.0, 3.0])).item(), std(Tensor([1.0, 3.0]), ddof=1).item()
    (1.0, 1.4142135381698608)
    """
    return elementwise.sqrt(var(a, axis, keepdims, ddof))

@numpy_spelling
def logsumexp(a, axis=None, keepdims: bool = False) -> Node:
    """``log(sum(exp(a)))`` over ``axis``, computed stably for large values.

    >>> from tinygrad_mnist import Tensor
    >>> round(logsumexp(Tensor([1000.0, 1000.0], dtype=np.float64)).item(), 4)
    1000.6931
    """
    return LogSumExp.apply(a, axis=axis, keepdims=keepdims)


@numpy_spelling
def argmax(a, axis: Optional[int] = None) -> Node:
    """Indices of the maxima (an int64 tensor, not differentiable).

    >>> from tinygrad_mnist import Tensor
    >>> argmax(Tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).numpy()
    array([1, 0])
    """
    return _indices(np.argmax, a, axis)


@numpy_spelling
def argmin(a, axis: Optional[int] = None) -> Node:
    """Indices of the minima (an int64 tensor, not differentiable).

    >>> from tinygrad_mnist import Tensor
    >>> argmin(Tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).numpy()
    array([0, 1])
    """
    return _indices(np.argmin, a, axis)


def _indices(function, a, axis) -> Node:
    if not isinstance(a, Node):
        raise TypeError(f"{function.__name__} expects a Tensor, got {type(a).__name__}")
    if axis is not None:
        axis = axis_index(function.__name__, axis, a.ndim)
    _check_nonempty_reduction(function.__name__, a.data, tuple(range(a.ndim)) if axis is None else (axis,))
    return a._wrap(function(a.data, axis=axis))


def _shift_by_max(x: Node, axis: int) -> Node:
    """``x - max(x)`` with the max as a constant: softmax is shift-invariant, so the gradient is
    unchanged, and every later step works on numbers near 0 where float32 is precise."""
    axis = axis_index("softmax", axis, x.data.ndim)
    if x.data.size == 0:  # nothing to shift (and an empty axis has no max)
        return x
    top = np.max(x.data, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(top), top, 0).astype(x.data.dtype, copy=False)


@numpy_spelling
def log_softmax(x, axis: int = -1) -> Node:
    """``x - logsumexp(x, axis, keepdims=True)``: log-probabilities, stable for any finite logits.

    Evaluated on ``x - max(x)``, so large logits lose no precision (1e4 - logsumexp would in float32).

    >>> from tinygrad_mnist import Tensor
    >>> log_softmax(Tensor([[0.0, 0.0]])).numpy()
    array([[-0.6931472, -0.6931472]], dtype=float32)
    """
    shifted = _shift_by_max(x, axis)
    if shifted.data.size == 0:  # no element, so no log-probability to normalise
        return shifted
    return shifted - logsumexp(shifted, axis=axis, keepdims=True)


@numpy_spelling
def softmax(x, axis: int = -1) -> Node:
    """Probabilities along ``axis``: ``exp(x - max) / sum(exp(x - max))``, without overflow.

    >>> from tinygrad_mnist import Tensor
    >>> softmax(Tensor([[1000.0, 1000.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """
    exps = elementwise.exp(_shift_by_max(x, axis))
    return exps / sum(exps, axis=axis, keepdims=True)


@numpy_spelling
def any(a, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Whether any element along ``axis`` is true (non-zero): a bool tensor, outside the graph.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([[1.0, -2.0], [-3.0, -4.0]])
    >>> (x > 0).any().item(), (x > 0).any(axis=1).numpy()
    (True, array([ True, False]))
    """
    return _truth(np.logical_or, "any", a, axis, keepdims)


@numpy_spelling
def all(a, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Whether every element along ``axis`` is true (non-zero): a bool tensor, outside the graph.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([[1.0, 2.0], [-3.0, 4.0]])
    >>> (x > 0).all().item(), (x > 0).all(axis=0).numpy()
    (False, array([False,  True]))
    """
    return _truth(np.logical_and, "all", a, axis, keepdims)


def _truth(ufunc, name: str, a, axis, keepdims: bool) -> Node:
    if not isinstance(a, Node):
        raise TypeError(f"{name} expects a Tensor, got {type(a).__name__}")
    axes = normalize_axes(name, axis, a.data.ndim)
    return a._wrap(ufunc.reduce(a.data.astype(bool, copy=False), axis=axes, keepdims=keepdims))
