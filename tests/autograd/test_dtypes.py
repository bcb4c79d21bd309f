"""float32 stays float32 (forward, every backward rule, leaf gradients); float64 stays float64."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, grad
from tinygrad_mnist.autograd import toposort
from tinygrad_mnist.ops import elementwise, movement

RNG = np.random.default_rng(7)


def _graph(loss):
    """Every tensor of ``loss``'s graph that requires grad (what a backward pass visits)."""
    return toposort([loss], lambda t: [p for p in t._ctx.parents if p.requires_grad] if t._ctx else ())


def _leaves(dtype):
    x = Tensor(RNG.uniform(0.5, 2.0, (3, 4)).astype(dtype), requires_grad=True)
    w = Tensor(RNG.uniform(-1.0, 1.0, (4, 2)).astype(dtype), requires_grad=True)
    b = Tensor(RNG.uniform(-1.0, 1.0, (1, 2)).astype(dtype), requires_grad=True)  # broadcast bias
    return x, w, b


# Losses that mix Python scalars, broadcasting and every kind of op into a graph of one dtype.
LOSSES = {
    "scalars": lambda x, w, b: ((x * 2.5 + 1) / 3 - 0.5 ** x + 2 ** x - 1 / x + x ** 2 + x ** 0.5).sum(),
    "broadcast": lambda x, w, b: (x @ w + b).sum() + (x[:, :1] * x).mean() + (b.reshape(2, 1) - w[:2]).sum(),
    "reductions": lambda x, w, b: x.var(axis=0, ddof=1).sum() + x.logsumexp(axis=1).mean() + x.max(axis=1).sum()
    + x.min() + x.mean(axis=(0, 1)),
    "activations": lambda x, w, b: (x.sigmoid() + x.tanh() + (x - 1).relu() + (x - 1).abs() + x.erf() + x.exp()
                                    + x.log() + x.sqrt()).sum(),
    "selection": lambda x, w, b: (elementwise.where(x.data > 1, x, 0.0) + x.clip(0.7, 1.5) + x.maximum(1.0)
                                  + x.minimum(x * 0.9)).sum() + x[np.arange(3), np.array([0, 3, 3])].sum()
    + x[x.data > 1].sum(),
    "movement": lambda x, w, b: (movement.concatenate([x, x.T.T], axis=1).sum() + movement.stack([w, w]).mean()
                                 + x.expand(2, 3, 4).sum() + x.unsqueeze(0).squeeze().flatten().sum()
                                 + x.swapaxes(0, 1).permute(1, 0).sum()),
    "cross_entropy": lambda x, w, b: ((x @ w + b).logsumexp(axis=1) - (x @ w + b)[np.arange(3), np.array([0, 1, 1])]).mean(),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_graph_of_one_dtype_has_that_dtype_everywhere(name, dtype):
    leaves = _leaves(dtype)
    loss = LOSSES[name](*leaves)
    assert loss.dtype == dtype
    for node in _graph(loss):
        assert node.dtype == dtype, f"{node.op} made a {node.dtype} tensor in a {np.dtype(dtype)} graph"
    loss.backward()
    for leaf in leaves:
        if leaf.grad is not None:
            assert leaf.grad.dtype == dtype and leaf.grad.shape == leaf.shape


def _promotions(loss, monkeypatch) -> list:
    """Run ``loss.backward()`` and list every backward rule that returned a gradient whose dtype
    differs from its input's (the engine would silently cast it back)."""
    promoted = []
    for node in _graph(loss):
        ctx = node._ctx
        if ctx is None:
            continue

        def checked(gradient, *arrays, _rule=ctx.backward, _ctx=ctx):
            results = _rule(gradient, *arrays)
            for parent, g in zip(_ctx.parents, results):
                if g is not None and np.asarray(g).dtype != parent.dtype:
                    promoted.append(f"{_ctx.name}: {np.asarray(g).dtype} gradient for a {parent.dtype} input")
            return results

        monkeypatch.setattr(ctx, "backward", checked)
    loss.backward()
    return promoted


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_backward_rule_keeps_the_dtype(name, dtype, monkeypatch):
    """No rule may lean on the engine's cast: a rule that promotes float32 to float64 doubles the
    work and memory of a backward pass even though the leaf gradients end up right."""
    leaves = _leaves(dtype)
    assert _promotions(LOSSES[name](*leaves), monkeypatch) == []


def test_the_promotion_detector_detects(monkeypatch):
    class PromotingDouble(Function):
        def forward(self, a):
            return a * 2

        def backward(self, grad, a, out):
            return (grad.astype(np.float64) * 2,)

    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    promoted = _promotions((PromotingDouble.apply(x) * 3).sum(), monkeypatch)
    assert promoted == ["PromotingDouble: float64 gradient for a float32 input"]
    assert x.grad.dtype == np.float32  # the engine's cast hides it from the leaf


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_second_order_gradients_keep_the_dtype(dtype):
    x, w, b = _leaves(dtype)
    loss = LOSSES["cross_entropy"](x, w, b) + LOSSES["activations"](x, w, b)
    gx, gw = grad(loss, [x, w], create_graph=True)
    assert gx.dtype == dtype and gw.dtype == dtype
    penalty = (gx * gx).sum() + (gw * gw).sum()
    assert penalty.dtype == dtype
    for g in grad(penalty, [x, w, b]):
        assert g.dtype == dtype


def test_python_scalars_take_the_tensor_dtype():
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    for result in (x + 1, 1 + x, x * 0.1, 0.1 * x, x / 3, 3 / x, x - 1e-3, 1e-3 - x, x ** 2.5, 2.5 ** x):
        assert result.dtype == np.float32


def test_numpy_float_scalars_take_the_tensor_dtype():
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert (x * np.float64(0.5)).dtype == np.float32
    assert (np.float64(0.5) * x).dtype == np.float32


def test_python_lists_and_floats_default_to_float32():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(1.5).dtype == np.float32
    assert Tensor(np.array([1.0])).dtype == np.float64


def test_broadcast_gradient_of_a_float32_leaf_is_float32():
    bias = Tensor(np.zeros((1, 3), dtype=np.float32), requires_grad=True)
    scale = Tensor(np.array(2.0, dtype=np.float32), requires_grad=True)
    ((Tensor(np.ones((5, 3), dtype=np.float32)) + bias) * scale).sum().backward()
    assert bias.grad.dtype == np.float32 and bias.grad.shape == (1, 3)
    assert scale.grad.dtype == np.float32 and scale.grad.shape == ()
    np.testing.assert_array_equal(bias.grad.numpy(), np.full((1, 3), 10.0, dtype=np.float32))


def test_gradient_through_a_cast_comes_back_in_the_input_dtype():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    z = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (z.float() * 3).sum().backward()
    assert z.grad.dtype == np.float64


def test_a_float32_tensor_meeting_a_float64_tensor_gets_float32_gradients():
    # NumPy promotes the forward to float64; the float32 leaf still gets a float32 gradient.
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = x * Tensor(np.array([2.0, 3.0]))
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_casting_to_an_integer_dtype_leaves_the_graph():
    x = Tensor(np.array([1.5, 2.5]), requires_grad=True)
    rounded = x.astype(np.int64)
    assert rounded.dtype == np.int64
    assert not rounded.requires_grad, "only floating-point tensors can require gradients"
    y = (rounded.astype(np.float64) * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])  # the integer path contributes nothing


def test_integer_tensors_meeting_float32_take_float32():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    ints = Tensor(np.array([1, 2]))
    for result in (ints * x, x ** Tensor(np.array([2])), x - Tensor(np.array([True, False]))):
        assert result.dtype == np.float32
    (ints * x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])
