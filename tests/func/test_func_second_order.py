"""hessian and hvp, and transforms nested in each other: checked against finite differences of the
engine's gradient, against each other, and with gradcheck/gradgradcheck on the transformed functions
(which checks that their results are differentiable, and correctly so)."""
from __future__ import annotations

import numpy as np
import pytest
from finite_differences import numeric_jacobians
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, func, grad
from tinygrad_mnist.testing import arrays, broadcastable_shapes, gradcheck, gradgradcheck, shapes


def energy(x, w):
    """A smooth scalar function of two tensors (broadcast against each other)."""
    return ((x * w).tanh() ** 2).sum() + (x.sigmoid() * w).mean() + (w ** 3).sum()


def engine_gradient(argnum):
    """The gradient by the engine directly, to take finite differences of (an independent side)."""
    def gradient(x, w):
        leaves = [Tensor(x.numpy(), requires_grad=True), Tensor(w.numpy(), requires_grad=True)]
        return grad(energy(*leaves), leaves[argnum])[0]
    return gradient


@given(data=st.data())
def test_hessian_blocks_match_finite_differences_of_the_gradient(data):
    shapes_ = data.draw(broadcastable_shapes(2, max_dims=2, max_side=3), label="shapes")
    x, w = (data.draw(arrays(s), label="arg") for s in shapes_)
    blocks = func.hessian(energy, argnums=(0, 1))(x, w)
    for i in range(2):
        for j, arg in enumerate((x, w)):
            (expected,) = numeric_jacobians(engine_gradient(i), [x, w], j)
            assert blocks[i][j].shape == (x, w)[i].shape + arg.shape
            np.testing.assert_allclose(blocks[i][j].numpy(), expected, rtol=1e-5, atol=1e-7)
    # Symmetry: H[0][1] and H[1][0] are transposes of each other.
    cross = blocks[0][1].numpy().reshape(x.size, w.size)
    np.testing.assert_allclose(cross, blocks[1][0].numpy().reshape(w.size, x.size).T, rtol=1e-10, atol=1e-12)


# jvp(grad(f)) records third derivatives; its second pass also walks the forward graph and throws that
# part away. There, Pow's rule meets a ** -1 at zero or tiny a (an inf or NaN that never reaches the
# result: the comparisons below would fail).
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(data=st.data())
def test_hvp_is_the_hessian_times_the_vector_and_the_jvp_of_the_gradient(data):
    shape = data.draw(shapes(max_dims=2, max_side=4), label="shape")
    x = data.draw(arrays(shape), label="x")
    w = data.draw(arrays(shape[-1:]), label="w")
    v = (data.draw(arrays(shape), label="v"), data.draw(arrays(w.shape), label="vw"))
    gradient, hv = func.hvp(energy, (x, w), v)
    blocks = func.hessian(energy, argnums=(0, 1))(x, w)
    for i in range(2):
        expected = sum(np.tensordot(blocks[i][j].numpy(), v[j], axes=v[j].ndim) for j in range(2))
        np.testing.assert_allclose(hv[i].numpy(), expected, rtol=1e-9, atol=1e-11)
    same_gradient, same_hv = func.jvp(func.grad(energy, argnums=(0, 1)), (x, w), v)
    for i in range(2):
        np.testing.assert_allclose(gradient[i].numpy(), same_gradient[i].numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(hv[i].numpy(), same_hv[i].numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_order_results_keep_the_dtype(dtype):
    x = np.array([0.3, -0.7, 1.1], dtype=dtype)
    f = lambda x: (x.tanh() * x).sum()  # noqa: E731
    h = func.hessian(f)(x)
    gradient, hv = func.hvp(f, (x,), (np.ones(3, dtype),))
    assert h.dtype == gradient[0].dtype == hv[0].dtype == dtype
    t = np.tanh(x.astype(np.float64))
    exact = np.diag(2 * (1 - t * t) - 2 * x * t * (1 - t * t))  # d²/dx² x·tanh(x)
    np.testing.assert_allclose(h.numpy(), exact, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_hessian_of_a_vector_output_is_one_hessian_per_element():
    h = func.hessian(lambda x: x ** 3)(np.array([1.0, 2.0]))
    assert h.shape == (2, 2, 2)
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0], expected[1, 1, 1] = 6.0, 12.0
    np.testing.assert_allclose(h.numpy(), expected)


def test_hessian_with_aux():
    h, aux = func.hessian(lambda x: ((x ** 2).sum(), "aux"), has_aux=True)(np.ones(2))
    assert aux == "aux"
    np.testing.assert_allclose(h.numpy(), 2 * np.eye(2))


def test_hvp_errors_name_hvp():
    with pytest.raises(ValueError, match="^hvp: the function must return one number"):
        func.hvp(lambda x: x, (np.ones(2),), (np.ones(2),))
    with pytest.raises(ValueError, match=r"^hvp: the tangent has shape \(3,\); it must have the shape of its primal, \(2,\)"):
        func.hvp(lambda x: x.sum(), (np.ones(2),), (np.ones(3),))
    with pytest.raises(TypeError, match="^hvp: primals and tangents must be tuples"):
        func.hvp(lambda x: x.sum(), np.ones(2), np.ones(2))


# ---- the results of every transform are differentiable, correctly (finite differences) ------------------
X = np.array([[0.4, -0.8, 1.3], [0.2, 0.9, -1.1]])
V = np.array([[1.0, -0.5, 0.25], [0.5, 2.0, -1.0]])
SCALAR = lambda x: ((x.tanh() * x).sum(axis=0) ** 2).sum()  # noqa: E731
VECTOR = lambda x: (x.sigmoid() * x).sum(axis=0)  # noqa: E731


@pytest.mark.parametrize(
    "name, transformed",
    [
        ("grad", lambda x: func.grad(SCALAR)(x)),
        ("value_and_grad", lambda x: func.value_and_grad(SCALAR)(x)),
        ("vjp", lambda x: func.vjp(VECTOR, x)[1](Tensor(np.array([1.0, -2.0, 0.5])))[0]),
        ("jvp", lambda x: func.jvp(VECTOR, (x,), (V,))),
        ("jacrev", lambda x: func.jacrev(VECTOR)(x)),
        ("jacfwd", lambda x: func.jacfwd(VECTOR)(x)),
        ("hessian", lambda x: func.hessian(SCALAR)(x)),
        ("hvp", lambda x: func.hvp(SCALAR, (x,), (V,))[1][0]),
    ],
)
def test_transformed_functions_pass_gradcheck_and_gradgradcheck(name, transformed):
    assert gradcheck(transformed, [X])
    assert gradgradcheck(transformed, [X])


def test_results_are_differentiable_in_tangents_and_cotangents_too():
    assert gradcheck(lambda v: func.jvp(VECTOR, (X,), (v,))[1], [V])
    assert gradcheck(lambda u: func.vjp(VECTOR, X)[1](u)[0], [np.array([1.0, -2.0, 0.5])])
    assert gradcheck(lambda v: func.hvp(SCALAR, (X,), (v,))[1][0], [V])


def test_newton_steps_inside_grad_differentiate_through_the_solver():
    """d/da of the root of x**3 - a found by three Newton steps, against 1 / (3 a^(2/3))."""
    def root(a):
        x = a * 0 + 1.0
        for _ in range(12):
            value, slope = func.value_and_grad(lambda x: x ** 3 - a)(x)
            x = x - value / slope
        return x

    a = 2.0
    assert root(np.float64(a)).item() == pytest.approx(a ** (1 / 3), rel=1e-12)
    assert func.grad(root)(np.float64(a)).item() == pytest.approx(1 / (3 * a ** (2 / 3)), rel=1e-9)


def test_fourth_derivative_of_a_cube_at_zero_is_zero():
    fourth = func.grad(func.grad(func.grad(func.grad(lambda x: x ** 3))))
    with np.errstate(all="raise"):
        assert fourth(0.0).item() == 0.0
