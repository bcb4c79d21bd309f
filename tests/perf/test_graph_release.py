"""After a training step the graph is gone: its op contexts, intermediate tensors and their arrays.

Checked by reference counting alone (the cyclic garbage collector is switched off): a graph that
needed the collector would pile up between collections and make memory saw-tooth during training.
"""
import gc
import weakref

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn, optim

from graph_walk import graph_of


def _step_and_watch(activation: str, loss_name: str):
    """One training step; returns weakrefs to everything of its graph except the model's leaves."""
    rng = np.random.default_rng(0)
    model = nn.MLP(6, [5, 4], 3, activation=activation, seed=0)
    loss_fn = nn.LOSSES[loss_name]()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = rng.random((8, 6), dtype=np.float32)
    labels = rng.integers(0, 3, size=8)
    parameter_ids = {id(p) for p in model.parameters()}

    loss = loss_fn(model(Tensor(x)), labels)
    tensors, ops = graph_of(loss)
    assert ops, "the loss recorded no graph"
    intermediates = [t for t in tensors if id(t) not in parameter_ids and t._ctx is not None]
    watched = [weakref.ref(t) for t in intermediates] + [weakref.ref(op) for op in ops]
    watched += [weakref.ref(t.data) for t in intermediates if t.data.base is None]
    for op in ops:  # arrays an op saved for its backward rule
        watched += [weakref.ref(v) for v in vars(op).values() if isinstance(v, np.ndarray) and v.base is None]
    del tensors, intermediates, ops

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss, watched, model, optimizer


@pytest.fixture
def no_cyclic_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.mark.parametrize("activation", sorted(nn.ACTIVATIONS))
def test_graph_dies_after_step_for_every_activation(activation, no_cyclic_gc):
    loss, watched, model, optimizer = _step_and_watch(activation, "ce")
    assert loss._ctx is None or loss._ctx.parents is None, "backward() without retain_graph keeps the graph"
    del loss
    alive = [ref() for ref in watched if ref() is not None]
    assert not alive, f"{len(alive)} graph objects survive the step, e.g. {type(alive[0]).__name__}"


@pytest.mark.parametrize("loss_name", sorted(nn.LOSSES))
def test_graph_dies_after_step_for_every_loss(loss_name, no_cyclic_gc):
    loss, watched, model, optimizer = _step_and_watch("relu", loss_name)
    del loss
    alive = [ref() for ref in watched if ref() is not None]
    assert not alive, f"{len(alive)} graph objects survive the step, e.g. {type(alive[0]).__name__}"


def test_parameters_and_gradients_hold_no_graph(no_cyclic_gc):
    loss, watched, model, optimizer = _step_and_watch("tanh", "ce")
    del loss
    for name, p in model.named_parameters():
        assert p._ctx is None, f"{name} became a graph node"
        assert p.grad is not None and p.grad._ctx is None and not p.grad.requires_grad, f"{name}.grad carries a graph"


def test_the_watch_itself_sees_a_live_graph(no_cyclic_gc):
    """Control: while the loss is held and backward has not run, the watched objects are alive."""
    model = nn.MLP(6, [5], 3, activation="tanh", seed=0)
    loss = nn.SoftmaxCrossEntropyLoss()(model(Tensor(np.ones((2, 6), dtype=np.float32))), np.array([0, 1]))
    tensors, ops = graph_of(loss)
    refs = [weakref.ref(op) for op in ops]
    del tensors, ops
    assert all(ref() is not None for ref in refs)
    del loss
    assert all(ref() is None for ref in refs)
