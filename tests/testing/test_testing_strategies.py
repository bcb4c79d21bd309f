"""Tests of the public hypothesis strategies in tinygrad_mnist.testing.strategies."""

import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from tinygrad_mnist.testing import (
    ShapeTuple,
    arrays,
    axes,
    broadcastable_shapes,
    index_keys,
    matmul_shapes,
    permutations,
    reshape_shapes,
    shapes,
    tensors,
)


def _draw(strategy):
    """Draw one example outside of @given (errors in the strategy propagate)."""
    return find(strategy, lambda _: True)


# ---------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------


@given(shapes())
def test_shapes_respect_default_bounds(shape):
    assert isinstance(shape, tuple)
    assert 0 <= len(shape) <= 4
    assert all(isinstance(s, int) and 1 <= s <= 5 for s in shape)


@given(st.data(), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
def test_shapes_respect_custom_bounds(data, min_dims, extra_dims, min_side, extra_side):
    shape = data.draw(shapes(min_dims, min_dims + extra_dims, min_side, min_side + extra_side))
    assert min_dims <= len(shape) <= min_dims + extra_dims
    assert all(min_side <= s <= min_side + extra_side for s in shape)


def test_shapes_generate_0d_and_size_1_dims():
    assert find(shapes(), lambda s: s == ()) == ()
    assert find(shapes(), lambda s: len(s) >= 3 and 1 in s and max(s) > 1) is not None


def test_shapes_minimal_example_is_0d():
    assert find(shapes(), lambda s: True) == ()


@pytest.mark.parametrize("kwargs", [dict(min_dims=3, max_dims=2), dict(min_side=-1), dict(min_side=4, max_side=2)])
def test_shapes_reject_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        _draw(shapes(**kwargs))


# ---------------------------------------------------------------------------
# broadcastable_shapes
# ---------------------------------------------------------------------------


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), broadcastable_shapes(num_shapes=n))))
def test_broadcastable_shapes_broadcast(n_and_shapes):
    n, shs = n_and_shapes
    assert isinstance(shs, ShapeTuple) and len(shs) == n
    assert np.broadcast_shapes(*shs) == shs.result
    for s in shs:
        assert len(s) <= 4 and all(1 <= side <= 5 for side in s)
    # numpy agrees on real arrays too
    total = sum(np.zeros(s) for s in shs)
    assert np.shape(total) == shs.result


@given(broadcastable_shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_broadcastable_shapes_respect_bounds(shs):
    for s in shs:
        assert 1 <= len(s) <= 2 and all(2 <= side <= 3 for side in s)
    assert np.broadcast_shapes(*shs) == shs.result


def test_broadcastable_shapes_have_different_ranks_and_size_1_broadcasting():
    # different ranks
    found = find(broadcastable_shapes(), lambda s: len(s[0]) != len(s[1]))
    assert len(found[0]) != len(found[1])

    # a size-1 side stretched against a larger side, in the same dimension
    def stretches(shs):
        a, b = shs
        return any(x == 1 and y > 1 for x, y in zip(a[::-1], b[::-1]))

    assert stretches(find(broadcastable_shapes(), stretches))
    # 0-d against a non-0-d shape
    assert find(broadcastable_shapes(), lambda s: s[0] == () and len(s[1]) >= 2)


def test_shape_tuple_behaves_like_a_tuple():
    s = ShapeTuple([(2, 1), (3,)], result=(2, 3))
    a, b = s
    assert (a, b) == ((2, 1), (3,)) and s == ((2, 1), (3,)) and s.result == (2, 3)
    assert "result=(2, 3)" in repr(s)
    t = pickle.loads(pickle.dumps(s))
    assert t == s and t.result == (2, 3)


# ---------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------

FLOATS = [np.float16, np.float32, np.float64]


def _no_subnormals(a):
    tiny = np.finfo(a.dtype).tiny
    return bool(np.all((a == 0) | (np.abs(a) >= tiny)))


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_arrays_are_finite_bounded_and_of_dtype(dtype, data):
    shape = data.draw(shapes())
    a = data.draw(arrays(shape, dtype=dtype))
    assert a.shape == shape and a.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(a))
    assert np.all((a >= -3.0) & (a <= 3.0))
    assert _no_subnormals(a)


def _subnormal(dtype, fraction=0.3):
    return float(np.finfo(dtype).tiny) * fraction


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "options",
    [
        lambda d: {"distinct": True, "min_value": -1e-3, "max_value": 1e-3, "min_distance": 1e-6},
        lambda d: {"distinct": True, "min_value": -1e-3, "max_value": 1e-3, "min_distance": 1e-5},
        lambda d: {"distinct": True},
        lambda d: {"min_value": _subnormal(d), "max_value": 1e-3},
        lambda d: {"min_value": -1e-3, "max_value": -_subnormal(d)},
        lambda d: {"min_value": -_subnormal(d, 0.5), "max_value": _subnormal(d, 0.7)},
        lambda d: {"avoid": (0.0,), "min_distance": _subnormal(d), "min_value": -1e-3, "max_value": 1e-3},
        lambda d: {"avoid": (_subnormal(d, 2.0),), "min_distance": _subnormal(d), "distinct": True,
                   "min_value": -1e-3, "max_value": 1e-3},
    ],
    ids=["distinct_small", "distinct_float16_gap", "distinct_default", "subnormal_min", "subnormal_max",
         "only_subnormals_and_zero", "subnormal_avoid_distance", "subnormal_avoid_point_distinct"],
)
@given(data=st.data())
def test_arrays_never_yield_subnormals(dtype, options, data):
    # The docstring's promise holds whatever the bounds: subnormal bounds, avoid points and distances
    # included, and with distinct=True, whose spreading arithmetic used to land between 0 and tiny.
    kwargs = options(dtype)
    a = data.draw(arrays(shapes(min_dims=1, max_dims=2, max_side=4), dtype=dtype, **kwargs))
    assert _no_subnormals(a), a[(a != 0) & (np.abs(a) < np.finfo(dtype).tiny)]
    assert np.all(a >= np.asarray(kwargs.get("min_value", -3.0), dtype=dtype))
    assert np.all(a <= np.asarray(kwargs.get("max_value", 3.0), dtype=dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_arrays_stay_away_from_avoided_values(dtype, data):
    avoid = data.draw(st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.9]), max_size=3))
    dist = data.draw(st.sampled_from([1e-3, 1e-2, 0.1]))
    a = data.draw(arrays((3, 4), dtype=dtype, avoid=avoid, min_distance=dist))
    wide = a.astype(np.float64)
    for v in avoid:
        assert np.all(np.abs(wide - v) >= dist), (v, a)
    assert np.all((wide >= -3.0) & (wide <= 3.0))


@given(arrays((2, 3), min_value=-0.1, max_value=0.2, dtype=np.float32))
def test_arrays_custom_bounds_rounded_inwards(a):
    # -0.1 and 0.2 are not float32 numbers: the bounds are rounded inwards
    assert np.all(a.astype(np.float64) >= -0.1) and np.all(a.astype(np.float64) <= 0.2)


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_arrays_positive(dtype, data):
    a = data.draw(arrays(shapes(), dtype=dtype, positive=True))
    assert np.all(a.astype(np.float64) >= 0.1) and np.all(a <= 3.0)
    b = data.draw(arrays((4,), dtype=dtype, positive=True, lower_positive=1.0, max_value=2.0))
    assert np.all((b >= 1.0) & (b <= 2.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_arrays_distinct_elements_are_separated(dtype, data):
    shape = data.draw(shapes(max_dims=3))
    avoid = data.draw(st.sampled_from([(), (0.0,)]))
    a = data.draw(arrays(shape, dtype=dtype, distinct=True, avoid=avoid, min_distance=1e-2))
    flat = np.sort(a.astype(np.float64).ravel())
    assert a.shape == shape and a.dtype == np.dtype(dtype)
    assert np.all(np.diff(flat) >= 1e-2)
    assert np.all((flat >= -3.0) & (flat <= 3.0))
    for v in avoid:
        assert np.all(np.abs(flat - v) >= 1e-2)


def test_arrays_accept_int_shape_and_shape_strategy():
    assert find(arrays(3), lambda a: True).shape == (3,)
    assert find(arrays(shapes(min_dims=2, max_dims=2)), lambda a: True).ndim == 2


def test_arrays_shrink_to_simple_values():
    assert np.array_equal(find(arrays((3,)), lambda a: True), np.zeros(3))
    small = find(arrays((2, 2), avoid=(0.0,)), lambda a: True)
    assert np.all(np.abs(small) <= 1.0) and np.all(np.abs(small) >= 1e-3)
    # a failing property shrinks to a small, readable counterexample
    big = find(arrays(shapes()), lambda a: a.size > 1 and np.any(a > 1.5))
    assert big.size == 2 and 1.5 < np.max(big) <= 2.0


def test_arrays_generate_0d_and_boundary_values():
    assert find(arrays(shapes()), lambda a: a.ndim == 0).shape == ()
    assert find(arrays((4,), avoid=(0.0,)), lambda a: np.any(np.abs(a) == 1e-3)) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype=np.int64),
        dict(min_value=1.0, max_value=0.0),
        dict(min_value=-1.0, max_value=1.0, avoid=(0.0,), min_distance=2.0),
        dict(min_value=np.inf),
        dict(avoid=(np.nan,)),
        dict(dtype=np.float16, max_value=1e6),
    ],
)
def test_arrays_reject_bad_arguments(kwargs):
    with pytest.raises(InvalidArgument):
        _draw(arrays((2,), **kwargs))


def test_arrays_distinct_raises_when_values_cannot_fit():
    with pytest.raises(InvalidArgument, match="cannot fit"):
        arrays((10,), min_value=0.0, max_value=1.0, distinct=True, min_distance=0.5)


@settings(max_examples=20)
@given(arrays(shapes(min_dims=1, max_dims=1, max_side=20), min_value=0.0, max_value=1.0, distinct=True, min_distance=0.1))
def test_arrays_distinct_skips_shapes_that_cannot_fit(a):
    assert a.size <= 11 and np.all(np.diff(np.sort(a)) >= 0.1)


# ---------------------------------------------------------------------------
# axes
# ---------------------------------------------------------------------------


def _normalized(axis, ndim):
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple) else (axis,)
    return [a % ndim for a in items] if ndim else list(items)


@given(st.data())
def test_axes_are_accepted_by_numpy_reductions(data):
    shape = data.draw(shapes())
    axis = data.draw(axes(shape))
    x = np.ones(shape)
    np.sum(x, axis=axis)
    np.mean(x, axis=axis)
    np.max(x, axis=axis, initial=-np.inf)
    if isinstance(axis, tuple):
        normalized = _normalized(axis, len(shape))
        assert len(set(normalized)) == len(normalized)
    if isinstance(axis, int):
        assert -len(shape) <= axis < len(shape)


@given(st.data())
def test_axes_for_0d_are_none_or_empty_tuple(data):
    assert data.draw(axes(())) in (None, ())
    assert data.draw(axes((), allow_none=False)) == ()
    assert data.draw(axes((), allow_tuple=False)) is None


@given(st.data())
def test_axes_flags(data):
    shape = data.draw(shapes(min_dims=1))
    assert data.draw(axes(shape, allow_none=False)) is not None
    assert not isinstance(data.draw(axes(shape, allow_tuple=False)), tuple)
    assert isinstance(data.draw(axes(shape, allow_none=False, allow_int=False)), tuple)
    assert data.draw(axes(shape, allow_none=False, allow_int=False, allow_empty=False)) != ()


def test_axes_cover_negative_ints_and_mixed_sign_unordered_tuples():
    shape = (2, 3, 4)
    assert find(axes(shape), lambda a: isinstance(a, int) and a < 0) < 0
    mixed = find(axes(shape), lambda a: isinstance(a, tuple) and min(a, default=0) < 0 <= max(a, default=-1))
    assert len(mixed) >= 2
    unordered = find(axes(shape), lambda a: isinstance(a, tuple) and list(_normalized(a, 3)) != sorted(_normalized(a, 3)))
    assert len(unordered) >= 2
    assert find(axes(shape), lambda a: a == ()) == ()
    assert len(find(axes(shape), lambda a: isinstance(a, tuple) and len(a) == 3)) == 3


def test_axes_with_nothing_to_draw_raise():
    with pytest.raises(InvalidArgument):
        axes((), allow_none=False, allow_tuple=False)
    with pytest.raises(InvalidArgument):
        axes((3,), allow_none=False, allow_tuple=False, allow_int=False)


# ---------------------------------------------------------------------------
# tensors
# ---------------------------------------------------------------------------


@given(tensors())
def test_tensors_default(t):
    from tinygrad_mnist import Tensor

    assert isinstance(t, Tensor)
    assert t.requires_grad and t.dtype == np.float64 and t.grad is None
    assert np.all(np.abs(t.numpy()) <= 3.0)


@given(tensors((2, 3), dtype=np.float32, requires_grad=False, avoid=(0.0,), min_distance=0.5))
def test_tensors_pass_options_to_arrays(t):
    assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    assert np.all(np.abs(t.numpy()) >= 0.5)


@given(tensors(shapes(min_dims=1, max_dims=1), positive=True))
def test_tensors_accept_shape_strategy(t):
    assert t.ndim == 1 and np.all(t.numpy() >= 0.1)


# ---------------------------------------------------------------------------
# matmul_shapes
# ---------------------------------------------------------------------------


@given(matmul_shapes())
def test_matmul_shapes_are_valid(shs):
    a, b = shs
    assert (np.ones(a) @ np.ones(b)).shape == shs.result
    for s in shs:
        assert len(s) <= 4 and all(1 <= side <= 4 for side in s)


@given(matmul_shapes(allow_vectors=False, max_batch_dims=0))
def test_matmul_shapes_plain_matrices(shs):
    assert len(shs[0]) == 2 and len(shs[1]) == 2


@pytest.mark.parametrize(
    "kind",
    [
        lambda a, b: len(a) == 1 and len(b) == 1,
        lambda a, b: len(a) == 1 and len(b) == 2,
        lambda a, b: len(a) == 2 and len(b) == 1,
        lambda a, b: len(a) == 2 and len(b) == 2,
        lambda a, b: len(a) == 1 and len(b) >= 3,
        lambda a, b: len(a) >= 3 and len(b) == 1,
        # batch dims broadcast: different batch ranks
        lambda a, b: len(a) >= 3 and len(b) >= 3 and len(a) != len(b),
        # batch dims broadcast: a size-1 batch side against a larger one
        lambda a, b: len(a) >= 3 and len(b) >= 3 and any(x == 1 and y > 1 for x, y in zip(a[-3::-1], b[-3::-1])),
    ],
)
def test_matmul_shapes_cover_every_kind(kind):
    a, b = find(matmul_shapes(), lambda s: kind(*s))
    np.ones(a) @ np.ones(b)


# ---------------------------------------------------------------------------
# index_keys
# ---------------------------------------------------------------------------


@given(st.data())
def test_index_keys_are_valid_and_nonempty(data):
    shape = data.draw(shapes(max_dims=3))
    key = data.draw(index_keys(shape))
    result = np.arange(math.prod(shape)).reshape(shape)[key]
    assert np.size(result) >= 1


@given(st.data())
def test_index_keys_allow_empty(data):
    shape = data.draw(shapes(max_dims=3))
    key = data.draw(index_keys(shape, allow_empty=True))
    np.zeros(shape)[key]


@given(st.data())
def test_index_keys_flags(data):
    shape = data.draw(shapes(max_dims=3))
    key = data.draw(index_keys(shape, allow_none=False, allow_ellipsis=False, allow_int_arrays=False))
    items = key if isinstance(key, tuple) else (key,)
    assert all(isinstance(k, (int, slice)) for k in items)


def _items(key):
    return key if isinstance(key, tuple) else (key,)


@pytest.mark.parametrize(
    "what",
    [
        lambda key: any(isinstance(k, slice) and k.step is not None and k.step < 0 for k in _items(key)),
        lambda key: any(isinstance(k, slice) and isinstance(k.start, int) and k.start < 0 for k in _items(key)),
        lambda key: any(k is None for k in _items(key)),
        lambda key: any(k is Ellipsis for k in _items(key)),
        lambda key: any(isinstance(k, int) and k < 0 for k in _items(key)),
        # integer array with a repeated index
        lambda key: any(isinstance(k, np.ndarray) and k.size > len(np.unique(k % 3)) for k in _items(key)),
        # two index arrays separated by a slice: numpy moves the advanced dims first
        lambda key: isinstance(key, tuple)
        and len(key) == 3
        and isinstance(key[0], np.ndarray)
        and isinstance(key[1], slice)
        and isinstance(key[2], np.ndarray),
        lambda key: not isinstance(key, tuple),
    ],
)
def test_index_keys_cover_every_kind(what):
    # Some kinds (two index arrays around a slice) come up in only a few percent of draws: a generous
    # budget keeps the search from giving up on an unlucky profile; it stops at the first hit anyway.
    key = find(index_keys((3, 3, 3)), what, settings=settings(max_examples=20_000, database=None))
    np.zeros((3, 3, 3))[key]


def test_index_keys_for_0d():
    key = find(index_keys(()), lambda k: True)
    assert np.zeros(())[key].shape == ()
    find(index_keys(()), lambda k: any(i is None for i in _items(k)))


def test_index_keys_reject_zero_size_shape():
    with pytest.raises(InvalidArgument):
        index_keys((2, 0))


# ---------------------------------------------------------------------------
# permutations and reshape_shapes
# ---------------------------------------------------------------------------


@given(st.data())
def test_permutations_are_valid(data):
    shape = data.draw(shapes())
    perm = data.draw(permutations(shape))
    assert sorted(perm) == list(range(len(shape)))
    assert np.transpose(np.zeros(shape), perm).shape == tuple(shape[p] for p in perm)
    assert sorted(data.draw(permutations(2))) == [0, 1]


def test_permutations_shrink_to_identity_and_reach_all():
    assert find(permutations(3), lambda p: True) == (0, 1, 2)
    for target in itertools.permutations(range(3)):
        find(permutations(3), lambda p: p == target)


@given(st.data())
def test_reshape_shapes_are_valid(data):
    shape = data.draw(shapes())
    target = data.draw(reshape_shapes(shape))
    assert np.zeros(shape).reshape(target).size == math.prod(shape)
    assert list(target).count(-1) <= 1


def test_reshape_shapes_cover_minus_one_and_0d():
    assert -1 in find(reshape_shapes((2, 3)), lambda t: -1 in t)
    assert find(reshape_shapes((1, 1)), lambda t: t == ()) == ()
    with pytest.raises(InvalidArgument):
        reshape_shapes((2, 0))


# ---------------------------------------------------------------------------
# documentation
# ---------------------------------------------------------------------------


def test_every_public_name_has_a_docstring_with_an_example():
    import tinygrad_mnist.testing as testing

    for name in testing.__all__:
        obj = getattr(testing, name)
        if isinstance(obj, (dict, int)):
            continue
        doc = obj.__doc__ or ""
        assert ">>>" in doc, f"{name} has no example in its docstring"
