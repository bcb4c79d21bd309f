"""Batch and layer normalization, as functions and as layers (``BatchNorm1d``, ``BatchNorm2d``,
``LayerNorm``).

Both are written with differentiable ops only (mean, subtraction, multiplication, sqrt, division,
broadcasting), so their gradients of every order come from the ops' own rules. The running
statistics of batch norm are ``Buffer``s: saved in ``state_dict()``, updated in place without a
graph in training mode, used instead of the batch's statistics in evaluation mode.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np

from ..autograd.function import ShapeError
from ..checks import POSITIVE, Bounds, check_float, positive_int
from ..tensor import Tensor
from .arguments import as_input, float_dtype
from .module import Buffer, Module, Parameter


def _array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (axis 1) of ``x`` (N, C, ...) to zero mean and unit variance, then scale by
    ``weight`` and shift by ``bias`` (each (C,), optional), as PyTorch's ``F.batch_norm``.

    In training mode the statistics are the batch's, over every axis but 1 (the variance is biased),
    and running statistics given as arrays or Buffers are updated in place:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance (n / (n - 1))
    as PyTorch does. In evaluation mode ``running_mean`` and ``running_var`` are used instead.

    >>> x = Tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> batch_norm(x, training=True).numpy().round(3)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: the input must have shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    kept = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        count = x.size // channels
        if count < 2:
            raise ShapeError(
                f"batch_norm: training needs more than one value per channel to estimate a variance, got an "
                f"input of shape {x.shape}; use a larger batch or evaluation mode (model.eval())"
            )
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        out = centered / (var + eps).sqrt()
        if running_mean is not None:
            stored = _array(running_mean)
            stored *= 1.0 - momentum
            stored += momentum * mean.data.reshape(channels)
        if running_var is not None:
            stored = _array(running_var)
            stored *= 1.0 - momentum
            stored += (momentum * count / (count - 1)) * var.data.reshape(channels)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var (or training=True)")
        mean = _array(running_mean).astype(x.dtype, copy=False).reshape(kept)
        scale = 1.0 / np.sqrt(_array(running_var).astype(x.dtype, copy=False).reshape(kept) + eps)
        out = (x - mean) * scale
    if weight is not None:
        out = out * weight.reshape(kept)
    if bias is not None:
        out = out + bias.reshape(kept)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` axes of ``x`` (which must have that shape) to
    zero mean and unit (biased) variance, then scale and shift elementwise, as PyTorch's ``F.layer_norm``.

    >>> layer_norm(Tensor([[1.0, 3.0], [2.0, 2.0]]), (2,)).numpy().round(4)
    array([[-1.,  1.],
           [ 0.,  0.]], dtype=float32)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    shape = tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ShapeError(f"layer_norm: the input of shape {x.shape} does not end in the normalized shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; subclasses name the input ranks they accept."""

    ranks: Tuple[int, ...]
    layout: str

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype=np.float32):
        owner = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", owner=owner)
        self.eps = check_float(eps, "eps", POSITIVE, owner)
        self.momentum = check_float(momentum, "momentum", Bounds(0, 1, low_open=True), owner)
        dtype = float_dtype(owner, dtype)
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype)) if affine else None
        self.running_mean = Buffer(np.zeros(self.num_features, dtype=dtype))
        self.running_var = Buffer(np.ones(self.num_features, dtype=dtype))

    def forward(self, x):
        x = as_input(self, x, self.running_mean.dtype)  # the layer's repr names it, built only for an error
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ShapeError(f"{self!r} needs an input of shape {self.layout} with C = {self.num_features}, got {x.shape}")
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                          self.momentum, self.eps)

    def extra_repr(self) -> str:
        text = f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"
        text += "" if self.weight is not None else ", affine=False"
        dtype = self.running_mean.dtype
        return text if dtype == np.float32 else f"{text}, dtype={dtype}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs per channel C, with learnable scale (``weight``,
    ones) and shift (``bias``, zeros) when ``affine``, and running statistics as buffers.

    ``model.train()`` normalizes with the batch's statistics and updates the running ones
    (``momentum`` 0.1 as in PyTorch); ``model.eval()`` normalizes with the running ones.

    >>> bn = BatchNorm1d(2)
    >>> bn(Tensor([[1.0, 10.0], [3.0, 30.0]])).numpy().round(3)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    >>> bn.running_mean.numpy(), bn.running_var.numpy()
    (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
    """

    ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs per channel C (see ``BatchNorm1d``).

    >>> bn = BatchNorm2d(3)
    >>> bn(np.random.default_rng(0).normal(size=(4, 3, 5, 5)).astype(np.float32)).shape
    (4, 3, 5, 5)
    >>> [name for name in bn.state_dict()]
    ['weight', 'bias', 'running_mean', 'running_var']
    """

    ranks = (4,)
    layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` (an int or a tuple), with elementwise
    scale and shift of that shape when ``elementwise_affine``; the same in training and evaluation.

    >>> LayerNorm(4)(np.arange(8.0, dtype=np.float32).reshape(2, 4)).numpy().round(3)
    array([[-1.342, -0.447,  0.447,  1.342],
           [-1.342, -0.447,  0.447,  1.342]], dtype=float32)
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, dtype=np.float32):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape = tuple(positive_int(size, "each normalized size", owner="LayerNorm") for size in shape)
        if not self.normalized_shape:
            raise ShapeError("LayerNorm: normalized_shape must name at least one axis")
        self.eps = check_float(eps, "eps", POSITIVE, "LayerNorm")
        dtype = float_dtype("LayerNorm", dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.dtype = dtype

    def forward(self, x):
        x = as_input(self, x, self.dtype)  # the layer's repr names it, built only for an error
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            sizes = ", ".join(map(str, self.normalized_shape))
            raise ShapeError(f"{self!r} needs an input of shape (..., {sizes}), got {x.shape}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        text = f"{self.normalized_shape}, eps={self.eps:g}"
        text += "" if self.weight is not None else ", elementwise_affine=False"
        return text if self.dtype == np.float32 else f"{text}, dtype={self.dtype}"
