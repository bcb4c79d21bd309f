"""Valid inputs that used to crash or surprise, and invalid ones that now get the project's own error.

Empty reductions over non-empty axes, integer tensors under real-valued ops (the default float type,
as in PyTorch), NumPy scalars keeping their dtype, float64 seeds for float32 graphs, custom backward
rules returning the wrong thing, and argument errors that named no op.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, arange, grad
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.nn import Parameter
from tinygrad_mnist.optim import SGD


# ---- zero-size tensors --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["max", "min", "logsumexp"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_a_non_empty_axis_of_a_zero_size_tensor(op, keepdims):
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    y = getattr(x, op)(axis=1, keepdims=keepdims)
    expected = getattr(np, {"logsumexp": "max"}.get(op, op))(x.data, axis=1, keepdims=keepdims)
    assert y.shape == expected.shape
    y.sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("op", ["max", "min", "logsumexp"])
def test_reductions_over_an_empty_axis_still_have_no_value(op):
    with pytest.raises(ShapeError, match=f"{op}: cannot reduce over an axis of length 0"):
        getattr(Tensor(np.zeros((0, 3))), op)(axis=0)


# ---- dtypes -------------------------------------------------------------------------------------
REAL_VALUED = {
    "truediv": lambda t: t / Tensor(np.array([2, 2])),
    "truediv_scalar": lambda t: t / 2,
    "rtruediv": lambda t: 1 / (t + 1),
    "mean": lambda t: t.mean(),
    "var": lambda t: t.var(),
    "sqrt": lambda t: t.sqrt(),
    "exp": lambda t: t.exp(),
    "log": lambda t: (t + 1).log(),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "erf": lambda t: t.erf(),
    "logsumexp": lambda t: t.logsumexp(),
    "pow_float": lambda t: t ** 0.5,
}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_], ids=str)
@pytest.mark.parametrize("name", list(REAL_VALUED))
def test_integer_tensors_give_the_default_float_under_real_valued_ops(name, dtype):
    x = Tensor(np.array([1, 2]).astype(dtype))
    y = REAL_VALUED[name](x)
    assert y.dtype == np.float32
    reference = REAL_VALUED[name](Tensor(np.array([1, 2]).astype(dtype).astype(np.float64)))
    np.testing.assert_allclose(y.numpy(), reference.numpy(), rtol=1e-6)


def test_an_integer_tensor_does_not_promote_a_float32_model():
    w = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    counts = Tensor(np.array([3, 4]))
    loss = (w * (counts / counts.sum()).sqrt()).sum()
    loss.backward()
    assert loss.dtype == np.float32 and w.grad.dtype == np.float32


def test_integer_ops_with_an_integer_result_stay_integer():
    x = Tensor(np.array([1, 2]))
    assert (x + x).dtype == np.int64 and (x * 2).dtype == np.int64 and x.sum().dtype == np.int64
    assert x.max().dtype == np.int64 and (-x).dtype == np.int64 and (x ** 2).dtype == np.int64


def test_logsumexp_of_arange_works_in_float32():
    y = arange(3).logsumexp()
    assert y.dtype == np.float32
    assert y.item() == pytest.approx(np.log(np.exp(np.arange(3.0)).sum()), rel=1e-6)


@pytest.mark.parametrize("value, dtype", [
    (np.float64(0.1), np.float64), (np.float32(0.1), np.float32), (np.float16(0.1), np.float16),
    (np.int32(3), np.int32), (0.1, np.float32), (3, np.int64), ([0.1], np.float32),
])
def test_numpy_scalars_keep_their_dtype_and_python_numbers_take_the_default(value, dtype):
    t = Tensor(value)
    assert t.dtype == dtype
    assert t.item() == value or t.item() == pytest.approx(float(np.asarray(value).ravel()[0]), rel=1e-7)


def test_np_float64_tensor_keeps_its_exact_value():
    assert Tensor(np.float64(0.1)).item() == 0.1


# ---- float32 leaves and float64 seeds -----------------------------------------------------------
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_float64_seed_gives_a_float32_leaf_a_float32_gradient(create_graph):
    x = Parameter(np.ones(3, dtype=np.float32))
    x.backward(Tensor(np.ones(3)), create_graph=create_graph)
    assert x.grad.dtype == np.float32
    SGD([x], lr=0.5).step()
    np.testing.assert_array_equal(x.numpy(), np.full(3, 0.5, dtype=np.float32))


def test_a_float64_seed_through_ops_and_through_grad():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x * 3
    (g,) = grad(y, x, grad_outputs=Tensor(np.ones(2)), retain_graph=True)
    assert g.dtype == np.float32
    y.backward(Tensor(np.ones(2)))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


# ---- custom backward rules ----------------------------------------------------------------------
class _TooFewGradients(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, grad, a, b, out):
        return (grad * b,)


class _TooManyGradients(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad, a, out):
        return grad * 2, grad


class _BareArray(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad, a, out):
        return grad * 2


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("op, inputs, message", [
    (_TooFewGradients, 2, r"backward of _TooFewGradients returned 1 gradient\(s\) for 2 input\(s\)"),
    (_TooManyGradients, 1, r"backward of _TooManyGradients returned 2 gradient\(s\) for 1 input\(s\)"),
    (_BareArray, 1, r"backward of _BareArray returned a bare (ndarray|Tensor) instead of a tuple; it must return a tuple of 1"),
], ids=["too_few", "too_many", "bare_array"])
def test_a_backward_rule_with_the_wrong_result_is_one_clear_error(op, inputs, message, create_graph):
    leaves = [Tensor([1.0, 2.0], requires_grad=True) for _ in range(inputs)]
    with pytest.raises(TypeError, match=message):
        op.apply(*leaves).sum().backward(create_graph=create_graph)


# ---- argument errors named by the op ------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.sum(axis=1.0), ShapeError, r"sum: axis must be None, an int or a tuple of ints, got 1\.0"),
    (lambda x: x.mean(axis="0"), ShapeError, r"mean: axis must be"),
    (lambda x: x.flatten(2, 0), ShapeError, r"flatten: start_axis 2 comes after end_axis 0"),
    (lambda x: x.argmax(axis=3), ShapeError, r"argmax: axis 3 is out of range"),
    (lambda x: x.argmin(axis=-4), ShapeError, r"argmin: axis -4 is out of range"),
    (lambda x: list(x[0, 0, 0]), TypeError, r"iteration over a 0-d tensor"),
], ids=["sum_float_axis", "mean_str_axis", "flatten_order", "argmax", "argmin", "iter_0d"])
def test_bad_arguments_get_the_projects_own_error(call, error, message):
    with pytest.raises(error, match=message):
        call(Tensor(np.zeros((1, 2, 3))))


def test_numpy_integer_axes_are_axes():
    x = Tensor(np.zeros((1, 2, 3)))
    assert x.squeeze(np.int64(0)).shape == (2, 3)
    assert x.sum(axis=np.int64(1)).shape == (1, 3)
    assert x.argmax(axis=np.int32(2)).shape == (1, 2)


def test_iterating_a_tensor_yields_its_rows():
    rows = list(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.numpy().tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(TypeError, match="0-d"):
        list(Tensor(1.0))


def test_differentiating_a_gradient_taken_without_create_graph_says_so():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (g,) = grad((x * x * x).sum(), x)
    with pytest.raises(RuntimeError, match=r"gradient taken without create_graph=True.*pass create_graph=True"):
        grad(g.sum(), x)
    (g,) = grad((x * x * x).sum(), x, create_graph=True)
    np.testing.assert_allclose(grad(g.sum(), x)[0].numpy(), [6.0, 12.0])


# ---- the rest of the families (found while fixing the above) ------------------------------------
def test_softmax_family_on_zero_size_tensors_and_bad_axes():
    from tinygrad_mnist.nn import functional as F

    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        for axis in (0, 1, -1):
            y = fn(x, axis)
            assert y.shape == (0, 3)
        with pytest.raises(ShapeError, match="softmax: axis 5 is out of range"):
            fn(Tensor(np.zeros((2, 3))), 5)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_of_nothing_is_the_projects_error(op):
    x = Tensor(np.zeros((0, 3)))
    assert getattr(x, op)(axis=1).shape == (0,)
    with pytest.raises(ShapeError, match=f"{op}: cannot reduce over an axis of length 0"):
        getattr(x, op)()


def test_a_shape_of_floats_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"a shape must be made of ints, got \(2\.0, 2\)"):
        Tensor(np.zeros(4)).reshape(2.0, 2)


class _ReturnsNone(Function):
    def forward(self, a):
        return None

    def backward(self, grad, a, out):
        return (grad,)


def test_a_forward_rule_returning_no_array_is_one_clear_error():
    with pytest.raises(TypeError, match="forward of _ReturnsNone returned NoneType"):
        _ReturnsNone.apply(Tensor([1.0]))


@pytest.mark.parametrize("options", [
    {"momentum": 0.5, "momentum_form": "lab"}, {"momentum": 0.5}, {"momentum": 0.5, "nesterov": True},
    {"momentum": 0.5, "nesterov": True, "momentum_form": "lab"}, {"weight_decay": 0.1}, {"momentum": 0.5, "dampening": 0.5},
], ids=["lab", "pytorch", "nesterov", "nesterov_lab", "decay", "dampening"])
def test_sgd_on_a_0d_parameter_matches_a_1d_one(options):
    zero_d, one_d = Parameter(np.float32(1.0)), Parameter(np.array([1.0], dtype=np.float32))
    opts = [SGD([zero_d], lr=1.0, **options), SGD([one_d], lr=1.0, **options)]
    for _ in range(3):
        for p, opt in zip((zero_d, one_d), opts):
            p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
            opt.step()
    assert zero_d.shape == () and zero_d.item() == one_d.item()
