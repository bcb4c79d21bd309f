"""Matrix multiplication for 1-D, 2-D and batched operands (batch dimensions broadcast), and the
affine map ``x @ weight + bias`` of a Linear layer as one op."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function, ShapeError
from ..autograd.node import Node


class MatMul(Function):
    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}; use * for scalars")
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if a.shape[-1] != inner_b:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned ({a.shape[-1]} != {inner_b})")
        return a @ b

    def backward(self, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the Linear layer's case, kept free of the general bookkeeping
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        # Treat 1-D operands as a row (a) or a column (b) matrix, as matmul itself does.
        a2 = a if a.ndim > 1 else a.reshape(1, -1)
        b2 = b if b.ndim > 1 else b.reshape(-1, 1)
        shape = tuple(out.shape)
        if b.ndim == 1:
            shape = shape + (1,)
        if a.ndim == 1:
            shape = shape[:-1] + (1,) + shape[-1:]
        g2 = grad.reshape(shape) if shape != tuple(grad.shape) else grad
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + (a.shape[0],))
        if need_b:
            grad_b = a2.swapaxes(-1, -2) @ g2
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-2] + (b.shape[0],))
        return grad_a, grad_b


def matmul(a, b) -> Node:
    """Matrix product ``a @ b`` with NumPy's rules for 1-D and batched operands.

    >>> from tinygrad_mnist import Tensor
    >>> matmul(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)))).shape
    (2, 4)
    """
    return MatMul.apply(a, b)


class Linear(Function):
    """``x @ weight + bias`` for x of shape (..., in), weight (in, out) and bias (out,).

    One matmul, then one broadcast add of the bias: the same arithmetic as MatMul followed by Add,
    without the second graph node. (A jitted step adds the bias into the product's own buffer.)
    The bias is added to every row by definition of the op, so its gradient is the row sum of the
    output's: part of this op's derivative, not NumPy broadcasting for the engine to undo.
    """

    def forward(self, x, weight, bias):
        if weight.ndim != 2 or bias.shape != weight.shape[1:] or x.ndim == 0 or x.shape[-1] != weight.shape[0]:
            raise ShapeError(
                f"linear: input of shape {x.shape}, weight {weight.shape} and bias {bias.shape} do not fit; "
                "they need (..., in), (in, out) and (out,)"
            )
        return x @ weight + bias

    def backward(self, grad, x, weight, bias, out):
        need_x, need_weight, need_bias = self.needs_input_grad
        grad_x = grad @ weight.T if need_x else None
        if x.ndim != 2:  # fold every leading axis (or none, for a vector) into the rows
            x = x.reshape(-1, weight.shape[0])
            grad = grad.reshape(-1, weight.shape[1])
        grad_weight = x.T @ grad if need_weight else None
        return grad_x, grad_weight, (grad.sum(axis=0) if need_bias else None)


def linear(x, weight, bias=None) -> Node:
    """``x @ weight + bias`` (the bias optional) for x (..., in), weight (in, out) and bias (out,).

    >>> from tinygrad_mnist import Tensor
    >>> x, w, b = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4))), Tensor(np.arange(4.0))
    >>> linear(x, w, b).numpy()
    array([[3., 4., 5., 6.],
           [3., 4., 5., 6.]])
    """
    if bias is None:
        return MatMul.apply(x, weight)
    return Linear.apply(x, weight, bias)
