"""Reductions over many short rows take a faster path (a transposed copy, see ``ops.reduce._reduce``).

The op table draws sides of at most 3, which never reaches that path, so this file draws batches of
logits-like shapes around its thresholds and checks values against NumPy and gradients against
finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinygrad_mnist import Tensor
from tinygrad_mnist.ops import reduce
from tinygrad_mnist.testing import gradcheck, gradgradcheck

REDUCTIONS = {
    "sum": (lambda t, keepdims: t.sum(axis=1, keepdims=keepdims), np.sum),
    "mean": (lambda t, keepdims: t.mean(axis=1, keepdims=keepdims), np.mean),
    "max": (lambda t, keepdims: t.max(axis=1, keepdims=keepdims), np.max),
    "min": (lambda t, keepdims: t.min(axis=1, keepdims=keepdims), np.min),
    "logsumexp": (
        lambda t, keepdims: t.logsumexp(axis=1, keepdims=keepdims),
        lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
    ),
}

# Rows from just under to well over the threshold, widths on both sides of it.
rows = st.integers(reduce._MANY_ROWS - 2, 3 * reduce._MANY_ROWS)
widths = st.integers(1, reduce._SHORT_ROW + 2)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_short_row_reductions_match_numpy(name, dtype, data):
    shape = (data.draw(rows, label="rows"), data.draw(widths, label="width"))
    values = data.draw(arrays(dtype, shape, elements=st.floats(-5, 5, width=32)), label="values")
    keepdims = data.draw(st.booleans(), label="keepdims")
    apply, reference = REDUCTIONS[name]
    result = apply(Tensor(values), keepdims)
    expected = reference(values.astype(np.float64), axis=1, keepdims=keepdims)
    assert result.shape == expected.shape and result.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(result.numpy(), expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_short_row_reductions_gradcheck_and_gradgradcheck(name, data):
    shape = (data.draw(st.sampled_from([reduce._MANY_ROWS, reduce._MANY_ROWS + 7]), label="rows"),
             data.draw(st.integers(1, 4), label="width"))
    # Distinct values, so max and min have no ties (where they are not differentiable).
    values = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed")).permutation(
        np.prod(shape)).reshape(shape) / 7.0
    keepdims = data.draw(st.booleans(), label="keepdims")
    apply, _ = REDUCTIONS[name]
    assert gradcheck(lambda t: apply(t, keepdims), [values])
    assert gradgradcheck(lambda t: apply(t, keepdims), [values])


def test_the_fast_paths_are_taken_for_a_batch_of_ten_class_logits():
    assert reduce._many_short_rows(np.ones((100, 10)), (1,))
    assert not reduce._many_short_rows(np.ones((4, 3)), (1,))  # the op table's shapes
    assert not reduce._many_short_rows(np.ones((100, 10)), (0,))
    # LogSumExp keeps its softmax in the layout it computed it in: transposed (an F-ordered view of
    # a C-ordered (C, N) array) on the fast path, as the input otherwise.
    batch = Tensor(np.ones((100, 10), dtype=np.float32), requires_grad=True).logsumexp(axis=1)
    small = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True).logsumexp(axis=1)
    assert batch._ctx.softmax.flags.f_contiguous and not batch._ctx.softmax.flags.c_contiguous
    assert small._ctx.softmax.flags.c_contiguous


def test_short_row_logsumexp_leaves_an_f_ordered_input_alone():
    # A transposed view is F-ordered, so its transpose is C-ordered: the fast path must still copy.
    values = np.random.default_rng(0).standard_normal((10, 64)).T
    before = values.copy()
    result = Tensor(values, requires_grad=True).logsumexp(axis=1)
    np.testing.assert_array_equal(values, before)
    np.testing.assert_allclose(result.numpy(), np.log(np.exp(before).sum(axis=1)), rtol=1e-12)
