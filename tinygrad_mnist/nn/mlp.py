"""``MLP``: the multilayer perceptron of the lab reports, from softmax regression to deep nets."""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..checks import check_choice, positive_int
from ..errors import ConfigError
from .activations import ACTIVATIONS
from .init import Seed, as_generator
from .layers import Linear, Sequential
from .module import Module


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
    (None, int or Generator) initialises all layers, in order.

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
    ):
        if isinstance(hidden, (int, np.integer)) or not hasattr(hidden, "__iter__"):
            raise ConfigError(f"MLP: hidden must be a sequence of layer sizes such as [100] or [], got {hidden!r}")
        sizes = [positive_int(in_features, "in_features", owner="MLP")]
        sizes += [positive_int(size, "each hidden size", owner="MLP") for size in hidden]
        sizes.append(positive_int(out_features, "out_features", owner="MLP"))
        make_activation = _activation_factory(activation)
        rng = as_generator(seed)
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if index > 0:
                layers.append(make_activation())
            layers.append(Linear(fan_in, fan_out, init=init, init_std=init_std, seed=rng, dtype=dtype))
        self.layers = Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
