"""Gradients add up: over several uses of a tensor, over backward calls, and into independent arrays."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad
from tinygrad_mnist.ops import movement


def _leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    x = _leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_a_tensor_used_in_many_branches_gets_every_contribution():
    x = _leaf([0.5, 2.0])
    y = x.exp() + 3 * x + x * x + x[np.array([1, 1, 0])].sum() - x.sum()
    y.sum().backward()
    # The two scalar terms are broadcast over both elements of y, so y.sum() counts them twice.
    expected = np.exp([0.5, 2.0]) + 3 + 2 * np.array([0.5, 2.0]) + 2 * (np.array([1.0, 2.0]) - 1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


def test_same_input_on_both_sides_of_add_and_mul():
    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 2.0))
    x.grad = None
    (x @ x).sum().backward()
    ones = np.ones((2, 2))
    np.testing.assert_allclose(x.grad.numpy(), ones @ x.data.T + x.data.T @ ones)


def test_diamond_graph_counts_each_path_once():
    x = _leaf([2.0])
    a = x * 3
    b = a.exp()
    c = a * a
    (b + c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 * np.exp(6.0) + 2 * 6.0 * 3], rtol=1e-14)


@pytest.mark.parametrize("uses", [3, 4, 7])
@pytest.mark.parametrize("shape", [(1,), (2, 3)])
def test_a_tensor_used_many_times(uses, shape):
    x = Tensor(np.full(shape, 2.0), requires_grad=True)
    total = x
    for _ in range(uses - 1):
        total = total + x
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, float(uses)))


@pytest.mark.parametrize(
    "build,expected", [(lambda x: x + x + x, 3.0), (lambda x: x * x * x, 12.0), (lambda x: x + x + x + x, 4.0)],
    ids=["add3", "mul3", "add4"],
)
def test_a_0d_tensor_used_three_times_or_more(build, expected):
    # Sums of 0-d gradients are NumPy scalars unless the engine keeps them as arrays.
    x = Tensor(np.array(2.0), requires_grad=True)
    build(x).backward()
    assert x.grad.shape == () and isinstance(x.grad.numpy(), np.ndarray)
    assert x.grad.item() == expected
    (g,) = grad(build(x), x)
    assert g.item() == expected


def test_a_0d_tensor_used_twice():
    x = Tensor(np.array(2.0), requires_grad=True)
    (x * x).backward()
    assert x.grad.shape == () and x.grad.item() == 4.0


def test_leaf_gradients_accumulate_across_backward_calls():
    x = _leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None  # what zero_grad does: the next backward starts afresh
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_accumulation_across_calls_does_not_mutate_an_earlier_gradient_object():
    x = _leaf([1.0, 2.0])
    (x * 3).sum().backward()
    first = x.grad
    snapshot = first.numpy().copy()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * snapshot)
    np.testing.assert_array_equal(first.numpy(), snapshot)


def test_grad_leaves_dot_grad_alone_and_backward_accumulates_on_top():
    x = _leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (g,) = grad((x * x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


# ---- gradient arrays are independent: an optimizer may update .grad in place --------------------------
def _separate_grads_expressions():
    """(name, leaves, loss builder, seed or None) for graphs where gradients could end up aliased."""
    return [
        ("a+b", 2, lambda a, b: (a + b).sum()),
        ("x+x", 1, lambda x: (x + x).sum()),
        ("a-b", 2, lambda a, b: (a - b).sum()),
        ("reshape views", 2, lambda a, b: (a.reshape(-1) + b.reshape(-1)).sum()),
        ("transpose views", 2, lambda a, b: (a.T + b.T).sum()),
        ("sum broadcast", 2, lambda a, b: a.sum() + b.sum()),
        ("expand", 2, lambda a, b: (a.expand(3, 2, 2) + b).sum()),
        ("getitem slices", 2, lambda a, b: (a[::-1] + b[:, ::-1]).sum()),
        ("concatenate", 2, lambda a, b: movement.concatenate([a, b]).sum()),
        ("stack", 2, lambda a, b: movement.stack([a, b]).sum()),
        ("astype", 2, lambda a, b: (a.astype(np.float32) + b.astype(np.float32)).sum()),
        ("mean", 2, lambda a, b: (a + b).mean()),
    ]


@pytest.mark.parametrize(
    "leaves,build", [(n, f) for _, n, f in _separate_grads_expressions()], ids=[e[0] for e in _separate_grads_expressions()]
)
def test_leaf_gradients_are_separate_writable_arrays(leaves, build):
    tensors = [_leaf([[1.0, 2.0], [3.0, 4.0]]) for _ in range(leaves)]
    build(*tensors).backward()
    grads = [t.grad.numpy() for t in tensors]
    before = [g.copy() for g in grads]
    for g in grads:
        assert g.flags.writeable, "a leaf gradient must be writable (optimizers update it in place)"
    grads[0] += 100.0  # in place, like an optimizer's weight decay would
    for t, b in zip(tensors[1:], before[1:]):
        np.testing.assert_array_equal(t.grad.numpy(), b)
    for i, g in enumerate(grads):
        for t in tensors:
            assert not np.shares_memory(g, t.data), f"gradient {i} shares memory with a leaf's data"
        for j, other in enumerate(grads):
            if i != j:
                assert not np.shares_memory(g, other), f"gradients {i} and {j} share memory"


def test_leaf_gradient_does_not_alias_the_seed_gradient():
    x = _leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    (x + 0).backward(seed)
    x.grad.numpy()[...] = 7.0
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    y = _leaf([1.0, 2.0])
    seed_tensor = Tensor(np.array([3.0, 3.0]))
    y.backward(seed_tensor)  # a leaf as its own output
    y.grad.numpy()[...] = 0.0
    np.testing.assert_array_equal(seed_tensor.numpy(), [3.0, 3.0])


def test_grad_results_are_separate_arrays():
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    seed = Tensor(np.array([1.0, 1.0]))
    ga, gb = grad(a + b, [a, b], grad_outputs=seed)
    assert not np.shares_memory(ga.numpy(), gb.numpy())
    assert not np.shares_memory(ga.numpy(), seed.numpy())
    ga.numpy()[...] = 5.0
    np.testing.assert_array_equal(gb.numpy(), [1.0, 1.0])
