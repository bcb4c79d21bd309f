"""Arrays saved by a live graph cannot change unnoticed (autograd/saved.py).

A stray write to an array a recorded op will read in backward raises at the write; a deliberate
update (an optimizer step, load_state_dict, modify_in_place) is allowed, and a backward pass through
an op recorded before it raises ModifiedError. Nothing is copied, and once the backward pass has freed
the graph nothing stays guarded.
"""
from __future__ import annotations

import gc

import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad, no_grad
from tinygrad_mnist.autograd import ModifiedError, modify_in_place, saved
from tinygrad_mnist.nn import Linear, Parameter
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.optim import SGD


@pytest.fixture(autouse=True)
def nothing_held_before_and_after():
    gc.collect()
    assert not saved.any_held()
    yield
    gc.collect()
    assert not saved.any_held(), "a test left arrays guarded"


def test_writing_a_saved_input_before_backward_raises_at_the_write():
    x, w = Tensor([1.0, 2.0]), Tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    for array in (w.data, x.data):  # the weight and the constant input: both change w's gradient
        with pytest.raises(ValueError, match="read-only"):
            array[:] = 100
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])
    w.data[:] = 100  # the backward pass freed the graph: the arrays are the user's again
    x.data[0] = 5


def test_a_parameter_used_deep_in_a_graph_is_guarded_until_the_pass_reaches_it():
    layer, head = Linear(3, 4, seed=0), Linear(4, 2, seed=1)
    loss = F.cross_entropy(head(layer(Tensor(np.ones((2, 3), dtype=np.float32))).tanh()), np.array([0, 1]))
    for p in (*layer.parameters(), *head.parameters()):
        with pytest.raises(ValueError, match="read-only"):
            p.data[...] = 0
    loss.backward()
    assert all(p.data.flags.writeable for p in (*layer.parameters(), *head.parameters()))


def test_results_of_ops_are_not_guarded_and_augmented_assignment_on_them_is_refused():
    # Only leaves are guarded (a flag on every intermediate array cost 3-4% of a step); an op's result
    # is written by ops only, and x += y on one whose graph is alive is refused (ops/inplace.py).
    x = Tensor([0.5, 1.0], requires_grad=True)
    h = x.exp()
    y = (h * h).sum()
    assert h.data.flags.writeable
    with pytest.raises(RuntimeError, match="graph is still alive"):
        with no_grad():
            h += 1
    y.backward()


def test_a_graph_dropped_without_backward_gives_its_arrays_back():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).tanh().sum()
    assert not w.data.flags.writeable
    del y
    gc.collect()
    assert w.data.flags.writeable


def test_an_optimizer_step_between_two_backward_passes_of_one_graph_raises():
    w = Parameter([1.0, 2.0])
    opt = SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()  # allowed: the update is deliberate
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    with pytest.raises(ModifiedError, match=r"Mul: input 0 \(shape \(2,\), float32\) was modified in place"):
        loss.backward()
    del loss
    opt.zero_grad()
    loss = (w * w).sum()  # a new forward pass records the new values: everything works again
    loss.backward()
    opt.step()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_the_step_updates_in_place_without_copies(momentum):
    layer = Linear(3, 2, seed=0)
    opt = SGD(layer.parameters(), lr=0.1, momentum=momentum)
    arrays = [p.data for p in layer.parameters()]
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(layer(Tensor(np.ones((4, 3), dtype=np.float32))), np.array([0, 1, 0, 1]))
        loss.backward()
        assert not saved.any_held()  # the backward pass let go of everything: step has nothing to open
        opt.step()
    assert all(p.data is a for p, a in zip(layer.parameters(), arrays))


def test_two_losses_sharing_a_trunk_then_a_step_work_as_in_pytorch():
    trunk, head_a, head_b = Linear(3, 3, seed=0), Linear(3, 2, seed=1), Linear(3, 2, seed=2)
    params = [*trunk.parameters(), *head_a.parameters(), *head_b.parameters()]
    opt = SGD(params, lr=0.1)
    x, labels = Tensor(np.ones((2, 3), dtype=np.float32)), np.array([0, 1])
    for _ in range(2):
        opt.zero_grad()
        features = trunk(x).tanh()
        loss_a = F.cross_entropy(head_a(features), labels)
        loss_b = F.cross_entropy(head_b(features), labels)
        loss_a.backward(retain_graph=True)
        loss_b.backward()
        opt.step()  # loss_a's head is still held (retained): the step is allowed all the same
        assert saved.any_held()
    del loss_a, loss_b, features


def test_a_step_after_backward_with_create_graph_is_allowed():
    w = Parameter([1.0, -2.0])
    opt = SGD([w], lr=0.1)
    loss = (w * w * w).sum()
    loss.backward(create_graph=True)  # w.grad keeps a graph that holds w
    opt.step()
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.3, -2.0 - 1.2], rtol=1e-6)
    with pytest.raises(ModifiedError):
        grad(w.grad.sum(), w)  # differentiating the old gradient would use the new weights
    opt.zero_grad()
    del loss


def test_load_state_dict_into_a_held_model_is_a_deliberate_update():
    model = Linear(3, 2, seed=0)
    loss = model(Tensor(np.ones((1, 3), dtype=np.float32))).sum()
    model.load_state_dict(Linear(3, 2, seed=1).state_dict())
    np.testing.assert_array_equal(model.weight.numpy(), Linear(3, 2, seed=1).weight.numpy())
    with pytest.raises(ModifiedError, match="Linear: input 1"):
        loss.backward()
    del loss


def test_modify_in_place_lets_user_code_update_a_held_tensor():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * 3).sum()
    with modify_in_place(w):
        w.data *= 0.5
    assert not w.data.flags.writeable  # guarded again for the graph that still holds it
    with pytest.raises(ModifiedError):
        y.backward()
    del y


def test_arrays_that_were_read_only_stay_read_only():
    frozen = np.array([1.0, 2.0])
    frozen.flags.writeable = False
    x = Tensor(frozen, requires_grad=True)
    (x * x).sum().backward()
    assert not frozen.flags.writeable


def test_one_array_held_by_two_graphs_is_writable_only_when_both_let_go():
    w = Tensor([1.0, 2.0], requires_grad=True)
    first, second = (w * 2).sum(), (w * 3).sum()
    first.backward()
    assert not w.data.flags.writeable
    second.backward()
    assert w.data.flags.writeable


def test_a_backward_pass_with_retain_graph_keeps_the_guard():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    with pytest.raises(ValueError, match="read-only"):
        w.data[0] = 7.0
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 8.0])
    w.data[0] = 7.0
