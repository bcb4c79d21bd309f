"""Reverse mode against forward-mode hyper-dual numbers on random expressions of 20+ ops.

For a random scalar expression f of several inputs and random directions u, v:

(a) the reverse-mode gradient dotted with v equals the hyper-dual ∇f·v;
(b) the Hessian-vector product ``grad(grad(f, x, create_graph=True) · v, x)`` dotted with u equals
    the hyper-dual uᵀHv.

Both sides are exact up to rounding, so the tolerance is 1e-6 relative; the small absolute part
scales with the sum of the magnitudes of the terms (a result that cancels to nearly zero cannot be
compared relatively).
"""
from __future__ import annotations

import numpy as np
import pytest
from expressions import Expression, Step, expressions
from hyperdual import HyperDual
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, grad
from tinygrad_mnist.autograd import toposort
from tinygrad_mnist.ops import arraylike, elementwise

RTOL = 1e-6
ATOL_PER_MAGNITUDE = 1e-10


def assert_close(actual: float, expected: float, magnitude: float, what: str) -> None:
    """``|actual - expected| <= RTOL·|expected| + ATOL_PER_MAGNITUDE·magnitude`` with a clear report."""
    tolerance = RTOL * abs(expected) + ATOL_PER_MAGNITUDE * (magnitude + 1.0)
    assert abs(actual - expected) <= tolerance, (
        f"{what}: reverse mode {actual!r}, hyper-dual {expected!r}, difference {abs(actual - expected):.3g} "
        f"> tolerance {tolerance:.3g}"
    )


def directional_derivatives(expression, u, v):
    """Reverse mode: (f, ∇f·v, uᵀHv, number of ops in the graph, ∑|∇f∘v|, ∑|Hv∘u|)."""
    leaves = [Tensor(a, requires_grad=True) for a in expression.inputs]
    value = expression.evaluate(leaves)
    ops = len(toposort([value], lambda t: t._ctx.parents if t._ctx else ())) - len(leaves)
    gradients = grad(value, leaves, create_graph=True)
    along_v = None
    for g, direction in zip(gradients, v):
        term = (g * Tensor(direction)).sum()
        along_v = term if along_v is None else along_v + term
    hessian_v = grad(along_v, leaves, allow_unused=True)
    hessian_v = [np.zeros_like(a) if h is None else h.numpy() for h, a in zip(hessian_v, expression.inputs)]
    first_terms = [g.numpy() * d for g, d in zip(gradients, v)]
    second_terms = [h * d for h, d in zip(hessian_v, u)]
    return (
        value.item(),
        float(sum(t.sum() for t in first_terms)),
        float(sum(t.sum() for t in second_terms)),
        ops,
        float(sum(np.abs(t).sum() for t in first_terms)),
        float(sum(np.abs(t).sum() for t in second_terms)),
    )


def directions(data, inputs, label):
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed")
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(a.shape) for a in inputs]


def check_expression(expression, u, v, min_ops: int = 20) -> None:
    """Assert that reverse mode agrees with the hyper-dual reference on ``expression`` along u, v."""
    value, first, second, ops, first_scale, second_scale = directional_derivatives(expression, u, v)
    assert ops >= min_ops, f"only {ops} ops in the graph of\n{expression}"
    reference = expression.evaluate([HyperDual(a, du, dv) for a, du, dv in zip(expression.inputs, u, v)])
    assert reference.shape == ()
    assert np.isfinite(float(reference.real)) and np.isfinite(float(reference.e12))
    assert abs(value - float(reference.real)) <= 1e-12 * (1 + abs(value)), (value, float(reference.real))
    assert_close(first, float(reference.e2), first_scale, f"first derivative along v of\n{expression}")
    assert_close(second, float(reference.e12), second_scale, f"second derivative along (u, v) of\n{expression}")


@given(expression=expressions(min_steps=20), data=st.data())
def test_reverse_mode_matches_hyperdual_first_and_second_derivatives(expression, data):
    u, v = directions(data, expression.inputs, "u"), directions(data, expression.inputs, "v")
    check_expression(expression, u, v)


# ---- the check fails when the engine is wrong ------------------------------------------------------
def _fixed_expression() -> Expression:
    """A hand-written expression of 20+ ops through tanh, matmul, logsumexp and broadcasting."""
    rng = np.random.default_rng(5)
    inputs = (rng.uniform(-1.5, 1.5, (3, 2)), rng.uniform(-1.5, 1.5, (2,)), rng.uniform(-1.0, 1.0, (2, 2)))
    steps = (
        Step("tanh(n0) * n1", lambda n: n[0].tanh() * n[1]),
        Step("n3 @ n2", lambda n: n[3] @ n[2]),
        Step("logsumexp(n4, axis=1, keepdims=True)", lambda n: n[4].logsumexp(axis=1, keepdims=True)),
        Step("sigmoid(n4 - n5)", lambda n: (n[4] - n[5]).sigmoid()),
        Step("log(n6 * n6 + 1) / (tanh(n0) * tanh(n0) + 1)", lambda n: (n[6] * n[6] + 1.0).log() / (n[0].tanh() * n[0].tanh() + 1.0)),
    )
    output = Step("n7.sum() + tanh(n0).mean() + tanh(n1).mean() + tanh(n2).mean()",
                  lambda n: n[7].sum() + n[0].tanh().mean() + n[1].tanh().mean() + n[2].tanh().mean())
    return Expression(inputs, steps, output)


def _fixed_directions(expression):
    rng = np.random.default_rng(6)
    return [rng.standard_normal(a.shape) for a in expression.inputs], [rng.standard_normal(a.shape) for a in expression.inputs]


def test_the_fixed_expression_passes():
    expression = _fixed_expression()
    check_expression(expression, *_fixed_directions(expression))


def test_a_slightly_wrong_first_derivative_is_caught(monkeypatch):
    def tanh_backward_off_by_1e_5(self, gradient, a, out):
        return (gradient * (1 - out * out) * (1 + 1e-5),)

    monkeypatch.setattr(elementwise.Tanh, "backward", tanh_backward_off_by_1e_5)
    expression = _fixed_expression()
    with pytest.raises(AssertionError, match="first derivative"):
        check_expression(expression, *_fixed_directions(expression))


def test_a_lost_second_derivative_is_caught(monkeypatch):
    def tanh_backward_without_graph(self, gradient, a, out):
        # Right first derivative, but the output's value is taken as a constant under create_graph.
        return (gradient * (1 - arraylike.value(out) * arraylike.value(out)),)

    monkeypatch.setattr(elementwise.Tanh, "backward", tanh_backward_without_graph)
    expression = _fixed_expression()
    with pytest.raises(AssertionError, match="second derivative"):
        check_expression(expression, *_fixed_directions(expression))
