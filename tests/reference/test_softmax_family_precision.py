"""The softmax family's derivatives for huge, close logits: first order, the create_graph=True
gradient and Hessian-vector products, against hyper-dual numbers evaluated on the shifted logits.

Softmax losses depend only on differences of logits, so evaluating the reference on ``z - max(z)``
(an exact subtraction for close values) gives the exact derivatives of the rounded logits. The
framework gets the huge logits themselves: float32 ``1e4 + randn`` (an ulp is 1e-3 there) and float64
``1e16 + randn`` (an ulp is 2). A rule that forms ``exp(z - logsumexp(z))`` cancels and is wrong in
the third digit (float32) or entirely (float64); the rules must stay within a few ulps of 1.
"""
from __future__ import annotations

import numpy as np
import pytest
from hyperdual import HyperDual

from tinygrad_mnist import Tensor, grad
from tinygrad_mnist.nn import functional as F

LABELS = np.array([1, 2, 0, 4])
TARGET = np.array([[0.1, 0.2, 0.3, 0.4, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0],
                   [0.5, 0.5, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]])
GAMMA = 2.0


def _log_softmax_reference(z):
    return z - z.logsumexp(axis=1, keepdims=True)


def _picked(values, labels):
    return values[np.arange(len(labels)), labels]


# Each loss: (framework call on Tensors, the same loss written for HyperDual numbers).
LOSSES = {
    "cross_entropy": (
        lambda x: F.cross_entropy(x, LABELS),
        lambda z: -_picked(_log_softmax_reference(z), LABELS).mean(),
    ),
    "cross_entropy_smoothed": (
        lambda x: F.cross_entropy(x, LABELS, label_smoothing=0.1),
        lambda z: -(_picked(_log_softmax_reference(z), LABELS).sum() * 0.9
                    + _log_softmax_reference(z).sum() * (0.1 / 5)) * (1.0 / 4),
    ),
    "kl_div_labels": (
        lambda x: F.kl_div(x, LABELS),
        lambda z: -_picked(_log_softmax_reference(z), LABELS).mean(),
    ),
    "kl_div_target": (
        lambda x: F.kl_div(x, target=TARGET),
        lambda z: -(_log_softmax_reference(z) * TARGET).sum() * (1.0 / 4),
    ),
    "focal": (
        lambda x: F.focal_loss(x, LABELS, gamma=GAMMA),
        lambda z: -((1.0 - _picked(_log_softmax_reference(z), LABELS).exp()) ** GAMMA
                    * _picked(_log_softmax_reference(z), LABELS)).mean(),
    ),
    "log_softmax": (
        lambda x: (F.log_softmax(x) * Tensor(TARGET.astype(x.dtype))).sum(),
        lambda z: (_log_softmax_reference(z) * TARGET).sum(),
    ),
    "softmax": (
        lambda x: (F.softmax(x) * Tensor(TARGET.astype(x.dtype))).sum(),
        lambda z: ((z - z.logsumexp(axis=1, keepdims=True)).exp() * TARGET).sum(),
    ),
    "logsumexp": (
        lambda x: x.logsumexp(axis=1).sum(),
        lambda z: z.logsumexp(axis=1).sum(),
    ),
}


@pytest.mark.parametrize("dtype, offset", [(np.float32, 1e4), (np.float64, 1e16), (np.float64, 0.0)],
                         ids=["float32_1e4", "float64_1e16", "float64_small"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_softmax_family_derivatives_of_huge_close_logits(name, dtype, offset):
    ours, reference = LOSSES[name]
    rng = np.random.default_rng(0)
    logits = (offset + rng.standard_normal((4, 5))).astype(dtype)
    u, v = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    exact = logits.astype(np.float64)
    shifted = exact - exact.max(axis=1, keepdims=True)  # exact: the values are within a factor 2
    truth = reference(HyperDual(shifted, u, v))
    x = Tensor(logits, requires_grad=True)
    (first_order,) = grad(ours(x), x)
    (g,) = grad(ours(x), x, create_graph=True)
    (hv,) = grad((g * Tensor(v.astype(dtype))).sum(), x)
    eps = np.finfo(dtype).eps
    tolerance = 8 * eps * (np.abs(u).max() + np.abs(v).max())
    # The create_graph gradient is as accurate as the first-order one, and both are right to a few ulps
    # (the cancelling rule is off by 2e-5 in float32 at 1e4, and by 1 in float64 at 1e16).
    for gradient in (first_order, g):
        assert abs(float((gradient.numpy().astype(np.float64) * v).sum()) - float(truth.e2)) <= tolerance
    assert abs(float((hv.numpy().astype(np.float64) * u).sum()) - float(truth.e12)) <= tolerance


def test_a_rule_through_exp_of_a_minus_logsumexp_would_fail_this_check(monkeypatch):
    """The check above is sharp: the cancelling form of logsumexp's rule fails it in float32 at 1e4."""
    from tinygrad_mnist.ops import arraylike, reduce

    def cancelling_backward(self, grad, a, out):
        return (self._kept(grad) * arraylike.exp(a - self._kept(out)),)

    monkeypatch.setattr(reduce.LogSumExp, "backward", cancelling_backward)
    for dtype, offset in [(np.float32, 1e4), (np.float64, 1e16)]:
        with pytest.raises(AssertionError):
            test_softmax_family_derivatives_of_huge_close_logits("cross_entropy", dtype, offset)
