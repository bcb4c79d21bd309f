"""tinygrad_mnist.func against the hyper-dual forward-mode reference.

The transforms' forward mode is built from two reverse passes (the double-VJP trick); the
hyper-dual numbers push derivatives forward op by op and share no code with the package. So:

* ``jvp`` on random expressions of 20+ ops equals the hyper-dual ε₁ part, ``hvp`` the ε₁ε₂ part;
* ``jacfwd`` and ``jacrev`` of a vector-valued model equal the hyper-dual columns;
* ``hessian`` of a small MLP's loss with respect to its list of weights equals uᵀHv over all basis
  pairs, block by block.
"""
from __future__ import annotations

from typing import List

import numpy as np
import pytest
from expressions import expressions
from hyperdual import HyperDual
from hypothesis import given
from hypothesis import strategies as st
from test_random_expressions import assert_close, directions
from test_reference_models import Problem, problems

from tinygrad_mnist import Tensor, func


@given(expression=expressions(min_steps=20), data=st.data())
def test_jvp_and_hvp_match_hyperdual_on_random_expressions(expression, data):
    u, v = directions(data, expression.inputs, "u"), directions(data, expression.inputs, "v")
    f = lambda *xs: expression.evaluate(xs)  # noqa: E731
    value, tangent = func.jvp(f, expression.inputs, u)
    gradient, hessian_v = func.hvp(f, expression.inputs, v)
    reference = expression.evaluate([HyperDual(a, du, dv) for a, du, dv in zip(expression.inputs, u, v)])
    assert value.item() == pytest.approx(float(reference.real), rel=1e-12, abs=1e-12)
    along_u = [g.numpy() * d for g, d in zip(gradient, u)]  # terms of ∇f·u, for the tolerance
    along_v = [g.numpy() * d for g, d in zip(gradient, v)]
    second = [h.numpy() * d for h, d in zip(hessian_v, u)]
    assert_close(tangent.item(), float(reference.e1), _magnitude(along_u), f"jvp along u of\n{expression}")
    assert_close(_total(along_v), float(reference.e2), _magnitude(along_v), f"hvp's gradient along v of\n{expression}")
    assert_close(_total(second), float(reference.e12), _magnitude(second), f"uᵀ·hvp(v) of\n{expression}")


def _total(terms) -> float:
    return float(sum(t.sum() for t in terms))


def _magnitude(terms) -> float:
    return float(sum(np.abs(t).sum() for t in terms))


def logits(params, x):
    """A 2-layer MLP's logits, written with calls Tensor and HyperDual share."""
    w1, b1, w2, b2 = params
    return (x @ w1 + b1).tanh() @ w2 + b2


def _hyperdual_columns(params: List[np.ndarray], x: np.ndarray, which: int) -> np.ndarray:
    """d logits / d params[which], one hyper-dual evaluation per weight: shape logits + weight."""
    target = params[which]
    columns = []
    for index in np.ndindex(*target.shape):
        seed = np.zeros(target.shape)
        seed[index] = 1.0
        seeded = [HyperDual(p, seed if k == which else None) for k, p in enumerate(params)]
        columns.append(logits(seeded, x).e1)
    out_shape = columns[0].shape
    return np.stack(columns, axis=-1).reshape(out_shape + target.shape)


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-10, 1e-12), (np.float32, 1e-5, 1e-6)])
@pytest.mark.parametrize("transform", [func.jacfwd, func.jacrev])
@given(problem=problems(max_batch=3, max_features=3, max_hidden=3, max_classes=3))
def test_jacobians_of_a_model_match_hyperdual_columns(transform, dtype, rtol, atol, problem):
    params = [p.astype(dtype) for p in problem.params]
    jac = transform(logits)(params, problem.x.astype(dtype))
    assert isinstance(jac, list) and len(jac) == 4
    for which, block in enumerate(jac):
        expected = _hyperdual_columns(problem.params, problem.x, which)
        assert block.shape == expected.shape and block.dtype == dtype
        np.testing.assert_allclose(block.numpy(), expected, rtol=rtol, atol=atol)


def _hyperdual_hessian(problem: Problem) -> np.ndarray:
    """The full Hessian of the loss over all weights (flattened in order): H[a, b] = e_aᵀ H e_b."""
    sizes = [p.size for p in problem.params]
    offsets = np.cumsum([0] + sizes)
    total = offsets[-1]

    def seeded_parts(flat_index):
        parts = []
        for p, start in zip(problem.params, offsets):
            part = np.zeros(p.size)
            if start <= flat_index < start + p.size:
                part[flat_index - start] = 1.0
            parts.append(part.reshape(p.shape))
        return parts

    hessian = np.empty((total, total))
    for a in range(total):
        for b in range(a, total):
            seeded = [HyperDual(p, d1, d2) for p, d1, d2 in zip(problem.params, seeded_parts(a), seeded_parts(b))]
            hessian[a, b] = hessian[b, a] = float(problem.loss(seeded, problem.x).e12)
    return hessian


def flat_matrix(blocks, params) -> np.ndarray:
    """Nested blocks ``H[i][j]`` (shape p_i + p_j) as one (n, n) matrix over all weights."""
    return np.block([[blocks[i][j].numpy().reshape(pi.size, pj.size) for j, pj in enumerate(params)]
                     for i, pi in enumerate(params)])


@given(problem=problems(max_batch=3, max_features=2, max_hidden=3, max_classes=3))
def test_hessian_of_an_mlp_loss_over_its_weight_list_matches_hyperdual(problem):
    blocks = func.hessian(lambda params: problem.loss(params, Tensor(problem.x)))(problem.params)
    assert len(blocks) == 4 and all(len(row) == 4 for row in blocks)
    for i, p in enumerate(problem.params):
        for j, q in enumerate(problem.params):
            assert blocks[i][j].shape == p.shape + q.shape
    expected = _hyperdual_hessian(problem)
    np.testing.assert_allclose(flat_matrix(blocks, problem.params), expected, rtol=1e-6,
                               atol=1e-10 * (1 + np.abs(expected).max()))


def test_every_composition_of_jacrev_and_jacfwd_gives_the_same_hessian():
    problem = Problem(batch=3, features=2, hidden=3, classes=3, activation="tanh", seed=4)
    loss = lambda params: problem.loss(params, Tensor(problem.x))  # noqa: E731
    expected = _hyperdual_hessian(problem)
    for outer in (func.jacrev, func.jacfwd):
        for inner in (func.jacrev, func.jacfwd):
            got = flat_matrix(outer(inner(loss))(problem.params), problem.params)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12, err_msg=f"{outer.__name__}({inner.__name__})")
    assert np.abs(expected).max() > 1e-2  # a Hessian worth comparing
