"""Helpers that act on a model's parameters: gradient clipping by norm."""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from ..errors import ConfigError
from ..tensor import Tensor


def clip_grad_norm_(parameters: Union[Tensor, Iterable[Tensor]], max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale all gradients in place so that their joint norm is at most ``max_norm``; return the norm
    they had (a 0-d float64 Tensor), as PyTorch's ``clip_grad_norm_``.

    The norm is taken over all gradients together, as if concatenated (``norm_type`` 2 by default,
    ``math.inf`` for the largest magnitude). When it exceeds ``max_norm`` every gradient is multiplied
    by ``max_norm / (norm + 1e-6)``; gradients keep their dtype. Parameters without a gradient are
    skipped. A NaN or infinite norm is returned as is and nothing is scaled.

    >>> from tinygrad_mnist.nn import Parameter
    >>> p = Parameter([0.0, 0.0]); p.grad = Tensor([3.0, 4.0])
    >>> clip_grad_norm_([p], max_norm=1.0).item(), p.grad.numpy().round(4)
    (5.0, array([0.6, 0.8], dtype=float32))
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ConfigError(f"clip_grad_norm_: max_norm must be a number > 0, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or not norm_type > 0:
        raise ConfigError(f"clip_grad_norm_: norm_type must be a number > 0 or math.inf, got {norm_type!r}")
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(np.float64(0.0))
    # Array arithmetic throughout, never float(): a jitted step replays the clipping with each
    # call's gradients (a value read into Python would be frozen, so the jit would not replay).
    if norm_type == math.inf:
        total = np.float64(0.0)
        for g in grads:
            if g.size:
                total = np.maximum(total, np.max(np.abs(g)).astype(np.float64))
    else:
        # In float64: a float32 sum of squares of many gradients loses digits, and may overflow.
        wide = [g.astype(np.float64).ravel() for g in grads]
        if norm_type == 2:
            total = np.sqrt(sum(np.dot(w, w) for w in wide))
        else:
            total = sum(np.sum(np.abs(w) ** norm_type) for w in wide) ** (1.0 / norm_type)
    scale = max_norm / (total + 1e-6)
    # Without an ``if`` on the norm: a factor of exactly 1 leaves a gradient's bits as they are, and
    # a step whose norm is sometimes above the bound and sometimes below stays one program.
    factor = np.where(scale < 1.0, scale, 1.0)  # also 1 for a NaN norm
    for g in grads:
        g *= factor.astype(g.dtype)  # in place, keeping the dtype (float32 stays float32)
    return Tensor(np.asarray(total, dtype=np.float64))
