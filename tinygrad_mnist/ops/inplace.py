"""Augmented assignment on tensors: ``x += y``, ``p -= lr * p.grad``, ``x *= 2``, ...

Without these rules Python would quietly turn ``p -= lr * p.grad`` into ``p = p - lr * p.grad``: a new
tensor bound to the loop variable, and a model whose weights never change. What happens instead
depends on whether the operation would be recorded in a graph (grad mode on, and the target or the
operand requires grad):

* **recorded, on a tensor that is not a trainable leaf** (``loss += penalty``, or ``total += loss``
  with ``total = zeros(())``): it is ``x = x + y``, a new tensor recorded like any op, and Python
  binds the name to it. Other references to the old ``x`` keep the old value.
* **a trainable leaf** (a ``Parameter``, any tensor created with ``requires_grad=True``), in grad
  mode or not: an update of its values outside the graph, ``p.data = p.data - lr * g``. The tensor
  stays the same leaf (models and optimizers keep seeing it) and keeps its ``.grad``. If the operand
  itself requires grad (under grad mode) the intent is ambiguous and the update is refused.
* **nothing recorded** (``no_grad()``, or no tensor involved requires grad): the same update of the
  values, for any tensor, except one computed by an op whose graph is still alive (its backward
  needs the values it computed), which is refused.

An update keeps the tensor's shape and dtype (float32 stays float32); an operand that would change
either is refused, naming the spelling that makes a new tensor instead. The values are replaced by a
new array rather than overwritten: a graph recorded before the update keeps the arrays it saw, so
its first-order ``backward`` still gives the gradient at those values (and a ``create_graph``
pass through it, which would read the tensor's new values, is refused by the engine). Arrays taken
earlier with ``.numpy()`` keep the old values too.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from ..autograd.function import ShapeError
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import Node
from . import elementwise, linalg

#: Each augmented operator: the NumPy ufunc that updates values, the op that makes a new tensor,
#: and the binary operator's spelling (for messages).
AUGMENTED: Dict[str, Tuple[np.ufunc, Callable, str]] = {
    "+=": (np.add, elementwise.add, "+"),
    "-=": (np.subtract, elementwise.sub, "-"),
    "*=": (np.multiply, elementwise.mul, "*"),
    "/=": (np.true_divide, elementwise.div, "/"),
    "**=": (np.power, elementwise.pow, "**"),
    "@=": (np.matmul, linalg.matmul, "@"),
}


def augmented_assign(target: Node, symbol: str, other) -> Node:
    """``target <symbol> other`` (``symbol`` is ``"+="``, ``"-="``, ...): the tensor Python binds
    to the name afterwards, ``target`` itself when its values were updated.

    >>> from tinygrad_mnist import Tensor
    >>> p = Tensor([1.0, 2.0], requires_grad=True)
    >>> p.grad = Tensor([10.0, 10.0])
    >>> augmented_assign(p, "-=", p.grad * 0.1) is p, p
    (True, Tensor([0., 1.], dtype=float32, requires_grad=True))
    """
    ufunc, op, operator = AUGMENTED[symbol]
    other_requires_grad = isinstance(other, Node) and other.requires_grad
    recorded = is_grad_enabled() and (target.requires_grad or other_requires_grad)
    trainable_leaf = target.requires_grad and target._ctx is None
    if recorded and not trainable_leaf:
        return op(target, other)  # x = x + y, recorded; Python rebinds the name to the result
    if recorded and other_requires_grad:
        raise RuntimeError(
            f"x {symbol} y on a leaf tensor that requires grad, with a y that requires grad too: an in-place "
            f"update is not recorded; write x = x {operator} y to record it (a new tensor), or "
            f"x {symbol} y.detach() to change x's values"
        )
    ctx = target._ctx
    if ctx is not None and ctx.parents is not None:
        raise RuntimeError(
            f"x {symbol} y on a tensor computed by {ctx.name} whose graph is still alive (not differentiated "
            f"yet, or kept with retain_graph): its backward needs the values it computed; write "
            f"x = x {operator} y for a new tensor, or update x after backward()"
        )
    _replace_values(target, ufunc, symbol, operator, other.data if isinstance(other, Node) else other)
    return target


def _replace_values(target: Node, ufunc: np.ufunc, symbol: str, operator: str, value) -> None:
    data = target.data
    try:
        result = np.asanyarray(ufunc(data, value))
    except ValueError as error:
        raise ShapeError(
            f"x {symbol} y: x of shape {data.shape} and y of shape {np.shape(value)} do not fit together ({error})"
        ) from None
    if result.shape != data.shape:
        raise ShapeError(
            f"x {symbol} y: the result has shape {result.shape} but x has shape {data.shape}; an in-place update "
            f"keeps x's shape, so write x = x {operator} y for a new tensor"
        )
    if result.dtype != data.dtype:
        if not np.can_cast(result.dtype, data.dtype, casting="same_kind"):
            raise TypeError(
                f"x {symbol} y: x is {data.dtype} and the result is {result.dtype}; an in-place update keeps "
                f"x's dtype, so write x = x {operator} y for a new tensor (or convert x first, x = x.float())"
            )
        result = result.astype(data.dtype)
    target.data = result
