"""Ops that move or select elements: reshape, transpose, broadcast, indexing, concatenate, stack."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..autograd.function import Function, ShapeError
from ..autograd.node import Node
from .axes import axis_index, normalize_axes, shape_from_args
from .spelling import numpy_spelling


class Reshape(Function):
    def forward(self, a, shape):
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {shape}") from None

    def backward(self, grad, a, out):
        return (grad.reshape(a.shape),)


class Transpose(Function):
    def forward(self, a, axes):
        if axes is not None and sorted(int(x) % max(a.ndim, 1) for x in axes) != list(range(a.ndim)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape {a.shape}")
        self.axes = axes
        return np.transpose(a, axes)

    def backward(self, grad, a, out):
        if self.axes is None:
            return (grad.transpose(),)
        return (grad.transpose(tuple(np.argsort([int(x) % a.ndim for x in self.axes]))),)


class BroadcastTo(Function):
    def forward(self, a, shape):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast a tensor of shape {a.shape} to {shape}") from None

    def backward(self, grad, a, out):
        return (grad,)  # the engine sums it back to the input's shape


def _normalize_key(key):
    """Tensors and lists inside an index become ndarrays so NumPy indexes with them as usual."""
    if isinstance(key, tuple):
        return tuple(_normalize_key(k) for k in key)
    if isinstance(key, Node):
        return key.data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _has_integer_array(key) -> bool:
    # A plain loop: this runs in every cross-entropy backward (x[rows, labels]).
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, np.ndarray) and part.dtype.kind in "iu":
            return True
    return False


def _prototype(values: np.ndarray, key) -> np.ndarray:
    """What the scattered array is made like: an index array of an ndarray subclass if there is one,
    else ``values``. A jit recording traces the labels of ``x[rows, labels]``; the gradient scattered
    at them depends on the labels even where ``values`` is a constant, so it must be traced too."""
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, np.ndarray) and type(part) is not np.ndarray:
            return part
    return values


def scatter_array(values: np.ndarray, key, shape) -> np.ndarray:
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeated integer indices accumulate).

    >>> scatter_array(np.array([1.0, 2.0]), np.array([1, 1]), (3,))
    array([0., 3., 0.])
    """
    result = np.zeros_like(_prototype(values, key), dtype=values.dtype, shape=shape)
    if _has_integer_array(key):
        np.add.at(result, key, values)
    else:
        result[key] = values  # basic and boolean indexing never repeat an element
    return result


class GetItem(Function):
    def forward(self, a, key):
        self.key = key
        try:
            return a[key]
        except IndexError as error:
            raise IndexError(f"getitem: index {key!r} does not fit a tensor of shape {a.shape} ({error})") from None

    def backward(self, grad, a, out):
        if isinstance(grad, Node):  # create_graph: the differentiable adjoint
            return (Scatter.apply(grad, key=self.key, shape=a.shape),)
        return (scatter_array(grad, self.key, a.shape),)


class Scatter(Function):
    """The adjoint of ``GetItem``, used when gradients of indexing are differentiated again."""

    def forward(self, values, key, shape):
        self.key = key
        return scatter_array(values, key, shape)

    def backward(self, grad, values, out):
        return (grad[self.key],)


class Concatenate(Function):
    def forward(self, *arrays, axis):
        axis_index("concatenate", axis, arrays[0].ndim)
        try:
            result = np.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"concatenate: shapes {shapes} do not match outside axis {axis}") from None
        self.axis = axis_index("concatenate", axis, result.ndim)
        self.bounds = np.cumsum([0] + [a.shape[self.axis] for a in arrays])
        return result

    def backward(self, grad, *inputs_and_out):
        lead = (slice(None),) * self.axis
        return tuple(grad[lead + (slice(start, stop),)] for start, stop in zip(self.bounds[:-1], self.bounds[1:]))


class Stack(Function):
    def forward(self, *arrays, axis):
        axis_index("stack", axis, arrays[0].ndim + 1)
        try:
            result = np.stack(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: all tensors need the same shape, got {shapes}") from None
        self.axis = axis_index("stack", axis, result.ndim)
        return result

    def backward(self, grad, *inputs_and_out):
        lead = (slice(None),) * self.axis
        return tuple(grad[lead + (i,)] for i in range(len(inputs_and_out) - 1))


def reshape(a, *shape) -> Node:
    """Same data, new shape (one dimension may be -1).

    >>> from tinygrad_mnist import Tensor
    >>> reshape(Tensor([1.0, 2.0, 3.0, 4.0]), 2, 2).shape
    (2, 2)
    """
    return Reshape.apply(a, shape=shape_from_args(shape))


@numpy_spelling
def flatten(a, start_axis: int = 0, end_axis: int = -1) -> Node:
    """Merge axes ``start_axis..end_axis`` into one.

    >>> from tinygrad_mnist import Tensor
    >>> flatten(Tensor(np.zeros((2, 3, 4))), 1).shape
    (2, 12)
    """
    shape = a.shape
    if len(shape) == 0:
        return reshape(a, 1)
    start, end = axis_index("flatten", start_axis, len(shape)), axis_index("flatten", end_axis, len(shape))
    if start > end:
        raise ShapeError(
            f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for a tensor of shape {shape}"
        )
    merged = int(np.prod(shape[start:end + 1]))
    return reshape(a, shape[:start] + (merged,) + shape[end + 1:])


def permute(a, *axes) -> Node:
    """Put the axes in the given order (a permutation of all of them; the identity is allowed).

    >>> from tinygrad_mnist import Tensor
    >>> permute(Tensor(np.zeros((2, 3, 4))), 2, 0, 1).shape
    (4, 2, 3)
    """
    return Transpose.apply(a, axes=shape_from_args(axes) if axes else None)


def _is_swap_spelling(axes: tuple) -> bool:
    """Two separate integer arguments: PyTorch's ``transpose(dim0, dim1)``."""
    return len(axes) == 2 and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in axes)


def transpose(a, *axes) -> Node:
    """Permute axes like ``np.transpose``: reverse them when none are given, else ``axes`` is a
    permutation of all of them.

    PyTorch's ``transpose(dim0, dim1)`` swaps two axes; here the same two integers mean a
    permutation, which on a 2-D tensor is the identity for ``(0, 1)`` and is no permutation at all
    on other ranks. Both cases are errors that point to :func:`swapaxes` instead of a silent no-op.

    >>> from tinygrad_mnist import Tensor
    >>> transpose(Tensor(np.zeros((2, 3, 4))), 2, 0, 1).shape
    (4, 2, 3)
    >>> transpose(Tensor(np.zeros((2, 3))), 0, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tinygrad_mnist.autograd.function.ShapeError: transpose(0, 1) would leave this 2-D tensor unchanged: ...
    """
    if _is_swap_spelling(axes):
        first, second = (int(x) for x in axes)
        spelled = f"transpose({first}, {second})"
        if a.ndim == 2 and first % 2 == 0 and second % 2 == 1 and -2 <= first < 2 and -2 <= second < 2:
            raise ShapeError(
                f"{spelled} would leave this 2-D tensor unchanged: here transpose takes a permutation of all "
                f"axes (NumPy's meaning) and ({first}, {second}) keeps each axis in place; to exchange the two "
                f"axes write swapaxes({first}, {second}), .T or .mT"
            )
        if a.ndim != 2:
            raise ShapeError(
                f"{spelled} on a {a.ndim}-D tensor: here transpose takes a permutation of all {a.ndim} axes "
                f"(NumPy's meaning); to exchange two axes write swapaxes({first}, {second})"
            )
    return permute(a, *axes)


@numpy_spelling
def swapaxes(a, axis1: int, axis2: int) -> Node:
    """Exchange two axes (PyTorch's ``transpose(dim0, dim1)``).

    >>> from tinygrad_mnist import Tensor
    >>> swapaxes(Tensor(np.zeros((2, 3, 4))), -1, -2).shape
    (2, 4, 3)
    """
    order = list(range(a.ndim))
    axis1, axis2 = axis_index("swapaxes", axis1, a.ndim), axis_index("swapaxes", axis2, a.ndim)
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return permute(a, *order)


def matrix_transpose(a) -> Node:
    """Swap the last two axes: the transpose of every matrix in a batch (``x.mT``).

    >>> from tinygrad_mnist import Tensor
    >>> matrix_transpose(Tensor(np.zeros((5, 2, 3)))).shape
    (5, 3, 2)
    """
    if a.ndim < 2:
        raise ShapeError(
            f"mT: needs at least 2 dimensions (a matrix or a batch of them), got shape {a.shape}; "
            "for a vector there is nothing to transpose, use x[:, None] or x[None, :] for a column or a row"
        )
    return swapaxes(a, -1, -2)


def broadcast_to(a, *shape) -> Node:
    """Repeat size-1 (or missing leading) dimensions to reach ``shape``, like ``np.broadcast_to``.

    >>> from tinygrad_mnist import Tensor
    >>> broadcast_to(Tensor([1.0, 2.0]), 3, 2).shape
    (3, 2)
    """
    return BroadcastTo.apply(a, shape=shape_from_args(shape))


@numpy_spelling
def squeeze(a, axis=None) -> Node:
    """Remove size-1 axes (all of them, or those given).

    >>> from tinygrad_mnist import Tensor
    >>> squeeze(Tensor(np.zeros((1, 3, 1)))).shape
    (3,)
    """
    shape = a.shape
    if axis is None:
        axes = {i for i, size in enumerate(shape) if size == 1}
    else:
        axes = set(normalize_axes("squeeze", axis, len(shape)))
        wrong = [x for x in axes if shape[x] != 1]
        if wrong:
            raise ShapeError(f"squeeze: axis {wrong[0]} of shape {shape} has size {shape[wrong[0]]}, not 1")
    return reshape(a, tuple(size for i, size in enumerate(shape) if i not in axes))


@numpy_spelling
def unsqueeze(a, axis: int) -> Node:
    """Insert a size-1 axis at ``axis`` (negative counts from the end of the result).

    >>> from tinygrad_mnist import Tensor
    >>> unsqueeze(Tensor([1.0, 2.0]), 0).shape
    (1, 2)
    """
    shape = list(a.shape)
    position = axis_index("unsqueeze", axis, len(shape) + 1)
    shape.insert(position, 1)
    return reshape(a, tuple(shape))


def getitem(a, key) -> Node:
    """NumPy indexing: slices (negative steps too), None, Ellipsis, ints, boolean masks and integer
    arrays; gradients of repeated integer indices accumulate.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> getitem(x, (np.arange(2), np.array([1, 0]))).numpy()
    array([2., 3.], dtype=float32)
    """
    return GetItem.apply(a, key=_normalize_key(key))


def scatter(values, key, shape) -> Node:
    """Zeros of ``shape`` with ``values`` added at ``key``; the adjoint of ``getitem``.

    >>> from tinygrad_mnist import Tensor
    >>> scatter(Tensor([1.0, 1.0]), np.array([0, 0]), (3,)).numpy()
    array([2., 0., 0.], dtype=float32)
    """
    return Scatter.apply(values, key=_normalize_key(key), shape=tuple(shape))


@numpy_spelling
def concatenate(tensors: Sequence, axis: int = 0) -> Node:
    """Join tensors along an existing axis.

    >>> from tinygrad_mnist import Tensor
    >>> concatenate([Tensor([1.0]), Tensor([2.0, 3.0])]).numpy()
    array([1., 2., 3.], dtype=float32)
    """
    if len(tensors) == 0:
        raise ValueError("concatenate: needs at least one tensor")
    return Concatenate.apply(*tensors, axis=axis)


@numpy_spelling
def stack(tensors: Sequence, axis: int = 0) -> Node:
    """Join same-shaped tensors along a new axis.

    >>> from tinygrad_mnist import Tensor
    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1).shape
    (2, 2)
    """
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor")
    return Stack.apply(*tensors, axis=axis)
