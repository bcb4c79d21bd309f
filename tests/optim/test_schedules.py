"""Learning-rate schedules: their lr sequences, state round trips, registry and validation."""
import json
import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import CheckpointError, ConfigError
from tinygrad_mnist.optim import SCHEDULES, SGD, ConstantLR, CosineLR, ExponentialLR, StepLR


def _optimizer(lr=1.0, groups=1):
    return SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)], lr=lr)


def _rates(schedule, epochs):
    """The first group's lr in epochs 0, 1, ..., epochs - 1 (step() is called after each epoch)."""
    rates = []
    for _ in range(epochs):
        rates.append(schedule.optimizer.param_groups[0]["lr"])
        schedule.step()
    return rates


def test_constant_schedule():
    assert _rates(ConstantLR(_optimizer(0.3)), 4) == [0.3] * 4


def test_step_schedule():
    rates = _rates(StepLR(_optimizer(1.0), step_size=2, gamma=0.5), 7)
    assert rates == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_step_schedule_default_gamma():
    assert _rates(StepLR(_optimizer(1.0), step_size=1), 3) == pytest.approx([1.0, 0.1, 0.01])


def test_exponential_schedule():
    assert _rates(ExponentialLR(_optimizer(2.0), gamma=0.9), 4) == pytest.approx([2.0, 1.8, 1.62, 1.458])


def test_cosine_schedule_reaches_min_lr_after_total_epochs_and_stays():
    rates = _rates(CosineLR(_optimizer(1.0), total_epochs=4, min_lr=0.2), 7)
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)] + [0.2] * 3
    assert rates == pytest.approx(expected)
    assert rates[2] == pytest.approx(0.6)  # halfway: the mean of the two ends


def test_each_group_follows_its_own_base_rate():
    schedule = ExponentialLR(_optimizer(1.0, groups=2), gamma=0.5)
    schedule.step()
    assert schedule.get_last_lr() == [0.5, 1.0]
    assert schedule.last_epoch == 1


def test_the_optimizer_uses_the_scheduled_rate():
    p = nn.Parameter(np.array([1.0]))
    optimizer = SGD([p], lr=1.0)
    schedule = StepLR(optimizer, step_size=1, gamma=0.5)
    schedule.step()
    p.grad = Tensor(np.array([1.0]))
    optimizer.step()
    assert p.item() == pytest.approx(0.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda opt: StepLR(opt, step_size=3, gamma=0.3),
        lambda opt: ExponentialLR(opt, gamma=0.7),
        lambda opt: CosineLR(opt, total_epochs=5, min_lr=0.01),
        lambda opt: ConstantLR(opt),
    ],
    ids=["step", "exp", "cosine", "none"],
)
def test_state_round_trip_resumes_the_same_rates(make):
    schedule = make(_optimizer(0.5))
    for _ in range(4):
        schedule.step()
    state = json.loads(json.dumps(schedule.state_dict()))  # JSON-able
    expected = _rates(schedule, 4)

    # Resume as a training script would: the optimizer and schedule are rebuilt from the config
    # (starting at the base lr), then both states are loaded.
    resumed = make(_optimizer(0.5))
    resumed.load_state_dict(state)
    assert resumed.last_epoch == 4
    assert _rates(resumed, 4) == expected


def test_load_state_dict_rejects_mismatches():
    schedule = StepLR(_optimizer(), step_size=1)
    with pytest.raises(CheckpointError, match="last_epoch"):
        schedule.load_state_dict({"base_lrs": [1.0]})
    with pytest.raises(CheckpointError, match="2 base rate"):
        schedule.load_state_dict({"last_epoch": 1, "base_lrs": [1.0, 2.0]})


def test_registry():
    assert SCHEDULES == {"none": ConstantLR, "step": StepLR, "exp": ExponentialLR, "cosine": CosineLR}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda opt: StepLR(opt, step_size=0), "step_size"),
        (lambda opt: StepLR(opt, step_size=2, gamma=0.0), "gamma"),
        (lambda opt: ExponentialLR(opt, gamma=-0.5), "gamma"),
        (lambda opt: CosineLR(opt, total_epochs=0), "total_epochs"),
        (lambda opt: CosineLR(opt, total_epochs=3, min_lr=-1.0), "min_lr"),
        (lambda opt: CosineLR(opt, total_epochs=3, min_lr=2.0), "above the starting rate"),
    ],
)
def test_invalid_settings_are_rejected(make, message):
    with pytest.raises(ConfigError, match=message):
        make(_optimizer(1.0))


def test_a_schedule_needs_an_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR([nn.Parameter(np.zeros(1))], step_size=1)
