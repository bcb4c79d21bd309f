"""Property tests generated from the op table (``op_table.py``): three checks for every entry.

* forward: the op equals its NumPy reference in float64 and float32, keeps the dtype (float32 in,
  float32 out) and gives gradients of each input's dtype and shape;
* gradcheck: first derivatives equal float64 central differences;
* gradgradcheck: the ``create_graph=True`` gradients are themselves correctly differentiable.

The last tests feed deliberately broken ops through the same checks, so the suite is known to fail
when an op is wrong.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_table import SPECS, SPECS_BY_NAME, Case, OpSpec, unary

from tinygrad_mnist import Function, Tensor, grad
from tinygrad_mnist.ops import arraylike
from tinygrad_mnist.testing import GradcheckError, gradcheck, gradgradcheck

FLOATS = [np.dtype(np.float64), np.dtype(np.float32)]
# float64 results must agree with NumPy to rounding; float32 results are compared with a float64
# reference computed from the same (float32-valued) inputs.
FORWARD_TOLERANCE = {np.dtype(np.float64): (1e-10, 1e-12), np.dtype(np.float32): (2e-5, 2e-5)}
# float32 gradients against float64 gradients at the same point.
FLOAT32_GRAD_TOLERANCE = (1e-3, 1e-4)


def _leaves(arrays):
    """Float arrays become leaves that require grad; integer arrays (special cases) constants."""
    return [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


def _gradients(spec: OpSpec, arrays, params, cotangent_seed: int = 0):
    """Gradients of ``<op(arrays), cotangent>`` for every float input (None for integer ones)."""
    leaves = _leaves(arrays)
    out = spec.apply(*leaves, **params)
    cotangent = np.random.default_rng(cotangent_seed).standard_normal(out.shape).astype(out.dtype)
    floats = [t for t in leaves if t.requires_grad]
    found = iter(grad(out, floats, grad_outputs=Tensor(cotangent), allow_unused=True))
    return out, [next(found) if t.requires_grad else None for t in leaves]


def _as_float64(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def check_forward(spec: OpSpec, case: Case, dtype: np.dtype) -> None:
    """Values, dtype and shape of the output and of the gradients, for inputs of ``dtype``."""
    out, grads = _gradients(spec, case.arrays, case.params)
    expected = np.asarray(spec.reference(*[_as_float64(a) for a in case.arrays], **case.params))
    assert out.dtype == (spec.out_dtype or dtype), f"{spec.name}: {dtype} inputs gave a {out.dtype} output"
    assert out.shape == expected.shape, f"{spec.name}: shape {out.shape}, NumPy gives {expected.shape}"
    rtol, atol = FORWARD_TOLERANCE[np.dtype(out.dtype) if spec.out_dtype else dtype]
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol, err_msg=f"{spec.name} forward")
    for i, (array, g) in enumerate(zip(case.arrays, grads)):
        if array.dtype.kind != "f":
            continue  # an integer operand is a constant
        assert g is not None, f"{spec.name}: input {i} got no gradient"
        assert g.dtype == array.dtype, f"{spec.name}: input {i} is {array.dtype} but its gradient is {g.dtype}"
        assert g.shape == array.shape, f"{spec.name}: input {i} has shape {array.shape}, its gradient {g.shape}"
        assert isinstance(g.data, np.ndarray)
    if dtype == np.float32:
        _, exact = _gradients(spec, [_as_float64(a) for a in case.arrays], case.params)
        rtol, atol = FLOAT32_GRAD_TOLERANCE
        for i, (g, e) in enumerate(zip(grads, exact)):
            if g is not None:
                np.testing.assert_allclose(g.data, e.data, rtol=rtol, atol=atol, err_msg=f"{spec.name} float32 gradient {i}")


def check_gradient(spec: OpSpec, case: Case, special: bool = False) -> None:
    params = case.params
    options = {**spec.gradcheck_options, **spec.special_options} if special else spec.gradcheck_options
    assert gradcheck(lambda *tensors: spec.apply(*tensors, **params), list(case.arrays), **options)


def check_second_gradient(spec: OpSpec, case: Case, special: bool = False) -> None:
    params = case.params
    options = {**spec.gradcheck_options, **spec.special_options} if special else spec.gradcheck_options
    assert gradgradcheck(lambda *tensors: spec.apply(*tensors, **params), list(case.arrays), **options)


_IDS = [spec.name for spec in SPECS]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("spec", SPECS, ids=_IDS)
@given(data=st.data())
def test_forward_matches_numpy(spec, dtype, data):
    check_forward(spec, data.draw(spec.cases(dtype), label="case"), dtype)


@pytest.mark.parametrize("spec", SPECS, ids=_IDS)
@given(data=st.data())
def test_gradcheck(spec, data):
    check_gradient(spec, data.draw(spec.cases(np.dtype(np.float64)), label="case"))


@pytest.mark.parametrize("spec", SPECS, ids=_IDS)
@given(data=st.data())
def test_gradgradcheck(spec, data):
    check_second_gradient(spec, data.draw(spec.cases(np.dtype(np.float64)), label="case"))


# ---- special points ---------------------------------------------------------------------------------
SPECIAL = [spec for spec in SPECS if spec.special is not None]
_SPECIAL_IDS = [spec.name for spec in SPECIAL]


def _special_case(spec, dtype, data):
    # NumPy's warnings at the special points (0 ** -1 in an unused branch) are not the subject here.
    return data.draw(spec.special(np.dtype(dtype)), label="special case")


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("spec", SPECIAL, ids=_SPECIAL_IDS)
@given(data=st.data())
def test_forward_at_special_points(spec, dtype, data):
    with np.errstate(divide="ignore", invalid="ignore"):
        check_forward(spec, _special_case(spec, dtype, data), dtype)


@pytest.mark.parametrize("spec", SPECIAL, ids=_SPECIAL_IDS)
@given(data=st.data())
def test_gradcheck_at_special_points(spec, data):
    with np.errstate(divide="ignore", invalid="ignore"):
        check_gradient(spec, _special_case(spec, np.float64, data), special=True)


@pytest.mark.parametrize("spec", SPECIAL, ids=_SPECIAL_IDS)
@given(data=st.data())
def test_gradgradcheck_at_special_points(spec, data):
    with np.errstate(divide="ignore", invalid="ignore"):
        check_second_gradient(spec, _special_case(spec, np.float64, data), special=True)


# The points that exposed bugs (issue 11): each of these entries must keep its special cases.
REQUIRED_SPECIAL = {
    "pow_tensor_int", "pow_tensor_tensor", "softplus", "sigmoid", "logsumexp", "max", "min", "sum", "mean",
    "add", "sub", "mul", "truediv", "maximum",
}


def test_table_declares_the_special_points():
    missing = REQUIRED_SPECIAL - {spec.name for spec in SPECIAL}
    assert not missing, f"no special cases for {sorted(missing)}"


# ---- the table itself ------------------------------------------------------------------------------
REQUIRED_OPS = {
    "add", "sub", "mul", "truediv", "neg", "pow_tensor_tensor", "pow_tensor_scalar", "pow_scalar_tensor",
    "rsub", "rtruediv", "rpow", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "softplus", "relu", "maximum", "minimum",
    "where", "clip", "erf", "sum", "mean", "max", "min", "var", "var_ddof1", "logsumexp", "reshape", "flatten",
    "transpose", "permute", "swapaxes", "expand", "broadcast_to", "squeeze", "unsqueeze", "getitem_basic",
    "getitem_rows_labels", "getitem_repeated", "getitem_mask", "concatenate", "stack", "matmul", "matmul_1d_1d",
    "matmul_1d_2d", "matmul_2d_1d", "matmul_2d_2d", "matmul_batched", "linear",
    "astype_float32", "astype_float64",
    "conv2d", "conv2d_no_bias", "conv2d_kernel_fills_input", "conv2d_stride_beyond_kernel", "conv2d_layer",
    "im2col", "col2im", "max_pool2d", "max_pool2d_kernel_fills_input", "max_pool2d_stride_beyond_kernel",
    "max_pool2d_layer", "avg_pool2d", "avg_pool2d_layer", "batch_norm_train", "batch_norm_eval",
    "batchnorm1d_layer", "batchnorm2d_layer", "layer_norm", "layernorm_layer",
    "astype_float32", "astype_float64", "clip_tensor_bounds", "std", "std_ddof1", "softmax", "log_softmax",
    "mT", "cat_top_level", "stack_top_level", "where_top_level", "linspace",
}


def test_table_declares_every_differentiable_op():
    missing = REQUIRED_OPS - set(SPECS_BY_NAME)
    assert not missing, f"the op table has no entry for {sorted(missing)}"


# ---- the checks can fail ---------------------------------------------------------------------------
class _WrongSquareGradient(Function):
    """x**2 whose backward forgets the factor 2."""

    def forward(self, x):
        return x * x

    def backward(self, grad, x, out):
        return (grad * x,)


class _SquareWithConstantDerivative(Function):
    """x**2 with a right first derivative that records no graph: its second derivative is lost."""

    def forward(self, x):
        return x * x

    def backward(self, grad, x, out):
        return (grad * 2 * arraylike.value(x),)


class _Float64Square(Function):
    """x**2 that silently promotes to float64."""

    def forward(self, x):
        return (x * x).astype(np.float64)

    def backward(self, grad, x, out):
        return (grad * 2 * x,)


_BROKEN_CASE = Case((np.array([[0.5, -1.25], [2.0, 1.5]]),), {})
_SQUARE = np.square


def test_forward_check_catches_a_wrong_value():
    spec = OpSpec("off_by_one", lambda a: a * a + 1e-6, _SQUARE, unary())
    with pytest.raises(AssertionError, match="off_by_one forward"):
        check_forward(spec, _BROKEN_CASE, np.dtype(np.float64))


def test_forward_check_catches_float32_promotion():
    spec = OpSpec("promotes", lambda a: _Float64Square.apply(a), _SQUARE, unary())
    case = Case((_BROKEN_CASE.arrays[0].astype(np.float32),), {})
    with pytest.raises(AssertionError, match="float32 inputs gave a float64 output"):
        check_forward(spec, case, np.dtype(np.float32))


def test_gradcheck_catches_a_wrong_first_derivative():
    spec = OpSpec("wrong_grad", lambda a: _WrongSquareGradient.apply(a), _SQUARE, unary())
    check_forward(spec, _BROKEN_CASE, np.dtype(np.float64))  # the forward alone is right
    with pytest.raises(GradcheckError):
        check_gradient(spec, _BROKEN_CASE)


def test_gradgradcheck_catches_a_lost_second_derivative():
    spec = OpSpec("flat_grad", lambda a: _SquareWithConstantDerivative.apply(a), _SQUARE, unary())
    check_gradient(spec, _BROKEN_CASE)  # the first derivative alone is right
    with pytest.raises(GradcheckError):
        check_second_gradient(spec, _BROKEN_CASE)


# ---- core bugs found by the table (regression tests) ----------------------------------------------
def test_erf_of_a_0d_tensor_in_the_tail():
    x = Tensor(np.array(4.0), requires_grad=True)
    y = x.erf()
    np.testing.assert_allclose(y.data, 0.9999999845827421, rtol=1e-14)
    assert gradcheck(lambda t: t.erf(), [x])
