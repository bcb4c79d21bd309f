"""The benchmark compares like with like: its implementations train to the same weights.

The same gate runs inside benchmarks/run.py on full epochs; here it runs on a small slice so that a
change to the framework or to the references that breaks the comparison fails CI, not a benchmark.
"""
import numpy as np
import pytest

from benchmarks import agreement, torch_reference
from benchmarks.framework_cnn import FrameworkLeNet
from benchmarks.framework_mlp import FrameworkMLP
from benchmarks.numpy_cnn import NumpyLeNet
from benchmarks.numpy_reference import NumpyMLP
from benchmarks.workload import (
    ARCHITECTURES,
    CNN_ARCHITECTURES,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    epoch_order,
    initial_weights,
    matmul_flops,
    synthetic_mnist,
)

IMPLEMENTATIONS = {"numpy": NumpyMLP, "framework": FrameworkMLP}
CNN_IMPLEMENTATIONS = {"numpy": NumpyLeNet, "framework": FrameworkLeNet}
if torch_reference.available():
    IMPLEMENTATIONS["torch"] = torch_reference.TorchMLP
    CNN_IMPLEMENTATIONS["torch"] = torch_reference.TorchLeNet


@pytest.fixture(scope="module")
def data():
    return synthetic_mnist(1000, seed=3)


@pytest.mark.parametrize("arch_name", sorted(ARCHITECTURES))
def test_implementations_agree_in_float32_and_float64(arch_name, data):
    report = agreement.check(ARCHITECTURES[arch_name], 50, data, IMPLEMENTATIONS, seed=3)
    assert set(report) == set(IMPLEMENTATIONS) - {"numpy"}
    for differences in report.values():
        assert differences["float32_prefix"] <= agreement.FLOAT32_TOLERANCE
        assert differences["float64_epoch"] <= agreement.FLOAT64_TOLERANCE


@pytest.mark.parametrize("arch_name", sorted(CNN_ARCHITECTURES))
def test_the_lenet_implementations_agree_in_float32_and_float64(arch_name, data):
    report = agreement.check(CNN_ARCHITECTURES[arch_name], 50, _head(data, 500),
                             CNN_IMPLEMENTATIONS, seed=3)
    assert set(report) == set(CNN_IMPLEMENTATIONS) - {"numpy"}
    for differences in report.values():
        assert differences["float32_prefix"] <= agreement.FLOAT32_TOLERANCE
        assert differences["float64_epoch"] <= agreement.FLOAT64_TOLERANCE


def test_the_lenet_check_fails_when_max_pooling_copies_the_gradient_to_every_tie(data):
    """Control: tied maxima are common in LeNet's first layer (over blank parts of an image every
    window holds relu(bias)), so the classic shortcut mask ``a == max`` that gives each tied element
    the whole gradient changes the bias gradient, and is caught."""
    class EveryTie(NumpyLeNet):
        @staticmethod
        def _unpool(grad, a, pooled):
            n, h, w, c = a.shape
            winners = a.reshape(n, h // 2, 2, w // 2, 2, c) == pooled[:, :, None, :, None, :]
            return (winners * grad[:, :, None, :, None, :]).reshape(n, h, w, c)

    with pytest.raises(agreement.CorrectnessError, match="every_tie disagrees"):
        agreement.check(CNN_ARCHITECTURES["lenet5 relu"], 50, _head(data, 500),
                        {"numpy": NumpyLeNet, "every_tie": EveryTie}, seed=3)


def _head(data, n):
    return type(data)(data.x[:n], data.y[:n])


def test_the_check_fails_on_a_missing_weight_decay(data):
    """Control: an implementation that forgets weight decay (a 1e-4 term) does not pass."""
    class NoDecay(NumpyMLP):
        def __init__(self, weights, activation, lr, momentum, weight_decay):
            super().__init__(weights, activation, lr, momentum, 0.0)

    with pytest.raises(agreement.CorrectnessError, match="no_decay disagrees"):
        agreement.check(ARCHITECTURES["784-128-10 tanh"], 50, data, {"numpy": NumpyMLP, "no_decay": NoDecay}, seed=3)


def test_training_moves_the_weights_far_beyond_the_tolerances(data):
    """Control: agreement means something only if the weights change much more than the tolerance."""
    arch = ARCHITECTURES["784-128-10 tanh"]
    weights = initial_weights(arch, seed=3)
    trainer = NumpyMLP(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    trainer.train_epoch(epoch_order(data, 0, seed=3), batch_size=50)
    assert agreement.weight_difference(trainer.weights(), weights) > 100 * agreement.FLOAT32_TOLERANCE


def test_synthetic_data_is_deterministic_and_mnist_shaped():
    a, b = synthetic_mnist(500, seed=7), synthetic_mnist(500, seed=7)
    assert a.x.shape == (500, 784) and a.x.dtype == np.float32 and a.y.dtype == np.int64
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert 0.0 <= a.x.min() and a.x.max() <= 1.0 and set(np.unique(a.y)) == set(range(10))


def test_flop_count_of_a_two_layer_mlp():
    arch = ARCHITECTURES["784-128-10 tanh"]
    # forward 2*n*i*o and weight gradient 2*n*i*o per layer, input gradient for the second layer only
    expected = 2 * 10 * 784 * 128 * 2 + 2 * 10 * 128 * 10 * 3
    assert matmul_flops(arch, 10) == expected
