"""The examples in the benchmark modules' docstrings run (they are the modules' smallest tests)."""
import doctest
import importlib

import pytest

MODULES = [
    "benchmarks.workload",
    "benchmarks.agreement",
    "benchmarks.compare",
    "benchmarks.numpy_reference",
    "benchmarks.torch_reference",
    "benchmarks.framework_mlp",
    "benchmarks.framework_cnn",
    "benchmarks.numpy_cnn",
    "benchmarks.conv_products",
    "benchmarks.machine",
    "benchmarks.mnist_load",
    "benchmarks.overhead",
    "benchmarks.profile_epoch",
    "benchmarks.step_overhead",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctest_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
