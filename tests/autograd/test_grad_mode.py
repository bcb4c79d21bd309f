"""``no_grad`` / ``enable_grad`` as context managers and decorators, and ``is_grad_enabled``."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, enable_grad, is_grad_enabled, no_grad


def _weight():
    return Tensor(np.array([1.0, 2.0]), requires_grad=True)


def test_grad_is_enabled_by_default_and_ops_record():
    assert is_grad_enabled()
    y = _weight() * 2
    assert y.requires_grad and y._ctx is not None and y.op == "Mul"


def test_no_grad_context_records_nothing_and_restores():
    w = _weight()
    with no_grad():
        assert not is_grad_enabled()
        y = (w * 2).exp().sum()
    assert is_grad_enabled()
    assert not y.requires_grad and y._ctx is None and y.is_leaf
    np.testing.assert_allclose(y.item(), np.exp(2.0) + np.exp(4.0))


def test_no_grad_result_cannot_be_backpropagated():
    w = _weight()
    with no_grad():
        y = (w * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_as_a_decorator():
    @no_grad()
    def step(w):
        """Docstring kept by the decorator."""
        assert not is_grad_enabled()
        return w * 2

    y = step(_weight())
    assert not y.requires_grad
    assert is_grad_enabled()
    assert step.__doc__ == "Docstring kept by the decorator."
    assert step.__name__ == "step"


def test_enable_grad_inside_no_grad():
    w = _weight()
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = w * 2
        assert not is_grad_enabled()
        z = w * 2
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


def test_enable_grad_as_a_decorator_inside_no_grad():
    @enable_grad()
    def recorded(w):
        return w * 3

    with no_grad():
        y = recorded(_weight())
        assert not is_grad_enabled()
    assert y.requires_grad


def test_nested_no_grad_restores_the_outer_state():
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_state_is_restored_when_the_block_raises():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()

    @no_grad()
    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        failing()
    assert is_grad_enabled()


def test_no_grad_block_allows_in_place_style_updates_of_leaves():
    w = _weight()
    (w * w).sum().backward()
    with no_grad():
        updated = w - 0.1 * w.grad
    assert updated.is_leaf and not updated.requires_grad
    np.testing.assert_allclose(updated.numpy(), [0.8, 1.6])


def test_leaves_can_be_created_with_requires_grad_under_no_grad():
    with no_grad():
        w = _weight()
    assert w.requires_grad
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])
