"""``grad(outputs, inputs, ...)``: pure gradients, ``allow_unused``, ``grad_outputs``, ``create_graph``."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Function, Tensor, grad


def _leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_grad_returns_gradients_and_leaves_dot_grad_untouched():
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, -1.0])
    gx, gw = grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(gx.numpy(), [3.0, -1.0])
    np.testing.assert_array_equal(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_of_a_single_input_returns_a_one_tuple():
    x = _leaf([2.0])
    result = grad((x**3).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_array_equal(result[0].numpy(), [12.0])


def test_grad_does_not_touch_intermediate_or_other_leaves():
    x, w = _leaf([1.0]), _leaf([2.0])
    hidden = x * w
    grad((hidden * hidden).sum(), [x])
    assert x.grad is None and w.grad is None and hidden.grad is None


def test_grad_with_respect_to_an_intermediate_tensor():
    x = _leaf([1.0, 2.0])
    hidden = x * 3
    (g,) = grad((hidden * hidden).sum(), hidden)
    np.testing.assert_array_equal(g.numpy(), 2 * hidden.numpy())


def test_unused_input_is_an_error_that_names_allow_unused():
    x, unused = _leaf([1.0]), _leaf([5.0, 6.0])
    with pytest.raises(RuntimeError, match="allow_unused=True") as info:
        grad((x * 2).sum(), [x, unused])
    assert "input 1" in str(info.value) and "(2,)" in str(info.value)


def test_allow_unused_gives_none_for_unused_inputs():
    x, unused = _leaf([1.0]), _leaf([5.0])
    gx, gu = grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.numpy(), [2.0])


def test_non_scalar_output_without_grad_outputs_is_an_error():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"non-scalar output of shape \(2,\)"):
        grad(x * 2, x)
    with pytest.raises(RuntimeError, match="non-scalar"):
        (x * 2).backward()


def test_one_element_non_0d_output_needs_no_grad_outputs():
    x = _leaf([[3.0]])
    (g,) = grad(x * x, x)
    np.testing.assert_array_equal(g.numpy(), [[6.0]])


@pytest.mark.parametrize("as_tensor", [True, False], ids=["tensor", "ndarray"])
def test_grad_outputs_give_a_vector_jacobian_product(as_tensor):
    x = _leaf([1.0, 2.0, 3.0])
    cotangent = np.array([1.0, -1.0, 0.5])
    seed = Tensor(cotangent) if as_tensor else cotangent
    (g,) = grad(x * x, x, grad_outputs=seed)
    np.testing.assert_array_equal(g.numpy(), 2 * x.numpy() * cotangent)
    y = _leaf([1.0, 2.0, 3.0])
    (y * y).backward(seed)
    np.testing.assert_array_equal(y.grad.numpy(), 2 * y.numpy() * cotangent)


def test_several_outputs_with_their_own_grad_outputs_add_up():
    x = _leaf([1.0, 2.0])
    outputs = [x * 2, (x * x).sum()]
    (g,) = grad(outputs, [x], grad_outputs=[np.array([1.0, 10.0]), None])
    np.testing.assert_array_equal(g.numpy(), [2.0 + 2.0, 20.0 + 4.0])


def test_grad_outputs_of_the_wrong_shape_or_count_are_errors():
    x = _leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)"):
        grad(x * 2, x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        grad([x * 2], [x], grad_outputs=[np.ones(2), np.ones(2)])


def test_grad_outputs_take_the_output_dtype():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (g,) = grad(x * x, x, grad_outputs=np.array([1.0, 1.0]))  # a float64 seed for a float32 graph
    assert g.dtype == np.float32


def test_inputs_that_do_not_require_grad_are_rejected():
    x = _leaf([1.0])
    constant = Tensor(np.array([2.0]))
    with pytest.raises(RuntimeError, match="input 1 does not require grad"):
        grad((x * constant).sum(), [x, constant])


def test_outputs_that_do_not_require_grad_are_rejected():
    x = _leaf([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(Tensor(np.array(1.0)), [x])


# ---- create_graph ------------------------------------------------------------------------------------
def test_without_create_graph_gradients_record_no_graph():
    x = _leaf([1.0, 2.0])
    (g,) = grad((x**3).sum(), x)
    assert not g.requires_grad and g._ctx is None and g.is_leaf
    (x**3).sum().backward()
    assert not x.grad.requires_grad and x.grad._ctx is None


def test_with_create_graph_gradients_are_differentiable():
    x = _leaf([1.0, 2.0])
    (g,) = grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad and g._ctx is not None
    np.testing.assert_array_equal(g.numpy(), 3 * x.numpy() ** 2)
    (gg,) = grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), 6 * x.numpy())


def test_third_derivative():
    x = _leaf([1.5])
    (g1,) = grad((x**4).sum(), x, create_graph=True)
    (g2,) = grad(g1.sum(), x, create_graph=True)
    (g3,) = grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), 24 * x.numpy())


def test_backward_with_create_graph_gives_a_differentiable_dot_grad():
    x = _leaf([2.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = grad(x.grad.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [12.0])


def test_hessian_vector_product_of_a_quadratic_form():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    x = Tensor(rng.standard_normal(4), requires_grad=True)
    v = rng.standard_normal(4)
    (g,) = grad(x @ Tensor(a) @ x, x, create_graph=True)
    (hv,) = grad((g * Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ v, rtol=1e-12)


def test_mixed_second_derivative_of_two_inputs():
    x, y = _leaf([0.5]), _leaf([2.0])
    (gx,) = grad((x * x * y.exp()).sum(), x, create_graph=True)
    (gxy,) = grad(gx.sum(), y)
    np.testing.assert_allclose(gxy.numpy(), 2 * 0.5 * np.exp([2.0]), rtol=1e-14)


# ---- grad stops at the requested inputs -------------------------------------------------------------
class _Counted(Function):
    """``x * 2`` that counts how often its backward rule runs (class-wide)."""

    calls = 0

    def forward(self, x):
        return x * 2

    def backward(self, grad, x, out):
        _Counted.calls += 1
        return (grad * 2,)


def test_grad_at_an_intermediate_neither_walks_nor_frees_the_graph_below_it():
    x = _leaf([1.0, 2.0])
    below = _Counted.apply(_Counted.apply(x))  # 4 x
    hidden = below.exp()
    _Counted.calls = 0
    (g,) = grad((hidden * hidden).sum(), hidden)
    np.testing.assert_allclose(g.numpy(), 2 * hidden.numpy())
    assert _Counted.calls == 0, "backward rules below the requested input ran"
    assert hidden._ctx.parents is not None and below._ctx.parents is not None
    hidden.sum().backward()  # the graph below is intact: a later backward through it works
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp(4 * x.numpy()))
    assert _Counted.calls == 2


@pytest.mark.parametrize("h_first", [True, False])
def test_grad_walks_below_a_requested_input_when_another_one_is_there(h_first):
    # y = h * x with h = 3 x: dy/dx = h + 3 x in total, 3 x of it through h.
    x = _leaf([1.0, 2.0])
    h = x * 3
    y = (h * x).sum()
    if h_first:
        gh, gx = grad(y, [h, x])
    else:
        gx, gh = grad(y, [x, h])
    np.testing.assert_allclose(gh.numpy(), x.numpy())
    np.testing.assert_allclose(gx.numpy(), 6 * x.numpy())


def test_grad_between_two_intermediates_walks_only_between_them():
    x = _leaf([0.5])
    low = _Counted.apply(x)  # 2 x
    mid = low.exp()
    high = _Counted.apply(mid)  # 2 e^(2x)
    out = (high * mid).sum()  # 2 e^(4x)
    _Counted.calls = 0
    g_high, g_mid = grad(out, [high, mid])
    np.testing.assert_allclose(g_high.numpy(), mid.numpy())
    np.testing.assert_allclose(g_mid.numpy(), high.numpy() + 2 * mid.numpy())  # direct + through high
    assert _Counted.calls == 1  # the rule of high's op ran, the one below mid did not
    assert low._ctx.parents is not None


def test_grad_leaves_side_branches_that_do_not_reach_the_inputs_alone():
    x, w = _leaf([1.0]), _leaf([2.0])
    side = _Counted.apply(w)  # leads to w only
    y = (x * x + side).sum()
    _Counted.calls = 0
    (gx,) = grad(y, x)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert _Counted.calls == 0 and side._ctx.parents is not None
    y2 = (side * 1.0).sum()
    y2.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0])


def test_grad_at_an_intermediate_with_create_graph_differentiates_again():
    x = _leaf([1.5])
    h = x * x
    (gh,) = grad((h ** 3).sum(), h, create_graph=True)  # 3 h**2, a graph through h
    (gx,) = grad(gh.sum(), x)  # d/dx 3 x**4 = 12 x**3
    np.testing.assert_allclose(gx.numpy(), 12 * x.numpy() ** 3)
