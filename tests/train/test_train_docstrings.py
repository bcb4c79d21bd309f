"""The examples in the train package's docstrings run and print what they show."""
import doctest
import importlib

import pytest

MODULES = [
    "builders", "checkpoint", "config", "evaluation", "grid_plan", "interrupt", "memory", "metrics",
    "npzfile", "rngstate", "run_files", "rundir", "runs", "saved_run", "settings", "splits", "state", "status",
    "summary", "trainer",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"tinygrad_mnist.train.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_every_module_is_listed():
    from pathlib import Path

    import tinygrad_mnist.train as train

    files = {p.stem for p in Path(train.__file__).parent.glob("*.py")} - {"__init__"}
    assert files == set(MODULES)
