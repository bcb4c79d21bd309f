"""grad and value_and_grad: values, argnums, has_aux, accepted arguments and results, dtypes, errors,
and when results are differentiable (nesting, closures, grad mode)."""
from __future__ import annotations

import numpy as np
import pytest
from finite_differences import numeric_gradient
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, func, grad, no_grad
from tinygrad_mnist.testing import arrays, gradcheck, shapes


def smooth(x, w):
    """A scalar function of two tensors that uses broadcasting and several kinds of op."""
    return ((x * w).tanh() * x.sigmoid()).sum() + (w * w).mean()


# ---- values --------------------------------------------------------------------------------------
@given(st.data())
def test_grad_matches_finite_differences_over_random_shapes(data):
    shape = data.draw(shapes(max_dims=3, max_side=4), label="shape")
    x = data.draw(arrays(shape), label="x")
    w = data.draw(arrays(shape[-1:] if shape else ()), label="w")
    dx, dw = func.grad(smooth, argnums=(0, 1))(x, w)
    np.testing.assert_allclose(dx.numpy(), numeric_gradient(smooth, [x, w], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dw.numpy(), numeric_gradient(smooth, [x, w], 1), rtol=1e-6, atol=1e-8)


def test_grad_equals_the_engines_grad():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal(4)
    leaves = [Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)]
    expected = grad(smooth(*leaves), leaves)
    got = func.grad(smooth, argnums=(0, 1))(x, w)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g.numpy(), e.numpy())


def test_argnums_picks_the_argument_and_negative_indices_count_from_the_end():
    f = lambda x, y, z: x * 2.0 + y * 3.0 + z * 5.0  # noqa: E731
    assert func.grad(f)(1.0, 1.0, 1.0).item() == 2.0
    assert func.grad(f, argnums=1)(1.0, 1.0, 1.0).item() == 3.0
    assert func.grad(f, argnums=-1)(1.0, 1.0, 1.0).item() == 5.0
    assert [g.item() for g in func.grad(f, argnums=(2, 0))(1.0, 1.0, 1.0)] == [5.0, 2.0]
    assert isinstance(func.grad(f, argnums=(1,))(1.0, 1.0, 1.0), tuple)


def test_other_arguments_and_keywords_pass_through_unchanged():
    seen = {}

    def f(x, labels, scale=1.0):
        seen["labels"], seen["scale"] = labels, scale
        return (x * scale).sum()

    labels = np.array([1, 2])
    assert func.grad(f)(np.ones(2), labels, scale=3.0).numpy().tolist() == [3.0, 3.0]
    assert seen["labels"] is labels and seen["scale"] == 3.0


def test_value_and_grad_calls_f_once_and_returns_both():
    calls = []

    def f(x):
        calls.append(1)
        return (x ** 2).sum()

    value, gradient = func.value_and_grad(f)(np.array([1.0, -2.0]))
    assert len(calls) == 1
    assert value.item() == 5.0 and gradient.numpy().tolist() == [2.0, -4.0]


def test_has_aux_returns_the_auxiliary_value_alongside():
    def loss(w):
        prediction = w * 2.0
        return (prediction ** 2).sum(), {"prediction": prediction, "note": "hi"}

    gradient, aux = func.grad(loss, has_aux=True)(np.array([1.0, 2.0]))
    assert gradient.numpy().tolist() == [8.0, 16.0]
    assert aux["note"] == "hi" and aux["prediction"].numpy().tolist() == [2.0, 4.0]
    assert not aux["prediction"].requires_grad  # nothing outside: plain values
    (value, aux2), gradient2 = func.value_and_grad(loss, has_aux=True)(np.array([1.0, 2.0]))
    assert value.item() == 20.0 and aux2["note"] == "hi"
    np.testing.assert_array_equal(gradient2.numpy(), gradient.numpy())


# ---- arguments: kinds, nesting, dtypes ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_for_arrays_and_tensors(dtype):
    f = lambda x: (x.tanh() * x).sum()  # noqa: E731
    x = np.array([0.3, -1.2], dtype=dtype)
    for argument in (x, Tensor(x)):
        value, gradient = func.value_and_grad(f)(argument)
        assert value.dtype == dtype and gradient.dtype == dtype
        np.testing.assert_allclose(gradient.numpy(), numeric_gradient(f, [x], 0), rtol=1e-5 if dtype == np.float32 else 1e-8)


def test_python_floats_become_float32_like_every_python_number():
    gradient = func.grad(lambda x: x ** 3)(2.0)
    assert gradient.dtype == np.float32 and gradient.shape == () and gradient.item() == 12.0
    assert func.grad(lambda x: x ** 3)(np.float64(2.0)).dtype == np.float64


def test_nested_arguments_give_gradients_nested_the_same_way():
    def loss(params, x):
        (w, b), extra = params["layer"], params["extra"]
        return ((x @ w + b).tanh()).sum() + extra * 0.0

    rng = np.random.default_rng(1)
    params = {"layer": [rng.standard_normal((3, 2)), rng.standard_normal(2)], "extra": 1.0}
    x = rng.standard_normal((4, 3))
    grads = func.grad(loss)(params, x)
    assert set(grads) == {"layer", "extra"} and isinstance(grads["layer"], list)
    assert grads["layer"][0].shape == (3, 2) and grads["layer"][1].shape == (2,)
    assert grads["extra"].item() == 0.0
    w, b = params["layer"]
    expected_w = numeric_gradient(lambda w_: loss({"layer": [w_, Tensor(b)], "extra": 1.0}, Tensor(x)), [w], 0)
    np.testing.assert_allclose(grads["layer"][0].numpy(), expected_w, rtol=1e-6, atol=1e-9)


def test_an_input_the_output_does_not_use_gets_zeros_of_its_shape_and_dtype():
    gx, gy = func.grad(lambda x, y: (x * 2.0).sum(), argnums=(0, 1))(np.ones(2), np.ones((2, 3), np.float32))
    assert gx.numpy().tolist() == [2.0, 2.0]
    assert gy.shape == (2, 3) and gy.dtype == np.float32 and not gy.numpy().any()


def test_a_constant_output_has_zero_gradient():
    assert func.grad(lambda x: 3.0)(np.ones(2)).numpy().tolist() == [0.0, 0.0]
    assert func.grad(lambda x: Tensor(1.0))(np.ones(2)).numpy().tolist() == [0.0, 0.0]


def test_the_argument_is_its_own_variable_even_when_the_same_tensor_is_used_elsewhere():
    t = Tensor(3.0, requires_grad=True)
    # d/da (a * b) at a = b = t is b, not 2t: each argument is a separate variable.
    da, db = func.grad(lambda a, b: a * b, argnums=(0, 1))(t, t)
    assert (da.item(), db.item()) == (3.0, 3.0)
    # ... and so is a tensor the function also closes over.
    assert func.grad(lambda a: a * t)(t).item() == 3.0


# ---- differentiable results -------------------------------------------------------------------------
def test_results_are_plain_tensors_when_nothing_outside_requires_grad():
    x = Tensor([1.0, 2.0])
    value, gradient = func.value_and_grad(lambda x: (x ** 3).sum())(x)
    assert not value.requires_grad and not gradient.requires_grad
    assert not x.requires_grad and x.grad is None


def test_grad_of_grad_gives_higher_derivatives():
    f = lambda x: x ** 4  # noqa: E731
    first = func.grad(f)
    second = func.grad(first)
    third = func.grad(second)
    fourth = func.grad(third)
    # 4x^3, 12x^2, 24x, 24 at x = 2
    assert [g(2.0).item() for g in (first, second, third, fourth)] == [32.0, 48.0, 48.0, 24.0]
    assert func.grad(fourth)(2.0).item() == 0.0


def test_a_gradient_of_a_function_that_closes_over_parameters_is_differentiable_in_them():
    """A gradient penalty: loss + |d loss/dx|^2 backpropagates into the parameters f closes over."""
    rng = np.random.default_rng(2)
    w0, x = rng.standard_normal(3), rng.standard_normal(3)

    def penalty(w):
        g = func.grad(lambda x: (x * w).tanh().sum())(Tensor(x))
        return (g * g).sum()

    w = Tensor(w0, requires_grad=True)
    result = penalty(w)
    assert result.requires_grad
    result.backward()
    np.testing.assert_allclose(w.grad.numpy(), numeric_gradient(penalty, [w0], 0), rtol=1e-6, atol=1e-9)
    assert gradcheck(penalty, [w0])


def test_an_input_that_requires_grad_keeps_the_result_connected_to_it():
    x = Tensor([0.5, -1.0], dtype=np.float64, requires_grad=True)
    gradient = func.grad(lambda x: (x ** 3).sum())(x)
    assert gradient.requires_grad
    gradient.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_under_no_grad_results_are_plain_and_the_callers_graph_is_not_freed():
    w = Tensor([1.0, 2.0], requires_grad=True)
    hidden = w * 3.0  # history the caller still owns
    with no_grad():
        gradient = func.grad(lambda x: (x * hidden).sum())(np.ones(2))
    assert not gradient.requires_grad and gradient.numpy().tolist() == [3.0, 6.0]
    hidden.sum().backward()  # would raise GraphFreedError had func.grad freed hidden's graph
    assert w.grad.numpy().tolist() == [3.0, 3.0]


def test_the_transformed_function_has_a_telling_name():
    def loss(x):
        return x.sum()

    assert func.grad(loss).__name__ == "grad(loss)"
    assert "loss" in func.value_and_grad(loss).__doc__


# ---- errors: one clear line ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, args, error, words",
    [
        (lambda: func.grad(lambda x: x), (np.ones(3),), ValueError, "one number (a tensor with one element), got shape (3,)"),
        (lambda: func.grad(lambda x: (x, x)), (1.0,), TypeError, "use jacrev for several outputs"),
        (lambda: func.grad(lambda x: x), (3,), TypeError, "is the integer 3; derivatives need floats: write 3.0"),
        (lambda: func.grad(lambda x: x), (np.arange(3),), TypeError, "pass array.astype(np.float32)"),
        (lambda: func.grad(lambda x: x), (Tensor([1, 2]),), TypeError, "convert it with .float()"),
        (lambda: func.grad(lambda x: x), ("1.0",), TypeError, "is a str; pass a Tensor, a float ndarray or a float"),
        (lambda: func.grad(lambda x, y: x, argnums=2), (1.0, 2.0), ValueError, "argnums=2 but the function was called with 2"),
        (lambda: func.grad(lambda x, y: x, argnums=(0, -2)), (1.0, 2.0), ValueError, "names the same argument twice"),
        (lambda: func.grad(lambda x: x.argmax()), (np.ones(2),), TypeError, "only floating-point outputs have derivatives"),
        (lambda: func.grad(lambda x: "loss"), (1.0,), TypeError, "is a str; return a Tensor or a float"),
        (lambda: func.grad(lambda x: x, has_aux=True), (1.0,), TypeError, "must return a pair (output, aux)"),
    ],
)
def test_misuse_gets_one_line_that_says_what_to_do(make, args, error, words):
    with pytest.raises(error) as info:
        make()(*args)
    message = str(info.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("argnums, error", [((), ValueError), ("0", TypeError), (True, TypeError), ((0, 1.0), TypeError)])
def test_bad_argnums_are_refused_when_the_transform_is_made(argnums, error):
    with pytest.raises(error, match="argnums"):
        func.grad(lambda x: x, argnums=argnums)
