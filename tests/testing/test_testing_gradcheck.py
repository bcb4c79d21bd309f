"""Tests of gradcheck / gradgradcheck in tinygrad_mnist.testing."""

import doctest
import importlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_mnist.testing
from tinygrad_mnist import Tensor
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.testing import (
    DEFAULT_TOLERANCES,
    GradcheckError,
    arrays,
    axes,
    broadcastable_shapes,
    gradcheck,
    gradgradcheck,
    matmul_shapes,
    shapes,
    tensors,
)

# ``tinygrad_mnist.testing.gradcheck`` is the function (re-exported by the
# package), so fetch the submodules by name.
gradcheck_module = importlib.import_module("tinygrad_mnist.testing.gradcheck")
strategies_module = importlib.import_module("tinygrad_mnist.testing.strategies")

FLOAT_DTYPES = [np.float64, np.float32]
# a gradcheck runs fn hundreds of times: no per-example deadline (the number
# of examples comes from the profile in tests/conftest.py)
no_deadline = settings(deadline=None)


def leaf(values, dtype=np.float64, name=None):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True, name=name)


# ---------------------------------------------------------------------------
# custom ops, written with the public Function API
# ---------------------------------------------------------------------------


class Cube(Function):
    """x**3 with a correct backward that also works under create_graph=True."""

    def forward(self, x):
        return x**3

    def backward(self, grad, x, out):
        return (grad * 3 * x * x,)


class WrongCube(Function):
    """x**3 with the derivative of x**2: wrong everywhere."""

    def forward(self, x):
        return x**3

    def backward(self, grad, x, out):
        return (grad * 2 * x,)


class ConstantCube(Function):
    """x**3 whose first derivative is right but is built from a constant copy of x
    (np.asarray strips the Tensor), so it is not differentiable with respect to x."""

    def forward(self, x):
        return x**3

    def backward(self, grad, x, out):
        return (grad * (3 * np.asarray(x) ** 2),)


class OneBadElement(Function):
    """x**3, but the gradient of element (1, 2) is off by one."""

    def forward(self, x):
        return x**3

    def backward(self, grad, x, out):
        bump = np.zeros(np.shape(x))
        bump[1, 2] = 1.0
        return (grad * 3 * x * x + grad * bump,)


class ScaledProduct(Function):
    """x * y whose backward for y is wrong (forgets x); x's is right."""

    def forward(self, x, y):
        return x * y

    def backward(self, grad, x, y, out):
        return grad * y, grad * 2


class GhostGradient(Function):
    """Returns x, but claims a gradient for its unused second input."""

    def forward(self, x, y):
        return x.copy()

    def backward(self, grad, x, y, out):
        return grad, grad * 0.5


class BadSecondOutputOp(Function):
    """Used for multi-output functions: 2*x with a wrong backward."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad, x, out):
        return (grad * 3,)


class InfGradient(Function):
    """sqrt whose backward is infinite at 0 (like the real one)."""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad, x, out):
        return (grad / (2 * out),)


# ---------------------------------------------------------------------------
# gradcheck passes on correct functions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@no_deadline
@given(data=st.data())
def test_gradcheck_passes_tanh_and_exp(dtype, data):
    x = data.draw(tensors(dtype=dtype))
    assert gradcheck(lambda t: t.tanh(), [x])
    assert gradcheck(lambda t: t.exp(), [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@no_deadline
@given(data=st.data())
def test_gradcheck_passes_broadcasting_mul(dtype, data):
    a_shape, b_shape = data.draw(broadcastable_shapes())
    x = data.draw(tensors(a_shape, dtype=dtype))
    y = data.draw(tensors(b_shape, dtype=dtype))
    assert gradcheck(lambda a, b: a * b, [x, y])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@no_deadline
@given(data=st.data())
def test_gradcheck_passes_matmul(dtype, data):
    a_shape, b_shape = data.draw(matmul_shapes())
    x = data.draw(tensors(a_shape, dtype=dtype))
    y = data.draw(tensors(b_shape, dtype=dtype))
    assert gradcheck(lambda a, b: a @ b, [x, y])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@no_deadline
@given(data=st.data())
def test_gradcheck_passes_sum_over_axes(dtype, data):
    x = data.draw(tensors(dtype=dtype))
    axis = data.draw(axes(x.shape))
    keepdims = data.draw(st.booleans())
    assert gradcheck(lambda t: t.sum(axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradcheck_passes_custom_cube(dtype):
    x = leaf([[0.5, -1.2, 2.0], [0.3, 1.1, -0.7]], dtype)
    assert gradcheck(Cube.apply, [x])


def test_gradcheck_accepts_ndarrays_and_converts_them_to_float64():
    x32 = np.array([0.3, -0.4], dtype=np.float32)
    seen = []

    def fn(t):
        seen.append((t.dtype, t.requires_grad))
        return t.tanh()

    assert gradcheck(fn, [x32])
    assert seen[0] == (np.float64, True)  # analytic side got a float64 leaf that requires grad


def test_gradcheck_large_output_uses_random_cotangents_and_passes():
    x = leaf(np.linspace(-2, 2, 1200).reshape(100, 12))
    y = leaf(np.linspace(1, -1, 12))
    assert gradcheck(lambda a, b: (a * b).tanh(), [x, y])  # 1200 outputs > FULL_JACOBIAN_MAX_OUTPUTS
    x32 = Tensor(np.linspace(-2, 2, 1200).reshape(100, 12).astype(np.float32), requires_grad=True)
    assert gradcheck(lambda a: (a * a).sum(axis=1).tanh() * a.exp().mean(axis=1), [x32])


def test_gradcheck_multiple_outputs():
    x = leaf([0.5, -1.0, 2.0])
    y = leaf([[1.5], [-0.5]])
    assert gradcheck(lambda a, b: (a * b, a.exp().sum(), b.tanh()), [x, y])


def test_gradcheck_ignores_integer_and_non_grad_inputs():
    x = leaf([0.5, -1.0, 2.0])
    scale = Tensor(np.array([2.0, 3.0, 4.0]))  # float, requires_grad=False: not checked
    idx = np.array([2, 0, 0])  # integer ndarray: becomes a constant tensor, not checked
    assert gradcheck(lambda a, s, i: a[i.numpy()] * s, [x, scale, idx])
    assert gradcheck(lambda a, k: a * k, [x, 3])  # other objects pass through unchanged


def test_gradcheck_unused_input_gets_zero_gradient():
    x = leaf([0.5, -1.0])
    y = leaf([3.0, 4.0], name="unused")
    assert gradcheck(lambda a, b: a.tanh(), [x, y])


def test_gradcheck_output_that_does_not_require_grad():
    x = leaf([0.5, -1.0])
    assert gradcheck(lambda a: (a * 2, Tensor(np.ones(3))), [x])


def test_gradcheck_same_tensor_twice_is_checked_per_position():
    x = leaf([0.5, -1.0, 2.0])
    assert gradcheck(lambda a, b: a * b.exp(), [x, x])


def test_gradcheck_projections_pass():
    x = leaf(np.linspace(-2, 2, 40).reshape(4, 10))
    assert gradcheck(lambda a: (a.tanh() * a).sum(axis=0), [x], projections=5)


def test_gradcheck_is_deterministic_and_leaves_inputs_alone():
    x = leaf(np.linspace(-1, 1, 30))
    before = x.numpy().copy()
    messages = []
    for _ in range(2):
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda a: WrongCube.apply(a) * 1.0, [x], projections=3, seed=7)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert np.array_equal(x.numpy(), before) and x.grad is None


@no_deadline
@given(tensors(avoid=(0.0,)))
def test_gradcheck_with_avoided_kink(x):
    assert gradcheck(lambda t: abs(t) * t, [x])
    assert gradcheck(lambda t: t.relu(), [x])


@no_deadline
@given(tensors(shapes(max_dims=2), positive=True))
def test_gradcheck_on_positive_domain(x):
    assert gradcheck(lambda t: t.log() + t.sqrt(), [x])


# ---------------------------------------------------------------------------
# gradcheck fails, precisely, on wrong gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradcheck_fails_on_wrong_op(dtype):
    x = leaf([[0.5, -1.2, 2.0], [0.3, 1.1, -0.7]], dtype, name="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, [x])
    err = info.value
    assert isinstance(err, AssertionError)
    assert err.input_index == 0 and err.input_name == "x"
    assert isinstance(err.index, tuple) and len(err.index) == 2
    r, c = err.index
    value = float(x.numpy()[r, c])
    assert err.analytic == pytest.approx(2 * value, rel=1e-5)
    assert err.numeric == pytest.approx(3 * value**2, rel=1e-3)
    eps, atol, rtol = DEFAULT_TOLERANCES[np.dtype(dtype)]
    assert (err.eps, err.atol, err.rtol) == (eps, atol, rtol)
    message = str(err)
    assert "input 0 ('x')" in message and f"at index {err.index}" in message
    for word in ("analytic", "numeric", "abs error", "rel error", f"atol={atol:g}", f"rtol={rtol:g}", str(np.dtype(dtype))):
        assert word in message


def test_gradcheck_names_the_right_element():
    x = leaf(np.linspace(-1, 1, 12).reshape(3, 4), name="weights")
    with pytest.raises(GradcheckError) as info:
        gradcheck(OneBadElement.apply, [x])
    assert info.value.index == (1, 2)
    assert "at index (1, 2)" in str(info.value) and "1 of 12 element(s) fail" in str(info.value)


def test_gradcheck_names_the_right_element_with_random_cotangents():
    x = leaf(np.linspace(-1, 1, 1200).reshape(30, 40))  # more outputs than FULL_JACOBIAN_MAX_OUTPUTS
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: OneBadElement.apply(t) * 1.0, [x])
    assert info.value.index == (1, 2)
    assert "random normal cotangent #" in str(info.value) and "the norms of the projection's terms" in str(info.value)


def test_gradcheck_names_the_right_input():
    x = leaf([0.5, -1.0, 2.0], name="x")
    y = leaf([1.5, 0.25, -0.5], name="y")
    with pytest.raises(GradcheckError) as info:
        gradcheck(ScaledProduct.apply, [x, y])
    assert info.value.input_index == 1 and info.value.input_name == "y"
    assert "input 1 ('y')" in str(info.value)


def test_gradcheck_names_the_output_in_full_jacobian_mode():
    x = leaf([0.5, -1.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: (a.tanh(), BadSecondOutputOp.apply(a)), [x])
    assert info.value.output_index == 1 and info.value.output_element in ((0,), (1,))
    assert "d(output 1[" in str(info.value)


def test_gradcheck_fails_when_unused_input_gets_a_gradient():
    x = leaf([0.5, -1.0])
    y = leaf([3.0, 4.0], name="ghost")
    with pytest.raises(GradcheckError) as info:
        gradcheck(GhostGradient.apply, [x, y])
    assert info.value.input_name == "ghost" and info.value.numeric == 0.0


def test_gradcheck_fails_with_projections():
    x = leaf(np.linspace(-2, 2, 40).reshape(4, 10), name="big")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongCube.apply(t).sum(axis=1), [x], projections=4)
    assert info.value.input_name == "big" and isinstance(info.value.index, int)
    assert "direction #" in str(info.value) and "of 4" in str(info.value)


def test_gradcheck_reports_non_finite_numeric_values():
    x = leaf([0.5, 1e-8], name="x")  # log(x - eps) is nan for the second element
    with pytest.raises(GradcheckError, match=r"non-finite gradient.*'x'.*index \(1,\).*numeric value is nan"):
        gradcheck(lambda t: t.log(), [x])


def test_gradcheck_reports_non_finite_analytic_values():
    x = leaf([0.0, 1.0])
    with pytest.raises(GradcheckError, match=r"non-finite gradient.*index \(0,\).*analytic value is inf"):
        with np.errstate(divide="ignore", invalid="ignore"):
            gradcheck(InfGradient.apply, [x])


def test_gradcheck_float32_tolerances_still_catch_small_errors():
    # a gradient 5% off is caught by the float32 defaults (atol = rtol = 1e-2)
    class FivePercentOff(Function):
        def forward(self, x):
            return np.exp(x)

        def backward(self, grad, x, out):
            return (grad * out * 1.05,)

    x = leaf([0.5, 1.0, 2.0], np.float32)
    with pytest.raises(GradcheckError):
        gradcheck(FivePercentOff.apply, [x])


def test_gradcheck_needs_an_input_to_check():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda a: a * 2, [Tensor(np.ones(2))])
    with pytest.raises(TypeError):
        gradcheck(lambda a: 3.0, [np.ones(2)])
    with pytest.raises(ValueError):
        gradcheck(lambda a: a, [np.ones(2)], projections=0)


# ---------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradgradcheck_passes_custom_cube(dtype):
    x = leaf([[0.5, -1.2, 2.0], [0.3, 1.1, -0.7]], dtype)
    assert gradgradcheck(Cube.apply, [x])
    assert gradgradcheck(lambda t: Cube.apply(t).sum(), [x])


@no_deadline
@given(data=st.data())
def test_gradgradcheck_passes_builtin_ops(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3))
    x = data.draw(tensors(a_shape))
    y = data.draw(tensors(b_shape))
    assert gradgradcheck(lambda a, b: (a * b).tanh(), [x, y])
    assert gradgradcheck(lambda a: a.exp().sum(), [x])


@no_deadline
@given(data=st.data())
def test_gradgradcheck_passes_matmul(data):
    a_shape, b_shape = data.draw(matmul_shapes(max_batch_dims=1, max_side=3))
    x = data.draw(tensors(a_shape))
    y = data.draw(tensors(b_shape))
    assert gradgradcheck(lambda a, b: a @ b, [x, y])


def test_gradgradcheck_with_given_grad_outputs():
    x = leaf([0.5, -1.0, 2.0])
    assert gradgradcheck(lambda t: t.tanh(), [x], grad_outputs=[np.array([1.0, -2.0, 0.5])])
    fixed = Tensor(np.array([1.0, -2.0, 0.5]))  # does not require grad: not checked
    assert gradgradcheck(lambda t: t.tanh(), [x], grad_outputs=[fixed])
    with pytest.raises(ValueError):
        gradgradcheck(lambda t: t.tanh(), [x], grad_outputs=[np.ones(2)])


def test_gradgradcheck_function_linear_in_input():
    # the gradient of x*2 does not depend on x: its second derivative is zero
    x = leaf([0.5, -1.0])
    assert gradgradcheck(lambda t: t * 2, [x])


def test_gradgradcheck_fails_on_non_differentiable_backward():
    x = leaf([[0.5, -1.2, 2.0], [0.3, 1.1, -0.7]], name="x")
    assert gradcheck(ConstantCube.apply, [x])  # the first derivative is right ...
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(ConstantCube.apply, [x])  # ... but it is not differentiable
    err = info.value
    assert err.input_index == 0 and err.input_name == "x" and err.analytic == 0.0
    assert len(err.index) == 2 and err.numeric != 0.0
    assert str(err).startswith("gradgradcheck: second-order") and "d(grad_x[" in str(err)


def test_gradgradcheck_does_not_recheck_the_first_derivative():
    # A consistently wrong backward is differentiated consistently: only
    # gradcheck can tell that its first derivative is wrong.
    x = leaf([0.5, -1.0, 2.0])
    assert gradgradcheck(WrongCube.apply, [x])
    with pytest.raises(GradcheckError):
        gradcheck(WrongCube.apply, [x])


# ---------------------------------------------------------------------------
# documentation examples run
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", [gradcheck_module, strategies_module, tinygrad_mnist.testing])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_module_docs_list_the_default_tolerances():
    doc = gradcheck_module.__doc__
    for dtype, (eps, atol, rtol) in DEFAULT_TOLERANCES.items():
        row = re.search(rf"^{dtype.name}\s+(\S+)\s+(\S+)\s+(\S+)$", doc, re.M)
        assert row, dtype
        assert tuple(float(v) for v in row.groups()) == (eps, atol, rtol)


# ---------------------------------------------------------------------------
# default tolerances hold in practice; reporting of engine-level problems
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_default_tolerances_hold_on_the_largest_default_inputs(dtype):
    rng = np.random.default_rng(0)

    def draw(*shape, scale=3.0):
        return leaf(rng.uniform(-scale, scale, shape), dtype)

    x = draw(5, 5, 5, 5)  # the largest shape tensors() draws
    assert gradcheck(lambda t: t.tanh(), [x])
    assert gradcheck(lambda t: t.exp(), [x])
    assert gradcheck(lambda t: t.exp().sum(), [x])
    assert gradcheck(lambda a, b: a @ b, [draw(4, 5, 5), draw(5, 5)])
    mlp = [draw(5, 4, scale=1.5), draw(4, 5, scale=1.5), draw(5, 3, scale=1.5)]
    assert gradcheck(lambda x, w1, w2: ((x @ w1).tanh() @ w2).logsumexp(axis=1).sum(), mlp)
    assert gradgradcheck(lambda x, w1, w2: ((x @ w1).tanh() @ w2).logsumexp(axis=1).sum(), mlp)


def _fake_core(transform):
    """A stand-in for (Tensor, grad) whose grad transforms every gradient."""
    real_tensor, real_grad = gradcheck_module._core()

    def fake_grad(*args, **kwargs):
        grads = real_grad(*args, **kwargs)
        return tuple(None if g is None else real_tensor(transform(g.numpy())) for g in grads)

    return lambda: (real_tensor, fake_grad)


def test_gradcheck_reports_gradients_of_the_wrong_dtype(monkeypatch):
    x = leaf([0.5, -1.0], name="x")
    monkeypatch.setattr(gradcheck_module, "_core", _fake_core(lambda g: g.astype(np.float32)))
    with pytest.raises(GradcheckError, match=r"input 0 \('x'\).*has dtype float32, expected float64"):
        gradcheck(lambda t: t * 2, [x])
    assert gradcheck(lambda t: t * 2, [x], check_grad_dtypes=False)


def test_gradcheck_reports_gradients_of_the_wrong_shape(monkeypatch):
    x = leaf([[0.5, -1.0]], name="x")
    monkeypatch.setattr(gradcheck_module, "_core", _fake_core(lambda g: g.reshape(-1)))
    with pytest.raises(GradcheckError, match=r"has shape \(2,\), expected \(1, 2\)"):
        gradcheck(lambda t: t * 2, [x])


def test_gradcheck_notes_when_fn_drops_float64_precision():
    x = leaf([0.5, -1.0, 2.0])
    with pytest.raises(GradcheckError, match="did not keep float64 inputs float64"):
        gradcheck(lambda t: WrongCube.apply(t.astype(np.float32)), [x])


class IgnoresIncomingGradient(Function):
    """x**3 whose backward forgets to multiply by the incoming gradient."""

    def forward(self, x):
        return x**3

    def backward(self, grad, x, out):
        return (3 * x * x,)


def test_gradcheck_catches_a_backward_that_ignores_its_incoming_gradient():
    # Behind .sum() the incoming gradient is all ones, so only the random
    # cotangent (a scale other than 1) reveals the bug.
    x = leaf([0.5, -1.0, 2.0], name="x")
    with pytest.raises(GradcheckError, match="random normal cotangent") as info:
        gradcheck(lambda t: IgnoresIncomingGradient.apply(t).sum(), [x])
    assert info.value.input_name == "x" and info.value.output_index is None


# ---- one wrong Jacobian entry among many (issue 11) ------------------------------------------------
_WIDE = np.random.default_rng(1).standard_normal((200, 10))
_WIDE[17, 3] = 1.0
_PLANTED = (17, 3)


class _WideLinearWithOneWrongEntry(Function):
    """x (10,) -> W x (200,): a 200x10 Jacobian whose backward has entry (17, 3) off by 5%."""

    def forward(self, x):
        return _WIDE @ x

    def backward(self, grad, x, out):
        wrong = _WIDE.copy()
        wrong[_PLANTED] *= 1.05
        return (wrong.T @ grad,)


@pytest.mark.parametrize("mode", ["every_entry", "random_cotangents"])
def test_one_wrong_entry_of_a_200_by_10_jacobian_is_caught_for_every_seed(mode, monkeypatch):
    module = importlib.import_module("tinygrad_mnist.testing.gradcheck")

    if mode == "random_cotangents":  # as for an op whose Jacobian is too big to compare entry by entry
        monkeypatch.setattr(module, "FULL_JACOBIAN_MAX_OUTPUTS", 16)
    x = np.linspace(-1.0, 1.0, 10)
    for seed in range(100):
        with pytest.raises(GradcheckError) as info:
            gradcheck(_WideLinearWithOneWrongEntry.apply, [x], seed=seed)
        assert info.value.index == (3,), f"seed {seed}: reported {info.value.index}"
        if mode == "every_entry":
            assert info.value.output_element == (17,)
            assert info.value.analytic == pytest.approx(1.05) and info.value.numeric == pytest.approx(1.0)


def test_the_right_200_by_10_jacobian_passes_for_every_seed(monkeypatch):
    module = importlib.import_module("tinygrad_mnist.testing.gradcheck")

    class WideLinear(Function):
        def forward(self, x):
            return _WIDE @ x

        def backward(self, grad, x, out):
            return (_WIDE.T @ grad,)

    x = np.linspace(-1.0, 1.0, 10)
    for limit in (module.FULL_JACOBIAN_MAX_OUTPUTS, 16):
        monkeypatch.setattr(module, "FULL_JACOBIAN_MAX_OUTPUTS", limit)
        for seed in range(100):
            assert gradcheck(WideLinear.apply, [x], seed=seed)
