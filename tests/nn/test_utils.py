"""nn.utils.clip_grad_norm_."""
import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.nn.utils import clip_grad_norm_


def _parameters(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g), dtype=np.asarray(g).dtype))
        p.grad = Tensor(np.array(g))
        params.append(p)
    return params


def test_the_joint_norm_is_scaled_down_to_max_norm():
    params = _parameters(np.array([3.0, 0.0], np.float32), np.array([[0.0], [4.0]], np.float32))
    total = clip_grad_norm_(params, max_norm=2.5)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [1.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.numpy(), [[0.0], [2.0]], rtol=1e-6)
    assert params[0].grad.dtype == np.float32


def test_gradients_within_the_limit_are_untouched_and_missing_ones_skipped():
    params = _parameters(np.array([0.3, 0.4]))
    params.append(nn.Parameter([1.0]))  # no gradient
    assert clip_grad_norm_(params, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.numpy(), [0.3, 0.4])
    assert clip_grad_norm_([nn.Parameter([1.0])], 1.0).item() == 0.0


def test_other_norms_and_a_single_tensor():
    (p,) = _parameters(np.array([-3.0, 1.0, 2.0]))
    assert clip_grad_norm_(p, 10.0, norm_type=math.inf).item() == 3.0
    assert clip_grad_norm_(p, 10.0, norm_type=1).item() == pytest.approx(6.0)
    clip_grad_norm_(p, 1.5, norm_type=math.inf)
    np.testing.assert_allclose(p.grad.numpy(), [-1.5, 0.5, 1.0], rtol=1e-6)


def test_a_nan_norm_is_returned_and_nothing_is_scaled():
    (p,) = _parameters(np.array([np.nan, 1.0]))
    assert math.isnan(clip_grad_norm_([p], 1.0).item())
    assert p.grad.numpy()[1] == 1.0


@pytest.mark.parametrize("max_norm, norm_type, message", [
    (0.0, 2.0, "max_norm must be a number > 0, got 0.0"),
    ("1", 2.0, "max_norm must be a number > 0, got '1'"),
    (1.0, -2, "norm_type must be a number > 0 or math.inf, got -2"),
])
def test_bad_arguments(max_norm, norm_type, message):
    with pytest.raises(ConfigError, match=message):
        clip_grad_norm_(_parameters(np.ones(2)), max_norm, norm_type)


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = _parameters(*grads)
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    for norm_type in (2.0, 1.0, math.inf):
        assert clip_grad_norm_(ours, 0.7, norm_type).item() == pytest.approx(
            torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type).item())
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
