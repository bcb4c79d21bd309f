"""The benchmark compares like with like: its implementations train to the same weights.

The same check runs inside benchmarks/run.py on full epochs; here it runs on a small slice so that a
change to the framework or to the references that breaks the comparison fails CI, not a benchmark.
"""
import numpy as np
import pytest

from benchmarks import torch_reference
from benchmarks.framework_mlp import FrameworkMLP
from benchmarks.numpy_reference import NumpyMLP
from benchmarks.run import WEIGHT_TOLERANCE, _weight_difference
from benchmarks.workload import (
    ARCHITECTURES,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    epoch_order,
    initial_weights,
    matmul_flops,
    synthetic_mnist,
)

IMPLEMENTATIONS = [FrameworkMLP] + ([torch_reference.TorchMLP] if torch_reference.available() else [])


@pytest.fixture(scope="module")
def data():
    return epoch_order(synthetic_mnist(600, seed=3), 0, seed=3)


@pytest.mark.parametrize("arch_name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda cls: cls.__name__)
def test_implementations_agree_with_numpy_reference(arch_name, implementation, data):
    arch = ARCHITECTURES[arch_name]
    weights = initial_weights(arch, seed=3)
    reference = NumpyMLP(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    candidate = implementation(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    ref_loss = reference.train_epoch(data, batch_size=50)
    loss = candidate.train_epoch(data, batch_size=50)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert _weight_difference(candidate.weights(), reference.weights()) <= WEIGHT_TOLERANCE
    moved = _weight_difference(reference.weights(), weights)
    assert moved > 100 * WEIGHT_TOLERANCE, "training barely moved the weights: the comparison would prove nothing"


def test_agreement_check_detects_a_missing_weight_decay(data):
    """Control: the tolerance is tight enough to see the smallest plausible mistake."""
    arch = ARCHITECTURES["784-128-10 tanh"]
    weights = initial_weights(arch, seed=3)
    reference = NumpyMLP(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    wrong = NumpyMLP(weights, arch.activation, LEARNING_RATE, MOMENTUM, weight_decay=0.0)
    for _ in range(5):
        reference.train_epoch(data, batch_size=50)
        wrong.train_epoch(data, batch_size=50)
    assert _weight_difference(wrong.weights(), reference.weights()) > WEIGHT_TOLERANCE


def test_synthetic_data_is_deterministic_and_mnist_shaped():
    a, b = synthetic_mnist(500, seed=7), synthetic_mnist(500, seed=7)
    assert a.x.shape == (500, 784) and a.x.dtype == np.float32 and a.y.dtype == np.int64
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert 0.0 <= a.x.min() and a.x.max() <= 1.0 and set(np.unique(a.y)) == set(range(10))


def test_flop_count_of_a_single_layer():
    arch = ARCHITECTURES["784-128-10 tanh"]
    # forward 2*n*i*o and weight gradient 2*n*i*o per layer, input gradient for the second layer only
    expected = 2 * 10 * 784 * 128 * 2 + 2 * 10 * 128 * 10 * 3
    assert matmul_flops(arch, 10) == expected
