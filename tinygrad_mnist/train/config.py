"""``TrainConfig``: every option of a training run, JSON round-trippable and validated.

Validation gives one line per problem, naming the option, the bad value and what to use instead
(with a did-you-mean suggestion for misspelled names), so the CLI can print it as is.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from ..errors import ConfigError

MOMENTUM_FORMS = ("pytorch", "lab")
DTYPES = ("float32", "float64")
ON_NONFINITE = ("stop", "skip")


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """Return " did you mean 'x'?" for the closest of ``choices``, or "" when nothing is close.

    >>> did_you_mean("rleu", ["relu", "gelu", "sigmoid"])
    " did you mean 'relu'?"
    >>> did_you_mean("zzz", ["relu"])
    ''
    """
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" did you mean {close[0]!r}?" if close else ""


def unknown_name_message(what: str, name: Any, choices: Sequence[str]) -> str:
    """One-line message for a name that is not among ``choices``.

    >>> unknown_name_message("activation", "rleu", ["relu", "tanh"])
    "unknown activation 'rleu'; did you mean 'relu'? (choose from: relu, tanh)"
    """
    hint = did_you_mean(name, choices)
    hint = f";{hint}" if hint else ""
    return f"unknown {what} {name!r}{hint} (choose from: {', '.join(choices)})"


@dataclass
class TrainConfig:
    """All options of one training run; defaults follow the lab setup (784-128-10 ReLU, CE, SGD).

    ``val_size`` is a fraction of the training set when below 1, else a count of examples.
    ``train_size`` / ``test_size`` keep only the first N examples (for quick runs and CI); the
    training subset is taken before the validation split. Early stopping (``early_stop`` =
    patience in epochs, 0 = off) monitors the validation loss when there is a validation split,
    else the test loss; an epoch improves when its loss is below the best so far minus
    ``early_stop_min_delta``, and the run stops after ``early_stop`` epochs without improvement. ``checkpoint_every`` = 0 writes checkpoints only at the start and the end.

    >>> config = TrainConfig(hidden=[64], epochs=2)
    >>> TrainConfig.from_dict(config.to_dict()) == config
    True
    >>> TrainConfig.from_dict({"lr": 0.1, "epoch": 3})
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: unknown config key 'epoch'; did you mean 'epochs'? ...
    """

    hidden: List[int] = field(default_factory=lambda: [128])
    activation: str = "relu"
    loss: str = "ce"
    margin: float = 5.0
    focal_gamma: float = 2.0
    focal_alpha: Union[float, List[float], None] = None
    label_smoothing: float = 0.0
    lr: float = 0.1
    momentum: float = 0.9
    momentum_form: str = "pytorch"
    weight_decay: float = 0.0
    nesterov: bool = False
    batch_size: int = 100
    epochs: int = 10
    init: str = "normal"
    init_std: float = 0.01
    lr_schedule: str = "none"
    lr_step_size: int = 10
    lr_gamma: float = 0.1
    early_stop: int = 0
    early_stop_min_delta: float = 0.0
    seed: int = 0
    dtype: str = "float32"
    disp_freq: int = 100
    normalize: str = "scale"
    val_size: float = 0.0
    train_size: Optional[int] = None
    test_size: Optional[int] = None
    data_dir: Optional[str] = None
    on_nonfinite: str = "stop"
    detect_anomaly: bool = False
    progress: bool = True
    checkpoint_every: int = 1

    @classmethod
    def field_names(cls) -> List[str]:
        """Names of all options, in definition order.

        >>> TrainConfig.field_names()[:3]
        ['hidden', 'activation', 'loss']
        """
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-able dict of all options (lists copied).

        >>> TrainConfig().to_dict()["hidden"]
        [128]
        """
        out = {}
        for name in self.field_names():
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, (list, tuple)) else value
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "TrainConfig":
        """Build a validated config from a dict; unknown keys raise ConfigError with a suggestion.

        Missing keys take their defaults.

        >>> TrainConfig.from_dict({"hidden": [32], "activation": "gelu"}).activation
        'gelu'
        """
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a JSON object (dict) of options, got {type(data).__name__}")
        names = cls.field_names()
        for key in data:
            if key not in names:
                hint = did_you_mean(key, names)
                hint = f";{hint}" if hint else ""
                raise ConfigError(f"unknown config key {key!r}{hint} (valid keys: {', '.join(names)})")
        config = cls(**data)
        config.validate()
        return config

    def replace(self, **changes: Any) -> "TrainConfig":
        """Return a validated copy with some options changed (unknown names raise ConfigError).

        >>> TrainConfig().replace(lr=0.01).lr
        0.01
        """
        merged = self.to_dict()
        merged.update(changes)
        return TrainConfig.from_dict(merged)

    def validate(self) -> "TrainConfig":
        """Check every option; raise ConfigError with a one-line message on the first bad one.

        Normalises harmless spellings in place (a tuple ``hidden`` becomes a list, an int-valued
        float count becomes an int) and returns the config.

        >>> TrainConfig(activation="rleu").validate()
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: unknown activation 'rleu'; did you mean 'relu'? ...
        """
        _validate(self)
        return self


# ---- validation helpers ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _require_int(config: TrainConfig, name: str, minimum: int, optional: bool = False) -> None:
    value = getattr(config, name)
    if optional and value is None:
        return
    if _is_number(value) and float(value).is_integer():
        value = int(value)
        setattr(config, name, value)
    else:
        kind = "an integer or null" if optional else "an integer"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _require_float(
    config: TrainConfig,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> None:
    value = getattr(config, name)
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    setattr(config, name, value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        hint = f" {hint}" if hint else ""
        raise ConfigError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value:g}{hint}")


def _require_bool(config: TrainConfig, name: str) -> None:
    value = getattr(config, name)
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def _require_choice(config: TrainConfig, name: str, choices: Sequence[str], what: str = "") -> None:
    value = getattr(config, name)
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(unknown_name_message(what or name, value, list(choices)))


def _registries():
    # Imported here so that reading a config does not pull in the whole framework.
    from .. import nn, optim
    from ..data import NORMALIZATIONS

    return nn.ACTIVATIONS, nn.LOSSES, nn.INITS, optim.SCHEDULES, NORMALIZATIONS


def _validate(config: TrainConfig) -> None:
    activations, losses, inits, schedules, normalizations = _registries()

    hidden = config.hidden
    if isinstance(hidden, tuple):
        hidden = list(hidden)
    if not isinstance(hidden, list) or not all(
        _is_number(h) and float(h).is_integer() and h >= 1 for h in hidden
    ):
        raise ConfigError(f"hidden must be a list of positive layer widths such as [256, 128] (or [] for none), got {config.hidden!r}")
    config.hidden = [int(h) for h in hidden]

    _require_choice(config, "activation", list(activations), "activation")
    _require_choice(config, "loss", list(losses), "loss")
    _require_float(config, "margin", 0.0)
    _require_float(config, "focal_gamma", 0.0)
    _validate_focal_alpha(config)
    _require_float(config, "label_smoothing", 0.0, 1.0, high_open=True)

    _require_float(config, "lr", 0.0, low_open=True, hint="(the learning rate must be positive, e.g. 0.1)")
    _require_float(config, "momentum", 0.0, 1.0, high_open=True)
    _require_choice(config, "momentum_form", MOMENTUM_FORMS)
    _require_float(config, "weight_decay", 0.0)
    _require_bool(config, "nesterov")
    if config.nesterov and config.momentum == 0.0:
        raise ConfigError("nesterov=true needs momentum > 0 (e.g. momentum 0.9), or set nesterov to false")
    _require_int(config, "batch_size", 1)
    _require_int(config, "epochs", 1)

    _require_choice(config, "init", list(inits), "init")
    _require_float(config, "init_std", 0.0, low_open=True)
    _require_choice(config, "lr_schedule", list(schedules), "lr_schedule")
    _require_int(config, "lr_step_size", 1)
    _require_float(config, "lr_gamma", 0.0, low_open=True)
    _require_int(config, "early_stop", 0)
    _require_float(config, "early_stop_min_delta", 0.0)

    _require_int(config, "seed", 0)
    _require_choice(config, "dtype", DTYPES)
    _require_int(config, "disp_freq", 0)
    _require_choice(config, "normalize", list(normalizations), "normalize")
    _validate_val_size(config)
    _require_int(config, "train_size", 1, optional=True)
    _require_int(config, "test_size", 1, optional=True)
    if config.data_dir is not None and not isinstance(config.data_dir, str):
        config.data_dir = str(config.data_dir) if hasattr(config.data_dir, "__fspath__") else config.data_dir
        if not isinstance(config.data_dir, str):
            raise ConfigError(f"data_dir must be a folder path or null, got {config.data_dir!r}")
    _require_choice(config, "on_nonfinite", ON_NONFINITE)
    _require_bool(config, "detect_anomaly")
    _require_bool(config, "progress")
    _require_int(config, "checkpoint_every", 0)


def _validate_focal_alpha(config: TrainConfig) -> None:
    alpha = config.focal_alpha
    if alpha is None:
        return
    if isinstance(alpha, tuple):
        alpha = list(alpha)
    values = alpha if isinstance(alpha, list) else [alpha]
    if not values or not all(_is_number(a) and 0.0 <= float(a) <= 1.0 for a in values):
        raise ConfigError(
            f"focal_alpha must be null, a number in [0, 1] or a list of per-class weights in [0, 1], got {config.focal_alpha!r}"
        )
    config.focal_alpha = [float(a) for a in alpha] if isinstance(alpha, list) else float(alpha)


def _validate_val_size(config: TrainConfig) -> None:
    value = config.val_size
    if not _is_number(value) or not math.isfinite(float(value)) or value < 0:
        raise ConfigError(f"val_size must be a fraction in [0, 1) or a count >= 1 of examples, got {value!r}")
    if value >= 1:
        if not float(value).is_integer():
            raise ConfigError(f"val_size >= 1 is a count of examples and must be whole, got {value!r}")
        config.val_size = int(value)
    else:
        config.val_size = float(value)
