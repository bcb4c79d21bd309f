"""Deep graphs: no RecursionError, and the work of a backward pass grows linearly with the graph.

Linearity is checked by counting (nodes the walker visits, calls of its parents function, backward
rules run), never by timing, so the test is deterministic on a busy machine.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, grad
from tinygrad_mnist.autograd import engine, toposort

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


def _graph_parents(node: Tensor):
    """A tensor's inputs that require grad: the edges a backward pass follows."""
    if node._ctx is None:
        return ()
    return [parent for parent in node._ctx.parents if parent.requires_grad]


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
    # The pass walks the graph once (one call of the parents function per node) and runs each
    # backward rule once: the work is linear in the length, whatever the constant.
    real_parents = engine.inputs_needing_grad
    calls = {"parents": 0}

    def counting_parents(node):
        calls["parents"] += 1
        return real_parents(node)

    monkeypatch.setattr(engine, "inputs_needing_grad", counting_parents)
    for length in (SHALLOW, DEEP):
        x = Tensor(np.zeros(3), requires_grad=True)
        y = _chain(x, length)
        assert len(toposort([y], _graph_parents)) == length + 1  # the ops and the leaf
        calls["parents"] = 0
        _CountedAddOne.calls = 0
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
        assert _CountedAddOne.calls == length  # one backward rule per op
        assert calls["parents"] == length + 2  # the chain's ops, the Sum and the leaf, once each


class _FreshAddOne(Function):
    """``x + 1`` whose backward returns a new array and remembers (weakly) the gradient it got."""

    received = []

    def forward(self, x):
        return x + 1

    def backward(self, grad, x, out):
        _FreshAddOne.received.append(weakref.ref(grad))
        return (grad * 1.0,)


def test_gradients_are_freed_as_soon_as_they_are_consumed():
    # When an op's rule runs, the gradient its user's rule received is already gone: on a chain
    # of any length the pass holds one gradient at a time, not one per op.
    x = Tensor(np.zeros(1000), requires_grad=True)
    y = x
    for _ in range(200):
        y = _FreshAddOne.apply(y)
    _FreshAddOne.received = []
    alive_at_each_rule = []
    real_backward = _FreshAddOne.backward

    def watching_backward(self, grad, x, out):
        alive_at_each_rule.append(sum(ref() is not None for ref in _FreshAddOne.received))
        return real_backward(self, grad, x, out)

    _FreshAddOne.backward = watching_backward
    try:
        y.sum().backward()
    finally:
        _FreshAddOne.backward = real_backward
    assert len(alive_at_each_rule) == 200
    assert max(alive_at_each_rule) == 0


def test_backward_visits_users_before_the_tensors_they_use():
    # Diamond with a long and a short path to x: x's gradient must be complete (both paths in)
    # before x's own op runs its backward rule, whatever order the ops were written in.
    x = Tensor(np.array([1.5]), requires_grad=True)
    root = x * 1.0
    long_path = root
    for _ in range(50):
        long_path = long_path + 0.0
    y = (long_path * root).sum()  # y = root**2, dy/dx = 2 x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_shared_subgraphs_are_visited_once_not_once_per_path():
    # y_{k+1} = y_k + y_k has 2**k paths from the output to x; a walk without a visited set
    # (or a recursive one without memo) would never finish.
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    depth = 200
    for _ in range(depth):
        y = y * 0.5 + y * 0.5
    order = toposort([y], _graph_parents)
    assert len(order) == 1 + 3 * depth  # x, then two muls and an add per level
    assert len({id(t) for t in order}) == len(order)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_the_walk_puts_users_before_their_inputs():
    x = Tensor(np.array([1.0]), requires_grad=True)
    w = Tensor(np.array([2.0]), requires_grad=True)
    constant = Tensor(np.array([3.0]))
    a = x * w
    b = a + constant
    c = a.exp() * b
    order = toposort([c], _graph_parents)
    position = {id(t): i for i, t in enumerate(order)}
    assert id(constant) not in position, "tensors that need no gradient are left out"
    for node in order:
        for parent in _graph_parents(node):
            assert position[id(parent)] > position[id(node)]
    assert order[0] is c
    # Deterministic: the same graph gives the same order.
    assert [id(t) for t in toposort([c], _graph_parents)] == [id(t) for t in order]


def test_deleting_a_deep_unfreed_graph_does_not_crash():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(DEEP):
        y = y + 1.0
    y.sum().backward(retain_graph=True)
    del y  # tearing down 100k nested tensors must not overflow the C stack
    assert x.grad.item() == 1.0
