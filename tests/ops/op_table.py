"""The declaration table of differentiable ops that ``test_op_table.py`` turns into tests.

One ``OpSpec`` per op (or per calling form of an op: ``x ** 2`` and ``2 ** x`` are separate
entries). An entry says how to call the op on Tensors, how NumPy computes the same thing, and how
to draw valid, well-conditioned inputs for it: shapes with 0-d and size-1 dimensions, broadcastable
shapes for binary ops, every form of ``axis``, positive domains where the op needs them, and values
kept away from the points where the op has no derivative (0 for abs/relu, ties for max/min, clip
bounds). Adding an op to the framework means adding one entry here.

>>> float(SPECS_BY_NAME["mul"].reference(np.array(2.0), np.array(3.0)))
6.0
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Tuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_spec import Case, OpSpec
from window_specs import NORMALIZATION_SPECS, WINDOW_SPECS

import tinygrad_mnist as tm
from tinygrad_mnist.ops import elementwise, linalg, movement
from tinygrad_mnist.testing.strategies import (
    arrays,
    axes,
    broadcastable_shapes,
    index_keys,
    matmul_shapes,
    permutations,
    reshape_shapes,
    shapes,
)

# Small shapes keep the finite-difference checks cheap (gradgradcheck differentiates every element
# of the input and of the cotangent); 0-d, size-1 and rank-4 shapes are still drawn.
MAX_DIMS = 4
MAX_SIDE = 3
# Kept away from poles (1/x) and kinks; far enough that the float32 checks of the table's
# dtype test see no sign change either.
POLE_DISTANCE = 0.3


def _small_shapes(min_dims: int = 0, max_dims: int = MAX_DIMS) -> st.SearchStrategy:
    return shapes(min_dims=min_dims, max_dims=max_dims, max_side=MAX_SIDE)


# ---- input strategies ------------------------------------------------------------------------------
def unary(**array_options) -> Callable[[np.dtype], st.SearchStrategy]:
    """One array of any small shape; ``array_options`` go to ``arrays`` (domain, avoided points)."""

    def cases(dtype):
        return arrays(_small_shapes(), dtype=dtype, **array_options).map(lambda a: Case((a,), {}))

    return cases


def unary_with(params: st.SearchStrategy, **array_options) -> Callable[[np.dtype], st.SearchStrategy]:
    """One array plus keyword parameters drawn from ``params`` (a strategy of dicts)."""

    def cases(dtype):
        return st.tuples(arrays(_small_shapes(), dtype=dtype, **array_options), params).map(
            lambda pair: Case((pair[0],), pair[1])
        )

    return cases


def binary(first: Optional[dict] = None, second: Optional[dict] = None) -> Callable[[np.dtype], st.SearchStrategy]:
    """Two arrays of mutually broadcastable shapes, each with its own domain options."""

    @st.composite
    def draw_case(draw, dtype):
        shape_a, shape_b = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
        a = draw(arrays(shape_a, dtype=dtype, **(first or {})))
        b = draw(arrays(shape_b, dtype=dtype, **(second or {})))
        return Case((a, b), {})

    return lambda dtype: draw_case(dtype)


@st.composite
def _untied_pair(draw, dtype):
    """Two broadcastable arrays with no value in common, so maximum/minimum never see a tie."""
    shape_a, shape_b = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    size_a, size_b = math.prod(shape_a), math.prod(shape_b)
    # Pairwise 0.01 apart: far more than the finite-difference step, so no tie is crossed either.
    pool = draw(arrays(size_a + size_b, dtype=dtype, distinct=True, min_distance=0.01))
    return Case((pool[:size_a].reshape(shape_a), pool[size_a:].reshape(shape_b)), {})


@st.composite
def _where_case(draw, dtype):
    shape_c, shape_a, shape_b = draw(broadcastable_shapes(3, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    condition = draw(arrays(shape_c, dtype=np.float64)) > 0
    return Case((draw(arrays(shape_a, dtype=dtype)), draw(arrays(shape_b, dtype=dtype))), {"condition": condition})


@st.composite
def _clip_case(draw, dtype):
    low = draw(st.sampled_from([None, -2.0, -1.0, -0.5, 0.0]))
    high = draw(st.sampled_from([None, 0.5, 1.0, 2.0] if low is not None else [0.5, 1.0, 2.0]))
    bounds = tuple(b for b in (low, high) if b is not None)
    a = draw(arrays(_small_shapes(), dtype=dtype, avoid=bounds, min_distance=0.01))
    return Case((a,), {"low": low, "high": high})


@st.composite
def _clip_between_case(draw, dtype):
    """x and tensor bounds of broadcastable shapes, one bound possibly open (None) and ``low > high``
    sometimes (NumPy then gives ``high``); all values 0.01 apart, so no tie is crossed by a step."""
    shape_a, shape_low, shape_high = draw(broadcastable_shapes(3, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    sizes = [math.prod(shape) for shape in (shape_a, shape_low, shape_high)]
    pool = draw(arrays(sum(sizes), dtype=dtype, distinct=True, min_distance=0.01))
    a, low, high = (part.reshape(shape) for part, shape in zip(np.split(pool, np.cumsum(sizes)[:-1]), (shape_a, shape_low, shape_high)))
    open_side = draw(st.sampled_from(["none", "low", "high"]))
    if open_side == "low":
        return Case((a, high), {"open": "low"})
    if open_side == "high":
        return Case((a, low), {"open": "high"})
    return Case((a, low, high), {"open": "none"})


def _clip_between(a, *bounds, open):  # noqa: A002
    if open == "low":
        return a.clip(None, bounds[0])
    if open == "high":
        return a.clip(bounds[0], None)
    return a.clip(*bounds)


def _clip_between_reference(a, *bounds, open):  # noqa: A002
    if open == "low":
        return np.minimum(a, bounds[0])
    if open == "high":
        return np.maximum(a, bounds[0])
    return np.clip(a, *bounds)


@st.composite
def _softmax_case(draw, dtype):
    shape = draw(_small_shapes(min_dims=1))
    return Case((draw(arrays(shape, dtype=dtype)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})


def softmax_reference(a, axis):
    exps = np.exp(a - a.max(axis=axis, keepdims=True))
    return exps / exps.sum(axis=axis, keepdims=True)


@st.composite
def _linspace_case(draw, dtype):
    """Tensor start and stop of broadcastable shapes (0-d included), ``num`` from 0 to 4, either endpoint."""
    shape_start, shape_stop = draw(broadcastable_shapes(2, max_dims=2, max_side=MAX_SIDE))
    params = {"num": draw(st.integers(0, 4)), "endpoint": draw(st.booleans())}
    return Case((draw(arrays(shape_start, dtype=dtype)), draw(arrays(shape_stop, dtype=dtype))), params)


@st.composite
def _matrix_case(draw, dtype):
    return Case((draw(arrays(draw(_small_shapes(min_dims=2)), dtype=dtype)),), {})


def reduction(distinct: bool = False, min_count: int = 1) -> Callable[[np.dtype], st.SearchStrategy]:
    """One array, an ``axis`` argument (None, int, negative, tuple, empty tuple) and ``keepdims``.

    ``distinct`` keeps all values 0.01 apart (max/min have no gradient at ties); ``min_count``
    is the least number of reduced elements (var with ddof=1 needs two).
    """

    @st.composite
    def draw_case(draw, dtype):
        shape = draw(_small_shapes())
        axis = draw(axes(shape))
        reduced = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis).tolist()]
        count = math.prod(shape[i] for i in reduced)
        if count < min_count:
            # Reduce over everything and grow the first axis (or add one) rather than reject the example.
            axis = None
            shape = (min_count,) + shape[1:] if shape else (min_count,)
        options = {"distinct": True, "min_distance": 0.01} if distinct else {}
        a = draw(arrays(shape, dtype=dtype, **options))
        return Case((a,), {"axis": axis, "keepdims": draw(st.booleans())})

    return lambda dtype: draw_case(dtype)


@st.composite
def _reshape_case(draw, dtype):
    shape = draw(_small_shapes())
    return Case((draw(arrays(shape, dtype=dtype)),), {"shape": draw(reshape_shapes(shape))})


@st.composite
def _flatten_case(draw, dtype):
    shape = draw(_small_shapes())
    if len(shape) == 0:
        return Case((draw(arrays(shape, dtype=dtype)),), {"start": 0, "end": -1})
    start = draw(st.integers(0, len(shape) - 1))
    end = draw(st.integers(start, len(shape) - 1))
    # Each bound in either sign.
    start = start - len(shape) if draw(st.booleans()) else start
    end = end - len(shape) if draw(st.booleans()) else end
    return Case((draw(arrays(shape, dtype=dtype)),), {"start": start, "end": end})


@st.composite
def _permute_case(draw, dtype):
    shape = draw(_small_shapes())
    perm = draw(permutations(shape))
    perm = tuple(p - len(shape) if draw(st.booleans()) else p for p in perm)
    return Case((draw(arrays(shape, dtype=dtype)),), {"axes": perm})


@st.composite
def _swapaxes_case(draw, dtype):
    shape = draw(_small_shapes(min_dims=1))
    axis = st.integers(-len(shape), len(shape) - 1)
    return Case((draw(arrays(shape, dtype=dtype)),), {"axis1": draw(axis), "axis2": draw(axis)})


@st.composite
def _expand_case(draw, dtype):
    pair = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    return Case((draw(arrays(pair[0], dtype=dtype)),), {"shape": pair.result})


@st.composite
def _squeeze_case(draw, dtype):
    shape = draw(shapes(0, MAX_DIMS, 1, 2))
    ones = [i for i, s in enumerate(shape) if s == 1]
    choice = draw(st.sampled_from(["none", "int", "tuple"] if ones else ["none"]))
    if choice == "none":
        axis = None
    elif choice == "int":
        axis = draw(st.sampled_from(ones + [i - len(shape) for i in ones]))
    else:
        chosen = draw(st.lists(st.sampled_from(ones), unique=True, min_size=1))
        axis = tuple(i - len(shape) if draw(st.booleans()) else i for i in chosen)
    return Case((draw(arrays(shape, dtype=dtype)),), {"axis": axis})


@st.composite
def _unsqueeze_case(draw, dtype):
    shape = draw(_small_shapes())
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return Case((draw(arrays(shape, dtype=dtype)),), {"axis": axis})


@st.composite
def _basic_index_case(draw, dtype):
    """Slices (negative steps, out-of-range bounds), ints, None, Ellipsis, repeated int arrays."""
    shape = draw(_small_shapes())
    return Case((draw(arrays(shape, dtype=dtype)),), {"key": draw(index_keys(shape))})


@st.composite
def _rows_labels_case(draw, dtype):
    """``x[np.arange(n), labels]``: the pick of a cross-entropy loss."""
    n, classes = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)), dtype=np.int64)
    return Case((draw(arrays((n, classes), dtype=dtype)),), {"key": (np.arange(n), labels)})


@st.composite
def _repeated_index_case(draw, dtype):
    """Integer arrays (1-D or 2-D) that certainly repeat an index: gradients must add up there."""
    shape = draw(_small_shapes(min_dims=1))
    picks = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5))
    index = np.array(picks + [picks[0]], dtype=np.intp)
    if draw(st.booleans()) and index.size % 2 == 0:
        index = index.reshape(2, -1)
    return Case((draw(arrays(shape, dtype=dtype)),), {"key": index})


@st.composite
def _mask_case(draw, dtype):
    """A boolean mask over the leading ``k`` axes, selecting at least one element."""
    shape = draw(_small_shapes(min_dims=1))
    k = draw(st.integers(1, len(shape)))
    mask = draw(arrays(shape[:k], dtype=np.float64)) > 0
    mask[tuple(draw(st.integers(0, s - 1)) for s in shape[:k])] = True
    key = mask if k == len(shape) or draw(st.booleans()) else (mask, Ellipsis)
    return Case((draw(arrays(shape, dtype=dtype)),), {"key": key})


@st.composite
def _concatenate_case(draw, dtype):
    shape = draw(_small_shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        part_shape = tuple(draw(st.integers(1, MAX_SIDE)) if i == axis % len(shape) else s for i, s in enumerate(shape))
        parts.append(draw(arrays(part_shape, dtype=dtype)))
    return Case(tuple(parts), {"axis": axis})


@st.composite
def _stack_case(draw, dtype):
    shape = draw(_small_shapes(max_dims=3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    count = draw(st.integers(1, 3))
    return Case(tuple(draw(arrays(shape, dtype=dtype)) for _ in range(count)), {"axis": axis})


@st.composite
def _matmul_case(draw, dtype):
    """Any operand form: vectors on either side, matrices, batches whose batch dims broadcast."""
    shape_a, shape_b = draw(matmul_shapes(max_batch_dims=2, max_side=3))
    return Case((draw(arrays(shape_a, dtype=dtype)), draw(arrays(shape_b, dtype=dtype))), {})


def matmul_form(a_vector: bool, b_vector: bool, batched: bool = False) -> Callable[[np.dtype], st.SearchStrategy]:
    """One operand form for sure: 1-D or 2-D on each side, or batched with broadcast batch dims."""

    @st.composite
    def draw_case(draw, dtype):
        n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
        batch_a, batch_b = ((), ())
        if batched:
            # Different batch ranks and a size-1 batch side, so the batch dims really broadcast.
            batch_a, batch_b = draw(st.sampled_from([((2, 1), (3,)), ((1,), (2, 3)), ((2,), ()), ((), (1, 2))]))
        shape_a = (k,) if a_vector else batch_a + (n, k)
        shape_b = (k,) if b_vector else batch_b + (k, m)
        return Case((draw(arrays(shape_a, dtype=dtype)), draw(arrays(shape_b, dtype=dtype))), {})

    return lambda dtype: draw_case(dtype)


@st.composite
def _ndarray_operand_case(draw, dtype):
    """A Tensor meeting a plain ndarray of the same dtype (``ndarray - Tensor``, ``ndarray @ Tensor``)."""
    shape_a, shape_b = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    return Case((draw(arrays(shape_b, dtype=dtype)),), {"other": draw(arrays(shape_a, dtype=dtype))})


@st.composite
def _linear_case(draw, dtype):
    """x of shape (..., in) with 0 to 2 leading axes (a vector, a batch, a batch of batches),
    weight (in, out) and bias (out,)."""
    lead = draw(st.lists(st.integers(1, MAX_SIDE), min_size=0, max_size=2))
    fan_in, fan_out = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    x = draw(arrays(tuple(lead) + (fan_in,), dtype=dtype))
    return Case((x, draw(arrays((fan_in, fan_out), dtype=dtype)), draw(arrays((fan_out,), dtype=dtype))), {})


def linear_reference(x, weight, bias):
    return x @ weight + bias


@st.composite
def _ndarray_matmul_case(draw, dtype):
    shape_a, shape_b = draw(matmul_shapes(max_batch_dims=1, max_side=3))
    return Case((draw(arrays(shape_b, dtype=dtype)),), {"other": draw(arrays(shape_a, dtype=dtype))})


# ---- special points ---------------------------------------------------------------------------------
@st.composite
def _with_points(draw, base: st.SearchStrategy, points: Tuple[float, ...]):
    """Arrays from ``base`` with some elements (at least one, when there are any) set to ``points``."""
    a = np.array(draw(base))
    if a.size:
        mask = draw(hnp.arrays(np.bool_, a.shape))
        mask.flat[draw(st.integers(0, a.size - 1))] = True
        a[mask] = draw(hnp.arrays(a.dtype, int(mask.sum()), elements=st.sampled_from(points)))
    return a


def pow_at_zero(dtype):
    """x ** n for integer n with x exactly 0 in places: every derivative of x**0, x**1, ... at 0."""
    base = _with_points(arrays(_small_shapes(), dtype=dtype, min_value=-2.0, max_value=2.0), (0.0,))
    return st.tuples(base, st.sampled_from([0, 1, 2, 3, 4, 0.0, 2.0])).map(lambda p: Case((p[0],), {"exponent": p[1]}))


@st.composite
def _pow_zero_base_tensor_exponent(draw, dtype):
    """Tensor ** tensor with zeros in the base and integer exponents >= 2 (the exponent differentiated
    too: 0 ** b is 0, smooth in b, there; b = 0 or 1 would make a**b jump in b at a = 0)."""
    shape_a, shape_b = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    a = draw(_with_points(arrays(shape_a, dtype=dtype, **_SAFE_BASE), (0.0,)))
    b = draw(hnp.arrays(dtype, shape_b, elements=st.sampled_from([2.0, 3.0])))
    return Case((a, b), {})


def at_points(points: Tuple[float, ...], **array_options) -> Callable[[np.dtype], st.SearchStrategy]:
    """One array with some elements exactly at ``points`` (for ops smooth there, e.g. softplus at 0)."""

    def cases(dtype):
        return _with_points(arrays(_small_shapes(), dtype=dtype, **array_options), points).map(lambda a: Case((a,), {}))

    return cases


def reduction_near(offset: float, distinct: bool = False) -> Callable[[np.dtype], st.SearchStrategy]:
    """A reduction's cases shifted by ``offset``: huge, close values (logsumexp's softmax must not cancel)."""
    return lambda dtype: reduction(distinct)(dtype).map(lambda c: Case((c.arrays[0] + dtype.type(offset),), c.params))


@st.composite
def _zero_size_reduction(draw, dtype):
    """A tensor with a side of length 0, reduced over axes that are all non-empty."""
    shape = list(draw(_small_shapes(min_dims=2)))
    empty = draw(st.integers(0, len(shape) - 1))
    shape[empty] = 0
    others = [i for i in range(len(shape)) if i != empty]
    chosen = draw(st.lists(st.sampled_from(others), unique=True, min_size=1))
    axis = chosen[0] if len(chosen) == 1 and draw(st.booleans()) else tuple(chosen)
    return Case((np.zeros(shape, dtype=dtype),), {"axis": axis, "keepdims": draw(st.booleans())})


@st.composite
def _integer_operand(draw, dtype, first: Optional[dict] = None, second: Optional[dict] = None):
    """A float tensor meeting an integer one (either side): the gradient is the float side's, in its dtype."""
    shape_a, shape_b = draw(broadcastable_shapes(2, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    float_side = draw(arrays(shape_a, dtype=dtype, **(first or {})))
    integers = draw(hnp.arrays(np.int64, shape_b, elements=st.integers(1, 3) if second else st.integers(-3, 3)))
    pair = (float_side, integers) if draw(st.booleans()) else (integers, float_side)
    return Case(pair, {})


def integer_operand(first: Optional[dict] = None, second: Optional[dict] = None):
    """Binary cases where one operand is an integer array (``second`` set: its values are 1..3)."""
    return lambda dtype: _integer_operand(dtype, first, second)


# ---- references that NumPy lacks -------------------------------------------------------------------
def erf_reference(a):
    """``math.erf`` elementwise (float64), the independent truth for the framework's own erf."""
    return np.vectorize(math.erf, otypes=[np.float64])(a)

def logsumexp_reference(a, axis, keepdims):
    """The textbook formula on ``a - max(a)`` (the special cases draw values near 1e4)."""
    shift = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros_like(np.sum(a, axis=axis, keepdims=True))
    out = np.log(np.sum(np.exp(a - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)

def sigmoid_reference(a):
    return 1.0 / (1.0 + np.exp(-a))

def softplus_reference(a):
    return np.log1p(np.exp(a))

def flatten_reference(a, start, end):
    if a.ndim == 0:
        return a.reshape(1)
    start, end = start % a.ndim, end % a.ndim
    return a.reshape(a.shape[:start] + (-1,) + a.shape[end + 1:])

def squeeze_reference(a, axis):
    return np.squeeze(a, axis=axis)

def _clip_reference(a, low, high):
    return np.clip(a, low, high)

# ---- the table -------------------------------------------------------------------------------------
_AWAY_FROM_ZERO = {"avoid": (0.0,), "min_distance": POLE_DISTANCE}
_POSITIVE = {"positive": True, "lower_positive": 0.2}
_SAFE_BASE = {"positive": True, "lower_positive": 0.5, "max_value": 3.0}
_SAFE_EXPONENT = {"min_value": -2.0, "max_value": 2.0}

SPECS = (
    # arithmetic
    OpSpec("add", lambda a, b: a + b, np.add, binary(), special=integer_operand()),
    OpSpec("sub", lambda a, b: a - b, np.subtract, binary(), special=integer_operand()),
    OpSpec("mul", lambda a, b: a * b, np.multiply, binary(), special=integer_operand()),
    OpSpec("truediv", lambda a, b: a / b, np.divide, binary(second=_AWAY_FROM_ZERO),
           special=integer_operand(first=_AWAY_FROM_ZERO, second={"nonzero": True})),
    OpSpec("neg", lambda a: -a, np.negative, unary()),
    # At a zero base, d/da of the exponent's gradient a**b * log(a) is 0, but the central difference
    # of a**2 * log(a) there is eps * log(eps) / 2 (1.6e-5 at the default eps 1e-6): a smaller step
    # checks the same derivative without that bias.
    OpSpec("pow_tensor_tensor", lambda a, b: a ** b, np.power, binary(first=_SAFE_BASE, second=_SAFE_EXPONENT),
           special=_pow_zero_base_tensor_exponent, special_options={"eps": 1e-9}),
    OpSpec(
        "pow_tensor_scalar",
        lambda a, exponent: a ** exponent,
        lambda a, exponent: np.power(a, exponent),
        unary_with(st.fixed_dictionaries({"exponent": st.sampled_from([0.5, 1.5, -0.5, 2.5, 0.0, -1.0])}), **_SAFE_BASE),
    ),
    OpSpec(
        "pow_tensor_int",
        lambda a, exponent: a ** exponent,
        lambda a, exponent: np.power(a, float(exponent)),
        unary_with(st.fixed_dictionaries({"exponent": st.sampled_from([2, 3, 1, -1, -2])}), **_AWAY_FROM_ZERO),
        special=pow_at_zero,
    ),
    OpSpec(
        "pow_scalar_tensor",
        lambda a, base: base ** a,
        lambda a, base: np.power(base, a),
        unary_with(st.fixed_dictionaries({"base": st.sampled_from([0.5, 2.0, math.e, 10.0])}), **_SAFE_EXPONENT),
    ),
    # reflected operators with a Python number on the left
    OpSpec("rsub", lambda a: 2 - a, lambda a: 2 - a, unary()),
    OpSpec("rtruediv", lambda a: 2 / a, lambda a: 2 / a, unary(**_AWAY_FROM_ZERO)),
    OpSpec("rpow", lambda a: 2 ** a, lambda a: np.power(2.0, a), unary()),
    OpSpec("radd", lambda a: 1.5 + a, lambda a: 1.5 + a, unary()),
    OpSpec("rmul", lambda a: 1.5 * a, lambda a: 1.5 * a, unary()),
    # ... and with an ndarray on the left (Tensor.__array_ufunc__ turns the ufunc into the Tensor op)
    OpSpec("ndarray_sub_tensor", lambda a, other: other - a, lambda a, other: other - a, _ndarray_operand_case),
    OpSpec("ndarray_matmul_tensor", lambda a, other: other @ a, lambda a, other: other @ a, _ndarray_matmul_case),
    # transcendental and activation primitives
    OpSpec("exp", lambda a: a.exp(), np.exp, unary()),
    OpSpec("log", lambda a: a.log(), np.log, unary(**_POSITIVE)),
    OpSpec("sqrt", lambda a: a.sqrt(), np.sqrt, unary(**_POSITIVE)),
    OpSpec("abs", lambda a: a.abs(), np.abs, unary(avoid=(0.0,), min_distance=0.01)),
    OpSpec("abs_builtin", lambda a: abs(a), np.abs, unary(avoid=(0.0,), min_distance=0.01)),
    OpSpec("tanh", lambda a: a.tanh(), np.tanh, unary()),
    OpSpec("sigmoid", lambda a: a.sigmoid(), sigmoid_reference, unary(min_value=-8.0, max_value=8.0),
           special=at_points((0.0,), min_value=-8.0, max_value=8.0)),
    OpSpec("softplus", elementwise.softplus, softplus_reference, unary(min_value=-8.0, max_value=8.0),
           special=at_points((0.0, -1e-300, 1e-300), min_value=-8.0, max_value=8.0)),
    OpSpec("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0.0), unary(avoid=(0.0,), min_distance=0.01)),
    # Both pieces of the float64 erf (|x| < 3 and the tail) and the float32 clamp past 4.
    OpSpec("erf", lambda a: a.erf(), erf_reference, unary(min_value=-4.5, max_value=4.5)),
    OpSpec("maximum", lambda a, b: a.maximum(b), np.maximum, _untied_pair,
           special=integer_operand(first={"avoid": (-3, -2, -1, 0, 1, 2, 3), "min_distance": 0.01})),
    OpSpec("minimum", lambda a, b: a.minimum(b), np.minimum, _untied_pair),
    OpSpec("maximum_functional", elementwise.maximum, np.maximum, _untied_pair),
    OpSpec(
        "maximum_scalar",
        lambda a: a.maximum(0.5),
        lambda a: np.maximum(a, 0.5),
        unary(avoid=(0.5,), min_distance=0.01),
    ),
    OpSpec(
        "where",
        lambda a, b, condition: elementwise.where(condition, a, b),
        lambda a, b, condition: np.where(condition, a, b),
        _where_case,
    ),
    OpSpec(
        "where_scalar_branch",
        lambda a, condition: elementwise.where(condition, a, 0.0),
        lambda a, condition: np.where(condition, a, 0.0),
        lambda dtype: _where_case(dtype).map(lambda c: Case(c.arrays[:1], c.params)),
    ),
    OpSpec("clip", lambda a, low, high: a.clip(low, high), _clip_reference, _clip_case),
    OpSpec("clip_tensor_bounds", _clip_between, _clip_between_reference, _clip_between_case),
    OpSpec(
        "where_top_level",
        lambda a, b, condition: tm.where(condition, a, b),
        lambda a, b, condition: np.where(condition, a, b),
        _where_case,
    ),
    # reductions
    OpSpec("sum", lambda a, axis, keepdims: a.sum(axis, keepdims), np.sum, reduction(), special=_zero_size_reduction),
    OpSpec("mean", lambda a, axis, keepdims: a.mean(axis, keepdims), np.mean, reduction(), special=_zero_size_reduction),
    OpSpec("max", lambda a, axis, keepdims: a.max(axis, keepdims), np.max, reduction(distinct=True),
           special=_zero_size_reduction),
    OpSpec("min", lambda a, axis, keepdims: a.min(axis, keepdims), np.min, reduction(distinct=True),
           special=_zero_size_reduction),
    OpSpec(
        "var",
        lambda a, axis, keepdims: a.var(axis, keepdims),
        lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims),
        reduction(),
    ),
    OpSpec(
        "var_ddof1",
        lambda a, axis, keepdims: a.var(axis, keepdims, ddof=1),
        lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1),
        reduction(min_count=2),
    ),
    OpSpec(
        "std",
        lambda a, axis, keepdims: a.std(axis, keepdims),
        lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims),
        reduction(distinct=True, min_count=2),
    ),
    OpSpec(
        "std_ddof1",
        lambda a, axis, keepdims: a.std(axis, keepdims, ddof=1),
        lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1),
        reduction(distinct=True, min_count=2),
    ),
    OpSpec("softmax", lambda a, axis: a.softmax(axis), softmax_reference, _softmax_case),
    OpSpec(
        "log_softmax",
        lambda a, axis: a.log_softmax(axis=axis),
        lambda a, axis: np.log(softmax_reference(a, axis)),
        _softmax_case,
    ),
    OpSpec("logsumexp", lambda a, axis, keepdims: a.logsumexp(axis, keepdims), logsumexp_reference, reduction(),
           special=lambda dtype: st.one_of(reduction_near(1e4)(dtype), _zero_size_reduction(dtype))),
    # movement
    OpSpec("reshape", lambda a, shape: a.reshape(shape), lambda a, shape: a.reshape(shape), _reshape_case),
    OpSpec("reshape_varargs", lambda a, shape: a.reshape(*shape), lambda a, shape: a.reshape(shape), _reshape_case),
    OpSpec("flatten", lambda a, start, end: a.flatten(start, end), flatten_reference, _flatten_case),
    # transpose takes NumPy's one permutation argument here: two separate ints are PyTorch's swap
    # spelling, refused where it would mean something else (test_tensor_surface.py).
    OpSpec("transpose", lambda a, axes: a.transpose(axes), lambda a, axes: np.transpose(a, axes), _permute_case),
    OpSpec("permute", lambda a, axes: a.permute(*axes), lambda a, axes: np.transpose(a, axes), _permute_case),
    OpSpec("permute_tuple", lambda a, axes: a.permute(axes), lambda a, axes: np.transpose(a, axes), _permute_case),
    OpSpec("transpose_reverse", lambda a: a.transpose(), np.transpose, unary()),
    OpSpec("T", lambda a: a.T, lambda a: a.T, unary()),
    OpSpec("mT", lambda a: a.mT, lambda a: np.swapaxes(a, -1, -2), _matrix_case),
    OpSpec(
        "swapaxes",
        lambda a, axis1, axis2: a.swapaxes(axis1, axis2),
        lambda a, axis1, axis2: np.swapaxes(a, axis1, axis2),
        _swapaxes_case,
    ),
    OpSpec("expand", lambda a, shape: a.expand(*shape), lambda a, shape: np.broadcast_to(a, shape), _expand_case),
    OpSpec("broadcast_to", lambda a, shape: a.broadcast_to(shape), lambda a, shape: np.broadcast_to(a, shape), _expand_case),
    OpSpec("squeeze", lambda a, axis: a.squeeze(axis), squeeze_reference, _squeeze_case),
    OpSpec("unsqueeze", lambda a, axis: a.unsqueeze(axis), lambda a, axis: np.expand_dims(a, axis), _unsqueeze_case),
    OpSpec("getitem_basic", lambda a, key: a[key], lambda a, key: a[key], _basic_index_case),
    OpSpec("getitem_rows_labels", lambda a, key: a[key], lambda a, key: a[key], _rows_labels_case),
    OpSpec("getitem_repeated", lambda a, key: a[key], lambda a, key: a[key], _repeated_index_case),
    OpSpec("getitem_mask", lambda a, key: a[key], lambda a, key: a[key], _mask_case),
    OpSpec(
        "concatenate",
        lambda *parts, axis: movement.concatenate(parts, axis=axis),
        lambda *parts, axis: np.concatenate(parts, axis=axis),
        _concatenate_case,
    ),
    OpSpec(
        "stack",
        lambda *parts, axis: movement.stack(parts, axis=axis),
        lambda *parts, axis: np.stack(parts, axis=axis),
        _stack_case,
    ),
    OpSpec(
        "cat_top_level",
        lambda *parts, axis: tm.cat(parts, axis=axis),
        lambda *parts, axis: np.concatenate(parts, axis=axis),
        _concatenate_case,
    ),
    OpSpec(
        "stack_top_level",
        lambda *parts, axis: tm.stack(parts, axis=axis),
        lambda *parts, axis: np.stack(parts, axis=axis),
        _stack_case,
    ),
    OpSpec(
        "linspace",
        lambda start, stop, num, endpoint: tm.linspace(start, stop, num=num, endpoint=endpoint),
        lambda start, stop, num, endpoint: np.linspace(start, stop, num, endpoint=endpoint),
        _linspace_case,
    ),
    # linear algebra
    OpSpec("matmul", lambda a, b: a @ b, np.matmul, _matmul_case),
    OpSpec("matmul_1d_1d", lambda a, b: a @ b, np.matmul, matmul_form(True, True)),
    OpSpec("matmul_1d_2d", lambda a, b: a @ b, np.matmul, matmul_form(True, False)),
    OpSpec("matmul_2d_1d", lambda a, b: a @ b, np.matmul, matmul_form(False, True)),
    OpSpec("matmul_2d_2d", lambda a, b: a @ b, np.matmul, matmul_form(False, False)),
    OpSpec("matmul_batched", lambda a, b: a @ b, np.matmul, matmul_form(False, False, batched=True)),
    OpSpec("matmul_1d_batched", lambda a, b: a @ b, np.matmul, matmul_form(True, False, batched=True)),
    OpSpec("matmul_batched_1d", lambda a, b: a @ b, np.matmul, matmul_form(False, True, batched=True)),
    OpSpec("matmul_functional", linalg.matmul, np.matmul, _matmul_case),
    OpSpec("linear", linalg.linear, linear_reference, _linear_case),
    # dtype conversion (the output dtype is the target, the gradient comes back in the input's dtype)
    OpSpec(
        "astype_float32",
        lambda a: a.astype(np.float32),
        lambda a: a.astype(np.float32),
        unary(),
        out_dtype=np.dtype(np.float32),
    ),
    OpSpec(
        "astype_float64",
        lambda a: a.astype(np.float64),
        lambda a: a.astype(np.float64),
        unary(),
        out_dtype=np.dtype(np.float64),
    ),
    OpSpec("double", lambda a: a.double(), lambda a: a.astype(np.float64), unary(), out_dtype=np.dtype(np.float64)),
    OpSpec("float", lambda a: a.float(), lambda a: a.astype(np.float32), unary(), out_dtype=np.dtype(np.float32)),
) + WINDOW_SPECS + NORMALIZATION_SPECS  # convolution and pooling; batch and layer norm (window_specs.py)

SPECS_BY_NAME = {spec.name: spec for spec in SPECS}
assert len(SPECS_BY_NAME) == len(SPECS), "two table entries share a name"
