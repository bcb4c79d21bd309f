"""Neural-network building blocks: Module, Parameter and Buffer, layers (linear, convolution, pooling,
normalization, containers), the MLP and LeNet-5, activations, losses.

>>> import numpy as np
>>> from tinygrad_mnist import Tensor, nn
>>> model = nn.MLP(4, [8], 3, seed=0)
>>> loss = nn.SoftmaxCrossEntropyLoss()(model(Tensor(np.ones((2, 4), dtype=np.float32))), np.array([0, 2]))
>>> loss.backward()
>>> model.layers[0].weight.grad.shape
(4, 8)
"""
from . import functional, init, utils
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
from .containers import Identity, ModuleList
from .conv import Conv2d
from .init import INITS
from .layers import Dropout, Flatten, Linear, Sequential
from .lenet import LeNet5
from .losses import LOSSES, EuclideanLoss, FocalLoss, HingeLoss, KLDivLoss, SoftmaxCrossEntropyLoss
from .mlp import MLP
from .module import Buffer, LoadResult, Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AvgPool2d, MaxPool2d
from .module import LoadResult, Module, Parameter
from .summary import ModelSummary, summary

__all__ = [
    "ACTIVATIONS",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Buffer",
    "Conv2d",
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
    "Identity",
    "KLDivLoss",
    "LOSSES",
    "LayerNorm",
    "LeNet5",
    "LeakyReLU",
    "Linear",
    "LoadResult",
    "LogSoftmax",
    "MLP",
    "MaxPool2d",
    "Module",
    "ModuleList",
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
    "utils",
    "summary",
]
