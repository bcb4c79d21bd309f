"""Central-difference Jacobians in float64: the independent numeric side for the func tests.

(``tinygrad_mnist.testing.gradcheck`` checks the engine's own gradients; the transforms return
whole Jacobian blocks, which these helpers compute numerically, block for block.)
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from tinygrad_mnist import Tensor

EPS = 1e-6


def _flat_outputs(result) -> List[np.ndarray]:
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    return [np.asarray(o.data if isinstance(o, Tensor) else o, dtype=np.float64) for o in outputs]


def numeric_jacobians(f: Callable, args: Sequence[np.ndarray], argnum: int, eps: float = EPS) -> List[np.ndarray]:
    """One block per output of ``f`` (Tensors in, Tensor or tuple of Tensors out): d out / d args[argnum],
    of shape ``output shape + argument shape``, by central differences on float64 copies."""
    base = [np.array(a, dtype=np.float64) for a in args]

    def evaluate(x):
        # np.asarray: a 0-d sum is a NumPy scalar, which Tensor() would make float32.
        call = [Tensor(np.asarray(x if i == argnum else a)) for i, a in enumerate(base)]
        return _flat_outputs(f(*call))

    x0 = base[argnum]
    outs = evaluate(x0)
    blocks = [np.zeros(o.shape + x0.shape) for o in outs]
    for index in np.ndindex(*x0.shape):
        step = np.zeros_like(x0)
        step[index] = eps
        plus, minus = evaluate(x0 + step), evaluate(x0 - step)
        for block, p, m in zip(blocks, plus, minus):
            block[(Ellipsis,) + index] = (p - m) / (2 * eps)
    return blocks


def numeric_gradient(f: Callable, args: Sequence[np.ndarray], argnum: int, eps: float = EPS) -> np.ndarray:
    """The gradient of a scalar ``f`` with respect to ``args[argnum]``, by central differences."""
    (block,) = numeric_jacobians(f, args, argnum, eps)
    return block.reshape(np.shape(args[argnum]))
