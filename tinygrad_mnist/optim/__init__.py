"""Optimizers (SGD, Adam, AdamW, RMSprop) and learning-rate schedules.

>>> import numpy as np
>>> from tinygrad_mnist import nn, optim
>>> model = nn.Linear(2, 1, seed=0)
>>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> schedule = optim.SCHEDULES["cosine"](opt, total_epochs=10)
>>> ((model(np.ones((4, 2), dtype=np.float32)) - 1.0) ** 2).mean().backward()
>>> opt.step(); opt.zero_grad(); schedule.step()
"""
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .schedules import SCHEDULES, ConstantLR, CosineLR, ExponentialLR, StepLR
from .sgd import MOMENTUM_FORMS, SGD

__all__ = [
    "MOMENTUM_FORMS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "ConstantLR",
    "CosineLR",
    "ExponentialLR",
    "Optimizer",
    "StepLR",
]
