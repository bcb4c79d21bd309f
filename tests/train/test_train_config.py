"""TrainConfig: defaults, JSON round trip, and one-line errors with did-you-mean suggestions."""
import json

import pytest

from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import TrainConfig
from tinygrad_mnist.train.builders import optimizer_options
from tinygrad_mnist.train.config import did_you_mean


def test_defaults_follow_the_contract():
    config = TrainConfig()
    assert config.hidden == [128] and config.activation == "relu" and config.loss == "ce"
    assert (config.batch_size, config.epochs, config.model, config.optimizer) == (100, 10, "mlp", "sgd")
    # lr and momentum are left to the optimizer: the lab's SGD setting
    assert optimizer_options(config) == {"lr": 0.1, "momentum": 0.9, "momentum_form": "pytorch",
                                         "weight_decay": 0.0, "nesterov": False}
    assert config.on_nonfinite == "stop" and config.checkpoint_every == 1 and config.val_size == 0.0


def test_round_trip_through_json_is_exact():
    config = TrainConfig(hidden=[256, 64], activation="gelu", loss="focal", focal_alpha=[0.1] * 10, lr=1e-4,
                         val_size=500, train_size=2000, lr_schedule="cosine", data_dir="/data/mnist")
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.to_dict() == config.to_dict()


def test_missing_keys_take_defaults():
    assert TrainConfig.from_dict({"lr": 0.01}) == TrainConfig(lr=0.01)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"epoch": 3}, "unknown config key 'epoch'; did you mean 'epochs'?"),
        ({"learning_rate": 0.1}, "unknown config key 'learning_rate'"),
        ({"activation": "rleu"}, "unknown activation 'rleu'; did you mean 'relu'?"),
        ({"loss": "hinje"}, "unknown loss 'hinje'; did you mean 'hinge'?"),
        ({"lr_schedule": "cosin"}, "did you mean 'cosine'?"),
        ({"init": "xavir"}, "did you mean 'xavier'?"),
        ({"normalize": "standardise"}, "did you mean 'standardize'?"),
        ({"on_nonfinite": "skp"}, "did you mean 'skip'?"),
        ({"lr": -1.0}, "lr must be > 0, got -1"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"epochs": True}, "epochs must be an integer"),
        ({"hidden": [128, 0]}, "each width in hidden must be >= 1"),
        ({"hidden": 128}, "hidden must be a list of layer widths"),
        ({"momentum": 1.0}, "momentum must be >= 0 and < 1"),
        ({"nesterov": True, "momentum": 0.0}, "nesterov=true needs momentum > 0"),
        ({"val_size": 2.5}, "val_size >= 1 is a count"),
        ({"focal_alpha": [0.5, 2.0]}, "focal_alpha must be"),
        ({"focal_alpha": [0.5] * 10 + [2.0]}, "focal_alpha must be one weight or 10"),
        ({"train_size": 100, "batch_size": 200}, "batch_size 200 is larger than the 100 training samples"),
        ({"train_size": 100, "val_size": 100}, "val_size=100 must be between 0 and 99"),
        ({"progress": "yes"}, "progress must be true or false"),
        ({"dtype": "float16"}, "unknown dtype 'float16'"),
    ],
)
def test_bad_values_raise_one_line_config_errors(data, fragment):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(data)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_unknown_key_lists_valid_keys_without_suggestion_when_nothing_is_close():
    with pytest.raises(ConfigError, match=r"unknown config key 'zzz' \(valid keys: model, hidden, activation"):
        TrainConfig.from_dict({"zzz": 1})


def test_validate_normalises_harmless_spellings():
    config = TrainConfig(hidden=(64, 32), val_size=5000.0, batch_size=50.0).validate()
    assert config.hidden == [64, 32] and config.val_size == 5000 and isinstance(config.val_size, int)
    assert config.batch_size == 50 and isinstance(config.batch_size, int)


def test_replace_validates_and_leaves_the_original():
    config = TrainConfig()
    assert config.replace(lr=0.5).lr == 0.5 and config.lr is None
    with pytest.raises(ConfigError, match="did you mean 'momentum'"):
        config.replace(momentun=0.5)


def test_from_dict_needs_a_dict():
    with pytest.raises(ConfigError, match="JSON object"):
        TrainConfig.from_dict([1, 2])


def test_did_you_mean_is_empty_when_nothing_is_close():
    assert did_you_mean("qqqq", ["relu", "tanh"]) == ""
