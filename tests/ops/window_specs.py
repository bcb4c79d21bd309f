"""Op-table entries for the sliding-window ops (im2col, col2im, conv2d, max/avg pooling and their
layers) and for batch and layer normalization, with NumPy references written as plain loops over
output positions (independent of the im2col machinery they check).

Geometries are drawn from small kernels, strides, paddings and dilations; two entries pin the edge
cases the generic draw may miss: a kernel exactly as large as the padded input, and a stride larger
than the kernel (windows that skip pixels).

>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d_reference(x, np.ones((1, 1, 2, 2)), None, stride=2, padding=0, dilation=1)[0, 0]
array([[10., 18.],
       [42., 50.]])
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Dict, Optional

import numpy as np
from hypothesis import strategies as st
from op_spec import Case, OpSpec

from tinygrad_mnist import nn
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.ops import windows
from tinygrad_mnist.testing.strategies import arrays


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


# ---- references ------------------------------------------------------------------------------------
def _patches(x, kernel, stride, padding, dilation, fill=0.0):
    """Yield (i, j, patch (N, C, KH, KW)) for every output position, from a padded copy of x."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel, stride, padding, dilation))
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (padded.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (padded.shape[3] - dw * (kw - 1) - 1) // sw + 1
    for i in range(oh):
        for j in range(ow):
            yield i, j, oh, ow, padded[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]


def conv2d_reference(x, weight, bias=None, *, stride, padding, dilation):
    out = None
    for i, j, oh, ow, patch in _patches(x, weight.shape[2:], stride, padding, dilation):
        if out is None:
            out = np.zeros((x.shape[0], weight.shape[0], oh, ow))
        out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, weight)
    return out if bias is None else out + bias[None, :, None, None]


def im2col_reference(x, *, kernel, stride, padding, dilation):
    columns = {}
    for i, j, oh, ow, patch in _patches(x, kernel, stride, padding, dilation):
        columns[i * ow + j] = patch.reshape(x.shape[0], -1)
    return np.stack([columns[k] for k in range(len(columns))], axis=2)


def col2im_reference(cols, *, shape, kernel, stride, padding, dilation):
    """The transpose of im2col, built column by column: every entry added onto the pixel it came from."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel, stride, padding, dilation))
    n, c, h, w = shape
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    for k in range(cols.shape[2]):
        i, j = divmod(k, ow)
        block = cols[:, :, k].reshape(n, c, kh, kw)
        padded[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw] += block
    return padded[:, :, ph:ph + h, pw:pw + w]


def _pool_reference(x, kernel, stride, padding, reduce, fill):
    out = None
    for i, j, oh, ow, patch in _patches(x, kernel, stride if stride is not None else kernel, padding, 1, fill):
        if out is None:
            out = np.zeros(x.shape[:2] + (oh, ow))
        out[:, :, i, j] = reduce(patch, axis=(2, 3))
    return out


def max_pool2d_reference(x, *, kernel, stride, padding):
    return _pool_reference(x, kernel, stride, padding, np.max, -np.inf)


def avg_pool2d_reference(x, *, kernel, stride, padding):
    return _pool_reference(x, kernel, stride, padding, np.mean, 0.0)


def _channel_view(values, ndim):
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_train_reference(x, weight, bias):
    axes = (0,) + tuple(range(2, x.ndim))
    normalized = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    return normalized * _channel_view(weight, x.ndim) + _channel_view(bias, x.ndim)


def batch_norm_eval_reference(x, weight, bias, *, running_mean, running_var):
    normalized = (x - _channel_view(running_mean, x.ndim)) / np.sqrt(_channel_view(running_var, x.ndim) + 1e-5)
    return normalized * _channel_view(weight, x.ndim) + _channel_view(bias, x.ndim)


def layer_norm_reference(x, weight, bias, *, normalized_shape):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    normalized = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    return normalized * weight + bias


# ---- input strategies ------------------------------------------------------------------------------
def _side(draw, span: int, padding: int, fit: str) -> int:
    """An input side the window fits: exactly (the kernel fills the padded input) or with room to spare."""
    smallest = max(1, span - 2 * padding)
    return smallest if fit == "exact" else draw(st.integers(smallest, smallest + 3))


def _maybe_int(draw, pair):
    """Pass an equal pair as an int half of the time: both forms are accepted."""
    return pair[0] if pair[0] == pair[1] and draw(st.booleans()) else pair


@st.composite
def _geometry(draw, pooling: bool, fit: str, wide_stride: bool):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if wide_stride:  # stride beyond the kernel: some pixels are in no window
        stride = tuple(draw(st.integers(k + 1, k + 2)) for k in kernel)
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if pooling else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, k // 2 if pooling else 2)) for k in kernel)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    sides = tuple(_side(draw, span, p, fit) for span, p in zip(spans, padding))
    return kernel, stride, padding, dilation, sides


def conv_cases(bias: bool = True, fit: str = "any", wide_stride: bool = False):
    @st.composite
    def draw_case(draw, dtype):
        kernel, stride, padding, dilation, sides = draw(_geometry(False, fit, wide_stride))
        n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        x = draw(arrays((n, c) + sides, dtype=dtype))
        weight = draw(arrays((o, c) + kernel, dtype=dtype))
        inputs = (x, weight) + ((draw(arrays((o,), dtype=dtype)),) if bias else ())
        return Case(inputs, {"stride": _maybe_int(draw, stride), "padding": _maybe_int(draw, padding),
                             "dilation": _maybe_int(draw, dilation)})

    return lambda dtype: draw_case(dtype)


def window_cases(fit: str = "any", wide_stride: bool = False, columns: bool = False):
    """One (N, C, H, W) input (or, with ``columns``, columns of the matching im2col shape) and a geometry."""

    @st.composite
    def draw_case(draw, dtype):
        kernel, stride, padding, dilation, sides = draw(_geometry(False, fit, wide_stride))
        shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sides
        params = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
        if not columns:
            return Case((draw(arrays(shape, dtype=dtype)),), params)
        out = windows.geometry("", kernel, stride, padding, dilation).output_size("", shape)
        cols_shape = (shape[0], shape[1] * kernel[0] * kernel[1], out[0] * out[1])
        return Case((draw(arrays(cols_shape, dtype=dtype)),), {**params, "shape": shape})

    return lambda dtype: draw_case(dtype)


def pool_cases(fit: str = "any", wide_stride: bool = False, default_stride: bool = False):
    """One (N, C, H, W) input with values 0.01 apart (max pooling has no gradient at ties)."""

    @st.composite
    def draw_case(draw, dtype):
        kernel, stride, padding, _, sides = draw(_geometry(True, fit, wide_stride))
        shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sides
        x = draw(arrays(shape, dtype=dtype, distinct=True, min_distance=0.01, min_value=-5.0, max_value=5.0))
        return Case((x,), {"kernel": _maybe_int(draw, kernel), "stride": None if default_stride else stride,
                           "padding": _maybe_int(draw, padding)})

    return lambda dtype: draw_case(dtype)


@st.composite
def _normalized_values(draw, shape, dtype, group_axes):
    """Values whose every normalized group (the elements sharing the axes not in ``group_axes``) is
    spread out: random values in [-0.4, 0.4] plus 0, 1, 2, ... along the group, so any two of a group
    are 0.2 apart. The variances are then far above eps, where 1 / sqrt(var + eps) is well conditioned
    in float32 and in finite differences."""
    noise = draw(arrays(shape, dtype=np.float64, min_value=-0.4, max_value=0.4))
    group_shape = tuple(shape[a] if a in group_axes else 1 for a in range(len(shape)))
    offsets = np.arange(math.prod(group_shape), dtype=np.float64).reshape(group_shape)
    return (noise + offsets).astype(dtype)


def batch_norm_cases(ranks=(2, 3, 4), running: bool = False):
    @st.composite
    def draw_case(draw, dtype):
        rank = draw(st.sampled_from(ranks))
        c = draw(st.integers(1, 3))
        spatial = tuple(draw(st.integers(1, 3)) for _ in range(rank - 2))
        n = draw(st.integers(1 if math.prod(spatial) > 1 else 2, 3))  # training needs 2+ values per channel
        x = draw(_normalized_values((n, c) + spatial, dtype, (0,) + tuple(range(2, rank))))
        weight, bias = draw(arrays((c,), dtype=dtype)), draw(arrays((c,), dtype=dtype))
        params = {}
        if running:
            params = {"running_mean": draw(arrays((c,), dtype=dtype)),
                      "running_var": draw(arrays((c,), dtype=dtype, positive=True))}
        return Case((x, weight, bias), params)

    return lambda dtype: draw_case(dtype)


@st.composite
def _layer_norm_case(draw, dtype):
    lead = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    normalized = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2))))
    if math.prod(normalized) < 2:
        normalized = normalized[:-1] + (2,)
    x = draw(_normalized_values(lead + normalized, dtype, tuple(range(len(lead), len(lead) + len(normalized)))))
    return Case((x, draw(arrays(normalized, dtype=dtype)), draw(arrays(normalized, dtype=dtype))),
                {"normalized_shape": normalized})


# ---- the layers, with the drawn tensors as their parameters ----------------------------------------
_layer_cache: Dict[str, Optional[dict]] = {"current": None}


@contextmanager
def reusing_layers(cache: dict):
    """Within it, a layer entry builds its layer once per constructor arguments (kept in ``cache``)
    and calls that same layer again, as a training step does: the jit equivalence suite needs the
    same modules in every call (a step that builds new layers each call is recorded again each call)."""
    previous, _layer_cache["current"] = _layer_cache["current"], cache
    try:
        yield
    finally:
        _layer_cache["current"] = previous


def _layer(build: Callable[[], nn.Module], *key) -> nn.Module:
    cache = _layer_cache["current"]
    if cache is None:
        return build()
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _with_parameters(layer, weight, bias):
    """``layer`` computing with the drawn tensors in place of its parameters, so that gradcheck
    differentiates the layer's forward through them. Written into the instance dict: ordinary
    assignment refuses a plain Tensor where a Parameter was, which protects users, not this check."""
    vars(layer).update(weight=weight, bias=bias)
    return layer


def _conv_layer(x, weight, bias, stride, padding, dilation):
    layer = _layer(lambda: nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:], stride=stride,
                                     padding=padding, dilation=dilation, dtype=x.dtype),
                   "conv", weight.shape, stride, padding, dilation, x.dtype)
    return _with_parameters(layer, weight, bias)(x)


def _batch_norm_layer(x, weight, bias):
    kind = nn.BatchNorm1d if x.ndim < 4 else nn.BatchNorm2d
    layer = _layer(lambda: kind(weight.shape[0], dtype=x.dtype), kind, weight.shape, x.dtype)
    return _with_parameters(layer, weight, bias)(x)


def _layer_norm_layer(x, weight, bias, normalized_shape):
    layer = _layer(lambda: nn.LayerNorm(normalized_shape, dtype=x.dtype), "layer_norm", normalized_shape, x.dtype)
    return _with_parameters(layer, weight, bias)(x)


def _max_pool_layer(x, kernel, stride, padding):
    return _layer(lambda: nn.MaxPool2d(kernel, stride, padding), "max_pool", kernel, stride, padding)(x)


def _avg_pool_layer(x, kernel, stride, padding):
    return _layer(lambda: nn.AvgPool2d(kernel, stride, padding), "avg_pool", kernel, stride, padding)(x)


def _conv_reference(x, weight, bias=None, *, stride, padding, dilation):
    return conv2d_reference(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


WINDOW_SPECS = (
    OpSpec("conv2d", F.conv2d, _conv_reference, conv_cases()),
    OpSpec("conv2d_no_bias", F.conv2d, _conv_reference, conv_cases(bias=False)),
    OpSpec("conv2d_kernel_fills_input", F.conv2d, _conv_reference, conv_cases(fit="exact")),
    OpSpec("conv2d_stride_beyond_kernel", F.conv2d, _conv_reference, conv_cases(wide_stride=True)),
    OpSpec("conv2d_layer", _conv_layer, _conv_reference, conv_cases()),
    OpSpec("im2col", lambda x, **p: windows.im2col(x, p["kernel"], p["stride"], p["padding"], p["dilation"]),
           im2col_reference, window_cases()),
    OpSpec("im2col_stride_beyond_kernel",
           lambda x, **p: windows.im2col(x, p["kernel"], p["stride"], p["padding"], p["dilation"]),
           im2col_reference, window_cases(wide_stride=True)),
    OpSpec("col2im",
           lambda c, **p: windows.col2im(c, p["shape"], p["kernel"], p["stride"], p["padding"], p["dilation"]),
           col2im_reference, window_cases(columns=True)),
    OpSpec("col2im_kernel_fills_input",
           lambda c, **p: windows.col2im(c, p["shape"], p["kernel"], p["stride"], p["padding"], p["dilation"]),
           col2im_reference, window_cases(fit="exact", columns=True)),
    OpSpec("max_pool2d", lambda x, **p: F.max_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           max_pool2d_reference, pool_cases()),
    OpSpec("max_pool2d_kernel_fills_input", lambda x, **p: F.max_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           max_pool2d_reference, pool_cases(fit="exact")),
    OpSpec("max_pool2d_stride_beyond_kernel", lambda x, **p: F.max_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           max_pool2d_reference, pool_cases(wide_stride=True)),
    OpSpec("max_pool2d_layer", _max_pool_layer,
           max_pool2d_reference, pool_cases(default_stride=True)),
    OpSpec("avg_pool2d", lambda x, **p: F.avg_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           avg_pool2d_reference, pool_cases()),
    OpSpec("avg_pool2d_kernel_fills_input", lambda x, **p: F.avg_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           avg_pool2d_reference, pool_cases(fit="exact")),
    OpSpec("avg_pool2d_stride_beyond_kernel", lambda x, **p: F.avg_pool2d(x, p["kernel"], p["stride"], p["padding"]),
           avg_pool2d_reference, pool_cases(wide_stride=True)),
    OpSpec("avg_pool2d_layer", _avg_pool_layer,
           avg_pool2d_reference, pool_cases(default_stride=True)),
)

NORMALIZATION_SPECS = (
    OpSpec("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           batch_norm_train_reference, batch_norm_cases()),
    OpSpec("batch_norm_eval",
           lambda x, w, b, running_mean, running_var: F.batch_norm(x, running_mean, running_var, w, b),
           batch_norm_eval_reference, batch_norm_cases(running=True)),
    OpSpec("batchnorm1d_layer", _batch_norm_layer, batch_norm_train_reference, batch_norm_cases(ranks=(2, 3))),
    OpSpec("batchnorm2d_layer", _batch_norm_layer, batch_norm_train_reference, batch_norm_cases(ranks=(4,))),
    OpSpec("layer_norm", lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
           layer_norm_reference, _layer_norm_case),
    OpSpec("layernorm_layer", _layer_norm_layer, layer_norm_reference, _layer_norm_case),
)
