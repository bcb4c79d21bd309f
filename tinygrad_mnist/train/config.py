"""``TrainConfig``: every setting of a training run, declared once, JSON round-trippable and validated.

Each field is declared with :func:`~tinygrad_mnist.train.settings.setting`: its kind of value
(with bounds or choices), default, help text and part. ``SETTINGS`` lists these declarations, and
everything else reads them: validation here, the command line's options and ``--help``, the keys
of TOML files and grid axes. Validation gives one line per problem, naming the setting, the rule
and the bad value (with a did-you-mean suggestion for misspelled names).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from ..checks import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, UNIT_INTERVAL, Bounds, did_you_mean
from ..data import DATASETS, NORMALIZATIONS, dataset_info, split_size
from ..errors import ConfigError
from ..nn import ACTIVATIONS, INITS, LOSSES
from ..optim import MOMENTUM_FORMS, SCHEDULES, SGD, Adam, AdamW, RMSprop
from .settings import (
    Choice,
    ChoiceDefaults,
    Flag,
    Folder,
    FractionOrCount,
    Integer,
    OrNone,
    Real,
    Reals,
    Setting,
    Weights,
    Widths,
    declared_settings,
    setting,
    spoken_list,
)

DTYPES = ("float32", "float64")
ON_NONFINITE = ("stop", "skip")
N_CLASSES = 10
# The most examples any known data set has (they all have MNIST's 60,000 and 10,000).
N_TRAIN = max(info.n_train for info in DATASETS.values())
N_TEST = max(info.n_test for info in DATASETS.values())
# A guard against typos such as --hidden 1280000 that would exhaust memory rather than train.
MAX_LAYER_WIDTH = 65536
_BELOW_ONE = Bounds(0, 1, high_open=True)
#: The networks a run can train (``train/builders.py`` builds them).
MODELS = ("mlp", "lenet5")
#: The optimizers a run can use by name, in the order ``--help`` lists them.
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def _per_model(**defaults: Any) -> ChoiceDefaults:
    return ChoiceDefaults("model", defaults)


def _per_optimizer(**defaults: Any) -> ChoiceDefaults:
    return ChoiceDefaults("optimizer", defaults)


_ADAMS = ("adam", "adamw")


@dataclass
class TrainConfig:
    """All settings of one training run; defaults follow the lab setup (784-128-10 ReLU, CE, SGD).

    ``val_size`` is a fraction of the training set when below 1, else a count of examples.
    ``train_size`` / ``test_size`` keep only the first N examples (for quick runs and CI); the
    training subset is taken before the validation split. Early stopping (``early_stop`` =
    patience in epochs, 0 = off) monitors the validation loss when there is a validation split,
    else the test loss; an epoch improves when its loss is below the best so far minus
    ``early_stop_min_delta``, and the run stops after ``early_stop`` epochs without improvement.
    ``checkpoint_every`` = 0 writes checkpoints only at the start and the end.

    >>> config = TrainConfig(hidden=[64], epochs=2)
    >>> TrainConfig.from_dict(config.to_dict()) == config
    True
    >>> TrainConfig.from_dict({"lr": 0.1, "epoch": 3})
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: unknown config key 'epoch'; did you mean 'epochs'? ...
    """

    model: str = setting(
        "mlp", Choice(MODELS), "the network: mlp (fully connected, --hidden widths) or lenet5 (conv "
        "6@5x5 padding 2 -> pool 2 -> conv 16@5x5 -> pool 2 -> 120 -> 84 -> 10, max pooling)", "model")
    hidden: List[int] = setting(
        [128], Widths(Bounds(1, MAX_LAYER_WIDTH)), "hidden layer widths of --model mlp, from input to output",
        "model", metavar="WIDTH", depends=_per_model(mlp=[128]))
    activation: str = setting("relu", Choice(ACTIVATIONS), "activation after each hidden layer", "model")
    batch_norm: bool = setting(
        False, Flag(), "a batch norm after each hidden linear or conv layer, before its activation "
        "(running statistics used for evaluation and saved in checkpoints)", "model")
    dropout: float = setting(
        0.0, Real(_BELOW_ONE), "dropout probability after the activation of each hidden linear layer "
        "(lenet5: the 120 and 84 layers); 0 = none", "model")
    loss: str = setting(
        "ce", Choice(LOSSES), "training loss: euclidean (half the squared error between the raw "
        "outputs and the one-hot target, no softmax), ce (softmax cross-entropy), hinge (multi-class "
        "margin), kldiv (KL divergence to the one-hot target), focal (cross-entropy that "
        "down-weights easy examples)", "loss")
    margin: float = setting(5.0, Real(NON_NEGATIVE), "margin of --loss hinge", "loss")
    focal_gamma: float = setting(
        2.0, Real(NON_NEGATIVE), "focusing exponent of --loss focal (0 = plain cross-entropy)", "loss")
    focal_alpha: Union[float, List[float], None] = setting(
        None, OrNone(Weights(UNIT_INTERVAL, N_CLASSES), "none"), "class weights of --loss focal "
        "(none = every class weighs 1)", "loss", metavar="ALPHA")
    label_smoothing: float = setting(
        0.0, Real(UNIT_INTERVAL), "label smoothing of --loss ce: the target is (1 - eps) one-hot + "
        "eps / 10", "loss")
    optimizer: str = setting(
        "sgd", Choice(OPTIMIZERS), "the optimizer: sgd (with momentum), adam, adamw (Adam with decoupled "
        "weight decay) or rmsprop; the settings below name the optimizers they belong to", "optimizer")
    lr: Optional[float] = setting(
        None, OrNone(Real(POSITIVE)), "learning rate", "optimizer",
        depends=_per_optimizer(sgd=0.1, adam=1e-3, adamw=1e-3, rmsprop=1e-2))
    momentum: Optional[float] = setting(
        None, OrNone(Real(_BELOW_ONE)), "momentum of sgd and rmsprop (0 = none)", "optimizer",
        depends=_per_optimizer(sgd=0.9, rmsprop=0.0))
    momentum_form: str = setting(
        "pytorch", Choice(MOMENTUM_FORMS), "momentum update of sgd: pytorch (buffer of gradients, scaled "
        "by lr at the step) or lab (buffer of lr-scaled steps, as in the lab reports); they differ "
        "only while the learning rate changes", "optimizer", depends=_per_optimizer(sgd="pytorch"))
    weight_decay: Optional[float] = setting(
        None, OrNone(Real(NON_NEGATIVE)), "weight decay: an L2 term added to the gradient (sgd, adam, "
        "rmsprop), or decoupled, the weights shrunk by lr * weight_decay every step (adamw)", "optimizer",
        depends=_per_optimizer(sgd=0.0, adam=0.0, adamw=1e-2, rmsprop=0.0))
    nesterov: bool = setting(False, Flag(), "use Nesterov momentum (sgd)", "optimizer",
                             depends=_per_optimizer(sgd=False))
    betas: Optional[List[float]] = setting(
        None, OrNone(Reals(_BELOW_ONE, 2, ("BETA1", "BETA2"))), "decay rates of the gradient's running "
        "mean and of its square (adam, adamw)", "optimizer", metavar="BETA",
        depends=_per_optimizer(adam=[0.9, 0.999], adamw=[0.9, 0.999]))
    eps: Optional[float] = setting(
        None, OrNone(Real(POSITIVE)), "term added to the denominator for stability (adam, adamw, rmsprop)",
        "optimizer", depends=_per_optimizer(adam=1e-8, adamw=1e-8, rmsprop=1e-8))
    alpha: Optional[float] = setting(
        None, OrNone(Real(UNIT_INTERVAL)), "decay rate of the running mean of the squared gradient "
        "(rmsprop)", "optimizer", depends=_per_optimizer(rmsprop=0.99))
    batch_size: int = setting(
        100, Integer(AT_LEAST_ONE), "mini-batch size (at most the number of training examples)", "training")
    epochs: int = setting(10, Integer(AT_LEAST_ONE), "passes over the training data", "training")
    init: Optional[str] = setting(
        None, OrNone(Choice(INITS)), "weight initialisation: normal (N(0, init_std^2)), xavier (Glorot "
        "uniform), he (Kaiming normal), pytorch (PyTorch's default: Kaiming uniform with a = sqrt(5))",
        "model", depends=_per_model(mlp="normal", lenet5="pytorch"))
    init_std: float = setting(0.01, Real(POSITIVE), "standard deviation of --init normal", "model")
    lr_schedule: str = setting(
        "none", Choice(SCHEDULES), "learning rate schedule, stepped once per epoch: none, step "
        "(times --lr-gamma every --lr-step-size epochs), exp (times --lr-gamma every epoch), "
        "cosine (cosine decay to 0 over --epochs)", "schedule")
    lr_step_size: int = setting(
        10, Integer(AT_LEAST_ONE), "epochs between decays of --lr-schedule step", "schedule")
    lr_gamma: float = setting(0.1, Real(POSITIVE), "decay factor of --lr-schedule step and exp", "schedule")
    early_stop: int = setting(
        0, Integer(NON_NEGATIVE), "patience: stop after this many epochs without improvement of the "
        "validation loss (test loss without --val-size); 0 = never stop early", "training")
    early_stop_min_delta: float = setting(
        0.0, Real(NON_NEGATIVE), "smallest loss decrease that counts as an improvement for "
        "--early-stop", "training")
    seed: int = setting(
        0, Integer(NON_NEGATIVE), "random seed of initialisation, shuffling and the validation split",
        "training")
    dtype: str = setting(
        "float32", Choice(DTYPES), "floating-point type of data, parameters and gradients", "model")
    disp_freq: int = setting(
        100, Integer(NON_NEGATIVE), "print a progress line every this many iterations (0 = only the "
        "end-of-epoch lines)", "output", display_only=True)
    dataset: str = setting(
        "mnist", Choice(tuple(DATASETS)), "the data set (28x28 grayscale images in 10 classes, verified by "
        "their published checksums): " + ", ".join(f"{info.name} ({info.description})" for info in
                                                             DATASETS.values()), "data")
    normalize: str = setting(
        "scale", Choice(NORMALIZATIONS), "pixel preprocessing: scale (to [0, 1]), center (then "
        "subtract the training mean), standardize (then divide by the training std)", "data")
    val_size: Union[float, int] = setting(
        0.0, FractionOrCount(), "validation split held out of the training set (0 = none)", "data")
    train_size: Optional[int] = setting(
        None, OrNone(Integer(Bounds(1, N_TRAIN)), "all"), "use a subset of the first N training "
        "examples, for quick runs", "data", metavar="N")
    test_size: Optional[int] = setting(
        None, OrNone(Integer(Bounds(1, N_TEST)), "all"), "use a subset of the first N test examples",
        "data", metavar="N")
    data_dir: Optional[str] = setting(
        None, OrNone(Folder()), "folder with the four files of --dataset (one folder per data set)", "data",
        metavar="DIR", default_text="the data set's variable (" + ", ".join(
            f"${info.env_data}" for info in DATASETS.values()) + "), else the download cache "
        "(missing files are downloaded and verified)", local=True)
    jit: bool = setting(
        True, Flag(), "replay each training step from a recording of its NumPy calls (tinygrad_mnist.jit): "
        "the same results bit for bit, faster; --no-jit runs every step eagerly (detect_anomaly always does)",
        "training", display_only=True)
    on_nonfinite: str = setting(
        "stop", Choice(ON_NONFINITE), "when a loss or gradient becomes NaN or Inf: stop (fail with a "
        "message) or skip (drop that batch and go on)", "training")
    detect_anomaly: bool = setting(
        False, Flag(), "check every op for NaN/Inf and name the op that made it (slow; for "
        "debugging)", "training")
    progress: bool = setting(
        True, Flag(), "show progress bars (--no-progress for logs and CI)", "output", display_only=True)
    checkpoint_every: int = setting(
        1, Integer(NON_NEGATIVE), "save checkpoint.npz every N epochs and after the last one (0 = only "
        "at the start and the end)", "training")

    @classmethod
    def field_names(cls) -> List[str]:
        """Names of all settings, in declaration order.

        >>> TrainConfig.field_names()[:3]
        ['model', 'hidden', 'activation']
        """
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-able dict of all settings (lists copied).

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
            raise ConfigError(f"a config must be a JSON object (dict) of settings, got {type(data).__name__}")
        check_names(data, "config key", known=cls.field_names())
        config = cls(**data)
        config.validate()
        return config

    def replace(self, **changes: Any) -> "TrainConfig":
        """Return a validated copy with some settings changed (unknown names raise ConfigError).

        >>> TrainConfig().replace(lr=0.01).lr
        0.01
        """
        merged = self.to_dict()
        merged.update(changes)
        return TrainConfig.from_dict(merged)

    def validate(self) -> "TrainConfig":
        """Check every setting by its declaration, then the rules that tie settings together;
        raise ConfigError with a one-line message on the first problem.

        Normalises harmless spellings in place (a tuple ``hidden`` becomes a list, an int-valued
        float count an int, a name its lower-case form) and returns the config.

        >>> TrainConfig(activation="rleu").validate()
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: unknown activation 'rleu'; did you mean 'relu'? ...
        """
        # The class's own declarations, so that a subclass adding a field is validated too.
        for declared in declared_settings(type(self)):
            setattr(self, declared.name, declared.check(getattr(self, declared.name)))
        _check_together(self)
        return self


#: The declaration of every setting, in field order: the one source the command line, TOML files,
#: grids and validation derive from.
SETTINGS: Tuple[Setting, ...] = declared_settings(TrainConfig)
#: The same declarations by setting name.
SETTINGS_BY_NAME: Dict[str, Setting] = {s.name: s for s in SETTINGS}


def check_names(names, what: str = "setting", where: str = "", known: Optional[List[str]] = None) -> None:
    """Raise ConfigError for the first of ``names`` that is not a setting (one of ``known``, by
    default every TrainConfig setting), with a did-you-mean.

    >>> check_names(["lr", "epoch"], where=" in the grid axes")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: unknown setting 'epoch' in the grid axes; did you mean 'epochs'? (valid keys: ...
    """
    known = list(SETTINGS_BY_NAME) if known is None else known
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {what} {name!r}{where}{did_you_mean(name, known)} "
                              f"(valid keys: {', '.join(known)})")


def check_batch_fits(batch_size: int, n_train: int) -> None:
    """The one rule that a batch fits the training examples (before and after loading the data).

    >>> check_batch_fits(200, 100)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: batch_size 200 is larger than the 100 training samples; ...
    """
    if batch_size > n_train:
        raise ConfigError(f"batch_size {batch_size} is larger than the {n_train} training samples; "
                          "use a smaller batch_size or a larger train_size")


def _check_together(config: TrainConfig) -> None:
    """Rules between settings; the sizes are those the data set will give, checked before any loading."""
    for declared in declared_settings(type(config)):
        _check_applies(config, declared)
    if config.model == "mlp" and not config.hidden:
        for name, given in (("batch_norm", config.batch_norm), ("dropout", config.dropout)):
            if given:
                raise ConfigError(f"{name}={json.dumps(given)} acts after hidden layers, and this MLP has none "
                                  "(hidden is empty): give hidden layer widths, or remove " + name)
    if config.nesterov and SETTINGS_BY_NAME["momentum"].value_in(config) == 0.0:
        raise ConfigError("nesterov=true needs momentum > 0 (e.g. momentum 0.9), or set nesterov to false")
    n_train = config.train_size or dataset_info(config.dataset).n_train
    try:
        n_val = split_size(config.val_size, n_train)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    check_batch_fits(config.batch_size, n_train - n_val)
    if config.batch_norm:
        _check_batch_norm_batches(config.batch_size, n_train - n_val)


def _check_applies(config: TrainConfig, declared: Setting) -> None:
    """A setting given a value (other than its default) where it means nothing is refused, so a
    typo such as --betas with --optimizer sgd cannot pass unnoticed."""
    if declared.depends is None or declared.applies(config):
        return
    value = getattr(config, declared.name)
    if value is None or value == declared.default:
        return
    on = declared.depends.on
    owners = spoken_list(list(declared.depends.defaults), "or")
    raise ConfigError(
        f"{declared.name}={json.dumps(value)} is a setting of {on} {owners}, not of {on} {getattr(config, on)!r}: "
        f"remove {declared.name}, or set {on} to {owners}")


def _check_batch_norm_batches(batch_size: int, n_train: int) -> None:
    """Batch norm in training mode normalises with the batch's own statistics, which a batch of
    one example does not have (its variance is 0 and every output would be the bias)."""
    if batch_size < 2:
        raise ConfigError("batch_norm=true needs batch_size >= 2: a batch of one example has no variance "
                          "to normalise by")
    if n_train % batch_size == 1:
        raise ConfigError(f"batch_norm=true with batch_size {batch_size} leaves a last batch of one example "
                          f"({n_train} training examples); choose a batch size that does not")
