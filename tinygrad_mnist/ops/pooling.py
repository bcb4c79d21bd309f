"""Max and average pooling (``max_pool2d``, ``avg_pool2d``) over the windows of ``ops.windows``."""
from __future__ import annotations

import functools
import operator

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import Node
from ..errors import ConfigError
from .windows import Col2Im, Geometry, Pair, batch_last, check_batch, geometry

def pool_geometry(owner: str, kernel_size, stride, padding) -> Geometry:
    """``geometry`` for pooling: padding at most half the kernel, so every window holds a real pixel.

    >>> pool_geometry("MaxPool2d", 3, 1, 1).padding
    (1, 1)
    """
    g = geometry(owner, kernel_size, stride, padding)
    if any(2 * p > k for p, k in zip(g.padding, g.kernel)):
        raise ConfigError(f"{owner}: padding {g.padding} must be at most half the kernel size {g.kernel}")
    return g


def check_pool2d(owner, x_shape, g: Geometry) -> Pair:
    """Check a pooling input before any work; return (OH, OW). Errors name ``owner``.

    >>> check_pool2d("max_pool2d", (8, 6, 28, 28), pool_geometry("max_pool2d", 2, None, 0))
    (14, 14)
    """
    check_batch(owner, x_shape)
    return g.output_size(owner, x_shape)


def _window_views(x: np.ndarray, g: Geometry, out_size: Pair, fill: float):
    """One strided (N, C, OH, OW) view per kernel offset: element [n, c, i, j] of view k is the k-th
    element (row-major) of window (i, j)."""
    padded = batch_last(x, g.padding, fill).transpose(3, 0, 1, 2)
    return [padded[:, :, rows, columns] for rows, columns in g.offsets(out_size)]


def _spread_back(grad: np.ndarray, factors, shape, g: Geometry, out_size: Pair) -> np.ndarray:
    """A first-order pooling gradient: ``grad`` (N, C, OH, OW) times the k-th of ``factors`` (a mask
    or a number) added onto the input pixels that kernel offset k read; col2im without the columns."""
    n, c, h, w = shape
    (ph, pw), span = g.padding, g.span()
    # zeros_like of the gradient, not np.zeros: a jit recording sees the buffer made (ops/windows.py)
    padded = np.zeros_like(grad, shape=(c, h + 2 * ph, w + 2 * pw, n), order="C").transpose(3, 0, 1, 2)
    disjoint = g.stride[0] >= span[0] and g.stride[1] >= span[1]  # no pixel is in two windows
    for (rows, columns), factor in zip(g.offsets(out_size), factors):
        if disjoint:  # written in place: no temporary
            np.multiply(grad, factor, out=padded[:, :, rows, columns])
        else:
            padded[:, :, rows, columns] += grad * factor
    return padded[:, :, ph:ph + h, pw:pw + w]


class MaxPool2d(Function):
    """The largest value of each window (padding counts as -inf, so it is never picked).

    Ties: the whole gradient of a window goes to its FIRST largest element in row-major window order
    (as ``argmax`` and PyTorch pick it), not split evenly as ``Tensor.max`` does. Both are valid
    sub-gradients; this one costs one comparison per kernel offset, matches PyTorch, and the common
    tie (a window of zeros after a ReLU) then sends gradient to one dead unit instead of several.
    """

    def forward(self, x, geometry):
        out_size = check_pool2d("max_pool2d", x.shape, geometry)
        self.geometry, self.out_size = geometry, out_size
        views = _window_views(x, geometry, out_size, -np.inf)
        # (a 1x1 kernel has one view, of the input's memory: the output must be an array of its own)
        out = functools.reduce(np.maximum, views) if len(views) > 1 else views[0].copy(order="K")
        if is_grad_enabled() and self.needs_input_grad[0]:
            # For each kernel offset, where it holds its window's first maximum (a one-hot over offsets).
            taken = np.equal(views[0], out)
            self.first = [taken.copy(order="K")]
            for view in views[1:]:
                hit = np.equal(view, out)
                hit &= ~taken
                taken |= hit
                self.first.append(hit)
        return out

    def backward(self, grad, x, out):
        if isinstance(grad, Node):
            n, c, oh, ow = grad.shape
            spread = np.stack(self.first, axis=2) * grad.reshape(n, c, 1, oh, ow)
            return (Col2Im.apply(spread.reshape(n, -1, oh * ow), shape=x.shape, geometry=self.geometry),)
        return (_spread_back(grad, self.first, x.shape, self.geometry, self.out_size),)


class AvgPool2d(Function):
    """The mean of each window; zero padding counts in the mean (PyTorch's ``count_include_pad=True``)."""

    def forward(self, x, geometry):
        out_size = check_pool2d("avg_pool2d", x.shape, geometry)
        self.geometry, self.out_size = geometry, out_size
        views = _window_views(x, geometry, out_size, 0.0)
        return functools.reduce(operator.add, views) * (1.0 / len(views))  # a Python float keeps float32

    def backward(self, grad, x, out):
        count = self.geometry.kernel[0] * self.geometry.kernel[1]
        if isinstance(grad, Node):
            n, c, oh, ow = grad.shape
            spread = (grad * (1.0 / count)).reshape(n, c, 1, oh * ow).broadcast_to((n, c, count, oh * ow))
            return (Col2Im.apply(spread.reshape(n, c * count, oh * ow), shape=x.shape, geometry=self.geometry),)
        return (_spread_back(grad, [1.0 / count] * count, x.shape, self.geometry, self.out_size),)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Node:
    """The maximum of each window (stride defaults to the kernel size); a tied window gives its whole
    gradient to its first maximum in row-major order, as PyTorch does.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> max_pool2d(x, 2).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return MaxPool2d.apply(x, geometry=pool_geometry("max_pool2d", kernel_size, stride, padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Node:
    """The mean of each window (stride defaults to the kernel size; zero padding counts in the mean).

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> avg_pool2d(x, 2).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return AvgPool2d.apply(x, geometry=pool_geometry("avg_pool2d", kernel_size, stride, padding))
