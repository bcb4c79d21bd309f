"""Teaching-mode warnings: on by default, one line each, pointing at the user's line, one switch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_mnist import Tensor, TeachingWarning, nn, optim, teaching_warnings
from tinygrad_mnist.nn import functional as F


def training_loop(steps: int, zero_grad: bool, accumulate: int = 1):
    model = nn.Linear(3, 2, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = Tensor(np.ones((4, 3), np.float32))
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        for _ in range(accumulate):
            loss = (model(x) ** 2).sum()
            loss.backward()  # the line the warning points at
        opt.step()


def test_a_loop_without_zero_grad_is_told_once_per_place_in_one_line():
    with pytest.warns(TeachingWarning, match=r"call optimizer.zero_grad\(\) before each backward\(\)") as record:
        training_loop(3, zero_grad=False)
    assert len(record) >= 1 and all("\n" not in str(w.message) for w in record)
    assert {w.filename for w in record} == {__file__}


@pytest.mark.parametrize("accumulate", [1, 3])
def test_a_loop_with_zero_grad_is_silent_even_when_it_accumulates_on_purpose(accumulate):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TeachingWarning)
        training_loop(3, zero_grad=True, accumulate=accumulate)


def test_accumulating_outside_an_optimizer_is_silent():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TeachingWarning)
        (x * x).sum().backward()
        (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_one_switch_turns_every_teaching_warning_off():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TeachingWarning)
        with teaching_warnings(False):
            training_loop(3, zero_grad=False)
            F.cross_entropy(F.softmax(x), np.array([0, 1]))
    with pytest.warns(TeachingWarning):  # on again after the block
        F.cross_entropy(F.softmax(x), np.array([0, 1]))


@pytest.mark.parametrize("loss", [
    lambda p, y: F.cross_entropy(p, y),
    lambda p, y: nn.SoftmaxCrossEntropyLoss(label_smoothing=0.1)(p, y),
    lambda p, y: F.kl_div(p, y),
    lambda p, y: F.focal_loss(p, y),
], ids=["cross_entropy", "smoothed", "kl_div", "focal"])
def test_a_softmax_fed_into_a_loss_that_applies_its_own_is_pointed_out(loss):
    logits = Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    labels = np.array([0, 1, 2, 0])
    with pytest.warns(TeachingWarning, match="already a softmax: pass the logits") as record:
        loss(nn.Softmax()(logits), labels)
    assert record[0].filename == __file__
    hand_written = logits.exp() / logits.exp().sum(axis=1, keepdims=True)
    with pytest.warns(TeachingWarning):
        loss(hand_written, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TeachingWarning)
        loss(logits, labels)  # logits: silent
        loss(F.log_softmax(logits), labels)  # log-softmax twice is harmless (it is idempotent)
        F.euclidean_loss(nn.Softmax()(logits), labels)  # this loss applies no softmax
