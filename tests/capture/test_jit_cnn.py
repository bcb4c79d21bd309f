"""jit vs eager for the CNN library: LeNet-5 (conv2d through im2col, max pooling), average pooling,
BatchNorm (its running statistics are buffers updated in place; train and eval differ) and LayerNorm,
each trained by every optimizer (SGD in both momentum forms, Adam, AdamW, RMSprop, gradient clipping),
in float32 and float64, through a partial batch. Every call must give the same bits as eagerly: loss,
parameters, gradients, buffers and the optimizer's state; the calls after the recordings are replays.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from equivalence import run_both, same_bits

from tinygrad_mnist import Tensor, jit, nn, optim
from tinygrad_mnist.nn.utils import clip_grad_norm_

OPTIMIZERS = {
    "sgd-pytorch": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd-lab-nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, momentum_form="lab",
                                             weight_decay=1e-3),
    "sgd-dampening": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
    "adam": lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-4),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-3),
    "rmsprop-momentum": lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.9, weight_decay=1e-4),
}
DTYPES = [np.float32, np.float64]


def _images(count, rows, dtype, side=28, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((rows(i), side * side)).astype(dtype), rng.integers(0, 10, rows(i)))
            for i in range(count)]


def _trainer(build_model, make_optimizer, dtype, clip=None):
    def make():
        model = build_model(dtype)
        optimizer = make_optimizer(model.parameters())
        loss_fn = nn.SoftmaxCrossEntropyLoss()

        def step(x, y):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            if clip is not None:
                clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            return loss

        tensors = list(model.parameters()) + list(model.buffers())
        return step, tensors, optimizer, model

    return make


def _calls(data):
    return [lambda x=x, y=y: (Tensor(x.copy()), y.copy()) for x, y in data]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_lenet5_steps_are_bit_identical_with_every_optimizer(name, dtype):
    data = _images(5, lambda i: 3 if i == 4 else 6, dtype)  # the last batch is partial: recorded anew
    make = _trainer(lambda d: nn.LeNet5(seed=0, dtype=d), OPTIMIZERS[name], dtype)
    step, _ = run_both(make, _calls(data), expect_replays=2)
    assert step.stats["eager"] == 0, step.stats


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_lenet5_with_batch_norm_and_clipping_replays_its_running_statistics(dtype):
    data = _images(5, lambda i: 4, dtype, seed=1)
    make = _trainer(lambda d: nn.LeNet5(batch_norm=True, seed=0, dtype=d), OPTIMIZERS["adam"], dtype, clip=1.0)
    step, _ = run_both(make, _calls(data), expect_replays=3)
    assert step.stats["eager"] == 0, step.stats


class _Images(nn.Module):
    """Flat 64-pixel rows as (N, 1, 8, 8) images for a small CNN."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x.reshape(-1, 1, 8, 8))


def _small(dtype, pool, stride=None, padding=0):
    body = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, dilation=1, seed=0, dtype=dtype), nn.BatchNorm2d(3, dtype=dtype), nn.Tanh(),
        pool(3, stride=stride, padding=padding), nn.Flatten())
    width = 3 * (((8 + 2 * padding - 3) // (stride or 3)) + 1) ** 2
    return _Images(nn.Sequential(body, nn.Linear(width, 10, seed=1, dtype=dtype)))


@pytest.mark.parametrize("pool, stride, padding", [
    (nn.AvgPool2d, None, 0), (nn.AvgPool2d, 2, 1), (nn.MaxPool2d, 1, 1), (nn.MaxPool2d, 2, 0)],
    ids=["avg-tiling", "avg-overlapping-padded", "max-stride-1", "max-overlapping"])
def test_pooling_with_and_without_overlapping_windows_is_replayed_bit_for_bit(pool, stride, padding):
    data = _images(5, lambda i: 4, np.float32, side=8, seed=2)
    make = _trainer(lambda d: _small(d, pool, stride, padding), OPTIMIZERS["rmsprop-momentum"], np.float32)
    step, _ = run_both(make, _calls(data), expect_replays=3)
    assert step.stats["eager"] == 0, step.stats


def test_batch_norm_switched_to_eval_records_the_eval_step_and_uses_the_running_statistics():
    data = _images(8, lambda i: 4, np.float32, side=8, seed=3)

    def before(number, setup):
        setup[3].train(number < 4)  # four training steps, then evaluation-mode steps

    make = _trainer(lambda d: _small(d, nn.MaxPool2d), OPTIMIZERS["sgd-pytorch"], np.float32)
    step, _ = run_both(make, _calls(data), before=before, expect_replays=4)
    assert len(step.programs()) == 1 and step.stats["recorded"] == 4, step.stats  # train twice, eval twice


def test_layer_norm_and_an_mlp_on_adamw_are_replayed():
    data = _images(5, lambda i: 5, np.float64, side=4, seed=4)

    def build(dtype):
        return nn.Sequential(nn.Linear(16, 12, seed=0, dtype=dtype), nn.LayerNorm(12, dtype=dtype), nn.GeLU(),
                             nn.Linear(12, 10, seed=1, dtype=dtype))

    step, _ = run_both(_trainer(build, OPTIMIZERS["adamw"], np.float64), _calls(data), expect_replays=3)
    assert step.stats["eager"] == 0, step.stats


def test_the_buffers_a_replay_updates_are_the_modules_own():
    """A replayed BatchNorm step moves running_mean in the module's own array (not a copy)."""
    data = _images(4, lambda i: 4, np.float32, side=8, seed=5)
    make = _trainer(lambda d: _small(d, nn.AvgPool2d), OPTIMIZERS["adam"], np.float32)
    step_fn, _, _, model = make()
    step = jit(step_fn)
    norm = model.body[0][1]
    array = norm.running_mean.data
    seen = []
    for x, y in data:
        step(Tensor(x), y)
        seen.append(norm.running_mean.data.copy())
    assert step.stats["replayed"] == 2 and norm.running_mean.data is array
    assert not same_bits(seen[-1], seen[-2])  # the replay moved the statistics


def test_a_lenet5_replay_allocates_only_what_the_caller_keeps():
    """Buffers made by zeros_like/full_like and im2col's copying reshape are kept from call to call:
    the replay fills them (``b.fill``, ``np.copyto``) instead of allocating anew. (What the caller
    keeps, the gradients left in .grad, is made anew by each call, as eagerly.)"""
    data = _images(3, lambda i: 4, np.float32)
    step_fn, _, _, _ = _trainer(lambda d: nn.LeNet5(seed=0, dtype=d), OPTIMIZERS["sgd-pytorch"], np.float32)()
    step = jit(step_fn)
    for x, y in data:
        step(Tensor(x), y)
    source = step.programs()[0].source
    made = [line.split("#")[0].strip() for line in source.splitlines() if line.lstrip().startswith("v")]
    allocating = [line for line in made if "_like(" in line or re.search(r"= (?!x\d)\w+\.reshape\(", line)]
    assert not allocating, allocating
    assert "np.copyto(shaped" in source and ".fill(0)" in source and ".fill(-inf)" not in source
