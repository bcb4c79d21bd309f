"""Non-finite losses and gradients: a clear stop with the last good checkpoint intact, or skipping."""
import json
import re

import numpy as np
import pytest

from tinygrad_mnist import nn
from tinygrad_mnist.data import BatchIterator
from tinygrad_mnist.errors import NonFiniteError, RunDirectoryError
from tinygrad_mnist.train import TrainConfig, build_model, fit, load_checkpoint, read_checkpoint, resume, save_checkpoint
from tinygrad_mnist.train.trainer import Trainer
from train_helpers import model_arrays, quiet, synthetic

# Euclidean loss with a learning rate of 50 overflows float32 within the first epoch.
EXPLODING = TrainConfig(hidden=[32], epochs=3, batch_size=20, lr=50.0, loss="euclidean", progress=False, disp_freq=0)


def test_an_exploding_learning_rate_is_caught_and_explained(tmp_path, data):
    with pytest.raises(NonFiniteError) as info:
        fit(EXPLODING, out_dir=tmp_path / "run", data=data, log=quiet)
    message = str(info.value)
    assert message.startswith("loss became inf at epoch 1 batch ") or message.startswith("loss became NaN at epoch 1 batch ")
    assert "the learning rate 50.0 is probably too high: try 0.1" in message
    assert "checkpoint" in message and "\n" not in message
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stopped"] == "nonfinite" and summary["message"] == message
    assert info.value.summary["stopped"] == "nonfinite"


def test_the_last_good_checkpoint_is_intact_and_finite(tmp_path, data, monkeypatch):
    config = EXPLODING.replace(lr=0.01, loss="ce")
    # Train one good epoch, then blow the weights up by hand: the checkpoint of epoch 1 must survive.
    original = Trainer._train_epoch

    def explode_in_epoch_two(self, guard):
        if self.state.epoch == 1:
            for p in self.params:
                p.data[...] = np.float32(3e38)
        return original(self, guard)

    monkeypatch.setattr(Trainer, "_train_epoch", explode_in_epoch_two)
    with pytest.raises(NonFiniteError, match="at epoch 2 batch 1;") as info:
        fit(config, out_dir=tmp_path / "run", data=data, log=quiet)
    assert "(after epoch 1)" in str(info.value)
    model = build_model(config)
    meta = load_checkpoint(tmp_path / "run", model)
    assert meta["training"]["state"]["epoch"] == 1
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    with pytest.raises(RunDirectoryError, match="resuming would repeat"):
        resume(tmp_path / "run", data=data, log=quiet)


def test_an_explosion_in_the_first_epoch_keeps_the_starting_checkpoint(tmp_path, data):
    with pytest.raises(NonFiniteError):
        fit(EXPLODING, out_dir=tmp_path / "run", data=data, log=quiet)
    model = build_model(EXPLODING)
    load_checkpoint(tmp_path / "run" / "checkpoint.npz", model)
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert model.state_dict().keys() == build_model(EXPLODING).state_dict().keys()
    start = build_model(EXPLODING)
    assert all(model.state_dict()[k].tobytes() == v.tobytes() for k, v in start.state_dict().items())


def test_a_nonfinite_loss_on_the_first_batch_blames_the_inputs(tmp_path, data, small_config):
    import dataclasses

    poisoned = dataclasses.replace(data, x_train=data.x_train.copy())
    poisoned.x_train[:, 0] = np.nan
    with pytest.raises(NonFiniteError, match="at epoch 1 batch 1; it happened on the very first batch.*check the inputs"):
        fit(small_config, out_dir=tmp_path / "run", data=poisoned, log=quiet)


def test_skip_mode_drops_bad_batches_and_counts_them(tmp_path, data, small_config):
    import dataclasses

    # NaN inputs in 3 of 600 examples: every batch holding one gets a NaN loss and is skipped.
    poisoned = dataclasses.replace(data, x_train=data.x_train.copy())
    poisoned.x_train[[5, 250, 590], 0] = np.nan
    lines = []
    summary = fit(small_config.replace(on_nonfinite="skip"), out_dir=tmp_path / "run", data=poisoned, log=lines.append)
    assert summary["stopped"] == "completed"
    order = BatchIterator(poisoned.x_train, poisoned.y_train, 20, seed=0)
    expected = sum(
        len({int(np.flatnonzero(order.order(epoch) == i)[0]) // 20 for i in (5, 250, 590)}) for epoch in range(3)
    )
    assert summary["skipped_batches"] == expected
    assert any(line.startswith("skipping batch") and "loss became NaN" in line for line in lines)
    assert np.isfinite(summary["train_loss"]) and summary["test_accuracy"] > 0.5
    weights = model_arrays(tmp_path / "run" / "checkpoint.npz")
    assert all(np.isfinite(w).all() for w in weights.values())


@pytest.mark.parametrize("jit", [False, True])
def test_skip_mode_also_catches_nonfinite_gradients(tmp_path, data, small_config, monkeypatch, jit):
    # A loss that is finite but whose backward produces inf in one batch of the run: the rule is a
    # function of the values (an example with huge pixels), so a jitted replay checks it too.
    import dataclasses

    from tinygrad_mnist import Function

    class InfGradient(Function):
        def forward(self, x):
            return x

        def backward(self, grad, x, out):
            huge = np.abs(x).max(axis=1, keepdims=True) > 1e3
            return (np.where(huge, grad * np.float32(np.inf), grad),)

    original = nn.SoftmaxCrossEntropyLoss.forward

    def forward(self, logits, labels):
        return original(self, InfGradient.apply(logits), labels)

    monkeypatch.setattr(nn.SoftmaxCrossEntropyLoss, "forward", forward)
    poisoned = dataclasses.replace(data, x_train=data.x_train.copy())
    fourth_batch = BatchIterator(poisoned.x_train, poisoned.y_train, 20, seed=0).order(0)[3 * 20]
    poisoned.x_train[fourth_batch] = np.float32(1e6)  # logits near 1e4: a finite loss, an infinite gradient
    config = small_config.replace(epochs=1, jit=jit)
    lines = []
    summary = fit(config.replace(on_nonfinite="skip"), out_dir=tmp_path / "run", data=poisoned, log=lines.append)
    assert summary["skipped_batches"] == 1
    assert any("skipping batch 4 of epoch 1: the gradient of layers." in line and "(the loss was finite)" in line for line in lines)

    with pytest.raises(NonFiniteError, match=r"the gradient of layers\.\S+ became (inf|-inf|NaN) \(the loss was finite\) at epoch 1 batch 4"):
        fit(config, out_dir=tmp_path / "stop", data=poisoned, log=quiet)


def test_detect_anomaly_names_the_op(tmp_path, data):
    with pytest.raises(NonFiniteError) as info:
        fit(EXPLODING.replace(detect_anomaly=True), out_dir=tmp_path / "run", data=data, log=quiet)
    message = str(info.value)
    assert re.match(r"a NaN/Inf appeared at epoch 1 batch \d+ \(of 30\): \w+ produced (inf|-inf|NaN) in (forward|the gradient)", message) or re.match(
        r"a NaN/Inf appeared at epoch 1 batch \d+ \(of 30\): backward of \w+ produced", message
    ), message
    assert "created at" in message and "\n" not in message
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stopped"] == "nonfinite"


# ---- an update that overflows the weights while every loss and gradient is finite ---------------

# One batch per epoch, and a step so large that the first update overflows float32 weights: the
# loss of that batch was finite, so only the weights themselves show it (the attack's settings:
# --batch-size 100 --train-size 100 --lr 1e38 --init-std 10).
OVERFLOWING = TrainConfig(hidden=[32], epochs=3, batch_size=100, lr=1e38, init_std=10.0, progress=False, disp_freq=0)


def _all_finite(checkpoint_path):
    return all(np.isfinite(a).all() for k, a in read_checkpoint(checkpoint_path).arrays.items() if a.dtype.kind == "f")


def test_an_overflowing_update_never_reaches_a_checkpoint(tmp_path):
    data = synthetic(n_train=100, n_test=50)
    with pytest.raises(NonFiniteError) as info:
        fit(OVERFLOWING, out_dir=tmp_path / "run", data=data, log=quiet)
    message = str(info.value)
    assert re.match(r"model/layers\.\d\.(weight|bias) became (inf|-inf|NaN) by the end of epoch 1: an update overflowed", message), message
    # The message names the checkpoint actually kept: the starting weights, not "epoch 1".
    assert message.endswith(f"The last good checkpoint is {tmp_path / 'run' / 'checkpoint.npz'} (the starting weights)")
    meta = load_checkpoint(tmp_path / "run")
    assert meta["training"]["state"]["epoch"] == 0 and _all_finite(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["checkpoint_epoch"] == 0
    with pytest.raises(RunDirectoryError, match="resuming would repeat"):
        resume(tmp_path / "run", data=data, log=quiet)


def test_weights_that_overflow_late_keep_the_last_finite_checkpoint(tmp_path, data, small_config, monkeypatch):
    # Two good epochs, then an update that overflows in the last batch of epoch 3: the epoch-end
    # checkpoint of epoch 3 is refused and the one of epoch 2 is named.
    original = Trainer._end_epoch

    def overflow_before_the_end_of_epoch_three(self):
        if self.state.epoch == 2:
            self.params[0].data[0, 0] = np.float32(np.inf)
        return original(self)

    monkeypatch.setattr(Trainer, "_end_epoch", overflow_before_the_end_of_epoch_three)
    with pytest.raises(NonFiniteError, match=r"model/layers\.0\.weight became inf by the end of epoch 3") as info:
        fit(small_config.replace(epochs=4), out_dir=tmp_path / "run", data=data, log=quiet)
    assert str(info.value).endswith("(after epoch 2)")
    assert load_checkpoint(tmp_path / "run")["training"]["state"]["epoch"] == 2 and _all_finite(tmp_path / "run")


def test_save_checkpoint_refuses_nonfinite_state(tmp_path):
    model = build_model(TrainConfig(hidden=[4]))
    next(iter(model.parameters())).data[1, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"refusing to write .*c\.npz: model/layers\.0\.weight holds NaN values"):
        save_checkpoint(tmp_path / "c.npz", model)
    assert not any(tmp_path.iterdir())  # neither the file nor a temporary
