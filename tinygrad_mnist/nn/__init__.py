"""Neural-network building blocks: Module and Parameter, layers, the MLP, activations, losses.

>>> import numpy as np
>>> from tinygrad_mnist import Tensor, nn
>>> model = nn.MLP(4, [8], 3, seed=0)
>>> loss = nn.SoftmaxCrossEntropyLoss()(model(Tensor(np.ones((2, 4), dtype=np.float32))), np.array([0, 2]))
>>> loss.backward()
>>> model.layers[0].weight.grad.shape
(4, 8)
"""
from . import functional, init
from .activations import (
    ACTIVATIONS,
    ELU,
    GeLU,
    GeLUTanh,
    HardSwish,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    SeLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Swish,
    Tanh,
)
from .init import INITS
from .layers import Dropout, Flatten, Linear, Sequential
from .losses import LOSSES, EuclideanLoss, FocalLoss, HingeLoss, KLDivLoss, SoftmaxCrossEntropyLoss
from .mlp import MLP
from .module import LoadResult, Module, Parameter
from .summary import ModelSummary, summary

__all__ = [
    "ACTIVATIONS",
    "Dropout",
    "ELU",
    "EuclideanLoss",
    "Flatten",
    "FocalLoss",
    "GeLU",
    "GeLUTanh",
    "HardSwish",
    "HingeLoss",
    "INITS",
    "KLDivLoss",
    "LOSSES",
    "LeakyReLU",
    "Linear",
    "LoadResult",
    "LogSoftmax",
    "MLP",
    "Module",
    "ModelSummary",
    "Parameter",
    "ReLU",
    "SeLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropyLoss",
    "Softplus",
    "Swish",
    "Tanh",
    "functional",
    "init",
    "summary",
]
