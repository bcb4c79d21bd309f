"""Functions of several tensors in the top-level namespace: ``concatenate`` (also ``cat``),
``stack`` and ``where``, as in NumPy (and PyTorch, with ``axis=`` for ``dim=``).

They take Tensors, and also arrays or numbers among them: when no argument is a Tensor the result
is still one (Python floats become float32, as everywhere). They are differentiable with respect to
every Tensor argument; the ops behind them are in ``tinygrad_mnist.ops``.
"""
from __future__ import annotations

from typing import List, Sequence

from .ops import elementwise, movement
from .ops.spelling import numpy_spelling
from .tensor import Tensor


def _tensors(function: str, items) -> List:
    if isinstance(items, Tensor):
        raise TypeError(f"{function} takes a sequence of tensors, got one Tensor; write {function}([a, b, ...])")
    items = list(items)
    if not any(isinstance(item, Tensor) for item in items):
        return [Tensor(item) for item in items]
    return items


@numpy_spelling
def concatenate(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis`` (``torch.cat``); the gradient is split back.

    >>> from tinygrad_mnist import Tensor
    >>> concatenate([Tensor([[1.0, 2.0]]), Tensor([[3.0, 4.0]])], axis=1)
    Tensor([[1., 2., 3., 4.]], dtype=float32)
    """
    return movement.concatenate(_tensors("concatenate", tensors), axis)


#: The same function as :func:`concatenate`, under PyTorch's name.
cat = concatenate


@numpy_spelling
def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis``; the gradient is split back.

    >>> from tinygrad_mnist import Tensor
    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1)
    Tensor([[1., 3.],
            [2., 4.]], dtype=float32)
    """
    return movement.stack(_tensors("stack", tensors), axis)


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` holds, else ``y``, broadcast together (``np.where``, ``torch.where``).

    ``x`` and ``y`` may be tensors or numbers; each tensor gets the gradient where it was picked.
    The condition (a bool tensor, array or list) gets none.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([-1.0, 2.0])
    >>> where(x > 0, x, 0.0)
    Tensor([0., 2.], dtype=float32)
    """
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = Tensor(x)
    return elementwise.where(condition, x, y)
