"""A backward pass frees the graph it walked, unless asked to keep it (``retain_graph=True``)."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad
from tinygrad_mnist.autograd import GraphFreedError


def _loss():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    return x, (x * x).exp().sum()


def test_second_backward_through_a_freed_graph_says_to_retain_it():
    x, loss = _loss()
    loss.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        loss.backward()


def test_graph_freed_error_is_a_runtime_error_naming_the_op():
    _, loss = _loss()
    loss.backward()
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    assert isinstance(info.value, GraphFreedError)
    assert "Sum" in str(info.value) or "Exp" in str(info.value) or "Mul" in str(info.value)


def test_grad_after_backward_also_sees_the_freed_graph():
    x, loss = _loss()
    loss.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        grad(loss, x)


def test_grad_frees_the_graph_by_default():
    x, loss = _loss()
    grad(loss, x)
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        grad(loss, x)


def test_retain_graph_allows_a_second_backward_and_accumulates():
    x, loss = _loss()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    np.testing.assert_allclose(first, 2 * x.data * np.exp(x.data**2))


def test_retain_graph_in_grad_allows_a_second_grad():
    x, loss = _loss()
    (g1,) = grad(loss, x, retain_graph=True)
    (g2,) = grad(loss, x)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())


def test_backward_of_a_shared_subgraph_frees_it_for_the_other_branch():
    x = Tensor(np.array([1.0]), requires_grad=True)
    shared = x.exp()
    first, second = (shared * 2).sum(), (shared * 3).sum()
    first.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        second.backward()


def test_retaining_the_shared_part_lets_the_other_branch_run():
    x = Tensor(np.array([1.0]), requires_grad=True)
    shared = x.exp()
    first, second = (shared * 2).sum(), (shared * 3).sum()
    first.backward(retain_graph=True)
    second.backward()
    np.testing.assert_allclose(x.grad.numpy(), [5 * np.e])


def test_create_graph_keeps_the_graph():
    x, loss = _loss()
    loss.backward(create_graph=True)
    loss.backward()  # create_graph implies the graph is retained
    assert x.grad is not None


def test_a_fresh_graph_from_the_same_leaves_works_after_freeing():
    x, loss = _loss()
    loss.backward()
    (x * x).exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.data * np.exp(x.data**2))
