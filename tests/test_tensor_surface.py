"""The surface a new user types first (issue 14): top-level functions, constructors, the methods and
properties PyTorch and NumPy users expect, and the decisions where the two disagree.

Gradients of the differentiable pieces are checked by the op table (``tests/ops/op_table.py``:
clip with tensor bounds, std, softmax, log_softmax, mT, cat, stack, where, linspace); the
keyword spellings by ``tests/ops/test_spelling.py``; augmented assignment by ``tests/ops/test_inplace.py``.
"""
from __future__ import annotations

import copy
import json
import math
import pickle

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import Tensor, grad, nn
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.ops import movement


@pytest.fixture
def fresh_entropy():
    """Leave seed=None as fresh entropy for the rest of the suite, whatever a test seeds."""
    yield
    tm.manual_seed(None)


# ---- top-level functions -------------------------------------------------------------------------------
def test_cat_is_concatenate_and_both_are_exported():
    assert tm.cat is tm.concatenate
    for name in ("cat", "concatenate", "stack", "where", "zeros_like", "ones_like", "full_like", "linspace",
                 "manual_seed"):
        assert name in tm.__all__ and callable(getattr(tm, name))


def test_cat_stack_and_where_take_arrays_and_numbers_too():
    joined = tm.cat([np.array([1.0, 2.0]), [3.0]])
    assert isinstance(joined, Tensor) and joined.numpy().tolist() == [1.0, 2.0, 3.0]
    assert tm.stack([[1.0, 2.0], [3.0, 4.0]]).dtype == np.float32  # Python floats: float32
    picked = tm.where([True, False], 1.0, 0.0)
    assert picked.dtype == np.float32 and picked.numpy().tolist() == [1.0, 0.0]
    x = Tensor(np.array([-1.0, 2.0]))
    assert tm.where(x > 0, x, 0.0).dtype == np.float64  # a number meeting a tensor takes its dtype


def test_cat_of_one_tensor_says_to_pass_a_list():
    with pytest.raises(TypeError, match=r"concatenate takes a sequence of tensors, got one Tensor; write concatenate\(\[a, b"):
        tm.cat(Tensor([1.0]))


def test_where_sends_each_branch_its_gradient():
    x, y = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([10.0, 20.0, 30.0], requires_grad=True)
    tm.where(np.array([True, False, True]), x, y).sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 0.0, 1.0] and y.grad.numpy().tolist() == [0.0, 1.0, 0.0]


def test_func_assembles_jacobians_with_the_public_stack():
    from tinygrad_mnist.func import call
    from tinygrad_mnist.functions import stack

    assert call.stack is stack is tm.stack


# ---- constructors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_like_constructors_copy_shape_and_dtype(dtype):
    template = Tensor(np.zeros((2, 3), dtype=dtype))
    for made, value in ((tm.zeros_like(template), 0), (tm.ones_like(template), 1), (tm.full_like(template, 7), 7)):
        assert made.shape == (2, 3) and made.dtype == dtype and (made.numpy() == value).all()
        assert made is not template and not made.requires_grad


def test_like_constructors_take_arrays_lists_and_options():
    assert tm.zeros_like(np.ones((2,), dtype=np.float64)).dtype == np.float64
    assert tm.ones_like([[1.0, 2.0]]).dtype == np.float32
    made = tm.full_like([1.0, 2.0], 0.5, dtype=np.float64, requires_grad=True)
    assert made.dtype == np.float64 and made.requires_grad and made.numpy().tolist() == [0.5, 0.5]


def test_linspace_of_numbers_is_numpys_in_float32():
    np.testing.assert_array_equal(tm.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5).astype(np.float32))
    np.testing.assert_array_equal(tm.linspace(0, 1, 4, endpoint=False).numpy(), [0, 0.25, 0.5, 0.75])
    assert tm.linspace(0, 1).shape == (50,) and tm.linspace(0, 1).dtype == np.float32
    assert tm.linspace(2, 3, num=0).shape == (0,) and tm.linspace(2, 3, num=1).numpy().tolist() == [2.0]
    assert tm.linspace(0, 1, 3, dtype=np.float64).dtype == np.float64
    assert tm.linspace(0, 1, 3, requires_grad=True).requires_grad


def test_linspace_with_tensor_bounds_is_differentiable():
    start = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    stop = Tensor(2.0, dtype=np.float64, requires_grad=True)
    values = tm.linspace(start, stop, num=3)
    np.testing.assert_allclose(values.numpy(), np.linspace(start.numpy(), 2.0, 3))
    assert values.dtype == np.float64
    d_start, d_stop = grad(values.sum(), [start, stop])
    # each start gets 1 + 1/2 + 0; the shared stop gets (0 + 1/2 + 1) from each of the two columns
    np.testing.assert_allclose(d_start.numpy(), [1.5, 1.5])
    np.testing.assert_allclose(d_stop.numpy(), 3.0)


def test_linspace_rejects_what_it_cannot_honour():
    with pytest.raises(ConfigError, match="linspace: num must be >= 0, got -1"):
        tm.linspace(0, 1, num=-1)
    with pytest.raises(ValueError, match="requires_grad=True is for numeric start and stop"):
        tm.linspace(Tensor(0.0), 1.0, 3, requires_grad=True)


# ---- seeding -------------------------------------------------------------------------------------------
def test_manual_seed_makes_seed_none_reproducible(fresh_entropy):
    tm.manual_seed(3)
    first = (tm.randn(4).numpy(), nn.Linear(3, 2).weight.numpy(), tm.rand(2).numpy())
    tm.manual_seed(3)
    again = (tm.randn(4).numpy(), nn.Linear(3, 2).weight.numpy(), tm.rand(2).numpy())
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(tm.randn(4).numpy(), first[0])  # the stream advances


def test_explicit_seeds_ignore_manual_seed(fresh_entropy):
    reference = tm.randn(3, seed=7).numpy()
    tm.manual_seed(0)
    np.testing.assert_array_equal(tm.randn(3, seed=7).numpy(), reference)


def test_manual_seed_none_goes_back_to_fresh_entropy(fresh_entropy):
    tm.manual_seed(0)
    assert tm.manual_seed(None) is None
    draws = {tuple(tm.randn(4).numpy().tolist()) for _ in range(3)}
    assert len(draws) == 3
    with pytest.raises(TypeError, match="manual_seed takes an int"):
        tm.manual_seed("0")


# ---- methods -------------------------------------------------------------------------------------------
def test_std_is_sqrt_of_var_with_numpys_ddof():
    data = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]])
    x = Tensor(data)
    np.testing.assert_allclose(x.std().numpy(), np.std(data))
    np.testing.assert_allclose(x.std(axis=1, ddof=1).numpy(), np.std(data, axis=1, ddof=1))
    assert x.std(axis=0, keepdims=True).shape == (1, 3)


def test_std_of_equal_values_has_an_undefined_gradient_as_documented():
    x = Tensor([2.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        x.std().backward()
    assert x.std().item() == 0.0 and np.isnan(x.grad.numpy()).all()


def test_tolist_gives_python_numbers():
    assert Tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    assert Tensor(np.array([1, 2])).tolist() == [1, 2] and isinstance(Tensor(3.0).tolist(), float)


def test_any_and_all_reduce_truth_outside_the_graph():
    x = Tensor([[1.0, -1.0], [0.0, 0.0]], requires_grad=True)
    assert (x > 0).any().item() is True and (x > 0).all().item() is False
    assert x.any(axis=1).numpy().tolist() == [True, False]  # non-zero counts as true
    assert x.all(axis=0, keepdims=True).shape == (1, 2)
    assert not (x > 0).any().requires_grad and (x > 0).any().dtype == np.bool_
    with pytest.raises(ShapeError, match="any: axis 2 is out of range"):
        x.any(axis=2)


def test_the_truth_value_error_gives_advice_that_works():
    x = Tensor([1.0, -2.0])
    with pytest.raises(ValueError, match=r"use \.any\(\) or \.all\(\)"):
        if x > 0:
            pass
    assert bool((x > 0).any()) and not bool((x > 0).all())


def test_softmax_methods_are_nn_functionals():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    np.testing.assert_array_equal(x.softmax(axis=0).numpy(), F.softmax(x, axis=0).numpy())
    np.testing.assert_array_equal(x.log_softmax().numpy(), F.log_softmax(x).numpy())
    np.testing.assert_allclose(x.softmax().numpy().sum(axis=1), 1.0)
    big = Tensor([[1e4, 1e4 - 1.0]])
    assert np.isfinite(big.log_softmax().numpy()).all()


def test_clip_takes_tensor_bounds_that_broadcast():
    x = Tensor(np.array([[-3.0, 0.0, 3.0]]))
    low = Tensor(np.array([[-1.0], [0.5]]))
    np.testing.assert_array_equal(x.clip(low, 2.0).numpy(), [[-1.0, 0.0, 2.0], [0.5, 0.5, 2.0]])
    np.testing.assert_array_equal(x.clip(max=np.array([0.0, 0.0, 1.0])).numpy(), [[-3.0, 0.0, 1.0]])


# ---- transposes ---------------------------------------------------------------------------------------
def test_T_mT_swapaxes_and_permute():
    batch = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert batch.T.shape == (4, 3, 2) and batch.mT.shape == (2, 4, 3)
    np.testing.assert_array_equal(batch.mT.numpy(), np.swapaxes(batch.numpy(), -1, -2))
    assert batch.swapaxes(0, 2).shape == (4, 3, 2) and batch.permute(0, 1, 2).shape == (2, 3, 4)
    with pytest.raises(ShapeError, match=r"mT: needs at least 2 dimensions .* got shape \(3,\)"):
        Tensor([1.0, 2.0, 3.0]).mT


def test_transpose_zero_one_on_a_matrix_is_an_error_pointing_to_swapaxes():
    m = Tensor(np.arange(6.0).reshape(2, 3))
    for axes in ((0, 1), (-2, -1), (0, -1), (-2, 1)):
        with pytest.raises(ShapeError) as caught:
            m.transpose(*axes)
        message = str(caught.value)
        assert "would leave this 2-D tensor unchanged" in message and f"swapaxes({axes[0]}, {axes[1]})" in message
        assert "\n" not in message


def test_transpose_of_two_axes_on_other_ranks_points_to_swapaxes():
    with pytest.raises(ShapeError, match=r"transpose\(0, 2\) on a 3-D tensor: .*write swapaxes\(0, 2\)"):
        Tensor(np.zeros((2, 3, 4))).transpose(0, 2)
    with pytest.raises(ShapeError, match=r"on a 1-D tensor"):
        movement.transpose(Tensor([1.0, 2.0]), 0, 0)


def test_transpose_keeps_every_numpy_meaning():
    m = Tensor(np.arange(6.0).reshape(2, 3))
    assert m.transpose(1, 0).shape == (3, 2) and m.transpose().shape == (3, 2)
    assert m.transpose((0, 1)).shape == (2, 3)  # NumPy's one-argument form, identity included
    assert Tensor(np.zeros((2, 3, 4))).transpose(0, 1, 2).shape == (2, 3, 4)


# ---- size and format ----------------------------------------------------------------------------------
def test_size_is_an_int_that_also_answers_size_calls():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.size == 24 and isinstance(x.size, int) and x.size + 1 == 25 and math.prod(x.shape) == x.size
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert json.dumps({"n": x.size}) == '{"n": 24}' and np.zeros(x.size).shape == (24,)
    with pytest.raises(ShapeError, match="size: axis 3 is out of range"):
        x.size(3)
    assert Tensor(5.0).size == 1 and Tensor(5.0).size() == ()
    copied = pickle.loads(pickle.dumps(x.size))
    assert copied == 24 and copied() == (2, 3, 4) and copy.deepcopy(x.size)(1) == 3


def test_a_one_element_tensor_formats_like_its_number():
    loss = Tensor(np.float32(0.123456))
    assert f"{loss:.3f}" == "0.123" and f"{Tensor([[2.5]]):>6.2f}" == "  2.50"
    assert "{:.1e}".format(Tensor(1234.0)) == "1.2e+03" and f"{Tensor(np.array(3)):d}" == "3"
    assert f"{loss}" == str(loss)


def test_formatting_a_larger_tensor_says_what_to_do():
    with pytest.raises(TypeError) as caught:
        f"{Tensor([1.0, 2.0]):.3f}"
    message = str(caught.value)
    assert "needs a tensor with one element, this one has shape (2,)" in message and "x.mean():.3f" in message
