"""The engine depends on the ``Node`` protocol only: it runs on stand-in nodes that are not Tensors,
and every op builds its result from the class of its inputs."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, no_grad
from tinygrad_mnist.autograd import Node, backward, grad
from tinygrad_mnist.nn import Parameter
from tinygrad_mnist.ops import elementwise


class Box(Node):
    """A stand-in node: an array and the graph fields, with no array API at all."""

    __slots__ = ()

    def __init__(self, values, requires_grad=False):
        self.data = np.asarray(values, dtype=np.float64)
        self.requires_grad = requires_grad
        self.grad = None
        self._ctx = None

    @staticmethod
    def _wrap(data, requires_grad=False):
        box = Box.__new__(Box)
        box.data, box.requires_grad, box.grad, box._ctx = np.asarray(data), requires_grad, None, None
        return box

    @staticmethod
    def _constant_like(value, operands):
        return Box(value)


class Times(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, grad, a, b, out):
        return grad * b, grad * a


class Total(Function):
    def forward(self, a):
        return a.sum()

    def backward(self, grad, a, out):
        return (np.broadcast_to(grad, a.shape),)


def test_the_engine_differentiates_stand_in_nodes():
    x, w = Box([1.0, 2.0], requires_grad=True), Box([3.0, 5.0], requires_grad=True)
    hidden = Times.apply(x, w)
    assert type(hidden) is Box and hidden._ctx.parents == (x, w)
    loss = Total.apply(Times.apply(hidden, x))  # sum(w * x**2)
    gx, gw = grad(loss, [x, w], retain_graph=True)
    assert type(gx) is Box
    np.testing.assert_array_equal(gx.data, [6.0, 20.0])  # 2 w x
    np.testing.assert_array_equal(gw.data, [1.0, 4.0])  # x**2
    backward(loss)
    np.testing.assert_array_equal(x.grad.data, [6.0, 20.0])
    assert type(x.grad) is Box


def test_a_constant_operand_takes_the_class_of_the_node_it_meets():
    x = Box([2.0], requires_grad=True)
    y = Times.apply(x, 3.0)
    assert type(y) is Box and type(y._ctx.parents[1]) is Box


def test_an_op_needs_at_least_one_node():
    with pytest.raises(TypeError, match="at least one Tensor"):
        Times.apply(2.0, np.array([3.0]))
    with pytest.raises(TypeError, match="at least one Tensor"):
        elementwise.add(1, 2)


def test_ops_on_parameters_give_plain_tensors():
    w = Parameter(np.ones(2, dtype=np.float32))
    for result in (w * 2, w.exp(), elementwise.where(np.array([True, False]), w, 0.0), w > 0, w.detach()):
        assert type(result) is Tensor
    with no_grad():
        assert type(w + w) is Tensor
    (w * w).sum().backward()
    assert type(w.grad) is Tensor


def test_tensor_is_a_node_and_keeps_its_own_attributes():
    t = Tensor([1.0], name="t")
    assert isinstance(t, Node) and t.name == "t"
    with pytest.raises(AttributeError):
        t.anything_else = 1  # slots: no per-instance dict
