"""``MLP``: the multilayer perceptron of the lab reports, from softmax regression to deep nets."""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..checks import Bounds, check_choice, check_float, positive_int
from ..errors import ConfigError
from .activations import ACTIVATIONS
from .init import Seed, as_generator
from .layers import Dropout, Linear, Sequential
from .module import Module
from .normalization import BatchNorm1d


def dropout_generator(rng: np.random.Generator) -> np.random.Generator:
    """A generator of its own for one Dropout layer, seeded from the model's ``rng`` (each layer's
    state is then saved and restored on its own, and a checkpoint lists one per layer).

    >>> a, b = dropout_generator(np.random.default_rng(0)), dropout_generator(np.random.default_rng(0))
    >>> a.random() == b.random()
    True
    """
    return np.random.default_rng(rng.integers(2**63))


def _activation_factory(activation):
    """A zero-argument callable that makes the activation for one hidden layer."""
    if isinstance(activation, str):
        return ACTIVATIONS[check_choice(activation, "activation", ACTIVATIONS)]
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation
    if isinstance(activation, Module):
        return lambda: activation  # activations hold no parameters, so one instance can serve every layer
    raise TypeError(
        f"activation must be a name ({', '.join(ACTIVATIONS)}), a Module class or a Module instance, "
        f"got {activation!r}"
    )


class MLP(Module):
    """Linear layers with an activation between them; the output layer has none (its outputs are the
    logits a loss takes).

    ``hidden`` lists the hidden layer sizes and may be empty (plain softmax regression). One ``seed``
    (None, int or Generator) initialises all layers, in order. ``batch_norm=True`` puts a BatchNorm1d
    after each hidden Linear layer (before its activation); ``dropout`` > 0 a Dropout after each
    hidden activation, whose masks are drawn from generators seeded after the weights (so the
    weights are the same with or without dropout).

    >>> MLP(784, [100], 10, activation="relu", seed=0)
    MLP(
      (layers): Sequential(
        (0): Linear(in_features=784, out_features=100, bias=True)
        (1): ReLU()
        (2): Linear(in_features=100, out_features=10, bias=True)
      )
    )
    >>> len(MLP(784, [], 10).layers)
    1
    >>> [type(layer).__name__ for layer in MLP(784, [100], 10, batch_norm=True, dropout=0.5).layers]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        activation: Union[str, type, Module] = "relu",
        init: str = "normal",
        init_std: float = 0.01,
        seed: Seed = None,
        dtype=np.float32,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ):
        if isinstance(hidden, (int, np.integer)) or not hasattr(hidden, "__iter__"):
            raise ConfigError(f"MLP: hidden must be a sequence of layer sizes such as [100] or [], got {hidden!r}")
        sizes = [positive_int(in_features, "in_features", owner="MLP")]
        sizes += [positive_int(size, "each hidden size", owner="MLP") for size in hidden]
        sizes.append(positive_int(out_features, "out_features", owner="MLP"))
        make_activation = _activation_factory(activation)
        dropout = check_float(dropout, "dropout", Bounds(0, 1, high_open=True), owner="MLP")
        rng = as_generator(seed)
        linears = [Linear(fan_in, fan_out, init=init, init_std=init_std, seed=rng, dtype=dtype)
                   for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        layers = []
        for linear in linears[:-1]:
            layers.append(linear)
            if batch_norm:
                layers.append(BatchNorm1d(linear.out_features, dtype=dtype))
            layers.append(make_activation())
            if dropout > 0.0:
                layers.append(Dropout(dropout, seed=dropout_generator(rng)))
        layers.append(linears[-1])
        self.layers = Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
