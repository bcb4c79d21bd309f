"""Activations: forward values against NumPy formulas, first and second derivatives, dtypes, extremes.

The cases are declared once in ACTIVATION_CASES; every test runs over all of them.
"""
import math
from typing import Callable, NamedTuple, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.testing import arrays, gradcheck, gradgradcheck, shapes

# Gradient checks are the slow part of the suite: half of the profile's examples.
FEW = settings(max_examples=max(4, settings().max_examples // 2), deadline=None)

_erf = np.vectorize(math.erf)


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Case(NamedTuple):
    name: str
    function: Callable  # the nn.functional form
    module: nn.Module
    reference: Callable  # an independent NumPy formula
    kinks: Tuple[float, ...] = ()  # points where a derivative (of order <= 2) jumps
    special: Tuple[float, ...] = ()  # points where it is smooth but a composed form could break


ACTIVATION_CASES = [
    Case("sigmoid", F.sigmoid, nn.Sigmoid(), _np_sigmoid, special=(0.0,)),
    Case("tanh", F.tanh, nn.Tanh(), np.tanh, special=(0.0,)),
    Case("relu", F.relu, nn.ReLU(), lambda x: np.where(x > 0, x, 0.0), (0.0,)),
    Case("leaky_relu", F.leaky_relu, nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x), (0.0,)),
    Case("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), (0.0,)),
    Case("elu", F.elu, nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), (0.0,)),
    Case("elu_0.5", lambda x: F.elu(x, 0.5), nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))), (0.0,)),
    Case("gelu", F.gelu, nn.GeLU(), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), special=(0.0,)),
    Case(
        "gelu_tanh", lambda x: F.gelu(x, "tanh"), nn.GeLU("tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    Case(
        "selu", F.selu, nn.SeLU(),
        lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))), (0.0,),
    ),
    Case("hardswish", F.hardswish, nn.HardSwish(), lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6, (-3.0, 3.0)),
    Case("silu", F.silu, nn.SiLU(), lambda x: x * _np_sigmoid(x), special=(0.0,)),
    Case("softplus", F.softplus, nn.Softplus(), lambda x: np.logaddexp(0.0, x), special=(0.0, 1e-300, -1e-300)),
    Case("softmax", F.softmax, nn.Softmax(), _np_softmax),
    Case("softmax_axis0", lambda x: F.softmax(x, 0), nn.Softmax(0), lambda x: _np_softmax(x, 0)),
    Case("log_softmax", F.log_softmax, nn.LogSoftmax(), lambda x: np.log(_np_softmax(x))),
    Case("log_softmax_axis0", lambda x: F.log_softmax(x, 0), nn.LogSoftmax(0), lambda x: np.log(_np_softmax(x, 0))),
]
IDS = [case.name for case in ACTIVATION_CASES]


def _inputs(case: Case, dtype=np.float64):
    return arrays(shapes(min_dims=1, max_dims=2, max_side=4), dtype=dtype, min_value=-4.0, max_value=4.0, avoid=case.kinks)


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=IDS)
@given(data=st.data())
@FEW
def test_gradcheck(case, data):
    x = data.draw(_inputs(case))
    assert gradcheck(case.function, [x])


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=IDS)
@given(data=st.data())
@FEW
def test_gradgradcheck(case, data):
    x = data.draw(_inputs(case))
    assert gradgradcheck(case.function, [x])


SPECIAL_CASES = [case for case in ACTIVATION_CASES if case.special]


@st.composite
def _at_special_points(draw, case: Case):
    """Inputs with some elements exactly at the case's special points (at least one)."""
    x = np.array(draw(_inputs(case)))
    mask = draw(st.lists(st.booleans(), min_size=x.size, max_size=x.size))
    mask[draw(st.integers(0, x.size - 1))] = True
    for i, chosen in enumerate(mask):
        if chosen:
            x.flat[i] = draw(st.sampled_from(case.special))
    return x


@pytest.mark.parametrize("case", SPECIAL_CASES, ids=[case.name for case in SPECIAL_CASES])
@given(data=st.data())
@FEW
def test_first_and_second_derivatives_at_special_points(case, data):
    x = data.draw(_at_special_points(case))
    assert gradcheck(case.function, [x])
    assert gradgradcheck(case.function, [x])


@pytest.mark.parametrize("name", ["softmax", "softmax_axis0", "log_softmax", "log_softmax_axis0"])
@given(data=st.data())
@FEW
def test_softmax_family_derivatives_at_huge_logits(name, data):
    # 1e4 + x: the rules must work on differences (finite differences of float64 still resolve them).
    case = next(case for case in ACTIVATION_CASES if case.name == name)
    x = data.draw(_inputs(case)) + 1e4
    assert gradcheck(case.function, [x])
    assert gradgradcheck(case.function, [x])


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=IDS)
@given(data=st.data())
@settings(deadline=None)
def test_forward_matches_numpy_formula(case, data):
    x = data.draw(_inputs(case))
    expected = case.reference(x)
    np.testing.assert_allclose(case.function(Tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(case.module(Tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=IDS)
def test_float32_stays_float32_in_value_and_gradient(case):
    x = Tensor(np.linspace(-5, 5, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    out = case.function(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), case.reference(x.numpy().astype(np.float64)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=IDS)
def test_extreme_inputs_give_finite_values_and_gradients(case):
    x = Tensor(np.array([[-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4]], dtype=np.float32), requires_grad=True)
    out = case.function(x)
    out.sum().backward()
    assert np.all(np.isfinite(out.numpy())), out
    assert np.all(np.isfinite(x.grad.numpy())), x.grad


def test_elu_and_selu_take_exp_of_non_positive_numbers_only():
    # exp(1e4) alone would overflow to inf (and 0 * inf = nan in the gradient of the unused branch).
    x = Tensor(np.array([1e4, 88.0, 89.0], dtype=np.float32), requires_grad=True)
    with np.errstate(over="raise"):
        F.elu(x).sum().backward()
        F.selu(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 + 1.0507009873554805, rtol=1e-6)


def test_derivatives_at_zero_match_the_usual_conventions():
    x = Tensor(np.zeros(1), requires_grad=True)
    F.softplus(x).sum().backward()
    assert x.grad.item() == pytest.approx(0.5)  # sigmoid(0)
    x.grad = None
    F.elu(x).sum().backward()
    assert x.grad.item() == pytest.approx(1.0)  # alpha * exp(0)
    x.grad = None
    F.hardswish(x).sum().backward()
    assert x.grad.item() == pytest.approx(0.5)


def test_selu_uses_the_standard_constants():
    assert F.SELU_ALPHA == 1.6732632423543772 and F.SELU_SCALE == 1.0507009873554805
    assert F.selu(Tensor(np.array([-50.0]))).item() == pytest.approx(-1.6732632423543772 * 1.0507009873554805)


def test_activations_are_built_from_forward_ops_only():
    # No custom Function: the graph of each activation consists of the core's ops.
    from tinygrad_mnist.ops import elementwise, linalg, movement, reduce

    core_ops = {
        cls.__name__
        for module in (elementwise, reduce, movement, linalg)
        for cls in vars(module).values()
        if isinstance(cls, type)
    }
    for case in ACTIVATION_CASES:
        out = case.function(Tensor(np.ones((2, 3)), requires_grad=True))
        stack, seen = [out], set()
        while stack:
            node = stack.pop()
            if node._ctx is None or id(node) in seen:
                continue
            seen.add(id(node))
            assert node.op in core_ops, f"{case.name} uses {node.op}"
            stack.extend(node._ctx.parents)


def test_registry_names_and_classes():
    assert set(nn.ACTIVATIONS) == {
        "sigmoid", "tanh", "relu", "leakyrelu", "elu", "gelu", "gelu_tanh", "selu", "hardswish", "silu", "swish", "softplus",
    }
    assert nn.ACTIVATIONS["swish"] is nn.SiLU is nn.Swish
    assert nn.ACTIVATIONS["gelu_tanh"]().approximate == "tanh"
    x = Tensor(np.linspace(-2, 2, 5))
    for name, cls in nn.ACTIVATIONS.items():
        assert isinstance(cls(), nn.Module), name
        assert cls()(x).shape == (5,)


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GeLU("fast")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(Tensor([1.0]), "fast")


def test_reprs_show_settings():
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.GeLU("tanh")) == "GeLU(approximate='tanh')"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Softmax(0)) == "Softmax(axis=0)"


def test_functions_accept_ndarrays():
    np.testing.assert_array_equal(F.relu(np.array([-1.0, 2.0])).numpy(), [0.0, 2.0])
