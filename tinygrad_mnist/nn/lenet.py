"""``LeNet5``: the small convolutional network for 28x28 digits, as people train it on MNIST today."""
from __future__ import annotations

from typing import Union

import numpy as np

from ..autograd.function import ShapeError
from ..checks import Bounds, check_float
from ..tensor import Tensor
from .conv import Conv2d
from .init import Seed, as_generator
from .layers import Dropout, Flatten, Linear, Sequential
from .mlp import _activation_factory, dropout_generator
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import MaxPool2d

IMAGE_SIDE = 28


class LeNet5(Module):
    """conv 6@5x5 (padding 2) -> activation -> max pool 2 -> conv 16@5x5 -> activation -> max pool 2
    -> 120 -> activation -> 84 -> activation -> 10 (the logits).

    Inputs are (N, 1, 28, 28) images or (N, 784) flat ones (reshaped first). ``activation`` is a name
    from ``ACTIVATIONS``, a Module class or instance, as for ``MLP``; ``batch_norm=True`` puts a
    BatchNorm2d after each convolution and a BatchNorm1d after each hidden Linear layer. ``init`` (one
    of ``INITS``, PyTorch's own by default) and one ``seed`` initialise all layers in order.

    >>> model = LeNet5(seed=0)
    >>> model(np.zeros((2, 784), dtype=np.float32)).shape
    (2, 10)
    >>> sum(p.size for p in model.parameters())
    61706
    """

    def __init__(
        self,
        activation: Union[str, type, Module] = "relu",
        batch_norm: bool = False,
        init: str = "pytorch",
        init_std: float = 0.01,
        seed: Seed = None,
        dtype=np.float32,
        num_classes: int = 10,
        dropout: float = 0.0,
    ):
        make_activation = _activation_factory(activation)
        dropout = check_float(dropout, "dropout", Bounds(0, 1, high_open=True), owner="LeNet5")
        rng = as_generator(seed)
        options = {"init": init, "init_std": init_std, "seed": rng, "dtype": dtype}

        def conv_block(in_channels, out_channels, padding):
            layers = [Conv2d(in_channels, out_channels, 5, padding=padding, **options)]
            layers += [BatchNorm2d(out_channels, dtype=dtype)] if batch_norm else []
            return layers + [make_activation(), MaxPool2d(2)]

        def hidden(in_features, out_features):
            layers = [Linear(in_features, out_features, **options)]
            layers += [BatchNorm1d(out_features, dtype=dtype)] if batch_norm else []
            return layers + [make_activation()]

        self.features = Sequential(*conv_block(1, 6, 2), *conv_block(6, 16, 0), Flatten())
        first, second = hidden(16 * 5 * 5, 120), hidden(120, 84)
        output = Linear(84, num_classes, **options)
        # The dropout generators are seeded after every weight is drawn: the same weights either way.
        if dropout > 0.0:
            first.append(Dropout(dropout, seed=dropout_generator(rng)))
            second.append(Dropout(dropout, seed=dropout_generator(rng)))
        self.classifier = Sequential(*first, *second, output)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 2 and x.shape[1] == IMAGE_SIDE * IMAGE_SIDE:
            x = x.reshape(x.shape[0], 1, IMAGE_SIDE, IMAGE_SIDE)
        if x.ndim != 4 or x.shape[1:] != (1, IMAGE_SIDE, IMAGE_SIDE):
            raise ShapeError(
                f"LeNet5 needs (N, 1, {IMAGE_SIDE}, {IMAGE_SIDE}) images or (N, {IMAGE_SIDE * IMAGE_SIDE}) flat ones, "
                f"got shape {x.shape}"
            )
        return self.classifier(self.features(x))
