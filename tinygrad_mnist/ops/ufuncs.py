"""What a NumPy ufunc does when it meets a Tensor (``Tensor.__array_ufunc__``).

Three cases:

* an operator with an ndarray or NumPy scalar on the left (``array - tensor``, ``array @ tensor``,
  ``array < tensor``): the Tensor's op, recorded for gradients, as the reflected operator would be;
* an ndarray output (``p.data -= lr * p.grad``, ``np.add(a, t, out=a)``): the ndarray receives the
  tensor's values, and nothing is recorded (``.data`` is the raw array, outside the graph);
* anything else (``np.exp(t)``, ``np.add.reduce(t)``): an error saying to use the Tensor's own ops,
  or to apply NumPy to ``t.numpy()``. Without it NumPy would report only that the operand "does not
  support ufuncs".
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from ..autograd.node import Node
from . import compare, elementwise, linalg

#: The ufuncs behind Python's operators, and the op each becomes when a Tensor is among its operands.
OPERATORS = {
    np.add: elementwise.add,
    np.subtract: elementwise.sub,
    np.multiply: elementwise.mul,
    np.true_divide: elementwise.div,
    np.power: elementwise.pow,
    np.matmul: linalg.matmul,
    np.negative: elementwise.neg,
    np.absolute: elementwise.abs,
    np.less: compare.less,
    np.less_equal: compare.less_equal,
    np.greater: compare.greater,
    np.greater_equal: compare.greater_equal,
    np.equal: compare.equal,
    np.not_equal: compare.not_equal,
}


def array_ufunc(ufunc: np.ufunc, method: str, inputs: Tuple, kwargs: Dict[str, Any]):
    """The result of ``ufunc`` (called as ``method``) on ``inputs`` of which at least one is a Tensor.

    >>> from tinygrad_mnist import Tensor
    >>> array_ufunc(np.subtract, "__call__", (np.ones(2, dtype=np.float32), Tensor([1.0, 2.0])), {})
    Tensor([ 0., -1.], dtype=float32)
    >>> weights = np.ones(2, dtype=np.float32)
    >>> weights -= Tensor([0.5, 0.25])
    >>> weights
    array([0.5 , 0.75], dtype=float32)
    """
    name = ufunc.__name__
    out = kwargs.get("out")
    if method == "__call__" and out is not None:
        if any(isinstance(o, Node) for o in out):
            raise TypeError(
                f"np.{name}(..., out=<Tensor>): a Tensor cannot be NumPy's output; update it with an augmented "
                f"assignment (t += ..., t -= ...) or write into its array, t.data"
            )
        # Values into a plain array: ``.data`` is outside the graph, so nothing is recorded.
        return ufunc(*[x.data if isinstance(x, Node) else x for x in inputs], **kwargs)
    if method == "__call__" and not kwargs and ufunc in OPERATORS:
        return OPERATORS[ufunc](*inputs)
    raise TypeError(
        f"np.{name}{'' if method == '__call__' else '.' + method}() got a Tensor: use the Tensor's own "
        f"methods and operators (recorded for gradients), or apply NumPy to the values, np.{name}(t.numpy())"
    )
