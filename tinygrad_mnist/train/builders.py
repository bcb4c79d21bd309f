"""Turning a TrainConfig into the model, loss, optimizer and learning-rate schedule it describes."""
from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..checks import check_choice
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
    options = {
        "ce": {"label_smoothing": config.label_smoothing},
        "hinge": {"margin": config.margin},
        "focal": {"gamma": config.focal_gamma, "alpha": config.focal_alpha},
    }
    name = check_choice(config.loss, "loss", nn.LOSSES)
    return nn.LOSSES[name](**options.get(name, {}))


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
