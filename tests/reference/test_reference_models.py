"""Second-order derivatives of small models against the hyper-dual reference.

* the Hessian-vector product of a 2-layer MLP's cross-entropy loss, with respect to its weights;
* a gradient-penalty loss ``L + λ·||∂L/∂x||²`` (double backward), backpropagated to the weights and
  to the input.

The losses are written once with calls that ``Tensor`` and ``HyperDual`` share, so the very same
code runs in reverse mode and in the reference.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np
from hyperdual import HyperDual
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, grad

PENALTY = 0.7


def mlp_cross_entropy(params: Sequence, x, labels: np.ndarray, activation: str):
    """Mean softmax cross-entropy of a 2-layer MLP ``act(x @ W1 + b1) @ W2 + b2``."""
    w1, b1, w2, b2 = params
    pre = x @ w1 + b1
    hidden = pre.tanh() if activation == "tanh" else pre.sigmoid()
    logits = hidden @ w2 + b2
    picked = logits[np.arange(labels.shape[0]), labels]
    return (logits.logsumexp(axis=1) - picked).mean()


class Problem:
    """Sizes, data, labels and weights of one small classification problem (all float64)."""

    def __init__(self, batch: int, features: int, hidden: int, classes: int, activation: str, seed: int):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((batch, features))
        self.labels = rng.integers(0, classes, batch)
        self.params = [
            rng.standard_normal((features, hidden)) * 0.8,
            rng.standard_normal(hidden) * 0.3,
            rng.standard_normal((hidden, classes)) * 0.8,
            rng.standard_normal(classes) * 0.3,
        ]
        self.activation = activation
        self.rng = rng

    def loss(self, params, x):
        return mlp_cross_entropy(params, x, self.labels, self.activation)

    def __repr__(self) -> str:
        shapes = [p.shape for p in self.params]
        return f"Problem(x {self.x.shape}, labels {self.labels.tolist()}, params {shapes}, {self.activation})"


@st.composite
def problems(draw, max_batch: int = 5, max_features: int = 4, max_hidden: int = 5, max_classes: int = 4):
    return Problem(
        draw(st.integers(1, max_batch)),
        draw(st.integers(1, max_features)),
        draw(st.integers(1, max_hidden)),
        draw(st.integers(2, max_classes)),
        draw(st.sampled_from(["tanh", "sigmoid"])),
        draw(st.integers(0, 2**32 - 1)),
    )


def _split(vector: np.ndarray, like: Sequence[np.ndarray]) -> List[np.ndarray]:
    parts, start = [], 0
    for array in like:
        parts.append(vector[start:start + array.size].reshape(array.shape))
        start += array.size
    return parts


def _basis(size: int, index: int) -> np.ndarray:
    e = np.zeros(size)
    e[index] = 1.0
    return e


# ---- Hessian-vector product of the MLP loss ------------------------------------------------------------
@given(problem=problems())
def test_mlp_cross_entropy_hessian_vector_product(problem):
    params = problem.params
    size = sum(p.size for p in params)
    v = problem.rng.standard_normal(size)
    # Reverse over reverse: Hv = grad(grad(L) · v).
    leaves = [Tensor(p, requires_grad=True) for p in params]
    loss = problem.loss(leaves, Tensor(problem.x))
    gradients = grad(loss, leaves, create_graph=True)
    along_v = None
    for g, d in zip(gradients, _split(v, params)):
        term = (g * Tensor(d)).sum()
        along_v = term if along_v is None else along_v + term
    hv = np.concatenate([h.numpy().ravel() for h in grad(along_v, leaves)])
    first = np.concatenate([g.numpy().ravel() for g in gradients])
    # Reference: (Hv)_j = e_jᵀ H v and (∇L)_j = ∇L · e_j, one hyper-dual evaluation per weight.
    expected_hv, expected_first = np.empty(size), np.empty(size)
    for j in range(size):
        seeded = [HyperDual(p, a, b) for p, a, b in zip(params, _split(_basis(size, j), params), _split(v, params))]
        out = problem.loss(seeded, problem.x)
        expected_hv[j], expected_first[j] = float(out.e12), float(out.e1)
    np.testing.assert_allclose(first, expected_first, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(hv, expected_hv, rtol=1e-6, atol=1e-10 * (1 + np.abs(expected_hv).max()))


# ---- gradient penalty: L + λ ||∂L/∂x||², backpropagated to the weights and the input ------------------------
def penalty_gradient_reference(problem: Problem) -> List[np.ndarray]:
    """d/dz of L + λ Σ_i (∂L/∂x_i)² for every variable z (the weights, then x), by hyper-duals.

    With ε₁ on x_i and ε₂ on z, one evaluation gives ∂L/∂x_i (ε₁ part), ∂L/∂z (ε₂ part) and
    ∂²L/∂x_i∂z (ε₁ε₂ part); the chain rule gives d/dz λ (∂L/∂x_i)² = 2λ ∂L/∂x_i ∂²L/∂x_i∂z.
    """
    variables = problem.params + [problem.x]
    size = sum(a.size for a in variables)
    x_offset = size - problem.x.size
    total = np.zeros(size)
    for j in range(size):
        for i in range(problem.x.size):
            first = _split(_basis(size, x_offset + i), variables)
            second = _split(_basis(size, j), variables)
            seeded = [HyperDual(a, d1, d2) for a, d1, d2 in zip(variables, first, second)]
            out = problem.loss(seeded[:-1], seeded[-1])
            total[j] += 2 * PENALTY * float(out.e1) * float(out.e12)
        total[j] += float(out.e2)  # ∂L/∂z: the same in every evaluation of the inner loop
    return _split(total, variables)


@given(problem=problems(max_batch=3, max_features=3, max_hidden=4, max_classes=3))
def test_gradient_penalty_backward_to_weights_and_input(problem):
    weights = [Tensor(p, requires_grad=True) for p in problem.params]
    x = Tensor(problem.x, requires_grad=True)
    loss = problem.loss(weights, x)
    (dx,) = grad(loss, x, create_graph=True)
    total = loss + PENALTY * (dx * dx).sum()
    total.backward()
    expected = penalty_gradient_reference(problem)
    for name, tensor, reference in zip(["W1", "b1", "W2", "b2", "x"], weights + [x], expected):
        np.testing.assert_allclose(
            tensor.grad.numpy(), reference, rtol=1e-6, atol=1e-12, err_msg=f"{name} of {problem}"
        )


def test_gradient_penalty_on_a_fixed_problem_is_not_trivial():
    """The penalty term really contributes (so the test above checks double backward, not just L)."""
    problem = Problem(batch=3, features=2, hidden=3, classes=3, activation="tanh", seed=1)
    weights = [Tensor(p, requires_grad=True) for p in problem.params]
    x = Tensor(problem.x, requires_grad=True)
    loss = problem.loss(weights, x)
    (dx,) = grad(loss, x, create_graph=True)
    (loss + PENALTY * (dx * dx).sum()).backward()
    expected = penalty_gradient_reference(problem)
    np.testing.assert_allclose(weights[0].grad.numpy(), expected[0], rtol=1e-6, atol=1e-12)
    # Without the penalty the weights' gradient differs noticeably.
    only_loss = [Tensor(p, requires_grad=True) for p in problem.params]
    problem.loss(only_loss, Tensor(problem.x)).backward()
    assert np.abs(only_loss[0].grad.numpy() - weights[0].grad.numpy()).max() > 1e-3
