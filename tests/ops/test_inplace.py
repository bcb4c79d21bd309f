"""Augmented assignment on tensors (``ops/inplace.py``) and NumPy ufuncs meeting a Tensor (``ops/ufuncs.py``)."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad, no_grad
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.nn import Linear, Parameter


def _parameter(values=(1.0, 2.0), dtype=np.float32):
    p = Parameter(np.array(values, dtype=dtype))
    p.grad = Tensor(np.full(len(values), 10.0, dtype=dtype))
    return p


# ---- a parameter update ---------------------------------------------------------------------------------
@pytest.mark.parametrize("grad_mode", [True, False], ids=["grad-mode", "no-grad"])
def test_p_minus_equals_updates_the_parameter_the_model_holds(grad_mode):
    layer = Linear(2, 1, seed=0)
    before = layer.weight.numpy().copy()
    layer.weight.grad = Tensor(np.ones((2, 1), dtype=np.float32))
    for p in layer.parameters():  # the loop a PyTorch user writes; `p` is rebound to the result
        if p.grad is None:
            continue
        if grad_mode:
            p -= 0.5 * p.grad
        else:
            with no_grad():
                p -= 0.5 * p.grad
    np.testing.assert_array_equal(layer.weight.numpy(), before - 0.5)
    weight = layer.weight
    assert weight.is_leaf and weight.requires_grad and weight.dtype == np.float32
    assert weight.grad is not None, "the update leaves .grad alone"


def test_every_augmented_operator_updates_values_and_keeps_identity():
    p = _parameter((4.0, 9.0))
    same = p
    p += 1.0
    p -= 1.0
    p *= 2.0
    p /= 2.0
    p **= 0.5
    assert p is same
    np.testing.assert_allclose(p.numpy(), [2.0, 3.0])
    m = Parameter(np.eye(2, dtype=np.float32) * 2)
    m @= Tensor(np.eye(2, dtype=np.float32) * 3)
    np.testing.assert_array_equal(m.numpy(), np.eye(2) * 6)


def test_float32_stays_float32_whatever_the_operand():
    p = _parameter()
    p -= np.array([0.5, 0.5], dtype=np.float64)
    p -= Tensor(np.array([0.5, 0.5]))  # a float64 tensor
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p.numpy(), [0.0, 1.0])


def test_plain_tensors_update_in_place_too():
    counts = Tensor(np.zeros(3, dtype=np.int64))
    same = counts
    counts += 1
    counts += np.array([0, 1, 2])
    assert counts is same and counts.numpy().tolist() == [1, 2, 3]


def test_a_graph_recorded_before_an_update_keeps_its_values():
    p = Tensor([2.0, 3.0], requires_grad=True)
    loss = (p * p).sum()
    p -= 1.0  # new values; the recorded graph saved the old array
    (g,) = grad(loss, p)
    np.testing.assert_array_equal(g.numpy(), [4.0, 6.0])  # 2p at the values the loss was computed from
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])


def test_a_create_graph_pass_through_an_updated_input_is_refused():
    p = Tensor([2.0, 3.0], requires_grad=True)
    loss = (p * p * p).sum()
    p -= 1.0
    with pytest.raises(RuntimeError, match=r"got new values after Mul used it .*update it after the backward pass"):
        grad(loss, p, create_graph=True)


def test_updating_after_backward_then_recomputing_is_fine():
    p = Tensor([2.0], requires_grad=True)
    (p * p).sum().backward()
    p -= 0.25 * p.grad
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [4.0 + 2.0])


# ---- recorded: x = x op y ----------------------------------------------------------------------------------
def test_loss_plus_equals_a_penalty_is_recorded():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * 3).sum()
    first = loss
    loss += (w * w).sum()
    assert loss is not first and loss.op == "Add"
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3 + 2, 3 + 4])


def test_accumulating_losses_into_a_zero_tensor_is_recorded():
    w = Tensor([1.0], requires_grad=True)
    total = Tensor(0.0)
    for k in (1.0, 2.0):
        total += (w * k).sum()
    total.backward()
    assert w.grad.item() == 3.0


# ---- refused ------------------------------------------------------------------------------------------------
def test_an_update_by_a_tensor_that_requires_grad_is_refused_naming_both_fixes():
    p = _parameter()
    v = Tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as caught:
        p -= v * 0.1
    message = str(caught.value)
    assert "x = x - y" in message and "y.detach()" in message and "\n" not in message
    p -= (v * 0.1).detach()
    np.testing.assert_allclose(p.numpy(), [0.9, 1.9])
    with no_grad():  # nothing can be recorded, so the values are simply used
        p -= v
    np.testing.assert_allclose(p.numpy(), [-0.1, 0.9], atol=1e-7)


def test_a_tensor_whose_graph_still_needs_it_is_refused():
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()  # Exp's backward reads its output
    with no_grad(), pytest.raises(RuntimeError, match=r"computed by Exp whose graph is still alive.*x = x \+ y"):
        h += 1.0
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)
    with no_grad():
        h += 1.0  # the graph is freed now: only the values remain
    np.testing.assert_allclose(h.numpy(), np.exp([1.0, 2.0]) + 1, rtol=1e-6)


@pytest.mark.parametrize(
    "update, error, pattern",
    [
        (lambda p: p.__iadd__(np.ones((3, 2))), ShapeError, r"x \+= y: the result has shape \(3, 2\).*x = x \+ y"),
        (lambda p: p.__isub__(np.ones(3)), ShapeError, r"x -= y: x of shape \(2,\) and y of shape \(3,\)"),
        (lambda p: p.__imatmul__(np.ones((2, 3))), ShapeError, r"x @= y: the result has shape \(3,\)"),
    ],
    ids=["broadcast-grows", "no-broadcast", "matmul-shape"],
)
def test_an_update_keeps_the_shape(update, error, pattern):
    p = _parameter()
    with pytest.raises(error, match=pattern):
        update(p)
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])


def test_an_update_keeps_the_dtype_kind():
    counts = Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"x is int64 and the result is float64.*x = x / y"):
        counts /= 2
    assert counts.numpy().tolist() == [1, 2]


# ---- NumPy ufuncs meeting a Tensor -----------------------------------------------------------------------
def test_p_data_minus_equals_a_tensor_takes_its_values():
    p = _parameter()
    weights = p.data
    p.data -= 0.1 * p.grad
    assert p.data is weights
    np.testing.assert_array_equal(p.numpy(), [0.0, 1.0])


@pytest.mark.parametrize(
    "expression, expected",
    [
        (lambda a, t: a - t, [0.0, -1.0]),
        (lambda a, t: a + t, [2.0, 3.0]),
        (lambda a, t: a * t, [1.0, 2.0]),
        (lambda a, t: a / t, [1.0, 0.5]),
        (lambda a, t: a ** t, [1.0, 1.0]),
        (lambda a, t: a < t, [False, True]),
        (lambda a, t: a == t, [True, False]),
        (lambda a, t: np.float32(3.0) - t, [2.0, 1.0]),
    ],
)
def test_an_ndarray_on_the_left_gives_the_tensor_op(expression, expected):
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = expression(np.ones(2, dtype=np.float32), t)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.numpy(), expected)


def test_an_ndarray_matmul_tensor_is_differentiable():
    t = Tensor(np.eye(2, dtype=np.float32), requires_grad=True)
    (np.ones((1, 2), dtype=np.float32) @ t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones((2, 2)))


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda t: np.exp(t), r"np\.exp\(\) got a Tensor: use the Tensor's own methods.*np\.exp\(t\.numpy\(\)\)"),
        (lambda t: np.add.reduce(t), r"np\.add\.reduce\(\) got a Tensor"),
        (lambda t: np.add(np.ones(2), 1.0, out=t), r"a Tensor cannot be NumPy's output"),
    ],
    ids=["exp", "reduce", "tensor-out"],
)
def test_other_ufunc_calls_say_what_to_do(call, pattern):
    with pytest.raises(TypeError, match=pattern) as caught:
        call(Tensor([1.0, 2.0]))
    assert "\n" not in str(caught.value)
