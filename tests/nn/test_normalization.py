"""BatchNorm1d/2d and LayerNorm: statistics, running averages as buffers, train/eval, errors."""
import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.autograd import ShapeError
from tinygrad_mnist.errors import CheckpointError, ConfigError


def _batch(shape, seed=0):
    return np.random.default_rng(seed).normal(loc=3.0, scale=2.0, size=shape).astype(np.float32)


def test_batchnorm2d_in_training_normalizes_each_channel_over_batch_and_space():
    x = _batch((8, 3, 5, 5))
    out = nn.BatchNorm2d(3)(x).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)


def test_running_statistics_follow_pytorchs_update_with_the_unbiased_variance():
    bn = nn.BatchNorm1d(4, momentum=0.25)
    batches = [_batch((6, 4), seed) for seed in range(3)]
    mean, var = np.zeros(4), np.ones(4)
    for x in batches:
        bn(x)
        mean = 0.75 * mean + 0.25 * x.mean(axis=0, dtype=np.float64)
        var = 0.75 * var + 0.25 * x.var(axis=0, ddof=1, dtype=np.float64)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32


def test_eval_mode_normalizes_with_the_running_statistics_and_leaves_them_alone():
    bn = nn.BatchNorm2d(2)
    bn.running_mean.data[...] = [1.0, -1.0]
    bn.running_var.data[...] = [4.0, 0.25]
    bn.weight.data[...] = [2.0, 1.0]
    bn.bias.data[...] = [0.5, 0.0]
    x = _batch((3, 2, 2, 2))
    out = bn.eval()(x).numpy()
    expected = (x - np.array([1.0, -1.0]).reshape(1, 2, 1, 1)) / np.sqrt(np.array([4.0, 0.25]).reshape(1, 2, 1, 1) + 1e-5)
    expected = expected * np.array([2.0, 1.0]).reshape(1, 2, 1, 1) + np.array([0.5, 0.0]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, -1.0])
    assert bn.eval()(x[:1]).shape == (1, 2, 2, 2)  # one sample is fine in evaluation mode


def test_model_train_and_eval_switch_every_batch_norm_inside():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, seed=1))
    x = _batch((5, 3))
    model.eval()
    first = model(x).numpy()
    assert not model[1].training and np.array_equal(model[1].running_mean.numpy(), np.zeros(4, np.float32))
    model.train()
    model(x)
    assert model[1].training and not np.array_equal(model[1].running_mean.numpy(), np.zeros(4, np.float32))
    assert not np.array_equal(model.eval()(x).numpy(), first)  # the running statistics moved


def test_buffers_are_saved_and_loaded_but_never_trained():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4))
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [name for name, _ in model.named_buffers()] == ["1.running_mean", "1.running_var"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"]
    assert all(not b.requires_grad for b in model.buffers())
    model(_batch((6, 3)))
    state = model.state_dict()
    fresh = nn.Sequential(nn.Linear(3, 4, seed=5), nn.BatchNorm1d(4))
    fresh.load_state_dict(state)
    for name, buffer in fresh.named_buffers():
        np.testing.assert_array_equal(buffer.numpy(), state[name])
    state["1.running_var"] = state["1.running_var"][:2]
    with pytest.raises(CheckpointError, match=r"shape mismatch for 1.running_var: the model has \(4,\), the state has \(2,\)"):
        fresh.load_state_dict(state)
    del state["1.running_var"]
    with pytest.raises(CheckpointError, match="missing keys: 1.running_var"):
        fresh.load_state_dict(state)


def test_batch_norm_without_affine_has_only_buffers():
    bn = nn.BatchNorm2d(3, affine=False)
    assert list(bn.parameters()) == [] and len(list(bn.buffers())) == 2
    assert repr(bn) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=False)"


@pytest.mark.parametrize(
    "layer, x, message",
    [
        (nn.BatchNorm2d(3), np.ones((2, 4, 5, 5), np.float32),
         r"BatchNorm2d\(3, eps=1e-05, momentum=0.1\) needs an input of shape \(N, C, H, W\) with C = 3, got \(2, 4, 5, 5\)"),
        (nn.BatchNorm2d(3), np.ones((2, 3), np.float32), r"needs an input of shape \(N, C, H, W\) with C = 3, got \(2, 3\)"),
        (nn.BatchNorm1d(3), np.ones((2, 3, 4, 4), np.float32),
         r"BatchNorm1d\(3, .*\) needs an input of shape \(N, C\) or \(N, C, L\) with C = 3, got \(2, 3, 4, 4\)"),
        (nn.BatchNorm1d(3), np.ones((1, 3), np.float32),
         r"batch_norm: training needs more than one value per channel to estimate a variance, got an input of shape \(1, 3\)"),
        (nn.LayerNorm((2, 3)), np.ones((4, 3, 2), np.float32),
         r"LayerNorm\(\(2, 3\), eps=1e-05\) needs an input of shape \(\.\.\., 2, 3\), got \(4, 3, 2\)"),
    ],
)
def test_normalization_input_errors_name_the_layer_and_the_shapes(layer, x, message):
    with pytest.raises(ShapeError, match=message):
        layer(x)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.BatchNorm2d(0), "BatchNorm2d: num_features must be >= 1, got 0"),
        (lambda: nn.BatchNorm2d(3, momentum=0.0), "BatchNorm2d: momentum must be > 0 and <= 1, got 0"),
        (lambda: nn.BatchNorm1d(3, eps=-1e-5), "BatchNorm1d: eps must be > 0, got -1e-05"),
        (lambda: nn.LayerNorm(0), "LayerNorm: each normalized size must be >= 1, got 0"),
    ],
)
def test_normalization_bad_settings_are_config_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_batch_norm_rejects_another_dtype_with_a_hint():
    with pytest.raises(TypeError, match=r"BatchNorm1d\(2, .*\) holds float32 parameters but got a float64 input"):
        nn.BatchNorm1d(2)(np.ones((3, 2)))


def test_layer_norm_normalizes_the_trailing_axes_the_same_in_both_modes():
    x = _batch((4, 2, 3))
    layer = nn.LayerNorm((2, 3))
    out = layer(x).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(1, 2)), 1.0, rtol=1e-3)
    np.testing.assert_array_equal(layer.eval()(x).numpy(), out)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"] and layer.weight.shape == (2, 3)


def test_normalization_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3, 4, 2))
    ours = nn.BatchNorm2d(3, momentum=0.3, dtype=np.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.3, dtype=torch.float64)
    ours.weight.data[...] = theirs.weight.data.numpy()[...] = rng.standard_normal(3)
    cotangent = rng.standard_normal(x.shape)
    xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(xt), theirs(tx)
    out.backward(cotangent)
    tout.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), atol=1e-12)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    layer, their_layer = nn.LayerNorm((4, 2), dtype=np.float64), torch.nn.LayerNorm((4, 2), dtype=torch.float64)
    np.testing.assert_allclose(layer(x).numpy(), their_layer(torch.tensor(x)).detach().numpy(), atol=1e-12)
