"""Hypothesis strategies for property-testing differentiable ops.

Every strategy here produces *well-conditioned* test data: small shapes
(including 0-d and size-1 dimensions, which is where broadcasting and
reduction bugs hide), bounded finite float values that can stay away from
non-differentiable points, and valid ``axis`` / index / matmul arguments.

They are meant to be combined with :func:`tinygrad_mnist.testing.gradcheck`::

    from hypothesis import given
    from tinygrad_mnist.testing import gradcheck, tensors

    @given(tensors(avoid=(0.0,)))
    def test_abs_grad(x):
        assert gradcheck(lambda t: abs(t), [x])

All shape arguments (``shape=``) accept either a concrete shape tuple (an
``int`` is treated as a 1-d shape) or a strategy that draws one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

__all__ = [
    "ShapeTuple",
    "shapes",
    "broadcastable_shapes",
    "arrays",
    "axes",
    "tensors",
    "matmul_shapes",
    "index_keys",
    "permutations",
    "reshape_shapes",
]

Shape = tuple[int, ...]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class ShapeTuple(tuple):
    """A tuple of shapes that also carries the shape they combine to.

    Returned by :func:`broadcastable_shapes` (``result`` is the broadcast
    shape) and :func:`matmul_shapes` (``result`` is the shape of ``a @ b``).
    It unpacks like a plain tuple.

    Example:
        >>> s = ShapeTuple([(2, 1), (3,)], result=(2, 3))
        >>> a, b = s
        >>> a, b, s.result
        ((2, 1), (3,), (2, 3))
    """

    result: Shape

    def __new__(cls, shapes: Iterable[Shape], result: Shape) -> "ShapeTuple":
        self = super().__new__(cls, (tuple(s) for s in shapes))
        self.result = tuple(result)
        return self

    def __reduce__(self):
        return (type(self), (tuple(self), self.result))

    def __repr__(self) -> str:
        return f"ShapeTuple({tuple(self)!r}, result={self.result!r})"


def _check_dims(min_dims: int, max_dims: int, min_side: int, max_side: int) -> None:
    if not (0 <= min_dims <= max_dims):
        raise InvalidArgument(f"need 0 <= min_dims <= max_dims, got min_dims={min_dims}, max_dims={max_dims}")
    if not (0 <= min_side <= max_side):
        raise InvalidArgument(f"need 0 <= min_side <= max_side, got min_side={min_side}, max_side={max_side}")


def _as_shape_strategy(shape: Any) -> st.SearchStrategy:
    if isinstance(shape, st.SearchStrategy):
        return shape.map(_normalize_shape)
    return st.just(_normalize_shape(shape))


def _normalize_shape(shape: Any) -> Shape:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise InvalidArgument(f"shape must be a tuple of ints or a strategy, got {shape!r}") from None
    if any(s < 0 for s in out):
        raise InvalidArgument(f"shape must have non-negative sides, got {out!r}")
    return out


# --------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy[Shape]:
    """Array shapes with ``min_dims..max_dims`` dimensions of ``min_side..max_side`` each.

    With the defaults, the 0-d shape ``()`` and size-1 dimensions are
    generated often (and are what failing examples shrink towards), because
    they are the corner cases of broadcasting and reductions.

    Example:
        >>> from hypothesis import given
        >>> @given(shapes(max_dims=3))
        ... def test_zeros_has_shape(shape):
        ...     assert np.zeros(shape).shape == shape
        >>> test_zeros_has_shape()
    """
    _check_dims(min_dims, max_dims, min_side, max_side)
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[ShapeTuple]:
    """``num_shapes`` mutually broadcastable shapes, as a :class:`ShapeTuple`.

    A common "result" shape is drawn first; each input shape takes a suffix of
    it (so ranks differ) and replaces sides by 1 at random (so size-1
    broadcasting happens), whenever ``min_side <= 1``.  The broadcast shape
    of the inputs is available as ``.result`` (it always equals
    ``np.broadcast_shapes(*shapes)``).

    Example:
        >>> from hypothesis import given
        >>> @given(broadcastable_shapes(num_shapes=3))
        ... def test_add_broadcasts(shs):
        ...     a, b, c = (np.ones(s) for s in shs)
        ...     assert (a + b + c).shape == shs.result
        >>> test_add_broadcasts()
    """
    if num_shapes < 1:
        raise InvalidArgument(f"num_shapes must be >= 1, got {num_shapes}")
    _check_dims(min_dims, max_dims, min_side, max_side)

    @st.composite
    def _draw(draw: st.DrawFn) -> ShapeTuple:
        base = draw(shapes(min_dims, max_dims, min_side, max_side))
        rank = len(base)
        out = []
        for _ in range(num_shapes):
            r = draw(st.integers(min_dims, rank))
            suffix = base[rank - r :]
            if min_side <= 1:
                suffix = tuple(1 if draw(st.booleans()) else s for s in suffix)
            out.append(tuple(suffix))
        return ShapeTuple(out, result=np.broadcast_shapes(*out))

    return _draw()


def matmul_shapes(
    max_batch_dims: int = 2, min_side: int = 1, max_side: int = 4, allow_vectors: bool = True
) -> st.SearchStrategy[ShapeTuple]:
    """Pairs ``(a_shape, b_shape)`` valid for ``a @ b``, as a :class:`ShapeTuple`.

    Covers vector @ vector, vector @ matrix, matrix @ vector, matrix @ matrix
    and batched matmul whose batch dimensions broadcast against each other
    (different batch ranks, size-1 batch sides), including a vector against
    a batched matrix.  ``.result`` is the shape of ``np.matmul(a, b)``.
    ``allow_vectors=False`` restricts to operands with at least 2 dims.

    Example:
        >>> from hypothesis import given
        >>> @given(matmul_shapes())
        ... def test_matmul_shape(shs):
        ...     a_shape, b_shape = shs
        ...     assert (np.ones(a_shape) @ np.ones(b_shape)).shape == shs.result
        >>> test_matmul_shape()
    """
    if max_batch_dims < 0:
        raise InvalidArgument(f"max_batch_dims must be >= 0, got {max_batch_dims}")
    _check_dims(0, max_batch_dims, min_side, max_side)

    @st.composite
    def _draw(draw: st.DrawFn) -> ShapeTuple:
        n, k, m = (draw(st.integers(min_side, max_side)) for _ in range(3))
        a_vec = allow_vectors and draw(st.booleans())
        b_vec = allow_vectors and draw(st.booleans())
        batch_a, batch_b = draw(broadcastable_shapes(2, 0, max_batch_dims, min_side, max_side))
        a = (k,) if a_vec else batch_a + (n, k)
        b = (k,) if b_vec else batch_b + (k, m)
        result = np.matmul(np.empty(a, dtype=np.int8), np.empty(b, dtype=np.int8)).shape
        return ShapeTuple([a, b], result=result)

    return _draw()


def permutations(shape_or_ndim: Any) -> st.SearchStrategy[tuple[int, ...]]:
    """Axis permutations valid for ``np.transpose(x, axes)`` on ``shape_or_ndim``.

    Accepts a shape tuple or an ``int`` number of dimensions.  Shrinks
    towards the identity permutation.

    Example:
        >>> from hypothesis import given
        >>> @given(permutations((2, 3, 4)))
        ... def test_transpose(perm):
        ...     assert sorted(perm) == [0, 1, 2]
        ...     assert np.transpose(np.ones((2, 3, 4)), perm).ndim == 3
        >>> test_transpose()
    """
    ndim = shape_or_ndim if isinstance(shape_or_ndim, (int, np.integer)) else len(shape_or_ndim)
    return st.permutations(list(range(int(ndim)))).map(tuple)


def reshape_shapes(shape: Any, max_dims: int = 4, allow_minus_one: bool = True) -> st.SearchStrategy[Shape]:
    """Target shapes for ``x.reshape(target)`` given ``x.shape == shape``.

    The target has the same number of elements (``math.prod(shape)``) and at
    most ``max_dims`` dimensions (more when ``shape`` itself has more); with
    ``allow_minus_one`` one side may be given as ``-1``.

    Example:
        >>> from hypothesis import given
        >>> @given(reshape_shapes((2, 3, 2)))
        ... def test_reshape(target):
        ...     assert np.ones((2, 3, 2)).reshape(target).size == 12
        >>> test_reshape()
    """
    shape = _normalize_shape(shape)
    size = math.prod(shape)
    if size == 0:
        raise InvalidArgument("reshape_shapes needs a shape with at least one element")
    max_dims = max(max_dims, len(shape))

    @st.composite
    def _draw(draw: st.DrawFn) -> Shape:
        ndim = draw(st.integers(0 if size == 1 else 1, max_dims))
        if ndim == 0:
            return ()
        # split the prime factors of ``size`` among ``ndim`` sides
        factors = []
        rest, p = size, 2
        while rest > 1:
            while rest % p == 0:
                factors.append(p)
                rest //= p
            p += 1
        sides = [1] * ndim
        for f in factors:
            sides[draw(st.integers(0, ndim - 1))] *= f
        if allow_minus_one and draw(st.booleans()):
            sides[draw(st.integers(0, ndim - 1))] = -1
        return tuple(sides)

    return _draw()


# --------------------------------------------------------------------------
# arrays and tensors
# --------------------------------------------------------------------------

_WIDTHS = {np.dtype(np.float16): 16, np.dtype(np.float32): 32, np.dtype(np.float64): 64}


def _round_into(value: float, dtype: np.dtype, direction: float) -> float:
    """Nearest ``dtype``-representable value to ``value`` on the side of ``direction``."""
    v = dtype.type(value)
    if direction > 0 and float(v) < value:
        v = np.nextafter(v, dtype.type(np.inf))
    elif direction < 0 and float(v) > value:
        v = np.nextafter(v, dtype.type(-np.inf))
    return float(v)


def _allowed_intervals(
    lo: float, hi: float, avoid: Sequence[float], dist: float, dtype: np.dtype
) -> list[tuple[float, float]]:
    """``[lo, hi]`` minus the open ``dist``-balls around ``avoid``, as closed
    intervals whose endpoints are representable in ``dtype``."""
    intervals = [(lo, hi)]
    for a in sorted(avoid):
        new = []
        for a_lo, a_hi in intervals:
            left_hi = a - dist
            right_lo = a + dist
            # make sure the representable endpoints really are >= dist away
            left_hi = _round_into(left_hi, dtype, -1)
            while a - left_hi < dist:
                left_hi = float(np.nextafter(dtype.type(left_hi), dtype.type(-np.inf)))
            right_lo = _round_into(right_lo, dtype, +1)
            while right_lo - a < dist:
                right_lo = float(np.nextafter(dtype.type(right_lo), dtype.type(np.inf)))
            if left_hi >= a_lo:
                new.append((a_lo, min(a_hi, left_hi)))
            if right_lo <= a_hi:
                new.append((max(a_lo, right_lo), a_hi))
        intervals = new
    return [(a, b) for a, b in intervals if a <= b]


def _without_subnormals(intervals: list[tuple[float, float]], dtype: np.dtype) -> list[tuple[float, float]]:
    """``intervals`` minus the subnormal numbers of ``dtype`` (0 itself stays): an interval reaching
    into ``(-tiny, tiny)`` is cut at ``-tiny``, ``0`` and ``tiny``, all representable, so bounds and
    ``avoid`` distances that are themselves subnormal cannot bring subnormals back."""
    tiny = float(np.finfo(dtype).tiny)
    pieces = []
    for a, b in intervals:
        if b < -tiny or a > tiny or (a >= -tiny and b <= tiny and a == b and a in (-tiny, 0.0, tiny)):
            pieces.append((a, b))
            continue
        if a <= -tiny:
            pieces.append((a, -tiny))
        if a <= 0.0 <= b:
            pieces.append((0.0, 0.0))
        if b >= tiny:
            pieces.append((tiny, b))
    return pieces


def arrays(
    shape: Any,
    dtype: Any = np.float64,
    min_value: float = -3.0,
    max_value: float = 3.0,
    avoid: Iterable[float] = (),
    min_distance: float = 1e-3,
    positive: bool = False,
    *,
    lower_positive: float = 0.1,
    distinct: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Well-conditioned floating-point arrays for gradient checks.

    Elements are finite, never subnormal, and lie in ``[min_value, max_value]``
    (both rounded inwards to ``dtype``).  Each element is at least
    ``min_distance`` away from every value in ``avoid`` -- use this to stay
    clear of points where the op is not differentiable (``avoid=(0.0,)`` for
    ``abs``/``relu``), because a central difference straddling a kink gives
    a meaningless "numeric gradient".

    Args:
        shape: a shape tuple (or int), or a strategy of shapes.
        dtype: ``float16``, ``float32`` or ``float64``.
        positive: restrict to ``[max(min_value, lower_positive), max_value]``,
            for domains like ``log``/``sqrt``/``x ** -1``; ``lower_positive``
            (default 0.1) keeps derivatives like ``1/x`` moderate.
        distinct: additionally make all elements pairwise at least
            ``min_distance`` apart, to avoid ties for ``max``/``min``/sorting
            (whose gradient is undefined at ties).  Raises ``InvalidArgument``
            if the range cannot fit that many separated values (with a shape
            strategy, too-large shapes are skipped instead).

    Failing examples shrink towards small shapes and simple values (0, 1,
    integers) in the allowed range.

    Example:
        >>> from hypothesis import given
        >>> @given(arrays((2, 3), avoid=(0.0,)), arrays(4, positive=True))
        ... def test_values(a, p):
        ...     assert np.all(np.abs(a) >= 1e-3) and np.all(np.abs(a) <= 3)
        ...     assert np.all(p >= 0.1)
        >>> test_values()
    """
    dtype = np.dtype(dtype)
    if dtype not in _WIDTHS:
        raise InvalidArgument(f"arrays() generates float16/32/64 arrays, got dtype={dtype}")
    width = _WIDTHS[dtype]
    avoid = tuple(float(a) for a in avoid)
    if not all(math.isfinite(a) for a in avoid):
        raise InvalidArgument(f"avoid values must be finite, got {avoid!r}")
    if not (min_distance >= 0 and math.isfinite(min_distance)):
        raise InvalidArgument(f"min_distance must be finite and >= 0, got {min_distance!r}")
    lo, hi = float(min_value), float(max_value)
    if positive:
        if not lower_positive > 0:
            raise InvalidArgument(f"lower_positive must be > 0, got {lower_positive!r}")
        lo = max(lo, float(lower_positive))
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise InvalidArgument(f"need finite min_value <= max_value, got [{lo}, {hi}]")
    finfo = np.finfo(dtype)
    if hi > float(finfo.max) or lo < float(finfo.min):
        raise InvalidArgument(f"[{lo}, {hi}] is out of range for {dtype}")
    lo, hi = _round_into(lo, dtype, +1), _round_into(hi, dtype, -1)
    intervals = _without_subnormals(_allowed_intervals(lo, hi, avoid, float(min_distance), dtype), dtype)
    if not intervals:
        raise InvalidArgument(
            f"no value in [{min_value}, {max_value}] is {min_distance} away from all of avoid={avoid!r}"
        )
    # Simplest interval first: one_of() shrinks towards its first branch.
    intervals.sort(key=lambda ab: (0.0 if ab[0] <= 0 <= ab[1] else min(abs(ab[0]), abs(ab[1]))))
    shape_st = _as_shape_strategy(shape)

    if not distinct:
        elements = st.one_of(
            [st.floats(a, b, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width) for a, b in intervals]
        )
        return shape_st.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))

    # distinct: draw "compressed" coordinates t in [0, T], sort them, spread
    # them by the gap and map the concatenated allowed intervals onto them.
    intervals.sort()
    lengths = np.array([b - a for a, b in intervals])
    total = float(lengths.sum())
    ulp = float(np.spacing(dtype.type(max(abs(lo), abs(hi)))))
    gap = float(min_distance) + 2 * ulp  # survives rounding to dtype
    starts = np.concatenate([[0.0], np.cumsum(lengths)])

    def _free(n: int) -> float:
        return total - (n - 1) * gap

    if not isinstance(shape, st.SearchStrategy):
        n_fixed = math.prod(_normalize_shape(shape))
        if _free(n_fixed) < 0:
            raise InvalidArgument(f"cannot fit {n_fixed} values pairwise {min_distance} apart into {intervals!r}")

    @st.composite
    def _distinct(draw: st.DrawFn) -> np.ndarray:
        s = draw(shape_st)
        n = math.prod(s)
        free = _free(n)
        if free < 0:  # only with a shape strategy: skip shapes that are too big
            reject()
        t = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.0, free, allow_nan=False, allow_subnormal=False)))
        order = np.argsort(t, kind="stable")
        z = np.empty(n)
        z[order] = t[order] + np.arange(n) * gap
        z = np.minimum(z, total)
        which = np.clip(np.searchsorted(starts, z, side="right") - 1, 0, len(intervals) - 1)
        base = np.array([a for a, _ in intervals])[which]
        top = np.array([b for _, b in intervals])[which]
        x = np.minimum(base + (z - starts[which]), top)
        return x.astype(dtype).reshape(s)

    return _distinct()


def tensors(
    shape: Any = None, dtype: Any = np.float64, requires_grad: bool = True, **array_kwargs: Any
) -> st.SearchStrategy[Any]:
    """:class:`~tinygrad_mnist.Tensor` leaves whose data comes from :func:`arrays`.

    ``shape=None`` draws a shape from :func:`shapes`.  Extra keyword
    arguments (``avoid=``, ``positive=``, ``min_value=``, ``distinct=`` ...)
    are passed to :func:`arrays`.  The tensor keeps ``dtype`` (float64 by
    default, which is what exact gradient checks want).

    Example:
        >>> from hypothesis import given
        >>> @given(tensors((3,), positive=True))
        ... def test_log_grad(x):
        ...     from tinygrad_mnist.testing import gradcheck
        ...     assert gradcheck(lambda t: t.log(), [x])
        >>> test_log_grad()
    """
    from tinygrad_mnist import Tensor  # imported lazily: the core imports us only in tests

    shape_st = shapes() if shape is None else _as_shape_strategy(shape)
    return arrays(shape_st, dtype=dtype, **array_kwargs).map(
        lambda a: Tensor(a, requires_grad=requires_grad)
    )


# --------------------------------------------------------------------------
# axis arguments and index keys
# --------------------------------------------------------------------------


def axes(
    shape: Any, allow_none: bool = True, allow_tuple: bool = True, *, allow_int: bool = True, allow_empty: bool = True
) -> st.SearchStrategy[None | int | tuple[int, ...]]:
    """Valid ``axis=`` arguments for reductions over an array of ``shape``.

    Draws ``None`` (if ``allow_none``), an ``int`` in ``[-ndim, ndim)``
    (if ``allow_int``), or a tuple of distinct axes with mixed signs and in
    any order but no duplicates after normalisation (if ``allow_tuple``; the
    empty tuple ``()`` -- "reduce nothing" -- only if ``allow_empty``).

    For a 0-d shape only ``None`` and ``()`` are drawn: those are accepted by
    every numpy reduction.  (``np.sum``/``np.max`` also tolerate ``axis=0``
    and ``-1`` on 0-d arrays as a legacy quirk, but ``np.mean`` rejects them,
    so they are not generated.)  Raises ``InvalidArgument`` if the flags
    leave nothing to draw.

    Example:
        >>> from hypothesis import given
        >>> @given(axes((2, 3, 4)))
        ... def test_sum_axes(axis):
        ...     np.sum(np.ones((2, 3, 4)), axis=axis)
        >>> test_sum_axes()
    """
    ndim = len(_normalize_shape(shape))
    options: list[st.SearchStrategy] = []
    if allow_none:
        options.append(st.none())
    if allow_int and ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple and (ndim > 0 or allow_empty):

        @st.composite
        def _tuple(draw: st.DrawFn) -> tuple[int, ...]:
            if ndim == 0:
                return ()
            chosen = draw(
                st.lists(st.integers(0, ndim - 1), unique=True, min_size=0 if allow_empty else 1, max_size=ndim)
            )
            return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)

        options.append(_tuple())
    if not options:
        raise InvalidArgument(f"no axis argument is possible for ndim={ndim} with these flags")
    return st.one_of(options)


def _slice_for(draw: st.DrawFn, size: int, allow_empty: bool) -> slice:
    """A slice over a dimension of ``size`` that selects >= 1 element unless
    ``allow_empty``; start/stop are written in every legal form."""
    step = draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))
    if allow_empty:
        bound = st.one_of(st.none(), st.integers(-size - 2, size + 2))
        return slice(draw(bound), draw(bound), step)
    s = size
    if step is None or step > 0:
        i0 = draw(st.integers(0, s - 1))  # first selected element
        i1 = draw(st.integers(i0 + 1, s))  # exclusive end
        start = draw(st.sampled_from([i0, i0 - s] + ([None] if i0 == 0 else [])))
        stop = draw(st.sampled_from([i1, None, s + 2] if i1 == s else [i1, i1 - s]))
    else:
        i0 = draw(st.integers(0, s - 1))  # first selected element (going down)
        i1 = draw(st.integers(-1, i0 - 1))  # exclusive end
        start = draw(st.sampled_from([i0, i0 - s] + ([None, s + 2] if i0 == s - 1 else [])))
        stop = draw(st.sampled_from([None, -s - 1, -s - 3] if i1 == -1 else [i1, i1 - s]))
    return slice(start, stop, step)


def index_keys(
    shape: Any,
    allow_none: bool = True,
    allow_ellipsis: bool = True,
    allow_int_arrays: bool = True,
    *,
    max_int_arrays: int = 2,
    allow_empty: bool = False,
) -> st.SearchStrategy[Any]:
    """Valid ``x[key]`` keys for an array of ``shape`` (numpy semantics).

    A key is built per dimension from ints (negative allowed), basic slices
    (negative steps, negative/omitted/out-of-range bounds), and integer index
    arrays (``np.intp``, repeated indices allowed -- gradients must then
    *accumulate*), plus ``None`` (new axes) and one ``Ellipsis`` anywhere.
    Up to ``max_int_arrays`` index arrays share one shape, so they broadcast;
    when they are separated by a slice numpy moves their dimension first.
    Single-item keys are sometimes given bare (``x[k]`` instead of
    ``x[(k,)]``).  Unless ``allow_empty``, every key selects at least one
    element.

    Example:
        >>> from hypothesis import given
        >>> @given(index_keys((3, 4)))
        ... def test_getitem(key):
        ...     assert np.ones((3, 4))[key].size >= 1
        >>> test_getitem()
    """
    shape = _normalize_shape(shape)
    ndim = len(shape)
    if not allow_empty and 0 in shape:
        raise InvalidArgument(f"shape {shape} has no elements; pass allow_empty=True")

    @st.composite
    def _draw(draw: st.DrawFn) -> Any:
        n_front = draw(st.integers(0, ndim))
        use_ellipsis = allow_ellipsis and draw(st.booleans())
        n_back = draw(st.integers(0, ndim - n_front)) if use_ellipsis else 0
        dims = list(range(n_front)) + list(range(ndim - n_back, ndim))
        arr_shape = draw(shapes(0, 2, 0 if allow_empty else 1, 3))
        n_arrays = 0
        items: list[Any] = []
        for i, d in enumerate(dims):
            if use_ellipsis and i == n_front:
                items.append(Ellipsis)
            size = shape[d]
            kinds = ["slice"]
            if size > 0:
                kinds.append("int")
                if allow_int_arrays and n_arrays < max_int_arrays:
                    kinds.append("array")
            kind = draw(st.sampled_from(kinds))
            if kind == "int":
                items.append(draw(st.integers(-size, size - 1)))
            elif kind == "slice":
                items.append(_slice_for(draw, size, allow_empty or size == 0))
            else:
                n_arrays += 1
                items.append(draw(hnp.arrays(np.intp, arr_shape, elements=st.integers(-size, size - 1))))
        if use_ellipsis and n_front == len(dims):
            items.append(Ellipsis)
        if allow_none:
            for _ in range(draw(st.integers(0, 2))):
                items.insert(draw(st.integers(0, len(items))), None)
        if len(items) == 1 and draw(st.booleans()):
            return items[0]
        return tuple(items)

    return _draw()
