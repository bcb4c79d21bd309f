"""Sliding-window ops on NCHW batches: im2col and its adjoint col2im, 2-d convolution, max and
average pooling.

Every window op rests on one layout. ``im2col`` copies each window of a (N, C, H, W) batch into a
column: the result has shape (N, C*KH*KW, OH*OW), rows ordered (channel, kernel row, kernel column)
and columns (output row, output column). A convolution is then one matrix product per image,
``weight.reshape(O, C*KH*KW) @ columns``, whose (N, O, OH*OW) result is already NCHW. ``col2im`` is
the adjoint (transpose) of ``im2col``: it adds every column entry back onto the input pixel it came
from. Each is the other's backward rule, so convolutions and pooling are differentiable to any order.

The copies use strided views (``as_strided`` for im2col, one strided slice per kernel offset for
col2im and pooling), never a Python loop over pixels or images: loops run over the KH*KW kernel
offsets only, each step a whole-batch NumPy operation.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function, ShapeError
from ..autograd.grad_mode import _state
from ..errors import ConfigError
from ..tensor import Tensor

Pair = Tuple[int, int]


def pair(owner: str, name: str, value, minimum: int) -> Pair:
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a pair; errors name ``owner``.

    >>> pair("conv2d", "stride", 2, 1), pair("conv2d", "padding", (1, 0), 0)
    ((2, 2), (1, 0))
    """
    values = (value, value) if isinstance(value, (int, np.integer)) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise ConfigError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if min(values) < minimum:
        bound = "positive" if minimum == 1 else f">= {minimum}"
        raise ConfigError(f"{owner}: {name} must be {bound}, got {value!r}")
    return int(values[0]), int(values[1])


class Geometry(NamedTuple):
    """Where the windows of a sliding-window op sit: kernel size, stride, zero padding and dilation,
    each a (rows, columns) pair.

    >>> g = Geometry((3, 3), (2, 2), (1, 1), (1, 1))
    >>> g.output_size("conv2d", (8, 1, 28, 28))
    (14, 14)
    """

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair

    def span(self) -> Pair:
        """The extent of one window on the input, dilation included."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def output_size(self, owner: str, shape: Tuple[int, ...]) -> Pair:
        """(OH, OW) for an input of ``shape`` (N, C, H, W); a window larger than the padded input is
        an error naming ``owner`` and the shapes."""
        padded = tuple(size + 2 * p for size, p in zip(shape[2:], self.padding))
        span = self.span()
        if span[0] > padded[0] or span[1] > padded[1]:
            dilated = f" (dilation {self.dilation} makes it span {span})" if self.dilation != (1, 1) else ""
            raise ShapeError(
                f"{owner}: the {self.kernel[0]}x{self.kernel[1]} kernel{dilated} is larger than the padded input "
                f"{padded[0]}x{padded[1]} (input of shape {tuple(shape)}, padding {self.padding}); "
                "use a smaller kernel or more padding"
            )
        return tuple((p - s) // st + 1 for p, s, st in zip(padded, span, self.stride))

    def offsets(self, out_size: Pair):
        """For each kernel offset (row-major), the (rows, columns) slices of the padded input that it
        reads across all windows."""
        (oh, ow), (sh, sw), (dh, dw) = out_size, self.stride, self.dilation
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def geometry(owner: str, kernel_size, stride, padding, dilation=1) -> Geometry:
    """Check and normalise window arguments (ints or pairs); ``stride=None`` means the kernel size.

    >>> geometry("max_pool2d", 2, None, 0)
    Geometry(kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1))
    """
    kernel = pair(owner, "kernel_size", kernel_size, 1)
    return Geometry(
        kernel,
        kernel if stride is None else pair(owner, "stride", stride, 1),
        pair(owner, "padding", padding, 0),
        pair(owner, "dilation", dilation, 1),
    )


def _check_batch(owner: str, shape: Tuple[int, ...], what: str = "input") -> None:
    if len(shape) != 4:
        hint = ""
        if len(shape) == 3:
            hint = "; a single image needs a batch axis: x.unsqueeze(0)"
        elif len(shape) == 2:
            hint = "; flat images need reshaping first, e.g. x.reshape(-1, 1, 28, 28) for MNIST"
        raise ShapeError(f"{owner}: the {what} must be a 4-d (N, C, H, W) batch, got shape {tuple(shape)}{hint}")


def _batch_last(x: np.ndarray, padding: Pair, fill: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) as a (C, H + 2 ph, W + 2 pw, N) array whose batch axis is innermost in memory,
    padded with ``fill``. A view when ``x`` already lies that way in memory and needs no padding."""
    moved = x.transpose(1, 2, 3, 0)
    ph, pw = padding
    if ph == 0 and pw == 0 and moved.flags.c_contiguous:
        return moved
    c, h, w, n = moved.shape
    out = np.full((c, h + 2 * ph, w + 2 * pw, n), fill, dtype=x.dtype)
    out[:, ph:ph + h, pw:pw + w] = moved
    return out


def _to_columns(x: np.ndarray, g: Geometry, out_size: Pair) -> np.ndarray:
    """The windows of ``x`` as a fresh (C*KH*KW, OH*OW*N) array: im2col with the batch innermost.

    With the batch as the innermost axis, every copy below runs over whole (OW, N) rows of contiguous
    memory, and a convolution is ONE matrix product over the whole batch instead of one per image.
    Its result then also lies batch-innermost, and so do the activations and pooling computed from it
    (NumPy keeps the memory order of its inputs): the next convolution finds its input ready.
    """
    padded = _batch_last(x, g.padding)
    sc, sh, sw, sn = padded.strides
    (kh, kw), (dh, dw), (th, tw), (oh, ow) = g.kernel, g.dilation, g.stride, out_size
    c, n = padded.shape[0], padded.shape[3]
    windows = as_strided(padded, (c, kh, kw, oh, ow, n), (sc, dh * sh, dw * sw, th * sh, tw * sw, sn), writeable=False)
    return windows.reshape(c * kh * kw, oh * ow * n)


def _from_columns(cols: np.ndarray, shape: Tuple[int, ...], g: Geometry, out_size: Pair) -> np.ndarray:
    """The adjoint of ``_to_columns``: (C*KH*KW, OH*OW*N) columns added back onto a (C, H, W, N) batch."""
    n, c, h, w = shape
    (kh, kw), (ph, pw), (oh, ow) = g.kernel, g.padding, out_size
    blocks = cols.reshape(c, kh, kw, oh, ow, n)
    if g.stride == g.kernel and g.dilation == (1, 1) and (ph, pw) == (0, 0) and (h, w) == (oh * kh, ow * kw):
        # Windows that tile the image exactly (pooling's usual case): a permutation of the entries.
        return blocks.transpose(0, 3, 1, 4, 2, 5).reshape(c, h, w, n)
    padded = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    by_offset = blocks.reshape(c, kh * kw, oh, ow, n)
    for k, (rows, columns) in enumerate(g.offsets(out_size)):
        padded[:, rows, columns] += by_offset[:, k]
    return padded[:, ph:ph + h, pw:pw + w]


# Column block of the products below: (rows of both operands) x 4096 float32 stay within L2. The
# product of a (6, 25) weight with 78,400 columns (LeNet's first layer, batch 100) runs in 0.39 ms
# this way and 0.74 ms as one call, and its weight gradient (a 6 x 25 result over a 78,400-long sum)
# in 0.36 ms instead of 1.54 ms: OpenBLAS streams such long, thin operands from memory once per
# output tile (benchmarks/conv_products.py measures it).
_BLOCK = 4096


def _product(a: np.ndarray, b: np.ndarray, bias: Optional[np.ndarray] = None) -> np.ndarray:
    """``a @ b`` (+ ``bias[:, None]``) for a short, wide ``b``, computed one block of columns at a time."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b, *(() if bias is None else (bias,))))
    for start in range(0, b.shape[1], _BLOCK):
        block = out[:, start:start + _BLOCK]
        np.matmul(a, b[:, start:start + _BLOCK], out=block)
        if bias is not None:
            block += bias[:, None]  # while the block is in cache
    return out


def _product_summed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for two short, wide operands: a long sum, taken one block of columns at a time.

    Each block is multiplied as ``b_block @ a_block.T`` (the taller operand first), the orientation
    OpenBLAS runs faster for these shapes: 0.74 instead of 1.3 ms for LeNet's second layer (16 x 150
    result, 10,000-long sum) on one thread.
    """
    out = b[:, :_BLOCK] @ a[:, :_BLOCK].T
    for start in range(_BLOCK, a.shape[1], _BLOCK):
        out += b[:, start:start + _BLOCK] @ a[:, start:start + _BLOCK].T
    return out.T


# ---- on ndarrays ----------------------------------------------------------------------------------
def im2col_array(x: np.ndarray, g: Geometry) -> np.ndarray:
    """The windows of ``x`` (N, C, H, W) as columns of shape (N, C*KH*KW, OH*OW) (a view of memory laid
    out batch-innermost).

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col_array(x, geometry("", 2, 1, 0))[0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    out_size = g.output_size("im2col", x.shape)
    cols = _to_columns(x, g, out_size)
    return cols.reshape(cols.shape[0], -1, x.shape[0]).transpose(2, 0, 1)


def col2im_array(cols: np.ndarray, shape: Tuple[int, ...], g: Geometry) -> np.ndarray:
    """The adjoint of ``im2col_array``: zeros of ``shape`` (N, C, H, W) with every column entry added
    onto the pixel its window read.

    >>> cols = np.ones((1, 4, 4))  # a 2x2 kernel over a 3x3 image: the middle pixel is in 4 windows
    >>> col2im_array(cols, (1, 1, 3, 3), geometry("", 2, 1, 0))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    out_size = g.output_size("col2im", shape)
    moved = cols.transpose(1, 2, 0).reshape(cols.shape[1], -1)
    return _from_columns(moved, shape, g, out_size).transpose(3, 0, 1, 2)


def _im2col(x, g: Geometry):
    return Im2Col.apply(x, geometry=g) if isinstance(x, Tensor) else im2col_array(x, g)


def _col2im(cols, shape, g: Geometry):
    return Col2Im.apply(cols, shape=tuple(shape), geometry=g) if isinstance(cols, Tensor) else col2im_array(cols, shape, g)


# ---- the ops --------------------------------------------------------------------------------------
class Im2Col(Function):
    def forward(self, x, geometry):
        _check_batch("im2col", x.shape)
        self.geometry = geometry
        return im2col_array(x, geometry)

    def backward(self, grad, x, out):
        return (_col2im(grad, x.shape, self.geometry),)


class Col2Im(Function):
    def forward(self, cols, shape, geometry):
        _check_batch("col2im", shape, "target shape")
        out_size = geometry.output_size("col2im", shape)
        expected = (shape[0], shape[1] * geometry.kernel[0] * geometry.kernel[1], out_size[0] * out_size[1])
        if cols.shape != expected:
            raise ShapeError(f"col2im: columns of shape {cols.shape} do not fit the target {shape}; expected {expected}")
        self.geometry = geometry
        return col2im_array(cols, shape, geometry)

    def backward(self, grad, cols, out):
        return (_im2col(grad, self.geometry),)


def check_conv2d(owner: str, x_shape, weight_shape, bias_shape, g: Geometry) -> Pair:
    """Check the shapes of a convolution before any work; return (OH, OW). Errors name ``owner``.

    >>> check_conv2d("conv2d", (8, 1, 28, 28), (6, 1, 5, 5), (6,), geometry("conv2d", 5, 1, 2))
    (28, 28)
    """
    _check_batch(owner, x_shape)
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

    First order works batch-innermost (see ``_to_columns``): the forward pass is one
    (O, C*KH*KW) @ (C*KH*KW, OH*OW*N) product, the weight's gradient one product with the saved
    columns and the input's one product followed by col2im. Under ``create_graph`` the same
    derivatives are written with the ``Im2Col``/``Col2Im`` ops and matmul, so they are differentiable
    again: the input's gradient is ``col2im(W^T @ g)``, the weight's ``sum_n g_n @ im2col(x)_n^T``.
    """

    def forward(self, x, weight, bias=None, *, geometry):
        out_size = check_conv2d("conv2d", x.shape, weight.shape, None if bias is None else bias.shape, geometry)
        self.geometry, self.out_size = geometry, out_size
        cols = _to_columns(x, geometry, out_size)
        out = _product(weight.reshape(weight.shape[0], -1), cols, bias)
        if _state["enabled"] and self.needs_input_grad[1]:
            self.cols = cols  # reused by a first-order backward
        return out.reshape(weight.shape[0], out_size[0], out_size[1], x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, grad, x, weight, *bias_and_out):
        need_x, need_weight = self.needs_input_grad[:2]
        has_bias = len(bias_and_out) == 2  # (bias, out) or just (out,)
        need_bias = has_bias and self.needs_input_grad[2]
        o = weight.shape[0]
        if isinstance(grad, Tensor):
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
                grad_x = _from_columns(cols, x.shape, self.geometry, self.out_size).transpose(3, 0, 1, 2)
            grad_weight = _product_summed(g, self.cols).reshape(weight.shape) if need_weight else None
            grad_bias = g.sum(axis=1) if need_bias else None
        return (grad_x, grad_weight, grad_bias) if has_bias else (grad_x, grad_weight)


def pool_geometry(owner: str, kernel_size, stride, padding) -> Geometry:
    """``geometry`` for pooling: padding at most half the kernel, so every window holds a real pixel.

    >>> pool_geometry("MaxPool2d", 3, 1, 1).padding
    (1, 1)
    """
    g = geometry(owner, kernel_size, stride, padding)
    if any(2 * p > k for p, k in zip(g.padding, g.kernel)):
        raise ConfigError(f"{owner}: padding {g.padding} must be at most half the kernel size {g.kernel}")
    return g


def check_pool2d(owner: str, x_shape, g: Geometry) -> Pair:
    """Check a pooling input before any work; return (OH, OW). Errors name ``owner``.

    >>> check_pool2d("max_pool2d", (8, 6, 28, 28), pool_geometry("max_pool2d", 2, None, 0))
    (14, 14)
    """
    _check_batch(owner, x_shape)
    return g.output_size(owner, x_shape)


def _window_views(x: np.ndarray, g: Geometry, out_size: Pair, fill: float):
    """One strided (N, C, OH, OW) view per kernel offset: element [n, c, i, j] of view k is the k-th
    element (row-major) of window (i, j)."""
    padded = _batch_last(x, g.padding, fill).transpose(3, 0, 1, 2)
    return [padded[:, :, rows, columns] for rows, columns in g.offsets(out_size)]


def _spread_back(grad: np.ndarray, factors, shape, g: Geometry, out_size: Pair) -> np.ndarray:
    """A first-order pooling gradient: ``grad`` (N, C, OH, OW) times the k-th of ``factors`` (a mask
    or a number) added onto the input pixels that kernel offset k read; col2im without the columns."""
    n, c, h, w = shape
    (ph, pw), span = g.padding, g.span()
    padded = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=grad.dtype).transpose(3, 0, 1, 2)
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
        out = views[0].copy(order="K")
        for view in views[1:]:
            np.maximum(out, view, out=out)
        if _state["enabled"] and self.needs_input_grad[0]:
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
        if isinstance(grad, Tensor):
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
        out = views[0].copy(order="K")
        for view in views[1:]:
            out += view
        out *= 1.0 / len(views)  # a Python float keeps float32 float32
        return out

    def backward(self, grad, x, out):
        count = self.geometry.kernel[0] * self.geometry.kernel[1]
        if isinstance(grad, Tensor):
            n, c, oh, ow = grad.shape
            spread = (grad * (1.0 / count)).reshape(n, c, 1, oh * ow).broadcast_to((n, c, count, oh * ow))
            return (Col2Im.apply(spread.reshape(n, c * count, oh * ow), shape=x.shape, geometry=self.geometry),)
        return (_spread_back(grad, [1.0 / count] * count, x.shape, self.geometry, self.out_size),)


# ---- functional forms -----------------------------------------------------------------------------
def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """The windows of a (N, C, H, W) batch as columns of shape (N, C*KH*KW, OH*OW), differentiably.

    >>> im2col(Tensor(np.zeros((2, 3, 5, 5))), 3).shape
    (2, 27, 9)
    """
    return Im2Col.apply(x, geometry=geometry("im2col", kernel_size, stride, padding, dilation))


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """The adjoint of ``im2col``: add columns (N, C*KH*KW, L) back onto a batch of shape ``output_size``.

    >>> col2im(Tensor(np.ones((1, 4, 4))), (1, 1, 3, 3), 2).numpy()[0, 0, 1]
    array([2., 4., 2.])
    """
    return Col2Im.apply(cols, shape=tuple(output_size), geometry=geometry("col2im", kernel_size, stride, padding, dilation))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-d convolution (cross-correlation, as in PyTorch) of ``x`` (N, C, H, W) with ``weight``
    (O, C, KH, KW) and an optional ``bias`` (O,); stride, padding and dilation are ints or pairs.

    >>> x = Tensor(np.ones((1, 1, 4, 4), dtype=np.float32))
    >>> w = Tensor(np.ones((2, 1, 3, 3), dtype=np.float32))
    >>> conv2d(x, w, padding=1).numpy()[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)
    """
    weight_shape = np.shape(weight.data if isinstance(weight, Tensor) else weight)
    if len(weight_shape) != 4:
        raise ShapeError(f"conv2d: the weight must have shape (out_channels, in_channels, KH, KW), got {weight_shape}")
    g = geometry("conv2d", weight_shape[2:], stride, padding, dilation)
    if bias is None:
        return Conv2d.apply(x, weight, geometry=g)
    return Conv2d.apply(x, weight, bias, geometry=g)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """The maximum of each window (stride defaults to the kernel size); a tied window gives its whole
    gradient to its first maximum in row-major order, as PyTorch does.

    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> max_pool2d(x, 2).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return MaxPool2d.apply(x, geometry=pool_geometry("max_pool2d", kernel_size, stride, padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """The mean of each window (stride defaults to the kernel size; zero padding counts in the mean).

    >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> avg_pool2d(x, 2).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return AvgPool2d.apply(x, geometry=pool_geometry("avg_pool2d", kernel_size, stride, padding))
