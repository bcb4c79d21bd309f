"""The documented examples run, and every public name has one."""

from __future__ import annotations

import doctest
import inspect
import types

import pytest

import tinygrad_mnist.data as data
from tinygrad_mnist.data import batching, datasets, download, idx, loader, mnist, preprocess


@pytest.mark.parametrize("module", [data, idx, mnist, datasets, download, preprocess, batching, loader], ids=lambda m: m.__name__)
def test_doctest_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_api_has_docstrings_with_examples() -> None:
    assert sorted(data.__all__) == sorted(set(data.__all__))
    for name in data.__all__:
        obj = getattr(data, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__ and "Example" in obj.__doc__, f"{name} lacks an example"
