"""Bad input gets one clear error that names the op, the shapes involved, and what to do."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Function, ShapeError, Tensor, tensor
from tinygrad_mnist.ops import movement


def _zeros(*shape):
    return Tensor(np.zeros(shape))


def test_matmul_misalignment_names_both_shapes():
    with pytest.raises(ShapeError, match=r"^matmul: shapes \(100, 784\) and \(128, 10\) are not aligned"):
        _zeros(100, 784) @ _zeros(128, 10)


@pytest.mark.parametrize("a,b", [((3,), (4,)), ((2, 3), (2,)), ((5,), (2, 5, 3, 4)), ((2, 2, 3), (2, 4, 1))])
def test_matmul_misalignment_in_every_operand_form(a, b):
    with pytest.raises(ShapeError, match=rf"matmul: shapes {re_shape(a)} and {re_shape(b)} are not aligned"):
        _zeros(*a) @ _zeros(*b)


def test_matmul_batch_dimensions_that_do_not_broadcast_name_both_shapes():
    with pytest.raises(ShapeError, match=r"^matmul: .*\(2, 2, 3\).*\(4, 3, 1\)"):
        _zeros(2, 2, 3) @ _zeros(4, 3, 1)


def test_matmul_of_a_0d_operand_points_to_mul():
    with pytest.raises(ShapeError, match=r"matmul: .*\(\).*use \* for scalars"):
        Tensor(np.array(2.0)) @ _zeros(2, 2)


def re_shape(shape) -> str:
    """A shape as it appears in a message, escaped for a regex."""
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize(
    "op,fn",
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a ** b),
        ("maximum", lambda a, b: a.maximum(b)),
    ],
)
def test_incompatible_broadcast_names_the_op_and_both_shapes(op, fn):
    with pytest.raises(ShapeError, match=rf"^{op}: .*{re_shape((2, 3))}.*{re_shape((4,))}"):
        fn(_zeros(2, 3) + 1, _zeros(4) + 1)


def test_shape_error_is_a_value_error():
    assert issubclass(ShapeError, ValueError)


def test_reshape_error_names_shape_size_and_target():
    with pytest.raises(ShapeError, match=r"^reshape: .*\(2, 3\) \(6 elements\) into \(4, 2\)"):
        _zeros(2, 3).reshape(4, 2)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: _zeros(2, 3).transpose(0, 0), r"transpose: axes \(0, 0\)"),
        (lambda: _zeros(2, 3).expand(3, 3), r"broadcast_to: .*\(2, 3\) to \(3, 3\)"),
        (lambda: _zeros(2, 3).squeeze(0), r"squeeze: axis 0 of shape \(2, 3\) has size 2"),
        (lambda: _zeros(2, 3).sum(axis=2), r"sum: axis 2 is out of range"),
        (lambda: _zeros(2, 3).mean(axis=(0, -2)), r"mean: axis .* repeats"),
        (lambda: _zeros(0).max(), r"max: cannot reduce over an axis of length 0"),
        (lambda: _zeros(3).var(ddof=3), r"var: 3 element\(s\) with ddof=3"),
        (lambda: movement.concatenate([_zeros(2, 3), _zeros(3, 2)]), r"concatenate: shapes \(2, 3\), \(3, 2\)"),
        (lambda: movement.stack([_zeros(2), _zeros(3)]), r"stack: .*\(2,\), \(3,\)"),
    ],
    ids=["transpose", "expand", "squeeze", "sum_axis", "repeated_axis", "empty_max", "var_ddof", "concat", "stack"],
)
def test_movement_and_reduction_errors(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


@pytest.mark.parametrize("key", [5, -4, (0, 3), np.array([0, 7]), (slice(None), np.array([3]))])
def test_getitem_out_of_range_names_the_index_and_the_shape(key):
    with pytest.raises(IndexError, match=r"^getitem: .*shape \(3, 3\)"):
        _zeros(3, 3)[key]


def test_requires_grad_on_an_integer_tensor_is_a_type_error():
    with pytest.raises(TypeError, match=r"floating-point.*int64.*\.float\(\)"):
        Tensor(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.array([True])).requires_grad_()


@pytest.mark.parametrize(
    "make",
    [lambda: Tensor(np.array([1.0, 2.0])).sum(), lambda: Tensor(np.array([1, 2])).sum(), lambda: Tensor(np.array(3))],
    ids=["float_constant", "int_sum", "int_0d"],
)
def test_backward_on_a_tensor_that_does_not_require_grad(make):
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        make().backward()


def test_backward_with_a_seed_of_the_wrong_shape():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(3,\) but the output has shape \(2,\)"):
        (x * 2).backward(np.ones(3))


def test_non_numeric_data_is_rejected_with_a_hint():
    with pytest.raises(TypeError, match="numeric.*np.asarray"):
        Tensor(["a", "b"])


def test_turning_off_requires_grad_on_a_non_leaf_points_to_detach():
    y = Tensor(np.ones(2), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_clip_without_bounds():
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        _zeros(2).clip()


def test_ambiguous_truth_value_and_item():
    with pytest.raises(ValueError, match=r"shape \(2,\) is ambiguous"):
        bool(_zeros(2))
    with pytest.raises(ValueError, match=r"item\(\) needs a tensor with one element.*\(2,\)"):
        _zeros(2).item()


def test_custom_function_value_errors_become_shape_errors_naming_the_op():
    class Pair(Function):
        def forward(self, a, b):
            return np.concatenate([a, b], axis=1)

        def backward(self, grad, a, b, out):
            return grad[:, : a.shape[1]], grad[:, a.shape[1]:]

    with pytest.raises(ShapeError, match=r"^pair: inputs of shapes \(2, 2\), \(3, 2\)"):
        Pair.apply(_zeros(2, 2), _zeros(3, 2))


def test_a_backward_rule_returning_an_unbroadcastable_gradient_is_reported():
    class Broken(Function):
        def forward(self, a):
            return a * 2

        def backward(self, grad, a, out):
            return (np.ones((5, 7)),)

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward of Broken returned, for input 0.*\(5, 7\).*\(2, 3\)"):
        Broken.apply(x).sum().backward()


# ---- out-of-range axes: NumPy raises, so must the movement ops (never wrap around silently) -------------
@pytest.mark.parametrize(
    "op,call",
    [
        ("squeeze", lambda: _zeros(2, 1).squeeze(5)),  # before the fix: squeezes axis 1 -> (2,)
        ("squeeze", lambda: Tensor(np.array(1.0)).squeeze(0)),  # before the fix: ZeroDivisionError
        ("unsqueeze", lambda: _zeros(2).unsqueeze(5)),  # before the fix: (2, 1)
        ("unsqueeze", lambda: _zeros(2).unsqueeze(-4)),  # before the fix: (1, 2)
        ("flatten", lambda: _zeros(2, 3, 4).flatten(5)),  # before the fix: returns (2, 3, 4) unchanged
        # before the fix: "stack: all tensors need the same shape, got (2,), (2,)" although they have it
        ("stack", lambda: movement.stack([_zeros(2), _zeros(2)], axis=5)),
        # before the fix: "concatenate: shapes (2,), (2,) do not match outside axis 5"
        ("concatenate", lambda: movement.concatenate([_zeros(2), _zeros(2)], axis=5)),
    ],
    ids=["squeeze_5", "squeeze_0d", "unsqueeze_5", "unsqueeze_-4", "flatten_5", "stack_5", "concatenate_5"],
)
def test_out_of_range_axis_is_an_error_naming_the_op(op, call):
    with pytest.raises((ShapeError, IndexError), match=rf"^{op}: .*axis .*out of (range|bounds)"):
        call()


def test_swapaxes_out_of_range_names_the_op():
    with pytest.raises((ShapeError, IndexError), match=r"^swapaxes: .*axis .*out of (range|bounds)"):
        _zeros(2, 3).swapaxes(0, 5)


def test_flatten_with_start_after_end_names_flatten():
    with pytest.raises(ShapeError):
        _zeros(2, 3, 4).flatten(2, 0)
