"""What the op table deliberately avoids: the documented gradients at kinks and ties, and large inputs.

The table keeps inputs away from points where an op has no derivative; here those points get the
conventions the docstrings promise (0 at 0 for abs/relu, split evenly on ties, 1 on a clip bound, one
owner per element for clip between tensors),
and extreme inputs must give finite values and gradients without overflow warnings.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad


def _leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def _grad(fn, *leaves):
    return [g.numpy() for g in grad(fn(*leaves), list(leaves))]


# ---- kinks and ties ------------------------------------------------------------------------------------
def test_abs_and_relu_have_gradient_zero_at_zero():
    x = _leaf([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(_grad(lambda t: t.abs().sum(), x)[0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(_grad(lambda t: t.relu().sum(), x)[0], [0.0, 0.0, 1.0])


def test_max_and_min_split_the_gradient_among_ties():
    x = _leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(_grad(lambda t: t.max(axis=1).sum(), x)[0], [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(_grad(lambda t: t.min(), x)[0], [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(_grad(lambda t: t.max(), x)[0], [[0, 0.5, 0.5], [0, 0, 0]])
    np.testing.assert_allclose(_grad(lambda t: t.min(axis=0, keepdims=True).sum(), x)[0], [[1, 0, 0], [0, 1, 1]])


def test_maximum_and_minimum_split_the_gradient_on_ties():
    a, b = _leaf([1.0, 2.0, 5.0]), _leaf([1.0, 3.0, 4.0])
    ga, gb = _grad(lambda p, q: p.maximum(q).sum(), a, b)
    np.testing.assert_array_equal(ga, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0, 0.0])
    ga, gb = _grad(lambda p, q: p.minimum(q).sum(), a, b)
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 1.0])


def test_maximum_tie_with_a_broadcast_operand_sums_the_halves():
    a, b = _leaf([[1.0, 2.0], [1.0, 0.0]]), _leaf([1.0])
    ga, gb = _grad(lambda p, q: p.maximum(q).sum(), a, b)
    np.testing.assert_array_equal(ga, [[0.5, 1.0], [0.5, 0.0]])
    np.testing.assert_array_equal(gb, [0.5 + 0.5 + 1.0])


def test_clip_passes_the_gradient_on_its_bounds_and_blocks_it_outside():
    x = _leaf([-2.0, -1.0, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(_grad(lambda t: t.clip(-1.0, 0.5).sum(), x)[0], [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(_grad(lambda t: t.clip(min=0.0).sum(), x)[0], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(_grad(lambda t: t.clip(max=0.0).sum(), x)[0], [1, 1, 1, 0, 0])


def test_clip_with_tensor_bounds_gives_each_element_one_owner_at_ties():
    """x keeps the gradient on a tie with a bound; otherwise the bound the value was clipped to gets it;
    where low > high the output is high (NumPy) and so is the gradient; the shares add up to 1."""
    #             below  =low  inside =high  above  low=high low>high
    x = _leaf([-2.0, -1.0, 0.0, 1.0, 3.0, 5.0, 0.0])
    low = _leaf([-1.0, -1.0, -1.0, -1.0, -1.0, 2.0, 1.0])
    high = _leaf([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, -1.0])
    gx, glow, ghigh = _grad(lambda a, lo, hi: a.clip(lo, hi).sum(), x, low, high)
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(glow, [1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghigh, [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(gx + glow + ghigh, np.ones(7))
    # x == low == high: x keeps it, as with number bounds
    gx, glow, ghigh = _grad(lambda a, lo, hi: a.clip(lo, hi).sum(), _leaf([2.0]), _leaf([2.0]), _leaf([2.0]))
    assert (gx.item(), glow.item(), ghigh.item()) == (1.0, 0.0, 0.0)


def test_clip_with_one_tensor_bound_and_one_number_agrees_with_number_bounds_for_x():
    x = _leaf([-2.0, -1.0, 0.0, 0.5, 1.0])
    gx, glow = _grad(lambda a, lo: a.clip(lo, 0.5).sum(), x, _leaf([-1.0] * 5))
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0])  # the same as clip(-1.0, 0.5) above
    np.testing.assert_array_equal(glow, [1, 0, 0, 0, 0])


def test_pow_with_a_tensor_exponent_has_zero_exponent_gradient_at_a_zero_base():
    base, exponent = _leaf([0.0, 2.0]), _leaf([2.0, 3.0])
    gb, ge = _grad(lambda b, e: (b ** e).sum(), base, exponent)
    np.testing.assert_allclose(gb, [0.0, 12.0])
    np.testing.assert_allclose(ge, [0.0, 8.0 * np.log(2.0)])


# ---- extreme inputs ----------------------------------------------------------------------------------------
EXTREMES = [-1000.0, -50.0, -1e-30, 0.0, 50.0, 1000.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "name,fn,expected",
    [
        ("sigmoid", lambda t: t.sigmoid(), lambda x: 0.5 * (1 + np.tanh(x / 2))),
        ("tanh", lambda t: t.tanh(), np.tanh),
        ("erf", lambda t: t.erf(), lambda x: np.sign(x) * (np.abs(x) > 10) + (np.abs(x) <= 10) * x * 2 / np.sqrt(np.pi)),
        ("relu", lambda t: t.relu(), lambda x: np.maximum(x, 0)),
    ],
    ids=["sigmoid", "tanh", "erf", "relu"],
)
def test_saturating_functions_stay_finite_without_overflow(name, fn, expected, dtype):
    x = _leaf(EXTREMES, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(x)
        (g,) = grad(y.sum(), x, create_graph=True)
        # relu's gradient is piecewise constant: it records no graph, so it has no second derivative.
        gg = grad(g.sum(), x, allow_unused=True)[0] if g.requires_grad else None
    assert y.dtype == dtype and g.dtype == dtype
    np.testing.assert_allclose(y.numpy(), expected(np.array(EXTREMES)), atol=1e-6)
    assert np.all(np.isfinite(g.numpy()))
    assert gg is None or np.all(np.isfinite(gg.numpy()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_logsumexp_of_large_values_is_stable(dtype):
    x = _leaf([[1000.0, 1000.0, -1000.0], [-800.0, -800.0, -800.0]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = x.logsumexp(axis=1)
        (g,) = grad(y.sum(), x, create_graph=True)
        (gg,) = grad((g * g).sum(), x)
    np.testing.assert_allclose(y.numpy(), [1000.0 + np.log(2.0), -800.0 + np.log(3.0)], rtol=1e-6)
    # The gradient is the softmax of x - max(x), not exp(x - logsumexp), whose rounding near 1000
    # (a float32 ulp there is 6e-5) would carry over: it is accurate to eps even under create_graph.
    atol = 1e-7 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(g.numpy(), [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=atol)
    assert np.all(np.isfinite(gg.numpy()))


@pytest.mark.parametrize("dtype, offset", [(np.float32, 1e4), (np.float64, 1e16)], ids=["float32", "float64"])
def test_logsumexp_derivatives_of_large_close_logits_keep_full_precision(dtype, offset):
    # Huge logits that differ by O(1): the first and second derivatives against float64 closed forms
    # (softmax p, and Hessian diag(p) - p pᵀ), to the precision of the inputs' dtype.
    rng = np.random.default_rng(0)
    logits = (offset + rng.standard_normal((4, 5))).astype(dtype)
    direction = rng.standard_normal((4, 5))
    x = Tensor(logits, requires_grad=True)
    (first_order,) = grad(x.logsumexp(axis=1).sum(), x)
    (g,) = grad(x.logsumexp(axis=1).sum(), x, create_graph=True)
    (hv,) = grad((g * Tensor(direction.astype(dtype))).sum(), x)
    exact = logits.astype(np.float64)  # the rounded logits, exactly
    p = np.exp(exact - exact.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    hessian_v = p * direction - p * (p * direction).sum(axis=1, keepdims=True)
    eps = np.finfo(dtype).eps
    np.testing.assert_array_equal(g.numpy(), first_order.numpy())  # one rule for both modes
    np.testing.assert_allclose(g.numpy(), p, atol=8 * eps)
    np.testing.assert_allclose(hv.numpy(), hessian_v, atol=16 * eps * np.abs(direction).max())


def test_cross_entropy_with_confident_wrong_logits_is_finite():
    logits = _leaf([[500.0, -500.0, 0.0]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = (logits.logsumexp(axis=1) - logits[np.arange(1), np.array([1])]).mean()
        (g,) = grad(loss, logits)
    assert loss.item() == pytest.approx(1000.0)
    np.testing.assert_allclose(g.numpy(), [[1.0, -1.0, 0.0]], atol=1e-6)


# ---- empty tensors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [lambda t: t.sum(), lambda t: t.mean(axis=1).sum(), lambda t: (t @ Tensor(np.ones((3, 2)))).sum(),
     lambda t: t.reshape(3, 0).T.sum(), lambda t: (t * 2 + 1).exp().sum()],
    ids=["sum", "mean_nonempty_axis", "matmul", "movement", "elementwise"],
)
def test_empty_tensors_get_empty_gradients(fn):
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    fn(x).backward()
    assert x.grad.shape == (0, 3)


def test_mean_over_an_empty_axis_has_an_empty_gradient():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the forward is NaN, like NumPy's mean of nothing
        x.mean(axis=0).sum().backward()
    assert x.grad.shape == (0, 3)
