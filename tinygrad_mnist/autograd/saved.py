"""Saved arrays are guarded: what a recorded op will read in backward cannot change unnoticed.

A backward rule reads the arrays its op saw in forward (its inputs' and its output's ``.data``). If
one of them is changed in place before the backward pass, the gradient is silently wrong. Two
mechanisms, which together cost nothing on the training hot path (no copy, no checksum):

* **Read-only guard.** Recording an op makes the arrays of its leaf inputs (parameters, data,
  constants: the tensors no op computed) read-only until the op's saved values are freed: by the
  backward pass (unless ``retain_graph``) or when the graph is dropped unused. A stray write,
  ``w.data[:] = 100``, raises NumPy's "assignment destination is read-only" at the line that
  writes. Only arrays that own their memory are guarded (a view's base could still be written),
  arrays that were already read-only are left alone, and results of ops are not guarded (they are
  written only by ops; ``x += y`` on one whose graph is alive is refused by ``ops/inplace.py``).
* **Version marks for deliberate updates.** The framework's own in-place updates (an optimizer's
  ``step``, ``Module.load_state_dict``) and user code inside ``modify_in_place`` may write a guarded
  array. Each such write is marked with the time of the write (the op counter), and a backward pass
  that reaches an op recorded before the mark raises ``ModifiedError``: PyTorch's "modified by an
  inplace operation". So ``loss.backward(retain_graph=True); opt.step(); loss.backward()`` raises,
  while ``opt.step()`` itself, and every later forward and backward, work as usual.

Counts are kept per array (several ops, even several graphs, may hold one array); an array is
writable again when the last holder lets go.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, List

import numpy as np

from .node import Node

# The clock of the graph: every recorded op and every deliberate in-place update takes the next
# number, so an op's inputs always have smaller numbers than the op, and a mark larger than an op's
# number means "changed after this op was recorded".
next_stamp = itertools.count().__next__

# id(array) -> number of recorded ops holding it (each holder keeps the array itself alive).
_holders: Dict[int, int] = {}
# id(array) -> op counter at its latest deliberate in-place update, while it is held. Empty unless
# such an update happened while a graph held the array: the backward pass checks ops only then.
modified_at: Dict[int, int] = {}


class ModifiedError(RuntimeError):
    """A backward pass reached an op whose saved array was changed in place after it was recorded.

    >>> from tinygrad_mnist import Tensor
    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist.optim import SGD
    >>> w = Parameter([1.0, 2.0])
    >>> loss = (w * w).sum()
    >>> loss.backward(retain_graph=True)
    >>> SGD([w], lr=0.1).step()
    >>> try:
    ...     loss.backward()
    ... except ModifiedError as error:
    ...     print(str(error).split(";")[0])
    Mul: input 0 (shape (2,), float32) was modified in place after this op recorded it
    """


def hold(inputs) -> List[np.ndarray]:
    """Guard the arrays of a newly recorded op's leaf inputs; returns those it now holds (for ``release``).

    Leaves only (parameters, data, constants: tensors no op computed), and not the op's result:
    results are written only by ops, and flipping a flag on every intermediate array cost 3-4% of a
    training step. A 0-d constant that needs no gradient (a Python number wrapped for the op) is
    the op's own and is skipped too.
    """
    held = []
    for node in inputs:
        if node._ctx is not None:
            continue
        array = node.data
        key = id(array)
        count = _holders.get(key)
        if count is not None:
            _holders[key] = count + 1
            held.append(array)
        elif array.base is None and (array.ndim or node.requires_grad) and array.flags.writeable:
            array.setflags(write=False)
            _holders[key] = 1
            held.append(array)
    return held


def release(held: List[np.ndarray]) -> None:
    """Let go of arrays taken by ``hold``; an array nobody holds any more is writable again."""
    for array in held:
        key = id(array)
        count = _holders[key] - 1
        if count:
            _holders[key] = count
        else:
            del _holders[key]
            modified_at.pop(key, None)
            array.setflags(write=True)


def any_held() -> bool:
    """Whether some recorded op still guards an array (false after the backward pass of a plain step)."""
    return bool(_holders)


def check_unmodified(op, held: List[np.ndarray], recorded_at: int, arrays: List[np.ndarray], out: np.ndarray) -> None:
    """Raise ``ModifiedError`` if one of ``held`` was updated in place after the op was recorded."""
    for array in held:
        when = modified_at.get(id(array))
        if when is not None and when > recorded_at:
            position = next((f"input {i}" for i, a in enumerate(arrays) if a is array), "its output")
            raise ModifiedError(
                f"{op}: {position} (shape {array.shape}, {array.dtype}) was modified in place after this op "
                "recorded it; its gradient would be computed from the new values. Run the forward pass "
                "again after changing parameters (e.g. call backward before optimizer.step())"
            )


def begin_updates(arrays: Iterable[np.ndarray]) -> List[np.ndarray]:
    """Make the held ones among ``arrays`` writable for a deliberate in-place update, and mark them.

    Returns them, for ``end_updates``. Arrays nobody holds are untouched (already writable), and
    when nothing is held at all (after every backward pass of a training loop) this costs nothing.
    """
    if not _holders:
        return []
    opened = []
    stamp = next_stamp()
    for array in arrays:
        key = id(array)
        if key in _holders and not any(a is array for a in opened):
            array.setflags(write=True)
            modified_at[key] = stamp
            opened.append(array)
    return opened


def end_updates(opened: List[np.ndarray]) -> None:
    """Guard again the arrays that ``begin_updates`` opened."""
    for array in opened:
        array.setflags(write=False)


@contextmanager
def modify_in_place(*tensors: Node) -> Iterator[None]:
    """Let the body write the ``.data`` of ``tensors`` in place even while a graph holds them.

    The write is deliberate, so it is allowed; a later backward pass through an op recorded before
    it raises ``ModifiedError`` instead of using the new values. (An optimizer's ``step`` does this
    for every parameter.)

    >>> from tinygrad_mnist import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> y = (w * 3).sum()              # the graph holds w's array: w.data[:] = 0 would raise
    >>> with modify_in_place(w):
    ...     w.data *= 0.5
    >>> w.numpy()
    array([0.5, 1. ], dtype=float32)
    """
    opened = begin_updates([t.data for t in tensors])
    try:
        yield
    finally:
        end_updates(opened)
