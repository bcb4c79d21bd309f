"""float32 stays float32 end to end: activations, losses, gradients, parameters, momentum buffers."""
import itertools

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn, optim

from graph_walk import graph_of

FLOAT32 = np.dtype(np.float32)


def _float_dtypes(tensors):
    return {t.dtype for t in tensors if t.dtype.kind == "f"}


@pytest.mark.parametrize("activation, loss_name", list(itertools.product(sorted(nn.ACTIVATIONS), sorted(nn.LOSSES))))
def test_training_keeps_float32(activation, loss_name):
    rng = np.random.default_rng(1)
    model = nn.MLP(6, [5], 4, activation=activation, seed=0)
    loss_fn = nn.LOSSES[loss_name]()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for step in range(3):
        x = Tensor(rng.standard_normal((8, 6)).astype(np.float32))
        labels = rng.integers(0, 4, size=8)
        hidden = model.layers[0](x)
        activated = model.layers[1](hidden)
        logits = model.layers[2](activated)
        loss = loss_fn(logits, labels)
        for what, t in (("hidden", hidden), ("activation", activated), ("logits", logits), ("loss", loss)):
            assert t.dtype == FLOAT32, f"step {step}: {what} is {t.dtype}"
        tensors, _ = graph_of(loss)
        assert _float_dtypes(tensors) == {FLOAT32}, f"float dtypes in the graph: {_float_dtypes(tensors)}"
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for name, p in model.named_parameters():
            assert p.dtype == FLOAT32, f"step {step}: {name} is {p.dtype}"
            assert p.grad.dtype == FLOAT32, f"step {step}: {name}.grad is {p.grad.dtype}"
            assert np.all(np.isfinite(p.data)), f"step {step}: {name} is not finite"
    buffers = [state["momentum_buffer"] for state in optimizer.state_dict()["state"].values()]
    assert len(buffers) == len(list(model.parameters()))
    assert {np.asarray(b).dtype for b in buffers} == {FLOAT32}


@pytest.mark.parametrize("module", [nn.Softmax(), nn.LogSoftmax()], ids=["softmax", "log_softmax"])
def test_softmax_modules_keep_float32(module):
    x = Tensor(np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    out = module(x)
    assert out.dtype == FLOAT32
    (out * Tensor(np.arange(5, dtype=np.float32))).sum().backward()
    assert x.grad.dtype == FLOAT32


def test_float32_check_catches_a_float64_model():
    """Control: the same checks see a float64 model as float64 (they are not vacuous)."""
    model = nn.MLP(6, [5], 4, activation="tanh", seed=0, dtype=np.float64)
    loss = nn.SoftmaxCrossEntropyLoss()(model(Tensor(np.ones((2, 6)))), np.array([0, 1]))
    tensors, _ = graph_of(loss)
    assert np.dtype(np.float64) in _float_dtypes(tensors)
