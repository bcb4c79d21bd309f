"""Turning a TrainConfig into the model, loss, optimizer and learning-rate schedule it describes."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import nn, optim
from ..errors import ConfigError
from .config import TrainConfig

MNIST_FEATURES = 28 * 28
MNIST_CLASSES = 10


def build_model(config: TrainConfig, in_features: int = MNIST_FEATURES, num_classes: int = MNIST_CLASSES) -> nn.Module:
    """The MLP of the config, initialised from ``config.seed`` (same seed, same weights).

    >>> model = build_model(TrainConfig(hidden=[32], activation="gelu"))
    >>> [tuple(p.shape) for p in model.parameters()]
    [(784, 32), (32,), (32, 10), (10,)]
    """
    return nn.MLP(
        in_features,
        list(config.hidden),
        num_classes,
        activation=config.activation,
        init=config.init,
        init_std=config.init_std,
        seed=config.seed,
        dtype=np.dtype(config.dtype).type,
    )


def build_loss(config: TrainConfig) -> nn.Module:
    """The loss module named by ``config.loss`` with its options (margin, smoothing, focal terms).

    >>> build_loss(TrainConfig(loss="hinge", margin=2.0)).margin
    2.0
    """
    if config.loss not in nn.LOSSES:
        raise ConfigError(f"unknown loss {config.loss!r}; choose one of {', '.join(nn.LOSSES)}")
    loss_class = nn.LOSSES[config.loss]
    if config.loss == "ce":
        return loss_class(label_smoothing=config.label_smoothing)
    if config.loss == "hinge":
        return loss_class(margin=config.margin)
    if config.loss == "focal":
        return loss_class(gamma=config.focal_gamma, alpha=config.focal_alpha)
    return loss_class()


def build_optimizer(config: TrainConfig, model: nn.Module) -> optim.SGD:
    """SGD over the model's parameters with the config's lr, momentum and weight decay.

    >>> opt = build_optimizer(TrainConfig(lr=0.05), build_model(TrainConfig(hidden=[])))
    >>> opt.param_groups[0]["lr"]
    0.05
    """
    return optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
        momentum_form=config.momentum_form,
    )


def build_schedule(config: TrainConfig, optimizer) -> Optional[object]:
    """The per-epoch learning-rate schedule, or None for ``lr_schedule="none"``.

    "step" multiplies the lr by ``lr_gamma`` every ``lr_step_size`` epochs, "exp" every epoch,
    "cosine" anneals it to 0 over ``epochs``.

    >>> opt = build_optimizer(TrainConfig(), build_model(TrainConfig(hidden=[])))
    >>> type(build_schedule(TrainConfig(lr_schedule="step"), opt)).__name__
    'StepLR'
    """
    name = config.lr_schedule
    if name == "none":
        return None
    if name == "step":
        return optim.StepLR(optimizer, step_size=config.lr_step_size, gamma=config.lr_gamma)
    if name == "exp":
        return optim.ExponentialLR(optimizer, gamma=config.lr_gamma)
    if name == "cosine":
        return optim.CosineLR(optimizer, total_epochs=config.epochs)
    raise ConfigError(f"unknown lr_schedule {name!r}; choose one of {', '.join(optim.SCHEDULES)}")
