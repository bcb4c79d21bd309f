"""2-d convolution (``conv2d``): the window columns of ``ops.windows`` times the weight matrix."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..autograd.function import Function, ShapeError
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import Node
from .windows import Col2Im, Geometry, Im2Col, Pair, check_batch, from_columns, geometry, to_columns

# Column block of the products below: (rows of both operands) x 4096 float32 stay in cache. The
# product of a (6, 25) weight with 78,400 columns (LeNet's first layer, batch 100) took 0.33-0.34 ms
# this way against 0.59-0.69 ms as one call, its weight gradient (a 6 x 25 result of a 78,400-long
# sum) 0.38-0.39 ms against 1.48-1.53 ms, on one thread (benchmarks/conv_products.py); OpenBLAS
# streams such long, thin operands from memory once per output tile. LeNet's second layer gains
# nothing in its forward product (0.67-0.73 against 0.66-0.71 ms) and loses nothing.
_BLOCK = 4096


def _product(a: np.ndarray, b: np.ndarray, bias: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` (+ ``bias[:, None]``) for a short, wide ``b``, computed one block of columns at a time."""
    # empty_like of an operand, not np.empty: a jit recording sees the buffer made (ops/windows.py)
    dtype = np.result_type(a, b, *(() if bias is None else (bias,)))
    out = np.empty_like(b, shape=(a.shape[0], b.shape[1]), dtype=dtype, order="C")
    for start in range(0, b.shape[1], _BLOCK):
        block = out[:, start:start + _BLOCK]
        np.matmul(a, b[:, start:start + _BLOCK], out=block)
        if bias is not None:
            block += bias[:, None]  # while the block is in cache
    return out


def _product_summed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for two short, wide operands: a long sum, taken one block of columns at a time.

    Each block is multiplied as ``b_block @ a_block.T`` (the taller operand first), the orientation
    OpenBLAS runs faster for these shapes: LeNet's second layer (a 16 x 150 result of a 10,000-long
    sum) took 0.69-0.74 ms against 1.18-1.22 ms as one call ``a @ b.T``, on one thread
    (benchmarks/conv_products.py).
    """
    out = b[:, :_BLOCK] @ a[:, :_BLOCK].T
    for start in range(_BLOCK, a.shape[1], _BLOCK):
        out += b[:, start:start + _BLOCK] @ a[:, start:start + _BLOCK].T
    return out.T


def check_conv2d(owner, x_shape, weight_shape, bias_shape, g: Geometry) -> Pair:
    """Check the shapes of a convolution before any work; return (OH, OW). Errors name ``owner``.

    >>> check_conv2d("conv2d", (8, 1, 28, 28), (6, 1, 5, 5), (6,), geometry("conv2d", 5, 1, 2))
    (28, 28)
    """
    check_batch(owner, x_shape)
    if len(weight_shape) != 4:
        raise ShapeError(f"{owner}: the weight must have shape (out_channels, in_channels, KH, KW), got {tuple(weight_shape)}")
    if x_shape[1] != weight_shape[1]:
        raise ShapeError(
            f"{owner}: the input of shape {tuple(x_shape)} has {x_shape[1]} channel(s) but the weight of shape "
            f"{tuple(weight_shape)} expects {weight_shape[1]}"
        )
    if bias_shape is not None and tuple(bias_shape) != (weight_shape[0],):
        raise ShapeError(f"{owner}: the bias must have shape ({weight_shape[0]},), one per output channel, got {tuple(bias_shape)}")
    return g.output_size(owner, x_shape)


class Conv2d(Function):
    """Cross-correlation of a (N, C, H, W) batch with a (O, C, KH, KW) weight, plus an optional (O,)
    bias: the columns of every window times the (O, C*KH*KW) weight matrix.

    First order works batch-innermost (see ``to_columns``): the forward pass is one
    (O, C*KH*KW) @ (C*KH*KW, OH*OW*N) product, the weight's gradient one product with the saved
    columns and the input's one product followed by col2im. Under ``create_graph`` the same
    derivatives are written with the ``Im2Col``/``Col2Im`` ops and matmul, so they are differentiable
    again: the input's gradient is ``col2im(W^T @ g)``, the weight's ``sum_n g_n @ im2col(x)_n^T``.
    """

    def forward(self, x, weight, bias=None, *, geometry):
        out_size = check_conv2d("conv2d", x.shape, weight.shape, None if bias is None else bias.shape, geometry)
        self.geometry, self.out_size = geometry, out_size
        cols = to_columns(x, geometry, out_size)
        out = _product(weight.reshape(weight.shape[0], -1), cols, bias)
        if is_grad_enabled() and self.needs_input_grad[1]:
            self.cols = cols  # reused by a first-order backward
        return out.reshape(weight.shape[0], out_size[0], out_size[1], x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, grad, x, weight, *bias_and_out):
        need_x, need_weight = self.needs_input_grad[:2]
        has_bias = len(bias_and_out) == 2  # (bias, out) or just (out,)
        need_bias = has_bias and self.needs_input_grad[2]
        o = weight.shape[0]
        if isinstance(grad, Node):
            g = grad.reshape(grad.shape[0], o, -1)
            grad_x = Col2Im.apply(weight.reshape(o, -1).T @ g, shape=x.shape, geometry=self.geometry) if need_x else None
            grad_weight = None
            if need_weight:
                cols = Im2Col.apply(x, geometry=self.geometry)
                grad_weight = (g @ cols.swapaxes(-1, -2)).sum(axis=0).reshape(weight.shape)
            grad_bias = g.sum(axis=(0, 2)) if need_bias else None
        else:
            g = grad.transpose(1, 2, 3, 0).reshape(o, -1)  # (O, OH*OW*N): free when grad lies batch-innermost
            grad_x = None
            if need_x:
                cols = _product(weight.reshape(o, -1).T, g)
                grad_x = from_columns(cols, x.shape, self.geometry, self.out_size).transpose(3, 0, 1, 2)
            grad_weight = _product_summed(g, self.cols).reshape(weight.shape) if need_weight else None
            grad_bias = g.sum(axis=1) if need_bias else None
        return (grad_x, grad_weight, grad_bias) if has_bias else (grad_x, grad_weight)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Node:
    """2-d convolution (cross-correlation, as in PyTorch) of ``x`` (N, C, H, W) with ``weight``
    (O, C, KH, KW) and an optional ``bias`` (O,); stride, padding and dilation are ints or pairs.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor(np.ones((1, 1, 4, 4), dtype=np.float32))
    >>> w = Tensor(np.ones((2, 1, 3, 3), dtype=np.float32))
    >>> conv2d(x, w, padding=1).numpy()[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)
    """
    weight_shape = np.shape(weight.data if isinstance(weight, Node) else weight)
    if len(weight_shape) != 4:
        raise ShapeError(f"conv2d: the weight must have shape (out_channels, in_channels, KH, KW), got {weight_shape}")
    g = geometry("conv2d", weight_shape[2:], stride, padding, dilation)
    if bias is None:
        return Conv2d.apply(x, weight, geometry=g)
    return Conv2d.apply(x, weight, bias, geometry=g)
