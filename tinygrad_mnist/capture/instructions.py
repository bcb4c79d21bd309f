"""The vocabulary of a recording: its values, its instructions and its outputs, and what the
recording knows about NumPy's functions (which results have shapes that follow from the arguments'
shapes, which calls write into an argument).

A ``Recording`` (``recording.py``) writes these down while a step runs eagerly; ``compare.py``
tells whether two recordings hold the same program; a ``Program`` (``program.py``) turns one into
code. An instruction's arguments hold ``Ref``s where the call read or wrote a value of the recording.

>>> instruction = Instruction("call", np.add, (Ref(0), 1.0), results=(1,))
>>> [ref.index for ref in refs_in(instruction.args)]
[0]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

import numpy as np

#: Array functions whose result's shape follows from their arguments' shapes alone (any other
#: function's result is re-made by every replay, its shape possibly depending on the values).
SHAPE_STATIC_FUNCTIONS = frozenset({
    np.where, np.concatenate, np.stack, np.take, np.clip, np.broadcast_to, np.transpose, np.moveaxis,
    np.swapaxes, np.reshape, np.squeeze, np.expand_dims, np.full_like, np.zeros_like, np.ones_like,
    np.empty_like, np.copyto, np.dot, np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod,
    np.any, np.all, np.argmax, np.argmin, np.matmul, np.tensordot, np.einsum, np.outer, np.pad,
    np.ascontiguousarray, np.asfortranarray, np.ravel, np.atleast_1d, np.atleast_2d, np.round,
    np.cumsum, np.var, np.std, np.isclose, np.array_equal, np.allclose, np.sort, np.argsort,
    np.take_along_axis, np.put_along_axis, np.tile, np.repeat, np.flip, np.roll, np.diagonal,
    np.trace, np.tril, np.triu, np.broadcast_arrays, np.split, np.array_split, np.copy, np.fill_diagonal,
    np.putmask, np.put, np.linalg.norm, np.lib.stride_tricks.sliding_window_view,
})
#: Array functions that write into their first argument instead of (or besides) returning a result.
WRITING_FUNCTIONS = frozenset({np.copyto, np.put, np.putmask, np.place, np.fill_diagonal, np.put_along_axis})
#: ndarray methods that write into the array they are called on.
WRITING_METHODS = frozenset({"__setitem__", "fill", "sort"})
#: Functions returning a Python value that depends only on shapes (kept as a literal).
SHAPE_FUNCTIONS = frozenset({np.shape, np.ndim, np.size, np.result_type})


class Ref:
    """A value of the recording inside an instruction's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self) -> str:
        return f"Ref({self.index})"


@dataclass
class Value:
    """One array of the recording: where it came from and the plain array that held it."""

    index: int
    array: np.ndarray
    origin: str                 # input, state, grad, constant, random, result, view
    producer: int = -1          # the instruction that made it (result, view, random)
    base: int = -1              # the value a view looks into
    source: Any = None          # input position, state tensor, constant snapshot
    dynamic: bool = False       # its shape may depend on values (boolean indexing, nonzero, ...)
    written: bool = False       # changed in place by a recorded instruction


@dataclass
class Instruction:
    """One recorded call: ``call(*args, **kwargs)`` with ``Ref``s for values.

    ``kind`` is "call" (a NumPy call), "guard" (``expected`` is the Python value the traced value
    gave), "opaque" (an untraced Python call, after rebinding ``bindings``: (tensor, value index or
    None) pairs of gradients it reads) or "bind" (set ``tensor.grad``, or ``tensor.data`` when
    ``attribute`` says so, at the end of the call).
    """

    kind: str
    call: Any = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    results: Tuple[int, ...] = ()
    writes: Tuple[int, ...] = ()
    where: str = ""
    expected: Any = None
    bindings: Tuple[Tuple[Any, Optional[int]], ...] = ()
    attribute: str = "grad"
    unpack: bool = False        # the call returns a tuple of its results


@dataclass(frozen=True)
class Output:
    """A leaf of the function's output structure: a tensor or an array (``ref``), or a literal."""

    kind: str                   # "tensor", "array" or "literal"
    ref: Any                    # a Ref, or the literal itself
    wrap: Any = None            # for a tensor: the class's constructor of detached tensors


def refs_in(item):
    """Every ``Ref`` inside ``item`` (arguments, outputs, slices, containers), in order."""
    if isinstance(item, Ref):
        yield item
    elif isinstance(item, Output):
        yield from refs_in(item.ref)
    elif isinstance(item, (tuple, list)):
        for x in item:
            yield from refs_in(x)
    elif isinstance(item, dict):
        for x in item.values():
            yield from refs_in(x)
    elif isinstance(item, slice):
        yield from refs_in((item.start, item.stop, item.step))
