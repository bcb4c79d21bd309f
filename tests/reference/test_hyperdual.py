"""The hyper-dual reference itself, on functions whose derivatives are known in closed form, and
against float64 finite differences (a third, independent method)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hyperdual import HyperDual

RNG = np.random.default_rng(11)


def _seeded(x, u, v):
    return HyperDual(x, u, v, 0.0)


# ---- elementwise functions: f, f', f'' written out by hand -------------------------------------------
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ELEMENTWISE = {
    # name: (hyper-dual call, f, f', f'', domain)
    "exp": (lambda h: h.exp(), np.exp, np.exp, np.exp, (-2.0, 2.0)),
    "log": (lambda h: h.log(), np.log, lambda x: 1 / x, lambda x: -1 / x**2, (0.2, 3.0)),
    "sqrt": (lambda h: h.sqrt(), np.sqrt, lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5, (0.2, 3.0)),
    "tanh": (
        lambda h: h.tanh(),
        np.tanh,
        lambda x: 1 / np.cosh(x) ** 2,
        lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2,
        (-3.0, 3.0),
    ),
    "sigmoid": (
        lambda h: h.sigmoid(),
        _sigmoid,
        lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
        lambda x: np.exp(-x) * (np.exp(-x) - 1) / (1 + np.exp(-x)) ** 3,
        (-4.0, 4.0),
    ),
    "reciprocal": (lambda h: 1.0 / h, lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3, (0.3, 3.0)),
    "cube": (lambda h: h * h * h, lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, (-3.0, 3.0)),
    "pow_2.5": (lambda h: h**2.5, lambda x: x**2.5, lambda x: 2.5 * x**1.5, lambda x: 3.75 * x**0.5, (0.2, 3.0)),
    "pow_-1": (lambda h: h**-1, lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3, (0.3, 3.0)),
    "rpow_3": (
        lambda h: 3.0**h,
        lambda x: 3.0**x,
        lambda x: math.log(3) * 3.0**x,
        lambda x: math.log(3) ** 2 * 3.0**x,
        (-2.0, 2.0),
    ),
    "x_over_1_plus_x2": (
        lambda h: h / (h * h + 1),
        lambda x: x / (x * x + 1),
        lambda x: (1 - x * x) / (1 + x * x) ** 2,
        lambda x: 2 * x * (x * x - 3) / (1 + x * x) ** 3,
        (-3.0, 3.0),
    ),
    "x_pow_x": (
        lambda h: h**h,
        lambda x: x**x,
        lambda x: x**x * (np.log(x) + 1),
        lambda x: x**x * ((np.log(x) + 1) ** 2 + 1 / x),
        (0.3, 2.0),
    ),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_derivatives_match_closed_forms(name):
    call, f, df, d2f, (low, high) = ELEMENTWISE[name]
    x = RNG.uniform(low, high, (3, 4))
    u, v, w = RNG.standard_normal((3, 3, 4))
    out = call(HyperDual(x, u, v, w))
    np.testing.assert_allclose(out.real, f(x), rtol=1e-13)
    np.testing.assert_allclose(out.e1, df(x) * u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.e2, df(x) * v, rtol=1e-12, atol=1e-14)
    # With a nonzero ε₁ε₂ seed w the mixed part is f''·u·v + f'·w.
    np.testing.assert_allclose(out.e12, d2f(x) * u * v + df(x) * w, rtol=1e-11, atol=1e-13)


# ---- whole functions with known gradients and Hessians ----------------------------------------------
def test_quadratic_form():
    a = RNG.standard_normal((4, 4))
    x, u, v = RNG.standard_normal((3, 4))
    out = _seeded(x, u, v) @ a @ _seeded(x, u, v)
    sym = a + a.T
    assert out.real == pytest.approx(x @ a @ x, rel=1e-13)
    assert out.e1 == pytest.approx(u @ sym @ x, rel=1e-12)
    assert out.e12 == pytest.approx(u @ sym @ v, rel=1e-12)


def test_logsumexp_gradient_is_softmax_and_hessian_is_diag_minus_outer():
    x, u, v = RNG.standard_normal((3, 5))
    for keepdims in (False, True):
        out = _seeded(x, u, v).logsumexp(axis=0, keepdims=keepdims)
        p = np.exp(x) / np.exp(x).sum()
        assert out.shape == ((1,) if keepdims else ())
        np.testing.assert_allclose(out.real, np.log(np.exp(x).sum()), rtol=1e-13)
        np.testing.assert_allclose(out.e1, p @ u, rtol=1e-12)
        np.testing.assert_allclose(out.e12, u @ (np.diag(p) - np.outer(p, p)) @ v, rtol=1e-10, atol=1e-14)


def test_logsumexp_over_several_axes_is_stable_for_large_values():
    x = RNG.standard_normal((2, 3, 4)) + 800.0
    u, v = RNG.standard_normal((2, 2, 3, 4))
    out = _seeded(x, u, v).logsumexp(axis=(0, 2))
    shifted = x - 800.0
    p = np.exp(shifted) / np.exp(shifted).sum(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(out.real, 800.0 + np.log(np.exp(shifted).sum(axis=(0, 2))), rtol=1e-14)
    np.testing.assert_allclose(out.e1, (p * u).sum(axis=(0, 2)), rtol=1e-12)


def test_product_of_two_inputs_has_a_unit_mixed_derivative():
    x, y = _seeded(np.array(3.0), 1.0, 0.0), _seeded(np.array(5.0), 0.0, 1.0)
    out = x * y
    assert (float(out.real), float(out.e1), float(out.e2), float(out.e12)) == (15.0, 5.0, 3.0, 1.0)


def test_broadcasting_sums_derivatives_over_the_broadcast_axis():
    x = _seeded(RNG.standard_normal((3, 1)), RNG.standard_normal((3, 1)), RNG.standard_normal((3, 1)))
    y = RNG.standard_normal(4)
    out = (x * y).sum()
    np.testing.assert_allclose(out.e1, (x.e1 * y).sum(), rtol=1e-13)
    assert out.e12 == 0.0


LINEAR_MAPS = {
    # name: (hyper-dual call, the same map in NumPy)
    "reshape": (lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6)),
    "reshape_tuple": (lambda a: a.reshape((24,)), lambda a: a.reshape(24)),
    "transpose": (lambda a: a.transpose(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1))),
    "transpose_reverse": (lambda a: a.transpose(), np.transpose),
    "T": (lambda a: a.T, lambda a: a.T),
    "swapaxes": (lambda a: a.swapaxes(0, -1), lambda a: np.swapaxes(a, 0, -1)),
    "getitem": (lambda a: a[::-1, None, ..., np.array([0, 0, 3])], lambda a: a[::-1, None, ..., np.array([0, 0, 3])]),
    "sum": (lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(axis=(0, 2), keepdims=True)),
    "mean": (lambda a: a.mean(axis=-1), lambda a: a.mean(axis=-1)),
    "broadcast_to": (lambda a: a.broadcast_to(5, 2, 3, 4), lambda a: np.broadcast_to(a, (5, 2, 3, 4))),
}


@pytest.mark.parametrize("name", sorted(LINEAR_MAPS))
def test_linear_maps_pass_the_directions_through(name):
    call, reference = LINEAR_MAPS[name]
    x, u, v = RNG.standard_normal((3, 2, 3, 4))
    out = call(_seeded(x, u, v))
    np.testing.assert_array_equal(out.real, reference(x))
    np.testing.assert_allclose(out.e1, reference(u), rtol=1e-14)
    np.testing.assert_allclose(out.e2, reference(v), rtol=1e-14)
    np.testing.assert_array_equal(out.e12, 0.0)


def test_constants_and_ndarrays_on_either_side():
    h = HyperDual(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    for out, slope in ((np.ones(2) - h, -1.0), (2.0 * h, 2.0), (h / 4.0, 0.25), (np.ones(2) + h, 1.0)):
        assert isinstance(out, HyperDual)
        np.testing.assert_array_equal(out.e1, [slope, slope])
    matrix = RNG.standard_normal((3, 2))
    out = matrix @ h
    np.testing.assert_allclose(out.e1, matrix @ h.e1)


# ---- against finite differences --------------------------------------------------------------------
def _composite(h):
    """A small smooth function touching every rule of the class."""
    a = (h * h + 1.0).log() + h.sigmoid() * h.tanh() - (h / (h * h + 2.0)).exp()
    b = (a.reshape(2, 6) @ a.reshape(6, 2)).tanh()
    return b.logsumexp(axis=1).sum() + (a.transpose(1, 0)[::-1] ** 2).mean() + 2.0 ** a.sum(axis=0).mean()


def test_first_and_second_derivatives_agree_with_finite_differences():
    x = RNG.uniform(-1.0, 1.0, (3, 4))
    u, v = RNG.standard_normal((2, 3, 4))
    out = _composite(_seeded(x, u, v))

    def value(point):
        return float(_composite(HyperDual(point)).real)

    def slope_along_u(point):
        return float(_composite(HyperDual(point, u)).e1)

    step = 1e-5
    numeric_first = (value(x + step * v) - value(x - step * v)) / (2 * step)
    numeric_second = (slope_along_u(x + step * v) - slope_along_u(x - step * v)) / (2 * step)
    assert float(out.e2) == pytest.approx(numeric_first, rel=1e-7, abs=1e-9)
    assert float(out.e12) == pytest.approx(numeric_second, rel=1e-6, abs=1e-8)
    # e1 and e2 are the same function with the roles of u and v swapped.
    swapped = _composite(_seeded(x, v, u))
    assert float(swapped.e1) == pytest.approx(float(out.e2), rel=1e-13)
    assert float(swapped.e12) == pytest.approx(float(out.e12), rel=1e-12)
