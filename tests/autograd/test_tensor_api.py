"""Tensor constructors (values, dtypes, seeded randomness) and the small Tensor API around the graph."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, arange, eye, from_numpy, full, nn, ones, rand, randn, tensor, zeros


# ---- constructors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [zeros, ones], ids=["zeros", "ones"])
def test_zeros_and_ones(make):
    fill = 0.0 if make is zeros else 1.0
    for t in (make(2, 3), make((2, 3)), make([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill))
    assert make().shape == ()
    assert make(4, dtype=np.float64).dtype == np.float64
    assert make(2, dtype=np.int64).dtype == np.int64
    assert make(2, requires_grad=True).requires_grad
    assert not make(2).requires_grad


def test_full():
    t = full((2, 2), 7.5)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 2), 7.5))
    assert full((3,), 2, dtype=np.int64).dtype == np.int64
    assert full((), 1.0, dtype=np.float64, requires_grad=True).requires_grad


def test_arange():
    np.testing.assert_array_equal(arange(4).numpy(), [0, 1, 2, 3])
    assert arange(4).dtype == np.int64
    np.testing.assert_array_equal(arange(2, 8, 3).numpy(), [2, 5])
    np.testing.assert_allclose(arange(0, 1, 0.25).numpy(), [0.0, 0.25, 0.5, 0.75])
    assert arange(0, 1, 0.25).dtype == np.float32
    assert arange(3, dtype=np.float64).dtype == np.float64


def test_arange_with_only_a_stop_and_a_step():
    np.testing.assert_array_equal(arange(6, step=2).numpy(), np.arange(6, step=2))


def test_eye():
    np.testing.assert_array_equal(eye(3).numpy(), np.eye(3))
    assert eye(3).dtype == np.float32
    np.testing.assert_array_equal(eye(2, 3).numpy(), np.eye(2, 3))
    assert eye(2, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("make", [rand, randn], ids=["rand", "randn"])
def test_random_constructors_are_deterministic_with_a_seed(make):
    a, b = make(3, 4, seed=123), make((3, 4), seed=123)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), make(3, 4, seed=124).numpy())
    assert make(2, seed=0, dtype=np.float64).dtype == np.float64
    assert make(2, seed=0, requires_grad=True).requires_grad


@pytest.mark.parametrize("make", [rand, randn], ids=["rand", "randn"])
def test_random_constructors_draw_from_a_generator_and_advance_it(make):
    generator = np.random.default_rng(5)
    first, second = make(4, seed=generator), make(4, seed=generator)
    assert not np.array_equal(first.numpy(), second.numpy()), "a Generator must advance between draws"
    replay = np.random.default_rng(5)
    np.testing.assert_array_equal(make(4, seed=replay).numpy(), first.numpy())
    np.testing.assert_array_equal(make(4, seed=replay).numpy(), second.numpy())


@pytest.mark.parametrize("make", [rand, randn], ids=["rand", "randn"])
@pytest.mark.parametrize("seed", [1.5, True, "7"])
def test_random_constructors_refuse_what_is_not_a_seed_like_the_layers_do(make, seed):
    with pytest.raises(TypeError, match="seed must be None, an int or a numpy Generator") as from_tensor:
        make(2, seed=seed)
    with pytest.raises(TypeError) as from_layer:
        nn.Linear(2, 2, seed=seed)
    assert str(from_tensor.value) == str(from_layer.value)


def test_where_method_picks_this_tensor_where_the_condition_holds():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.where(np.array([True, False, True]), Tensor([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(y.numpy(), [1.0, 20.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_random_values_have_the_right_distribution():
    uniform = rand(20_000, seed=1, dtype=np.float64).numpy()
    assert uniform.min() >= 0.0 and uniform.max() < 1.0
    assert abs(uniform.mean() - 0.5) < 0.01
    normal = randn(20_000, seed=1, dtype=np.float64).numpy()
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1.0) < 0.03


def test_float32_random_values_are_the_float64_ones_rounded():
    np.testing.assert_array_equal(randn(5, seed=3).numpy(), randn(5, seed=3, dtype=np.float64).numpy().astype(np.float32))


def test_tensor_copies_and_from_numpy_shares():
    source = np.array([1.0, 2.0])
    copied, shared = tensor(source), from_numpy(source)
    source[0] = 9.0
    assert copied.numpy()[0] == 1.0 and shared.numpy()[0] == 9.0
    assert copied.dtype == np.float64 and shared.dtype == np.float64
    assert tensor([1, 2]).dtype == np.int64 and tensor([1.0, 2.0]).dtype == np.float32
    assert tensor([1.0], dtype=np.float64).dtype == np.float64
    assert tensor(3.0, requires_grad=True, name="w").name == "w"
    with pytest.raises(TypeError, match="from_numpy expects an ndarray"):
        from_numpy([1.0, 2.0])


def test_tensor_of_a_tensor_copies_its_data_but_not_its_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = tensor(x * 2)
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])


# ---- the Tensor API ----------------------------------------------------------------------------------
def test_properties():
    t = Tensor(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24 and t.dtype == np.float64 and len(t) == 2
    scalar = Tensor(np.array(2.5))
    assert scalar.shape == () and scalar.ndim == 0 and scalar.size == 1
    with pytest.raises(TypeError, match="len"):
        len(scalar)


def test_item_numpy_float_int():
    t = Tensor(np.array([[2.5]]))
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert float(t) == 2.5 and int(Tensor(np.array([3]))) == 3
    assert t.numpy() is t.data  # shared, not copied


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.op is None
    assert np.shares_memory(d.numpy(), y.numpy())
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # d is a constant


def test_transpose_property_T():
    m = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.T.numpy(), np.arange(6.0).reshape(2, 3).T)
    cube = Tensor(np.zeros((2, 3, 4)))
    assert cube.T.shape == (4, 3, 2)


def test_is_leaf_and_op():
    x = Tensor(np.array([1.0]), requires_grad=True)
    constant = Tensor(np.array([1.0]))
    y = (x * 2).exp()
    assert x.is_leaf and constant.is_leaf and not y.is_leaf
    assert x.op is None and y.op == "Exp" and y._ctx.parents[0].op == "Mul"
    assert (constant * 2).is_leaf, "an op on constants records nothing"


def test_requires_grad_propagates_only_from_inputs_that_need_it():
    x = Tensor(np.array([1.0]), requires_grad=True)
    constant = Tensor(np.array([1.0]))
    assert (x + constant).requires_grad
    assert not (constant + constant).requires_grad
    assert not (x > 0).requires_grad, "comparisons are outside the graph"
    assert (x > 0).dtype == np.bool_


def test_requires_grad_underscore():
    x = Tensor(np.array([1.0]))
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad


def test_repr_shows_data_dtype_and_grad_state():
    plain = repr(Tensor(np.array([1.5, -2.0], dtype=np.float32)))
    assert plain == "Tensor([ 1.5, -2. ], dtype=float32)"
    leaf = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    assert "requires_grad=True" in repr(leaf) and "name='w'" in repr(leaf) and "float64" in repr(leaf)
    made = leaf * 2
    assert repr(made).startswith("Tensor([2., 4.]") and "grad_fn=Mul" in repr(made)
    assert "requires_grad" not in plain and "grad_fn" not in plain


def test_repr_of_a_large_tensor_is_summarised():
    text = repr(Tensor(np.zeros(10_000)))
    assert "..." in text and len(text) < 400


def test_ndarray_on_the_left_of_an_operator_gives_a_tensor():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for result in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x, np.ones((3, 2)) @ x):
        assert isinstance(result, Tensor) and result.requires_grad


def test_tensors_are_hashable_by_identity():
    a, b = Tensor(np.array([1.0])), Tensor(np.array([1.0]))
    assert len({a, b}) == 2 and {a: 1}[a] == 1
