"""The runnable examples in the nn and optim docstrings run and print what they claim."""
import doctest
import importlib

import pytest

MODULES = [
    "tinygrad_mnist.nn",
    "tinygrad_mnist.nn.activations",
    "tinygrad_mnist.nn.arguments",
    "tinygrad_mnist.nn.containers",
    "tinygrad_mnist.nn.conv",
    "tinygrad_mnist.nn.functional",
    "tinygrad_mnist.nn.init",
    "tinygrad_mnist.nn.layers",
    "tinygrad_mnist.nn.lenet",
    "tinygrad_mnist.nn.losses",
    "tinygrad_mnist.nn.mlp",
    "tinygrad_mnist.nn.module",
    "tinygrad_mnist.nn.normalization",
    "tinygrad_mnist.nn.pooling",
    "tinygrad_mnist.nn.utils",
    "tinygrad_mnist.optim",
    "tinygrad_mnist.optim.adam",
    "tinygrad_mnist.optim.optimizer",
    "tinygrad_mnist.optim.rmsprop",
    "tinygrad_mnist.optim.schedules",
    "tinygrad_mnist.optim.sgd",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
