"""Turning a TrainConfig into the model, loss, optimizer and learning-rate schedule it describes."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .. import nn, optim
from ..checks import check_choice
from ..errors import ConfigError
from .config import OPTIMIZERS, SETTINGS, SETTINGS_BY_NAME, TrainConfig

MNIST_FEATURES = 28 * 28
MNIST_CLASSES = 10


def build_model(config: TrainConfig, in_features: int = MNIST_FEATURES, num_classes: int = MNIST_CLASSES) -> nn.Module:
    """The network of the config (``config.model``), initialised from ``config.seed`` (same seed,
    same weights; dropout's random masks come from the same seed but leave the weights alone).

    >>> model = build_model(TrainConfig(hidden=[32], activation="gelu"))
    >>> [tuple(p.shape) for p in model.parameters()]
    [(784, 32), (32,), (32, 10), (10,)]
    >>> type(build_model(TrainConfig(model="lenet5", batch_norm=True))).__name__
    'LeNet5'
    """
    options = {
        "activation": config.activation,
        "batch_norm": config.batch_norm,
        "dropout": config.dropout,
        "init": SETTINGS_BY_NAME["init"].value_in(config),
        "init_std": config.init_std,
        "seed": config.seed,
        "dtype": np.dtype(config.dtype).type,
    }
    if config.model == "lenet5":
        if in_features != MNIST_FEATURES:
            raise ConfigError(f"model lenet5 takes 28x28 images ({MNIST_FEATURES} features), but the data have "
                              f"{in_features} features per example; use model mlp for these data")
        return nn.LeNet5(num_classes=num_classes, **options)
    return nn.MLP(in_features, list(config.hidden), num_classes, **options)


def build_loss(config: TrainConfig) -> nn.Module:
    """The loss module named by ``config.loss`` with its options (margin, smoothing, focal terms).

    >>> build_loss(TrainConfig(loss="hinge", margin=2.0)).margin
    2.0
    """
    options = {
        "ce": {"label_smoothing": config.label_smoothing},
        "hinge": {"margin": config.margin},
        "focal": {"gamma": config.focal_gamma, "alpha": config.focal_alpha},
    }
    name = check_choice(config.loss, "loss", nn.LOSSES)
    return nn.LOSSES[name](**options.get(name, {}))


def optimizer_options(config: TrainConfig) -> Dict[str, Any]:
    """The keyword arguments of the config's optimizer: every setting that belongs to it (see their
    declarations), with the optimizer's own default where the config leaves it unset.

    >>> optimizer_options(TrainConfig(optimizer="adam", lr=0.002))
    {'lr': 0.002, 'weight_decay': 0.0, 'betas': [0.9, 0.999], 'eps': 1e-08}
    """
    return {s.name: s.value_in(config) for s in SETTINGS
            if s.depends is not None and s.depends.on == "optimizer" and s.applies(config)}


def build_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over the model's parameters, with its settings.

    >>> opt = build_optimizer(TrainConfig(lr=0.05), build_model(TrainConfig(hidden=[])))
    >>> type(opt).__name__, opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
    ('SGD', 0.05, 0.9)
    >>> type(build_optimizer(TrainConfig(optimizer="rmsprop"), build_model(TrainConfig(hidden=[])))).__name__
    'RMSprop'
    """
    name = check_choice(config.optimizer, "optimizer", OPTIMIZERS)
    return OPTIMIZERS[name](model.parameters(), **optimizer_options(config))


def build_schedule(config: TrainConfig, optimizer) -> optim.ConstantLR:
    """The per-epoch learning-rate schedule named by ``config.lr_schedule``, as ``optim.SCHEDULES``
    names them: "none" keeps the rate (``ConstantLR``), "step" multiplies it by ``lr_gamma``
    every ``lr_step_size`` epochs, "exp" every epoch, "cosine" anneals it to 0 over ``epochs``.

    >>> opt = build_optimizer(TrainConfig(), build_model(TrainConfig(hidden=[])))
    >>> [type(build_schedule(TrainConfig(lr_schedule=name), opt)).__name__ for name in ("none", "step")]
    ['ConstantLR', 'StepLR']
    """
    options = {
        "step": {"step_size": config.lr_step_size, "gamma": config.lr_gamma},
        "exp": {"gamma": config.lr_gamma},
        "cosine": {"total_epochs": config.epochs},
    }
    name = check_choice(config.lr_schedule, "lr_schedule", optim.SCHEDULES)
    return optim.SCHEDULES[name](optimizer, **options.get(name, {}))
