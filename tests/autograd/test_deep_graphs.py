"""Deep graphs: no RecursionError, and the work of a backward pass grows linearly with the graph.

Linearity is checked by counting (nodes in the topological order, backward rules run, parents
looked up), never by timing, so the test is deterministic on a busy machine.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, grad
from tinygrad_mnist.autograd import engine, topological_order

DEEP = 100_000
SHALLOW = 20_000


class _CountedAddOne(Function):
    """``x + 1`` that counts how often its backward rule runs (class-wide)."""

    calls = 0

    def forward(self, x):
        return x + 1

    def backward(self, grad, x, out):
        _CountedAddOne.calls += 1
        return (grad,)


def _chain(x: Tensor, length: int) -> Tensor:
    y = x
    for _ in range(length):
        y = _CountedAddOne.apply(y)
    return y


def test_backward_through_100k_ops_needs_no_recursion():
    assert DEEP > 10 * sys.getrecursionlimit()
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for i in range(DEEP):
        y = y * 1.0 if i % 2 else y + 0.5
    np.testing.assert_allclose(y.numpy(), [1.0 + DEEP / 4, 2.0 + DEEP / 4])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_grad_and_second_order_through_a_deep_chain():
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(5_000):
        y = y + x * 0.0  # every link also depends on x directly
    y = y * y
    (g,) = grad(y, x, create_graph=True)
    assert g.item() == pytest.approx(1.0)
    (gg,) = grad(g, x)
    assert gg.item() == pytest.approx(2.0)


def test_work_grows_linearly_with_the_chain_length(monkeypatch):
    lookups = []
    real_parents_of = engine._parents_of

    def counting_parents_of(node):
        lookups.append(1)
        return real_parents_of(node)

    monkeypatch.setattr(engine, "_parents_of", counting_parents_of)
    counts = {}
    for length in (SHALLOW, DEEP):
        x = Tensor(np.zeros(3), requires_grad=True)
        y = _chain(x, length)
        order = topological_order([y])
        lookups.clear()
        _CountedAddOne.calls = 0
        y.sum().backward()
        counts[length] = (len(order), _CountedAddOne.calls, len(lookups))
        np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
    # length + 1 tensors (the ops and the leaf), one backward rule per op, and the lookups of
    # parents grow by the same factor as the chain (a constant per node, whatever it is).
    assert counts[SHALLOW][:2] == (SHALLOW + 1, SHALLOW)
    assert counts[DEEP][:2] == (DEEP + 1, DEEP)
    shallow_lookups, deep_lookups = counts[SHALLOW][2], counts[DEEP][2]
    assert deep_lookups - 5 * shallow_lookups == pytest.approx(0, abs=10), (shallow_lookups, deep_lookups)


def test_shared_subgraphs_are_visited_once_not_once_per_path():
    # y_{k+1} = y_k + y_k has 2**k paths from the output to x; a walk without a visited set
    # (or a recursive one without memo) would never finish.
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    depth = 200
    for _ in range(depth):
        y = y * 0.5 + y * 0.5
    order = topological_order([y])
    assert len(order) == 1 + 3 * depth  # x, then two muls and an add per level
    assert len({id(t) for t in order}) == len(order)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_topological_order_puts_inputs_before_their_users():
    x = Tensor(np.array([1.0]), requires_grad=True)
    w = Tensor(np.array([2.0]), requires_grad=True)
    constant = Tensor(np.array([3.0]))
    a = x * w
    b = a + constant
    c = a.exp() * b
    order = topological_order([c])
    position = {id(t): i for i, t in enumerate(order)}
    assert id(constant) not in position, "tensors that need no gradient are left out"
    for node in order:
        if node._ctx is not None:
            for parent in node._ctx.parents:
                if parent.requires_grad:
                    assert position[id(parent)] < position[id(node)]
    assert order[-1] is c
    # Deterministic: the same graph gives the same order.
    assert [id(t) for t in topological_order([c])] == [id(t) for t in order]


def test_deleting_a_deep_unfreed_graph_does_not_crash():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(DEEP):
        y = y + 1.0
    y.sum().backward(retain_graph=True)
    del y  # tearing down 100k nested tensors must not overflow the C stack
    assert x.grad.item() == 1.0
