"""Derivatives at the points the op table's random draws avoid, against closed forms and (optionally)
PyTorch: pow at base 0 to every order, softplus everywhere, and the documented conventions at kinks
(hardswish at ±3, elu/selu at 0, relu/abs at NaN, hinge at a tie, kl_div with a -inf logit).

The conventions are listed in docs/api/conventions.md; each test here pins one of them.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, func, grad
from tinygrad_mnist.nn import functional as F


def _derivatives(fn, x: float, orders: int, dtype=np.float64):
    """[f'(x), f''(x), ...] by nested reverse mode (each order differentiates the previous one)."""
    leaf = Tensor(np.array(x, dtype=dtype), requires_grad=True)
    value, results = fn(leaf), []
    for _ in range(orders):
        if not value.requires_grad:  # a piecewise-constant derivative records no graph: the next one is 0
            results.append(0.0)
            value = Tensor(np.array(0.0, dtype=dtype))
            continue
        (value,) = grad(value.sum(), leaf, create_graph=True, allow_unused=True)
        results.append(value.item())
    return results


# ---- pow at base 0 --------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_every_derivative_of_x_to_the_n_at_zero(n):
    expected = [math.factorial(n) if k == n else 0.0 for k in range(1, 7)]
    with np.errstate(all="raise"):
        assert _derivatives(lambda x: x ** n, 0.0, 6) == expected
        assert _derivatives(lambda x: x ** float(n), 0.0, 6) == expected


def test_polynomial_features_at_zero_have_the_exact_gradient():
    # The lab exercise: d/dx sum_k x**k for k = 0..3 is 1 + 2x + 3x**2: 1 at 0, 2.75 at 0.5.
    x = Tensor([[0.0], [0.5]], requires_grad=True)
    with np.errstate(all="raise"):
        (x ** Tensor(np.arange(4.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 2.75])


def test_pow_with_a_differentiable_exponent_at_zero_powers():
    # d2/(da db) of a**b is a**(b-1) (1 + b log a): 1/2 at a = 2, b = 0; b a**(b-1) = 2 at a = 0, b = 2.
    a = Tensor(np.array([2.0, 0.0, 0.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([0.0, 2.0, 0.0, 1.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        ga, gb = grad((a ** b).sum(), [a, b], create_graph=True)
        haa, hab = grad(ga.sum(), [a, b])
    np.testing.assert_allclose(ga.numpy(), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(gb.numpy(), [np.log(2.0), 0.0, 0.0, 3.0 * np.log(3.0)])
    np.testing.assert_allclose(haa.numpy(), [0.0, 2.0, 0.0, 0.0])
    np.testing.assert_allclose(hab.numpy(), [0.5, 0.0, 1.0, 1.0 + np.log(3.0)])


def test_the_fourth_derivative_of_a_cube_through_func_grad():
    fourth = func.grad(func.grad(func.grad(func.grad(lambda x: x ** 3))))
    with np.errstate(all="raise"):
        assert fourth(np.float64(0.0)).item() == 0.0


# ---- softplus -------------------------------------------------------------------------------------
def _softplus_derivatives(x: float):
    """Closed forms: s = sigmoid(x); softplus' = s, '' = s(1-s), ''' = s(1-s)(1-2s), '''' = s(1-s)(1-6s+6s^2)."""
    s = 1.0 / (1.0 + math.exp(-x))
    return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)]


@pytest.mark.parametrize("x", [0.0, -0.0, 1e-300, -1e-8, 0.5, -2.0, 7.0, -30.0, 30.0])
def test_softplus_derivatives_of_every_order_are_right_everywhere(x):
    np.testing.assert_allclose(_derivatives(F.softplus, x, 4), _softplus_derivatives(x), rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_is_finite_for_huge_inputs_and_keeps_the_dtype(dtype):
    x = Tensor(np.array([-1e30, -800.0, 0.0, 800.0, 1e30], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = F.softplus(x)
        (g,) = grad(y.sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
    assert y.dtype == g.dtype == h.dtype == dtype
    np.testing.assert_allclose(y.numpy(), [0.0, 0.0, math.log(2.0), 800.0, 1e30], rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(h.numpy(), [0.0, 0.0, 0.25, 0.0, 0.0])


# ---- conventions at kinks (docs/api/conventions.md) -------------------------------------------------
def test_hardswish_takes_the_outer_pieces_at_plus_and_minus_three():
    assert _derivatives(F.hardswish, -3.0, 2) == [0.0, 0.0]
    assert _derivatives(F.hardswish, 3.0, 2) == [1.0, 0.0]
    np.testing.assert_allclose(_derivatives(F.hardswish, 1.5, 2), [1.5 / 3 + 0.5, 1 / 3])
    np.testing.assert_allclose(F.hardswish(Tensor(np.array([-3.0, -1.0, 3.0]))).numpy(), [0.0, -1 / 3, 3.0])


@pytest.mark.parametrize("fn, scale", [(F.elu, 1.0), (lambda t: F.elu(t, 0.5), 0.5), (F.selu, F.SELU_ALPHA * F.SELU_SCALE)],
                         ids=["elu", "elu_alpha_half", "selu"])
def test_elu_and_selu_take_the_left_piece_at_zero_for_every_order(fn, scale):
    np.testing.assert_allclose(_derivatives(fn, 0.0, 3), [scale, scale, scale], rtol=1e-12)


def test_relu_passes_the_gradient_at_nan_and_abs_gives_zero():
    x = Tensor(np.array([np.nan, 0.0, -1.0, 2.0]), requires_grad=True)
    (g_relu,) = grad(x.relu().sum(), x)
    (g_abs,) = grad(x.abs().sum(), x)
    np.testing.assert_array_equal(g_relu.numpy(), [1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(g_abs.numpy(), [0.0, 0.0, -1.0, 1.0])


def test_hinge_at_a_tie_with_margin_zero_has_zero_gradient():
    x = Tensor(np.array([[1.0, 1.0, 0.0]]), requires_grad=True)
    loss = F.hinge_loss(x, np.array([0]), margin=0.0)
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("create_graph", [False, True])
def test_kl_div_with_a_minus_infinity_logit_at_a_zero_target_class(create_graph):
    x = Tensor(np.array([[-np.inf, 0.0, 1.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    target = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    loss = F.kl_div(x, target=target)
    (g,) = grad(loss, x, create_graph=create_graph)
    p = np.array([0.0, 1 / (1 + math.e), math.e / (1 + math.e)])
    expected = 0.5 * (0.5 * (math.log(0.5 / p[1]) + math.log(0.5 / p[2])) + math.log(3.0))
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(g.numpy(), 0.5 * np.array([p - [0, 0.5, 0.5], [1 / 3 - 1, 1 / 3, 1 / 3]]), atol=1e-15)


# ---- the same conventions, compared with PyTorch when it is installed ------------------------------
def _torch_derivatives(torch, fn, x: float, orders: int):
    leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value, results = fn(leaf), []
    for _ in range(orders):
        if not value.requires_grad:
            results.append(0.0)
            continue
        (value,) = torch.autograd.grad(value, leaf, create_graph=True, allow_unused=True)
        results.append(value.item())
    return results


@pytest.mark.parametrize("name, x, orders", [
    ("hardswish", -3.0, 2), ("hardswish", 3.0, 2), ("hardswish", 0.7, 2), ("softplus", 0.0, 4), ("softplus", -3.0, 4),
    ("pow3", 0.0, 5), ("pow0", 0.0, 3), ("elu", 0.0, 1), ("selu", 0.0, 1), ("relu", float("nan"), 1),
    ("abs", float("nan"), 1), ("relu", 0.0, 1), ("abs", 0.0, 1),
])
def test_conventions_match_pytorch(name, x, orders):
    torch = pytest.importorskip("torch")
    ours = {"hardswish": F.hardswish, "softplus": F.softplus, "pow3": lambda t: t ** 3, "pow0": lambda t: t ** 0,
            "elu": F.elu, "selu": F.selu, "relu": lambda t: t.relu(), "abs": lambda t: t.abs()}[name]
    theirs = {"hardswish": torch.nn.functional.hardswish, "softplus": torch.nn.functional.softplus,
              "pow3": lambda t: t ** 3, "pow0": lambda t: t ** 0, "elu": torch.nn.functional.elu,
              "selu": torch.nn.functional.selu, "relu": torch.relu, "abs": torch.abs}[name]
    np.testing.assert_allclose(_derivatives(ours, x, orders), _torch_derivatives(torch, theirs, x, orders), rtol=1e-12)


def test_elu_second_derivative_at_zero_differs_from_pytorch_on_purpose():
    # PyTorch's first derivative of selu at 0 is the left piece's, its second the right piece's (0);
    # ours takes every order from the left piece (docs/api/conventions.md says why).
    torch = pytest.importorskip("torch")
    assert _torch_derivatives(torch, torch.nn.functional.selu, 0.0, 2)[1] == 0.0
    assert _derivatives(F.selu, 0.0, 2)[1] == pytest.approx(F.SELU_ALPHA * F.SELU_SCALE)


def test_kl_div_with_a_minus_infinity_logit_matches_pytorch_gradient_and_is_finite():
    torch = pytest.importorskip("torch")
    logits = np.array([[-np.inf, 0.0, 1.0]])
    target = np.array([[0.0, 0.5, 0.5]])
    t = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.kl_div(torch.log_softmax(t, 1), torch.tensor(target), reduction="batchmean").backward()
    x = Tensor(logits, requires_grad=True)
    loss = F.kl_div(x, target=target)
    loss.backward()
    assert math.isfinite(loss.item())  # PyTorch gives NaN here; the docstring promises 0 from such classes
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-15)
