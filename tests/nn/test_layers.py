"""Linear (initialisations, dtypes, errors), Sequential, Flatten and Dropout."""
import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.autograd import grad
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.ops.linalg import linear
from tinygrad_mnist.testing import gradcheck, gradgradcheck


# ---- Linear ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "init, expected_std",
    [("normal", 0.01), ("xavier", math.sqrt(6 / 1500) / math.sqrt(3)), ("he", math.sqrt(2 / 1000))],
)
def test_linear_init_statistics_on_a_large_layer(init, expected_std):
    layer = nn.Linear(1000, 500, init=init, seed=0)
    w = layer.weight.numpy()
    assert w.shape == (1000, 500) and w.dtype == np.float32
    assert w.std() == pytest.approx(expected_std, rel=0.01)
    assert abs(w.mean()) < 4 * expected_std / math.sqrt(w.size)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(500, dtype=np.float32))


def test_xavier_is_uniform_within_its_limit_and_normal_honours_init_std():
    limit = math.sqrt(6 / (300 + 200))
    w = nn.Linear(300, 200, init="xavier", seed=0).weight.numpy()
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    # uniform: about a tenth of the values in each tenth of the range
    counts, _ = np.histogram(w, bins=10, range=(-limit, limit))
    assert counts.min() > 0.9 * w.size / 10
    assert nn.Linear(1000, 500, init_std=0.1, seed=0).weight.numpy().std() == pytest.approx(0.1, rel=0.01)


@pytest.mark.parametrize("init", nn.INITS)
def test_linear_init_is_deterministic_given_a_seed_or_generator(init):
    a = nn.Linear(20, 10, init=init, seed=3).weight.numpy()
    b = nn.Linear(20, 10, init=init, seed=3).weight.numpy()
    c = nn.Linear(20, 10, init=init, seed=4).weight.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rng = np.random.default_rng(3)
    first = nn.Linear(20, 10, init=init, seed=rng).weight.numpy()
    second = nn.Linear(20, 10, init=init, seed=rng).weight.numpy()
    np.testing.assert_array_equal(first, a)  # a Generator is used as is...
    assert not np.array_equal(first, second)  # ...and advances


def test_linear_float64_is_honoured_and_draws_the_same_weights():
    l64 = nn.Linear(5, 4, seed=0, dtype=np.float64)
    l32 = nn.Linear(5, 4, seed=0)
    assert l64.weight.dtype == l64.bias.dtype == np.float64
    np.testing.assert_allclose(l64.weight.numpy(), l32.weight.numpy(), rtol=1e-6)
    out = l64(Tensor(np.ones((2, 5))))
    assert out.dtype == np.float64
    assert repr(l64) == "Linear(in_features=5, out_features=4, bias=True, dtype=float64)"


def test_linear_forward_is_x_at_weight_plus_bias_and_gradchecks():
    layer = nn.Linear(3, 2, seed=0, dtype=np.float64)
    layer.bias.data[:] = [0.5, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), x @ layer.weight.numpy() + layer.bias.numpy())
    assert layer(Tensor(x)).op == "Linear"  # one op: one matmul, one broadcast add
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    assert gradcheck(lambda x, w, b: linear(x, w, b), [x, weight, bias])
    assert gradgradcheck(lambda x, w, b: linear(x, w, b), [x, weight, bias])


def test_linear_gradients_equal_those_of_matmul_then_add():
    layer = nn.Linear(4, 3, seed=1)
    layer.bias.data[:] = [0.25, -0.5, 1.0]
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    fused = grad((layer(x) ** 2).sum(), [x, layer.weight, layer.bias])
    unfused = grad(((x @ layer.weight + layer.bias) ** 2).sum(), [x, layer.weight, layer.bias])
    for a, b in zip(fused, unfused):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_linear_without_bias():
    layer = nn.Linear(3, 2, bias=False, seed=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer(np.ones((1, 3), dtype=np.float32)).shape == (1, 2)


def test_linear_input_errors_say_what_to_do():
    layer = nn.Linear(784, 10, seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 28, 28\).*Flatten"):
        layer(Tensor(np.zeros((2, 28, 28), dtype=np.float32)))
    with pytest.raises(TypeError, match="float64 input.*astype"):
        layer(Tensor(np.zeros((2, 784))))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"in_features": 0, "out_features": 2}, "in_features"),
        ({"in_features": 2.5, "out_features": 2}, "in_features"),
        ({"in_features": 2, "out_features": -1}, "out_features"),
        ({"in_features": 2, "out_features": 2, "init": "glorot"}, "normal, xavier, he"),
        ({"in_features": 2, "out_features": 2, "init_std": 0.0}, "init_std"),
        ({"in_features": 2, "out_features": 2, "dtype": np.int32}, "float"),
        ({"in_features": 2, "out_features": 2, "seed": "zero"}, "seed"),
    ],
)
def test_linear_rejects_bad_settings(kwargs, message):
    with pytest.raises((ConfigError, TypeError), match=message):
        nn.Linear(**kwargs)


# ---- Sequential, Flatten --------------------------------------------------------------------------
def test_sequential_applies_modules_in_order_and_indexes():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, seed=0), nn.ReLU())
    x = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    expected = np.maximum(x.reshape(2, 4) @ net[1].weight.numpy(), 0)
    np.testing.assert_allclose(net(Tensor(x)).numpy(), expected, rtol=1e-6)
    assert len(net) == 3 and isinstance(net[-1], nn.ReLU)
    assert list(net) == [net[0], net[1], net[2]]
    tail = net[1:]
    assert isinstance(tail, nn.Sequential) and len(tail) == 2 and tail[0] is net[1]


def test_sequential_rejects_classes_and_non_modules():
    with pytest.raises(TypeError, match=r"the class ReLU.*ReLU\(\)"):
        nn.Sequential(nn.ReLU)
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_flatten_keeps_the_batch_axis():
    assert nn.Flatten()(Tensor(np.zeros((5, 2, 3, 4)))).shape == (5, 24)
    assert nn.Flatten(0)(np.zeros((5, 2))).shape == (10,)


# ---- Dropout --------------------------------------------------------------------------------------
def test_dropout_in_training_zeroes_a_fraction_p_and_rescales_the_rest():
    drop = nn.Dropout(0.3, seed=0)
    x = Tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True)
    out = drop(x)
    values = out.numpy()
    assert out.dtype == np.float32
    assert np.mean(values == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(values[values != 0], 1 / 0.7, rtol=1e-6)
    assert values.mean() == pytest.approx(1.0, abs=0.02)  # inverted dropout keeps the expectation
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # d(x * mask)/dx = mask


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = Tensor(np.ones((3, 4), dtype=np.float32))
    assert nn.Dropout(0.5).eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), np.zeros((3, 4)))


def test_dropout_masks_are_reproducible_from_the_seed_and_differ_between_calls():
    x = Tensor(np.ones((10, 10), dtype=np.float32))
    a, b = nn.Dropout(0.5, seed=1), nn.Dropout(0.5, seed=1)
    first = a(x).numpy()
    np.testing.assert_array_equal(first, b(x).numpy())
    assert not np.array_equal(first, a(x).numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_the_unit_interval(p):
    with pytest.raises(ConfigError, match="p must be >= 0 and <= 1"):
        nn.Dropout(p)
