"""The models and optimizers a run can choose (--model, --batch-norm, --dropout, --optimizer):
what they build, the rules between their settings, and that a run of each resumes bit for bit with
its batch-norm statistics, dropout generators and optimizer state restored. Runs from before
these settings existed still load, with the defaults they trained with."""
import json
import os
import signal

import numpy as np
import pytest

from tinygrad_mnist import nn, optim
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import TrainConfig, evaluate, fit, resume
from tinygrad_mnist.train.builders import build_model, build_optimizer, optimizer_options
from tinygrad_mnist.train.saved_run import open_saved_run
from test_train_interrupt import assert_same_run
from train_helpers import quiet, synthetic

# Settings that did not exist before --model and --optimizer; a run folder from before lacks them.
NEW_SETTINGS = ("model", "batch_norm", "dropout", "optimizer", "betas", "eps", "alpha")


def test_each_optimizer_gets_its_own_settings_and_defaults():
    model = build_model(TrainConfig(hidden=[8]))
    assert optimizer_options(TrainConfig(optimizer="adamw")) == {
        "lr": 1e-3, "weight_decay": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8}
    assert optimizer_options(TrainConfig(optimizer="rmsprop", momentum=0.5)) == {
        "lr": 1e-2, "momentum": 0.5, "weight_decay": 0.0, "eps": 1e-8, "alpha": 0.99}
    adam = build_optimizer(TrainConfig(optimizer="adam", betas=[0.8, 0.99], eps=1e-6, lr=0.01), model)
    assert isinstance(adam, optim.Adam) and not isinstance(adam, optim.AdamW)
    assert adam.param_groups[0]["betas"] == (0.8, 0.99) and adam.param_groups[0]["eps"] == 1e-6
    sgd = build_optimizer(TrainConfig(nesterov=True, momentum_form="lab", weight_decay=1e-4), model)
    assert isinstance(sgd, optim.SGD)
    assert (sgd.param_groups[0]["momentum"], sgd.param_groups[0]["nesterov"]) == (0.9, True)


def test_models_with_batch_norm_and_dropout():
    lenet = build_model(TrainConfig(model="lenet5", batch_norm=True, dropout=0.3))
    kinds = [type(m).__name__ for m in lenet.modules()]
    assert kinds.count("BatchNorm2d") == 2 and kinds.count("BatchNorm1d") == 2 and kinds.count("Dropout") == 2
    assert [type(m).__name__ for m in build_model(TrainConfig(hidden=[16, 8], batch_norm=True)).layers] == [
        "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    # dropout's generators are seeded after the weights: the same weights with and without it
    plain, dropped = build_model(TrainConfig(hidden=[16])), build_model(TrainConfig(hidden=[16], dropout=0.5))
    for (name, a), (_, b) in zip(plain.state_dict().items(), dropped.state_dict().items()):
        assert np.array_equal(a, b), name
    # the lenet5 default initialisation is PyTorch's, the MLP's the lab's N(0, 0.01^2)
    assert float(np.abs(build_model(TrainConfig(model="lenet5")).features[0].weight.numpy()).max()) > 0.05
    assert float(np.abs(build_model(TrainConfig(hidden=[16])).layers[0].weight.numpy()).max()) < 0.06


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"optimizer": "adam", "nesterov": True}, "nesterov=true is a setting of optimizer sgd, not of optimizer 'adam'"),
        ({"betas": [0.9, 0.99]}, "betas=[0.9, 0.99] is a setting of optimizer adam or adamw, not of optimizer 'sgd'"),
        ({"optimizer": "adamw", "momentum": 0.5}, "momentum=0.5 is a setting of optimizer sgd or rmsprop"),
        ({"optimizer": "adam", "momentum_form": "lab"}, "momentum_form=\"lab\" is a setting of optimizer sgd"),
        ({"alpha": 0.9}, "alpha=0.9 is a setting of optimizer rmsprop"),
        ({"eps": 1e-6}, "eps=1e-06 is a setting of optimizer adam, adamw or rmsprop"),
        ({"model": "lenet5", "hidden": [64]}, "hidden=[64] is a setting of model mlp, not of model 'lenet5'"),
        ({"batch_norm": True, "batch_size": 1}, "batch_norm=true needs batch_size >= 2"),
        ({"batch_norm": True, "train_size": 1001}, "leaves a last batch of one example (1001 training examples)"),
        ({"optimizer": "rmsprop", "nesterov": True, "momentum": 0.5}, "nesterov=true is a setting of optimizer sgd"),
        ({"optimizer": "rmsprop", "alpha": 1.5}, "alpha must be >= 0 and <= 1"),
        ({"optimizer": "adam", "betas": [0.9, 1.0]}, "BETA2 (in betas) must be >= 0 and < 1"),
        ({"optimizer": "adm"}, "did you mean 'adam'"),
        ({"dropout": 1.0}, "dropout must be >= 0 and < 1"),
        ({"hidden": [], "dropout": 0.5}, "dropout=0.5 acts after hidden layers, and this MLP has none"),
        ({"hidden": [], "batch_norm": True}, "batch_norm=true acts after hidden layers"),
    ],
)
def test_settings_that_make_no_sense_together_are_one_clear_error(settings, words):
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict(settings)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_setting_at_its_default_is_not_an_error_elsewhere():
    # a grid over models and optimizers keeps the shared defaults, so every combination is valid
    for model in ("mlp", "lenet5"):
        for name in ("sgd", "adam", "adamw", "rmsprop"):
            TrainConfig(model=model, optimizer=name, hidden=[128], nesterov=False).validate()


def test_lenet5_refuses_data_that_are_not_28x28_images():
    with pytest.raises(ConfigError, match="model lenet5 takes 28x28 images"):
        build_model(TrainConfig(model="lenet5"), in_features=100)


CNN_CONFIGS = {
    "lenet5-adam-bn-dropout": {"model": "lenet5", "optimizer": "adam", "batch_norm": True, "dropout": 0.2},
    "mlp-rmsprop-bn-dropout": {"hidden": [32, 16], "optimizer": "rmsprop", "momentum": 0.5, "batch_norm": True,
                               "dropout": 0.3, "lr_schedule": "cosine"},
    "mlp-adamw": {"hidden": [32], "optimizer": "adamw", "lr_schedule": "step", "lr_step_size": 1, "lr_gamma": 0.5},
}


@pytest.mark.parametrize("settings", list(CNN_CONFIGS.values()), ids=list(CNN_CONFIGS))
def test_interrupt_and_resume_is_bit_exact(tmp_path, settings):
    data = synthetic(n_train=120, n_test=40)
    config = TrainConfig(epochs=3, batch_size=20, disp_freq=1, progress=False, **settings)
    fit(config, out_dir=tmp_path / "reference", data=data, log=quiet)

    def log(line):
        if line.startswith("Epoch [2][3] Batch [3][6]"):
            os.kill(os.getpid(), signal.SIGINT)

    assert fit(config, out_dir=tmp_path / "run", data=data, log=log)["stopped"] == "interrupted"
    assert resume(tmp_path / "run", data=data, log=quiet)["stopped"] == "completed"
    assert_same_run(tmp_path / "reference", tmp_path / "run")
    with np.load(tmp_path / "run" / "checkpoint.npz", allow_pickle=False) as npz:
        keys = npz.files
        meta = json.loads(npz["__meta__"].tobytes())
    if settings.get("batch_norm"):
        assert any(k.endswith("running_mean") for k in keys) and any(k.endswith("running_var") for k in keys)
    if settings["optimizer"].startswith("adam"):
        assert any(k.endswith("exp_avg_sq") for k in keys)
    assert len(meta["rng"]) == (2 if settings.get("dropout") else 0)  # one generator per Dropout layer


def _strip_new_settings(run_dir, lr=0.1, momentum=0.9, weight_decay=0.0):
    """Make ``run_dir`` look like a run saved before --model and --optimizer: its config (in
    config.json and in the checkpoint) without the new keys, and lr, momentum and weight decay
    written out as they were then."""
    def old(config):
        config = {k: v for k, v in config.items() if k not in NEW_SETTINGS}
        return {**config, "lr": lr, "momentum": momentum, "weight_decay": weight_decay, "init": "normal"}

    path = run_dir / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    meta["config"] = old(meta["config"])
    arrays["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(old(json.loads(config_path.read_text()))))


def test_a_run_saved_before_the_new_settings_resumes_and_evaluates(tmp_path):
    data = synthetic(n_train=120, n_test=40)
    config = TrainConfig(hidden=[16], epochs=2, batch_size=20, lr=0.1, momentum=0.9, weight_decay=0.0,
                         init="normal", disp_freq=1, progress=False)
    fit(config, out_dir=tmp_path / "reference", data=data, log=quiet)

    def log(line):
        if line.startswith("Epoch [2][2] Batch [2][6]"):
            os.kill(os.getpid(), signal.SIGINT)

    fit(config, out_dir=tmp_path / "old", data=data, log=log)
    _strip_new_settings(tmp_path / "old")
    saved = open_saved_run(tmp_path / "old")
    assert (saved.config.model, saved.config.optimizer, saved.config.batch_norm, saved.config.dropout) == (
        "mlp", "sgd", False, 0.0)
    assert resume(tmp_path / "old", data=data, log=quiet)["stopped"] == "completed"
    assert_same_run(tmp_path / "reference", tmp_path / "old")
    assert evaluate(tmp_path / "old", data=data)["accuracy"] == pytest.approx(
        evaluate(tmp_path / "reference", data=data)["accuracy"])


def test_lenet5_learns_the_synthetic_rule(tmp_path):
    data = synthetic(n_train=200, n_test=100)
    summary = fit(TrainConfig(model="lenet5", optimizer="adam", lr=0.01, batch_norm=True, epochs=3, batch_size=20,
                              disp_freq=0, progress=False), out_dir=tmp_path / "run", data=data, log=quiet)
    assert summary["test_accuracy"] > 0.5  # chance is 0.1
    assert isinstance(build_model(open_saved_run(tmp_path / "run").config), nn.LeNet5)
