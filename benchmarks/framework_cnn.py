"""This framework's LeNet-5 in the benchmark: ``nn.LeNet5`` trained by the same loop as the MLPs.

>>> import numpy as np
>>> from benchmarks.workload import CNN_ARCHITECTURES, initial_weights, synthetic_mnist
>>> arch = CNN_ARCHITECTURES["lenet5 relu"]
>>> model = FrameworkLeNet(initial_weights(arch), arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> 0.0 < model.train_epoch(synthetic_mnist(300), batch_size=100) < 3.0
True
"""
from __future__ import annotations

from tinygrad_mnist import nn

from benchmarks.framework_mlp import FrameworkMLP, JittedMLP, load_weights
from benchmarks.workload import Weights


def build_lenet(weights: Weights, activation: str) -> nn.LeNet5:
    """An ``nn.LeNet5`` holding copies of ``weights`` (conv (O, C, 5, 5), Linear (in, out)), in their dtype."""
    return load_weights(nn.LeNet5(activation=activation, dtype=weights[0][0].dtype), weights)


class FrameworkLeNet(FrameworkMLP):
    """nn.LeNet5 + nn.SoftmaxCrossEntropyLoss + optim.SGD with momentum and weight decay; images go in
    as the (N, 784) batches of the data set, which LeNet5 reshapes to (N, 1, 28, 28)."""

    make_model = staticmethod(build_lenet)


class JittedLeNet(JittedMLP):
    """``FrameworkLeNet`` with its step under ``jit``."""

    make_model = staticmethod(build_lenet)
