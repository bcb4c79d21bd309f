"""Checking and normalising ``axis`` and shape arguments, shared by reductions, movement ops and
the Tensor constructors; and ``Tensor.size``'s element count.

An out-of-range axis is an error naming the op, never silently wrapped onto another axis.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..autograd.function import ShapeError
from .spelling import numpy_spelling


def axis_index(op: str, axis, ndim: int) -> int:
    """Return ``axis`` as a non-negative index into ``ndim`` dimensions, or raise naming ``op``
    (lowercased, so an op may pass its class name).

    >>> axis_index("squeeze", -1, 3)
    2
    """
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ShapeError(f"{op.lower()}: an axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op.lower()}: axis {axis!r} is out of range for a tensor with {ndim} dimension(s)")
    return int(axis) % ndim


def _axis_sequence(op: str, axis) -> tuple:
    """A tuple or list of axes as a tuple; anything else is an error that names ``op``."""
    if isinstance(axis, (tuple, list)):
        return tuple(axis)
    raise ShapeError(f"{op.lower()}: axis must be None, an int or a tuple of ints, got {axis!r}")


def normalize_axes(op: str, axis, ndim: int) -> Tuple[int, ...]:
    """Turn an ``axis`` argument into a sorted tuple of non-negative axes, with clear errors.

    >>> normalize_axes("sum", -1, 3), normalize_axes("sum", None, 2), normalize_axes("sum", (0, -1), 3)
    ((2,), (0, 1), (0, 2))
    """
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without the general checks
        return (axis % ndim,)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else _axis_sequence(op, axis)
    result = [axis_index(op, a, ndim) for a in axes]
    if len(set(result)) != len(result):
        raise ShapeError(f"{op.lower()}: axis {axis!r} repeats an axis")
    return tuple(sorted(result))


def shape_from_args(shape: tuple) -> Tuple[int, ...]:
    """A shape given as separate arguments, ``f(2, 3)``, or as one sequence, ``f((2, 3))``, as a tuple.

    >>> shape_from_args((2, 3)), shape_from_args(((2, 3),)), shape_from_args(([4],))
    ((2, 3), (2, 3), (4,))
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for side in shape:
        if not isinstance(side, (int, np.integer)) or isinstance(side, bool):
            raise ShapeError(f"a shape must be made of ints, got {tuple(shape)!r}")
    return tuple(int(side) for side in shape)


class ElementCount(int):
    """``Tensor.size``: the number of elements, an ``int`` (NumPy's meaning) that can also be called
    like PyTorch's ``x.size()`` (the shape) and ``x.size(axis)`` (the length of one axis).

    >>> count = ElementCount(6, (2, 3))
    >>> count + 1, count(), count(-1)
    (7, (2, 3), 3)
    """

    def __new__(cls, count: int, shape: Tuple[int, ...]) -> "ElementCount":
        element_count = super().__new__(cls, count)
        element_count.shape = shape
        return element_count

    def __getnewargs__(self):
        return int(self), self.shape  # so that pickle and copy rebuild it through __new__

    @numpy_spelling(shown_as="size")
    def __call__(self, axis: Optional[int] = None):
        if axis is None:
            return self.shape
        return self.shape[axis_index("size", axis, len(self.shape))]
