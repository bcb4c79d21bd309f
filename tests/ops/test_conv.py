"""Sliding-window ops beyond the op table: the max-pooling tie rule, memory layouts, chained layers,
bad input, and agreement with PyTorch when it is installed."""
import numpy as np
import pytest

from tinygrad_mnist import Tensor, grad, no_grad
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.ops import windows
from tinygrad_mnist.testing import gradcheck, gradgradcheck


# ---- ties in max pooling ---------------------------------------------------------------------------
def test_a_tied_window_gives_its_whole_gradient_to_its_first_maximum_in_row_major_order():
    x = Tensor(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)
    (dx,) = grad(F.max_pool2d(x, 2).sum(), [x])
    np.testing.assert_array_equal(dx.numpy()[0, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_overlapping_windows_add_up_at_a_shared_maximum():
    # 3x3 windows with stride 1 over a 4x4 image: the 9 sits in all four windows; the zeros of the
    # last row tie nowhere with it.
    image = np.zeros((4, 4))
    image[1, 2] = 9.0
    x = Tensor(image[None, None], requires_grad=True)
    (dx,) = grad(F.max_pool2d(x, 3, stride=1).sum(), [x])
    expected = np.zeros((4, 4))
    expected[1, 2] = 4.0
    np.testing.assert_array_equal(dx.numpy()[0, 0], expected)


def test_an_all_equal_window_picks_its_top_left_element_also_under_create_graph():
    x = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    (dx,) = grad(F.max_pool2d(x, 2).sum(), [x], create_graph=True)
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0
    np.testing.assert_array_equal(dx.numpy()[0, 0], expected)


def test_padding_is_never_picked_even_when_every_value_is_negative():
    x = Tensor(-np.ones((1, 1, 3, 3)), requires_grad=True)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    np.testing.assert_array_equal(out.numpy(), -np.ones((1, 1, 3, 3)))
    (dx,) = grad(out.sum(), [x])
    assert dx.numpy().sum() == 9.0  # every window's gradient landed on a real pixel


def test_max_pool_tie_rule_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, size=(2, 3, 7, 6)).astype(np.float64)  # many ties
    weights = rng.standard_normal((2, 3, 4, 7))
    x = Tensor(values, requires_grad=True)
    (ours,) = grad((F.max_pool2d(x, (3, 2), stride=(2, 1), padding=1) * weights).sum(), [x])
    tx = torch.tensor(values, requires_grad=True)
    (torch.nn.functional.max_pool2d(tx, (3, 2), stride=(2, 1), padding=1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.numpy(), tx.grad.numpy(), rtol=0, atol=1e-12)


# ---- layouts and composition -----------------------------------------------------------------------
def test_results_do_not_depend_on_the_memory_layout_of_the_input():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 6, 5))
    batch_last = np.asfortranarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)  # same values, other strides
    w = rng.standard_normal((4, 2, 3, 3))
    for op in (lambda t: F.conv2d(t, w, padding=1, stride=2), lambda t: F.max_pool2d(t, 2),
               lambda t: F.avg_pool2d(t, 3, 1, 1), lambda t: windows.im2col(t, 2, 1, 1)):
        np.testing.assert_allclose(op(Tensor(batch_last)).numpy(), op(Tensor(x)).numpy(), rtol=0, atol=1e-12)


def test_a_small_cnn_is_correctly_differentiable_to_second_order():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 7, 7))
    w1, b1 = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3)
    w2 = rng.standard_normal((2, 3, 2, 2))

    def net(x, w1, b1, w2):
        h = F.max_pool2d(F.conv2d(x, w1, b1, padding=1).tanh(), 2)  # batch-innermost intermediates
        return F.avg_pool2d(F.conv2d(h, w2, dilation=1), 2, stride=1)

    assert gradcheck(net, [x, w1, b1, w2])
    assert gradgradcheck(net, [x, w1, b1, w2])


def test_float32_stays_float32_through_a_conv_pool_step():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    out = F.avg_pool2d(F.max_pool2d(F.conv2d(x, w, b, padding=1), 2), 2)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_no_grad_keeps_no_columns_for_a_backward_that_will_not_come():
    x, w = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True), Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    with no_grad():
        out = F.conv2d(x, w)
    assert out._ctx is None and not out.requires_grad


# ---- bad input: one error naming the op and the shapes, before any work ----------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: F.conv2d(Tensor(np.ones((1, 4, 4))), Tensor(np.ones((2, 1, 3, 3)))),
         r"conv2d: the input must be a 4-d \(N, C, H, W\) batch, got shape \(1, 4, 4\); a single image needs a batch axis"),
        (lambda: F.conv2d(Tensor(np.ones((2, 784))), Tensor(np.ones((2, 1, 3, 3)))),
         r"got shape \(2, 784\); flat images need reshaping first"),
        (lambda: F.conv2d(Tensor(np.ones((1, 3, 4, 4))), Tensor(np.ones((2, 1, 3, 3)))),
         r"conv2d: the input of shape \(1, 3, 4, 4\) has 3 channel\(s\) but the weight of shape \(2, 1, 3, 3\) expects 1"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((2, 1, 3, 3))), Tensor(np.ones(3))),
         r"conv2d: the bias must have shape \(2,\), one per output channel, got \(3,\)"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((2, 1, 6, 3)))),
         r"conv2d: the 6x3 kernel is larger than the padded input 4x4 \(input of shape \(1, 1, 4, 4\), padding \(0, 0\)\)"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((2, 1, 3, 3))), dilation=2),
         r"the 3x3 kernel \(dilation \(2, 2\) makes it span \(5, 5\)\) is larger than the padded input 4x4"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 3, 3)))),
         r"conv2d: the weight must have shape \(out_channels, in_channels, KH, KW\), got \(1, 3, 3\)"),
        (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 3, 3))), 4),
         r"max_pool2d: the 4x4 kernel is larger than the padded input 3x3"),
        (lambda: F.avg_pool2d(Tensor(np.ones((3, 3))), 2), r"avg_pool2d: the input must be a 4-d"),
        (lambda: windows.col2im(Tensor(np.ones((1, 4, 5))), (1, 1, 3, 3), 2),
         r"col2im: columns of shape \(1, 4, 5\) do not fit the target \(1, 1, 3, 3\); expected \(1, 4, 4\)"),
    ],
)
def test_shape_errors_name_the_op_and_the_shapes(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), stride=0),
         "conv2d: stride must be positive, got 0"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), stride=(1, -2)),
         r"conv2d: stride must be positive, got \(1, -2\)"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), padding=-1),
         "conv2d: padding must be >= 0, got -1"),
        (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), dilation=1.5),
         "conv2d: dilation must be an int or a pair of ints, got 1.5"),
        (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), (2, 2, 2)),
         r"max_pool2d: kernel_size must be an int or a pair of ints, got \(2, 2, 2\)"),
        (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 2, padding=2),
         r"max_pool2d: padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
        (lambda: F.avg_pool2d(Tensor(np.ones((1, 1, 4, 4))), 0), "avg_pool2d: kernel_size must be positive, got 0"),
    ],
)
def test_bad_settings_are_one_config_error_naming_the_op(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
