"""Hessian-vector product of an MLP's loss, by differentiating a gradient (create_graph=True).

H v = d/dw (dL/dw . v): one backward pass with create_graph=True gives dL/dw as a differentiable
graph; a second backward pass of its dot product with v gives H v, without ever forming H.
The result is checked against finite differences of the gradient.

Run: python examples/hessian_vector_product.py
"""
import numpy as np

from tinygrad_mnist import Tensor, grad, nn


def loss_and_params(seed: int = 0):
    rng = np.random.default_rng(seed)
    model = nn.MLP(6, [5], 3, activation="tanh", init="xavier", seed=seed, dtype=np.float64)
    x = Tensor(rng.standard_normal((8, 6)))
    labels = rng.integers(0, 3, size=8)
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    params = list(model.parameters())
    return (lambda: loss_fn(model(x), labels)), params


def hessian_vector_product(loss_fn, params, vectors):
    gradients = grad(loss_fn(), params, create_graph=True)
    dot = sum((g * Tensor(v)).sum() for g, v in zip(gradients, vectors))
    return [h.numpy() for h in grad(dot, params)]


def main() -> None:
    loss_fn, params = loss_and_params()
    rng = np.random.default_rng(1)
    vectors = [rng.standard_normal(p.shape) for p in params]
    hv = hessian_vector_product(loss_fn, params, vectors)

    # Finite differences of the gradient along v: (g(w + e v) - g(w - e v)) / 2e.
    eps = 1e-5
    def gradient_at(sign):
        for p, v in zip(params, vectors):
            p.data += sign * eps * v
        gradients = [g.numpy().copy() for g in grad(loss_fn(), params)]
        for p, v in zip(params, vectors):
            p.data -= sign * eps * v
        return gradients
    plus, minus = gradient_at(+1), gradient_at(-1)
    numeric = [(a - b) / (2 * eps) for a, b in zip(plus, minus)]
    worst = max(float(np.abs(h - n).max()) for h, n in zip(hv, numeric))
    print(f"H v for {sum(p.size for p in params)} parameters; largest difference from finite differences: {worst:.2e}")
    assert worst < 1e-6, worst


if __name__ == "__main__":
    main()
