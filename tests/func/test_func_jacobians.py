"""vjp, jvp, jacrev, jacfwd and jacobian: against finite differences and each other, over random
shapes, several inputs, tuple outputs and both float dtypes; and what they cost, counted in
backward passes (never timed)."""
from __future__ import annotations

import numpy as np
import pytest
from finite_differences import numeric_jacobians
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Function, Tensor, func
from tinygrad_mnist.testing import arrays, broadcastable_shapes

TOLERANCE = {np.float64: dict(rtol=1e-6, atol=1e-8), np.float32: dict(rtol=2e-3, atol=2e-4)}


def two_outputs(x, w):
    """A tuple of a broadcast elementwise output and a reduced one, from two tensors."""
    h = (x * w).tanh()
    return h * x.sigmoid(), (h * h + w).sum(axis=-1) if h.ndim else h * w


def check_blocks(jac, x, w, dtype):
    """``jac[output][input]`` against float64 central differences."""
    for argnum in (0, 1):
        expected = numeric_jacobians(two_outputs, [x, w], argnum)
        for out in range(2):
            block = jac[out][argnum]
            assert block.shape == expected[out].shape
            np.testing.assert_allclose(block.numpy(), expected[out], **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
@given(data=st.data())
def test_jacobians_match_finite_differences_over_random_shapes(transform, dtype, data):
    shapes = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    x = data.draw(arrays(shapes[0], dtype=dtype), label="x")
    w = data.draw(arrays(shapes[1], dtype=dtype), label="w")
    jac = transform(two_outputs, argnums=(0, 1))(x, w)
    check_blocks(jac, x, w, dtype)
    for out in range(2):
        for argnum, arg in enumerate((x, w)):
            expected_dtype = arg.dtype if transform is func.jacrev else jac[out][argnum].dtype
            assert jac[out][argnum].dtype == expected_dtype == dtype


@given(data=st.data())
def test_reverse_and_forward_jacobians_agree(data):
    shapes = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    x, w = (data.draw(arrays(s), label="arg") for s in shapes)
    reverse = func.jacobian(two_outputs, argnums=(0, 1))(x, w)
    forward = func.jacobian(two_outputs, argnums=(0, 1), mode="forward")(x, w)
    for out in range(2):
        for argnum in range(2):
            np.testing.assert_allclose(reverse[out][argnum].numpy(), forward[out][argnum].numpy(), rtol=1e-12, atol=1e-14)


@given(data=st.data())
def test_vjp_and_jvp_are_the_jacobian_applied_on_either_side(data):
    shapes = data.draw(broadcastable_shapes(2, max_dims=3, max_side=3), label="shapes")
    x, w = (data.draw(arrays(s), label="arg") for s in shapes)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    outputs, vjp_fn = func.vjp(two_outputs, x, w)
    cotangents = tuple(rng.standard_normal(o.shape) for o in outputs)
    tangents = (rng.standard_normal(x.shape), rng.standard_normal(w.shape))
    out2, pushed = func.jvp(two_outputs, (x, w), tangents)
    jac = func.jacrev(two_outputs, argnums=(0, 1))(x, w)
    pulled = vjp_fn(cotangents)
    for argnum, arg in enumerate((x, w)):
        expected = sum(
            np.tensordot(c, jac[out][argnum].numpy(), axes=c.ndim) for out, c in enumerate(cotangents)
        )
        np.testing.assert_allclose(pulled[argnum].numpy(), expected, rtol=1e-10, atol=1e-12)
    for out in range(2):
        expected = sum(
            np.tensordot(jac[out][argnum].numpy(), t, axes=t.ndim) for argnum, t in enumerate(tangents)
        )
        np.testing.assert_allclose(pushed[out].numpy(), expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(out2[out].numpy(), outputs[out].numpy())


# ---- layouts --------------------------------------------------------------------------------------------
def test_block_layout_is_output_shape_then_input_shape():
    x = np.arange(6.0).reshape(2, 3) / 10
    jac = func.jacrev(lambda x: (x * x).sum(axis=0))(x)
    assert jac.shape == (3, 2, 3)
    expected = np.zeros((3, 2, 3))
    for j in range(3):
        expected[j, :, j] = 2 * x[:, j]
    np.testing.assert_allclose(jac.numpy(), expected)
    np.testing.assert_allclose(func.jacfwd(lambda x: (x * x).sum(axis=0))(x).numpy(), expected)


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
def test_scalar_and_empty_shapes(transform):
    assert transform(lambda x: x * 3.0)(2.0).item() == 3.0
    assert transform(lambda x: x.sum())(np.ones(3)).numpy().tolist() == [1.0, 1.0, 1.0]
    assert transform(lambda x: x * x)(np.zeros((0, 2))).shape == (0, 2, 0, 2)
    assert transform(lambda x: x.sum() * np.ones(2))(np.zeros(0)).shape == (2, 0)


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
def test_nested_outputs_and_arguments_and_unused_inputs(transform):
    def f(params, scale):
        return {"sum": (params[0] * params[1]).sum() * scale, "copy": params[0]}

    params = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    jac = transform(f)(params, 2.0)
    assert set(jac) == {"sum", "copy"}
    np.testing.assert_allclose(jac["sum"][0].numpy(), [6.0, 8.0])
    np.testing.assert_allclose(jac["sum"][1].numpy(), [2.0, 4.0])
    np.testing.assert_allclose(jac["copy"][0].numpy(), np.eye(2))
    assert jac["copy"][1].numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]  # copy does not use params[1]


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
def test_has_aux(transform):
    jac, aux = transform(lambda x: (x * x, "aux"), has_aux=True)(np.array([1.0, 2.0]))
    assert aux == "aux"
    np.testing.assert_allclose(jac.numpy(), np.diag([2.0, 4.0]))


def test_constant_outputs_have_zero_jacobians():
    for transform in (func.jacrev, func.jacfwd):
        jac = transform(lambda x: (Tensor(np.ones(2)), 1.0))(np.ones(3))
        assert jac[0].shape == (2, 3) and not jac[0].numpy().any()
        assert jac[1].shape == (3,) and not jac[1].numpy().any()


def test_jacobian_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward', got 'backward'"):
        func.jacobian(lambda x: x, mode="backward")


# ---- vjp and jvp details ----------------------------------------------------------------------------------
def test_vjp_function_can_be_called_many_times():
    out, vjp_fn = func.vjp(lambda x: x.tanh(), np.array([0.0, 1.0]))
    first = vjp_fn(np.array([1.0, 0.0]))[0].numpy()
    second = vjp_fn(np.array([0.0, 1.0]))[0].numpy()
    np.testing.assert_allclose(first + second, 1 - np.tanh([0.0, 1.0]) ** 2)


def test_vjp_with_aux_and_several_primals():
    out, vjp_fn, aux = func.vjp(lambda x, y: (x * y, {"y": y}), 2.0, np.array([1.0, 3.0]), has_aux=True)
    assert out.numpy().tolist() == [2.0, 6.0] and aux["y"].numpy().tolist() == [1.0, 3.0]
    dx, dy = vjp_fn(np.ones(2))
    assert dx.item() == 4.0 and dy.numpy().tolist() == [2.0, 2.0]


def test_jvp_with_aux():
    out, tangent, aux = func.jvp(lambda x: (x ** 2, 7), (3.0,), (1.0,), has_aux=True)
    assert (out.item(), tangent.item(), aux) == (9.0, 6.0, 7)


def test_cotangents_and_tangents_take_the_dtype_of_what_they_go_with():
    out, vjp_fn = func.vjp(lambda x: x * 2.0, np.ones(2, np.float32))
    assert vjp_fn(np.ones(2))[0].dtype == np.float32
    _, tangent = func.jvp(lambda x: x * 2.0, (np.ones(2, np.float32),), (np.ones(2),))
    assert tangent.dtype == np.float32


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: func.jvp(lambda x: x, np.ones(2), np.ones(2)), TypeError, "must be tuples"),
        (lambda: func.jvp(lambda x: x, (np.ones(2),), (np.ones(3),)), ValueError, "the tangent has shape (3,); it must have the shape of its primal, (2,)"),
        (lambda: func.jvp(lambda x, y: x, (1.0, 2.0), (1.0,)), ValueError, "2 primals but 1 tangents"),
        (lambda: func.jvp(lambda x: x, ([1.0, 2.0],), ((1.0, 2.0),)), ValueError, "nested as tuple(tuple(leaf, leaf))"),
        (lambda: func.vjp(lambda x: x), TypeError, "give the point to differentiate at"),
        (lambda: func.vjp(lambda x: (x, x), np.ones(2))[1](np.ones(2)), ValueError, "cotangents are nested as leaf"),
        (lambda: func.vjp(lambda x: x, np.ones(2))[1](np.ones(3)), ValueError, "the cotangent has shape (3,)"),
        (lambda: func.vjp(lambda x: x, np.ones(2))[1]("v"), TypeError, "the cotangent is a str"),
    ],
)
def test_vjp_and_jvp_misuse_gets_one_clear_line(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value) and "\n" not in str(info.value)


# ---- cost: counted, never timed ------------------------------------------------------------------------------
class Counted(Function):
    """The identity, counting how often it runs forward and backward (its backward records itself
    under create_graph, so passes through a recorded backward graph are counted too)."""

    forward_calls = 0
    backward_calls = 0

    def forward(self, x):
        Counted.forward_calls += 1
        return x

    def backward(self, grad, x, out):
        Counted.backward_calls += 1
        return (Counted.apply(grad) if isinstance(grad, Tensor) else grad,)


@pytest.fixture
def counted():
    Counted.forward_calls = Counted.backward_calls = 0
    return Counted


@pytest.mark.parametrize("k", [1, 4, 16])
def test_jacrev_with_k_outputs_runs_f_once_and_k_backward_passes(counted, k):
    w = np.linspace(0.5, 1.5, k)
    jac = func.jacrev(lambda x: Counted.apply((x * w).tanh()))(np.full(k, 0.1))
    assert jac.shape == (k, k)
    assert (counted.forward_calls, counted.backward_calls) == (1, k)


@pytest.mark.parametrize("k", [1, 4, 16])
def test_jacrev_of_k_separate_outputs_walks_each_outputs_graph_once_per_row(counted, k):
    """k outputs, each with its own branch: k passes that each visit one branch (k visits in all);
    passes that walked every output with zero cotangents would visit k * k."""
    jac = func.jacrev(lambda x: tuple(Counted.apply(x[i] * x[i]) for i in range(k)))(np.arange(1.0, k + 1))
    assert len(jac) == k and jac[-1].numpy()[-1] == 2.0 * k
    assert (counted.forward_calls, counted.backward_calls) == (k, k)


@pytest.mark.parametrize("n", [1, 4, 16])
def test_jacfwd_with_n_inputs_costs_n_plus_one_backward_passes(counted, n):
    jac = func.jacfwd(lambda x: Counted.apply(x.tanh()).sum() * np.ones(3))(np.full(n, 0.1))
    assert jac.shape == (3, n)
    # One pass records u -> J^T u (its backward applies Counted once more); each of the n columns
    # passes through that recorded Counted.
    assert (counted.forward_calls, counted.backward_calls) == (2, 1 + n)


@pytest.fixture
def backward_passes(monkeypatch):
    """Counts the engine's backward passes (calls of tinygrad_mnist.grad) made by the transforms."""
    from tinygrad_mnist.func import call, forward

    passes = []

    def counting(*args, **kwargs):
        passes.append(kwargs.get("create_graph", False))
        return engine_grad(*args, **kwargs)

    engine_grad = call.engine_grad
    monkeypatch.setattr(call, "engine_grad", counting)
    monkeypatch.setattr(forward, "engine_grad", counting)
    return passes


def test_grad_vjp_jvp_and_hvp_pass_counts(backward_passes):
    f = lambda x: (x.tanh() * x).sum()  # noqa: E731
    x, v = np.ones(5), np.ones(5)
    func.grad(f)(x)
    assert backward_passes == [False]
    backward_passes.clear()
    _, vjp_fn = func.vjp(f, x)
    vjp_fn(1.0)
    vjp_fn(2.0)
    assert backward_passes == [False, False]
    backward_passes.clear()
    func.jvp(f, (x,), (v,))
    assert backward_passes == [True, False]  # the double-VJP trick: record u -> J^T u, then differentiate it
    backward_passes.clear()
    func.hvp(f, (x,), (v,))
    assert backward_passes == [True, False]  # reverse over reverse, whatever the size of H
    backward_passes.clear()
    func.hessian(f)(x)
    assert backward_passes == [True] + [False] * 5  # one gradient, then one pass per row
