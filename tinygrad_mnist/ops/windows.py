"""The windows of sliding-window ops on NCHW batches: their geometry, and im2col with its adjoint col2im.

``im2col`` copies each window of a (N, C, H, W) batch into a column: the result has shape
(N, C*KH*KW, OH*OW), rows ordered (channel, kernel row, kernel column) and columns (output row,
output column). A convolution is then the product of the (O, C*KH*KW) weight matrix with the columns
(``ops.conv``); pooling reduces them per channel (``ops.pooling``). ``col2im`` is the adjoint
(transpose) of ``im2col``: it adds every column entry back onto the input pixel it came from. Each is
the other's backward rule, so the window ops are differentiable to any order.

The copies use strided views (``sliding_window_view`` for im2col, one strided slice per kernel offset
for col2im and pooling), never a Python loop over pixels or images: loops run over the KH*KW kernel
offsets only, each step a whole-batch NumPy operation. Internally the batch is the innermost
(contiguous) axis (see ``to_columns``).

Every array here is made by a NumPy function that is told about its operand (``np.zeros_like(x,
shape=...)`` rather than ``np.zeros(shape)``, ``sliding_window_view`` rather than ``as_strided``):
while a jitted step is recorded, NumPy then hands these calls to the recording (``capture/traced.py``),
which would otherwise see a buffer appear from nowhere and the step could not be replayed.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd.node import Node
from ..autograd.function import Function, ShapeError
from ..errors import ConfigError

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

    def output_size(self, owner, shape: Tuple[int, ...]) -> Pair:
        """(OH, OW) for an input of ``shape`` (N, C, H, W); a window larger than the padded input is
        an error naming ``owner`` (a name, or anything whose ``str`` names it) and the shapes."""
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


def check_batch(owner, shape: Tuple[int, ...], what: str = "input") -> None:
    """A 4-d (N, C, H, W) ``shape``, or a ShapeError naming ``owner`` with a hint for the usual mistakes.

    >>> check_batch("conv2d", (28, 28))
    Traceback (most recent call last):
    ...
    tinygrad_mnist.autograd.function.ShapeError: conv2d: the input must be a 4-d (N, C, H, W) batch, got shape (28, 28); flat images need reshaping first, e.g. x.reshape(-1, 1, 28, 28) for MNIST
    """
    if len(shape) != 4:
        hint = ""
        if len(shape) == 3:
            hint = "; a single image needs a batch axis: x.unsqueeze(0)"
        elif len(shape) == 2:
            hint = "; flat images need reshaping first, e.g. x.reshape(-1, 1, 28, 28) for MNIST"
        raise ShapeError(f"{owner}: the {what} must be a 4-d (N, C, H, W) batch, got shape {tuple(shape)}{hint}")


def batch_last(x: np.ndarray, padding: Pair, fill: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) as a (C, H + 2 ph, W + 2 pw, N) array whose batch axis is innermost in memory,
    padded with ``fill``. A view when ``x`` already lies that way in memory and needs no padding.

    >>> batch_last(np.zeros((8, 3, 5, 5)), (1, 1)).shape
    (3, 7, 7, 8)
    """
    moved = x.transpose(1, 2, 3, 0)
    ph, pw = padding
    if ph == 0 and pw == 0 and moved.flags.c_contiguous:
        return moved
    c, h, w, n = moved.shape
    out = np.full_like(x, fill, shape=(c, h + 2 * ph, w + 2 * pw, n), order="C")
    out[:, ph:ph + h, pw:pw + w] = moved
    return out


def to_columns(x: np.ndarray, g: Geometry, out_size: Pair) -> np.ndarray:
    """The windows of ``x`` as a fresh (C*KH*KW, OH*OW*N) array: im2col with the batch innermost.

    With the batch as the innermost axis, every copy below runs over whole (OW, N) rows of contiguous
    memory, and a convolution is ONE matrix product over the whole batch instead of one per image.
    Its result then also lies batch-innermost, and so do the activations and pooling computed from it
    (NumPy keeps the memory order of its inputs): the next convolution finds its input ready.

    >>> to_columns(np.zeros((8, 3, 5, 5)), geometry("", 3, 1, 0), (3, 3)).shape  # (3*3*3, 3*3*8)
    (27, 72)
    """
    padded = batch_last(x, g.padding)
    (kh, kw), (dh, dw), (th, tw) = g.kernel, g.dilation, g.stride
    # (C, rows, columns, N, span rows, span columns): every span-sized window at every position;
    # the strides pick the windows of the geometry and the dilated kernel taps inside each.
    every = sliding_window_view(padded, g.span(), axis=(1, 2))
    windows = every[:, ::th, ::tw, :, ::dh, ::dw].transpose(0, 4, 5, 1, 2, 3)  # (C, KH, KW, OH, OW, N)
    return windows.reshape(padded.shape[0] * kh * kw, out_size[0] * out_size[1] * padded.shape[3])


def from_columns(cols: np.ndarray, shape: Tuple[int, ...], g: Geometry, out_size: Pair) -> np.ndarray:
    """The adjoint of ``to_columns``: (C*KH*KW, OH*OW*N) columns added back onto a (C, H, W, N) batch.

    >>> from_columns(np.ones((4, 4)), (1, 1, 3, 3), geometry("", 2, 1, 0), (2, 2))[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    n, c, h, w = shape
    (kh, kw), (ph, pw), (oh, ow) = g.kernel, g.padding, out_size
    blocks = cols.reshape(c, kh, kw, oh, ow, n)
    if g.stride == g.kernel and g.dilation == (1, 1) and (ph, pw) == (0, 0) and (h, w) == (oh * kh, ow * kw):
        # Windows that tile the image exactly (pooling's usual case): a permutation of the entries.
        return blocks.transpose(0, 3, 1, 4, 2, 5).reshape(c, h, w, n)
    padded = np.zeros_like(cols, shape=(c, h + 2 * ph, w + 2 * pw, n), order="C")
    by_offset = blocks.reshape(c, kh * kw, oh, ow, n)
    for k, (rows, columns) in enumerate(g.offsets(out_size)):
        padded[:, rows, columns] += by_offset[:, k]
    return padded[:, ph:ph + h, pw:pw + w]


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
    cols = to_columns(x, g, out_size)
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
    return from_columns(moved, shape, g, out_size).transpose(3, 0, 1, 2)


def _im2col(x, g: Geometry):
    return Im2Col.apply(x, geometry=g) if isinstance(x, Node) else im2col_array(x, g)


def _col2im(cols, shape, g: Geometry):
    return Col2Im.apply(cols, shape=tuple(shape), geometry=g) if isinstance(cols, Node) else col2im_array(cols, shape, g)


# ---- the ops --------------------------------------------------------------------------------------
class Im2Col(Function):
    def forward(self, x, geometry):
        check_batch("im2col", x.shape)
        self.geometry = geometry
        return im2col_array(x, geometry)

    def backward(self, grad, x, out):
        return (_col2im(grad, x.shape, self.geometry),)


class Col2Im(Function):
    def forward(self, cols, shape, geometry):
        check_batch("col2im", shape, "target shape")
        out_size = geometry.output_size("col2im", shape)
        expected = (shape[0], shape[1] * geometry.kernel[0] * geometry.kernel[1], out_size[0] * out_size[1])
        if cols.shape != expected:
            raise ShapeError(f"col2im: columns of shape {cols.shape} do not fit the target {shape}; expected {expected}")
        self.geometry = geometry
        return col2im_array(cols, shape, geometry)

    def backward(self, grad, cols, out):
        return (_im2col(grad, self.geometry),)


# ---- functional forms -----------------------------------------------------------------------------
def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> Node:
    """The windows of a (N, C, H, W) batch as columns of shape (N, C*KH*KW, OH*OW), differentiably.

    >>> from tinygrad_mnist import Tensor
    >>> im2col(Tensor(np.zeros((2, 3, 5, 5))), 3).shape
    (2, 27, 9)
    """
    return Im2Col.apply(x, geometry=geometry("im2col", kernel_size, stride, padding, dilation))


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> Node:
    """The adjoint of ``im2col``: add columns (N, C*KH*KW, L) back onto a batch of shape ``output_size``.

    >>> from tinygrad_mnist import Tensor
    >>> col2im(Tensor(np.ones((1, 4, 4))), (1, 1, 3, 3), 2).numpy()[0, 0, 1]
    array([2., 4., 2.])
    """
    return Col2Im.apply(cols, shape=tuple(output_size), geometry=geometry("col2im", kernel_size, stride, padding, dilation))
