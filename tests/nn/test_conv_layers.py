"""Conv2d, MaxPool2d, AvgPool2d and LeNet5 as layers: initialisation, repr, dtypes, errors, training."""
import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn, optim
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.errors import ConfigError


# ---- Conv2d -----------------------------------------------------------------------------------------
def test_conv2d_default_init_is_pytorchs_uniform_with_bound_one_over_sqrt_fan_in():
    conv = nn.Conv2d(16, 32, 5, seed=0)
    bound = 1 / math.sqrt(16 * 5 * 5)
    for values in (conv.weight.numpy(), conv.bias.numpy()):
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    w = conv.weight.numpy()
    assert w.shape == (32, 16, 5, 5) and w.dtype == np.float32
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)  # the std of U(-b, b)


@pytest.mark.parametrize(
    "init, expected_std",
    # fan_in = 8 * 3 * 3 = 72, fan_out = 64 * 3 * 3 = 576
    [("normal", 0.01), ("xavier", math.sqrt(6 / (72 + 576)) / math.sqrt(3)), ("he", math.sqrt(2 / 72))],
)
def test_conv2d_takes_the_projects_inits_with_fans_of_a_convolution_and_zero_bias(init, expected_std):
    conv = nn.Conv2d(8, 64, 3, init=init, seed=0)
    assert conv.weight.numpy().std() == pytest.approx(expected_std, rel=0.05)
    np.testing.assert_array_equal(conv.bias.numpy(), np.zeros(64, dtype=np.float32))


def test_conv2d_is_deterministic_given_a_seed_and_keeps_float64():
    a, b = nn.Conv2d(2, 3, (3, 2), seed=7), nn.Conv2d(2, 3, (3, 2), seed=7)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    c = nn.Conv2d(2, 3, (3, 2), seed=7, dtype=np.float64)
    assert c.weight.dtype == c.bias.dtype == np.float64
    out = c(np.ones((1, 2, 4, 4)))
    assert out.dtype == np.float64 and out.shape == (1, 3, 2, 3)


def test_conv2d_repr_and_no_bias():
    assert repr(nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), bias=False)"
    )
    conv = nn.Conv2d(1, 2, 3, bias=False)
    assert conv.bias is None and [name for name, _ in conv.named_parameters()] == ["weight"]


def test_conv2d_matches_the_functional_form_and_trains():
    conv = nn.Conv2d(1, 2, 3, padding=1, seed=0)
    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 5, 5)).astype(np.float32))
    expected = nn.functional.conv2d(x, conv.weight, conv.bias, padding=1)
    np.testing.assert_array_equal(conv(x).numpy(), expected.numpy())
    opt = optim.SGD(conv.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        loss = ((conv(x) - 1.0) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    "make, x, error, message",
    [
        (lambda: nn.Conv2d(3, 8, 3), np.ones((2, 1, 8, 8), np.float32), ShapeError,
         r"Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): the input of shape \(2, 1, 8, 8\) has 1 channel\(s\) "
         r"but the weight of shape \(8, 3, 3, 3\) expects 3"),
        (lambda: nn.Conv2d(1, 8, 3), np.ones((8, 8), np.float32), ShapeError,
         r"Conv2d\(1, 8, .*\): the input must be a 4-d \(N, C, H, W\) batch, got shape \(8, 8\)"),
        (lambda: nn.Conv2d(1, 8, 5), np.ones((1, 1, 3, 3), np.float32), ShapeError,
         r"Conv2d\(1, 8, .*\): the 5x5 kernel is larger than the padded input 3x3"),
        (lambda: nn.Conv2d(1, 8, 3), np.ones((1, 1, 8, 8)), TypeError,
         r"Conv2d\(1, 8, .*\) holds float32 parameters but got a float64 input"),
    ],
)
def test_conv2d_input_errors_name_the_layer_and_the_shapes(make, x, error, message):
    with pytest.raises(error, match=message):
        make()(x)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"in_channels": 0, "out_channels": 2, "kernel_size": 3}, "Conv2d: in_channels must be >= 1, got 0"),
        ({"in_channels": 1, "out_channels": 2, "kernel_size": 3, "stride": 0}, "Conv2d: stride must be positive, got 0"),
        ({"in_channels": 1, "out_channels": 2, "kernel_size": (3, 0)}, r"Conv2d: kernel_size must be positive, got \(3, 0\)"),
        ({"in_channels": 1, "out_channels": 2, "kernel_size": 3, "init": "glorot"}, r"Conv2d: unknown init 'glorot' \(choose from"),
        ({"in_channels": 1, "out_channels": 2, "kernel_size": 3, "dtype": np.int32}, "Conv2d: dtype must be a float type"),
    ],
)
def test_conv2d_bad_settings_are_config_errors(arguments, message):
    with pytest.raises(ConfigError, match=message):
        nn.Conv2d(**arguments)


# ---- pooling layers ---------------------------------------------------------------------------------
def test_pooling_layers_default_the_stride_to_the_kernel_and_show_their_settings():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(nn.AvgPool2d(3, stride=1, padding=1)) == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    x = np.arange(36.0, dtype=np.float32).reshape(1, 1, 6, 6)
    assert nn.MaxPool2d(2)(x).shape == (1, 1, 3, 3) and nn.AvgPool2d(3, 1, 1)(x).shape == (1, 1, 6, 6)


def test_pooling_layers_have_no_parameters_and_name_themselves_in_errors():
    assert list(nn.MaxPool2d(2).parameters()) == []
    with pytest.raises(ShapeError, match=r"MaxPool2d\(kernel_size=\(4, 4\), stride=\(4, 4\)\): the 4x4 kernel is larger"):
        nn.MaxPool2d(4)(np.ones((1, 1, 3, 3), np.float32))
    with pytest.raises(ConfigError, match="MaxPool2d: stride must be positive, got -1"):
        nn.MaxPool2d(2, stride=-1)
    with pytest.raises(ConfigError, match=r"AvgPool2d: padding \(2, 2\) must be at most half the kernel size \(3, 3\)"):
        nn.AvgPool2d(3, padding=2)


# ---- LeNet5 -----------------------------------------------------------------------------------------
def test_lenet5_has_the_layers_and_parameter_count_of_lenet5():
    model = nn.LeNet5(seed=0)
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (400, 120), (120,), (120, 84), (84,), (84, 10), (10,)]
    assert sum(p.size for p in model.parameters()) == 61706  # as torch's LeNet-5 with the same layers


def test_lenet5_takes_images_or_flat_rows_and_says_what_it_needs_otherwise():
    model = nn.LeNet5(activation="tanh", seed=0)
    images = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(model(images).numpy(), model(images.reshape(3, 784)).numpy())
    with pytest.raises(ShapeError, match=r"LeNet5 needs \(N, 1, 28, 28\) images or \(N, 784\) flat ones, got shape \(3, 1, 32, 32\)"):
        model(np.zeros((3, 1, 32, 32), np.float32))


def test_lenet5_with_batch_norm_has_running_statistics_in_its_state():
    model = nn.LeNet5(batch_norm=True, seed=0)
    names = [name for name, _ in model.named_buffers()]
    assert names == ["features.1.running_mean", "features.1.running_var", "features.5.running_mean",
                     "features.5.running_var", "classifier.1.running_mean", "classifier.1.running_var",
                     "classifier.4.running_mean", "classifier.4.running_var"]
    assert set(names) <= set(model.state_dict()) and not set(names) & {n for n, _ in model.named_parameters()}


def test_lenet5_learns_a_small_problem_in_float32():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64)
    images = rng.random((64, 1, 28, 28), dtype=np.float32) * 0.1
    images[labels == 1, :, :14] += 0.8  # class 1: a bright top half
    model = nn.LeNet5(seed=0)
    loss_fn, opt = nn.SoftmaxCrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(30):
        loss = loss_fn(model(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())
    model.eval()
    assert (model(images).argmax(axis=1).numpy() == labels).mean() == 1.0
