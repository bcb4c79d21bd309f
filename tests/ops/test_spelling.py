"""PyTorch spellings get one line naming this project's spelling: ``dim=`` anywhere, Tensor attributes.

The first test finds every public callable that takes a NumPy-style axis argument (by its signature)
and requires that it wears ``numpy_spelling``, so a new function cannot forget it.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.ops import elementwise, linalg, movement, reduce
from tinygrad_mnist.ops.axes import ElementCount
from tinygrad_mnist.ops.spelling import TENSOR_ATTRIBUTE_HINTS, TORCH_KEYWORDS, numpy_spelling

# Parameters whose PyTorch spelling differs (see TORCH_KEYWORDS and the value rewrites).
_NUMPY_PARAMETERS = {"axis", "keepdims", "start_axis", "end_axis", "axis1", "axis2", "ddof"}


def _candidates():
    """(label, callable) for every public function, method and layer constructor of the surface."""
    for name in dir(Tensor):
        member = getattr(Tensor, name)
        if not name.startswith("_") and callable(member):
            yield f"Tensor.{name}", member
    yield "ElementCount.__call__", ElementCount.__call__
    for module in (tm, F, elementwise, linalg, movement, reduce):
        exported = getattr(module, "__all__", None)
        for name in exported or dir(module):
            value = getattr(module, name)
            defined_here = exported or getattr(value, "__module__", None) == module.__name__
            if not name.startswith("_") and inspect.isfunction(value) and defined_here:
                yield f"{module.__name__}.{name}", value
    for name in nn.__all__:
        value = getattr(nn, name)
        if inspect.isclass(value) and "__init__" in vars(value):
            yield f"nn.{name}", value.__init__


def _takes_numpy_axes(function) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return bool(_NUMPY_PARAMETERS & set(parameters))


AXIS_TAKERS = sorted({label: f for label, f in _candidates() if _takes_numpy_axes(f)}.items())


def test_the_scan_finds_the_surface():
    labels = {label for label, _ in AXIS_TAKERS}
    assert {"Tensor.sum", "Tensor.std", "tinygrad_mnist.cat", "nn.Softmax", "nn.Flatten",
            "tinygrad_mnist.nn.functional.log_softmax", "tinygrad_mnist.ops.reduce.mean"} <= labels


@pytest.mark.parametrize("label, function", AXIS_TAKERS, ids=[label for label, _ in AXIS_TAKERS])
def test_every_callable_with_an_axis_argument_explains_torch_keywords(label, function):
    assert getattr(function, "numpy_spelling", None), f"{label} takes axis arguments but lacks @numpy_spelling"


X = Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))

# (call, the keyword it must name, the spelling the message must contain)
MISSPELLED = [
    (lambda: X.sum(dim=1), "axis=", "write sum(axis=1)"),
    (lambda: X.mean(1, keepdim=True), "keepdims=", "write mean(keepdims=True)"),
    (lambda: X.max(dim=0), "axis=", "max(axis=0)"),
    (lambda: X.argmax(dim=1), "axis=", "argmax(axis=1)"),
    (lambda: X.var(unbiased=True), "ddof", "ddof=1 for unbiased=True"),
    (lambda: X.std(correction=1), "ddof", "ddof=<the same number>"),
    (lambda: X.logsumexp(dim=1), "axis=", "logsumexp(axis=1)"),
    (lambda: X.softmax(dim=1), "axis=", "softmax(axis=1)"),
    (lambda: X.log_softmax(dim=-1), "axis=", "log_softmax(axis=-1)"),
    (lambda: X.any(dim=0), "axis=", "any(axis=0)"),
    (lambda: X.flatten(start_dim=0), "start_axis=", "flatten(start_axis=0)"),
    (lambda: X.swapaxes(dim0=0, dim1=1), "axis1=", "swapaxes(axis1=0)"),
    (lambda: X.unsqueeze(dim=0), "axis=", "unsqueeze(axis=0)"),
    (lambda: X.squeeze(dim=0), "axis=", "squeeze(axis=0)"),
    (lambda: X.size(dim=0), "axis=", "size(axis=0)"),
    (lambda: tm.cat([X, X], dim=1), "axis=", "concatenate(axis=1)"),
    (lambda: tm.stack([X, X], dim=1), "axis=", "stack(axis=1)"),
    (lambda: tm.linspace(0, 1, steps=3), "num=", "linspace(num=3)"),
    (lambda: tm.linspace(0, end=1), "stop=", "linspace(stop=1)"),
    (lambda: F.softmax(X, dim=1), "axis=", "softmax(axis=1)"),
    (lambda: reduce.sum(X, dim=0), "axis=", "sum(axis=0)"),
    (lambda: nn.Softmax(dim=1), "axis=", "Softmax(axis=1)"),
    (lambda: nn.LogSoftmax(dim=1), "axis=", "LogSoftmax(axis=1)"),
    (lambda: nn.Flatten(start_dim=1), "start_axis=", "Flatten(start_axis=1)"),
]


@pytest.mark.parametrize("call, keyword, advice", MISSPELLED, ids=[m[2] for m in MISSPELLED])
def test_a_torch_keyword_gets_one_line_naming_the_numpy_one(call, keyword, advice):
    with pytest.raises(TypeError) as caught:
        call()
    message = str(caught.value)
    assert keyword in message and advice in message and "\n" not in message, message


def test_other_type_errors_pass_through_unchanged():
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        X.sum(colour=1)

    @numpy_spelling
    def broken(axis=None):
        raise TypeError("inner problem")

    with pytest.raises(TypeError, match="inner problem"):
        broken(axis=0)


def test_the_keyword_table_maps_to_parameters_that_exist():
    targets = set(TORCH_KEYWORDS.values())
    assert targets <= _NUMPY_PARAMETERS


@pytest.mark.parametrize("name", sorted(TENSOR_ATTRIBUTE_HINTS))
def test_a_torch_attribute_gets_its_equivalent(name):
    with pytest.raises(AttributeError) as caught:
        getattr(X, name)
    message = str(caught.value)
    assert message.startswith(f"'Tensor' object has no attribute {name!r}; ") and "\n" not in message


def test_unknown_attributes_stay_ordinary_attribute_errors():
    with pytest.raises(AttributeError) as caught:
        X.reshap  # noqa: B018
    assert str(caught.value) == "'Tensor' object has no attribute 'reshap'"
    assert caught.value.name == "reshap" and caught.value.obj is X  # what Python's "did you mean" uses
    assert not hasattr(X, "_repr_png_") and getattr(X, "no_such_thing", 5) == 5


def test_hints_name_attributes_the_tensor_really_has():
    spelled = {"view": "reshape", "t": "T", "numel": "size", "dim": "ndim", "clamp": "clip"}
    for torch_name, ours in spelled.items():
        assert ours in TENSOR_ATTRIBUTE_HINTS[torch_name] and hasattr(X, ours)
