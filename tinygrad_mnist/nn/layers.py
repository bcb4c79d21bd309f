"""Building blocks: ``Linear``, ``Sequential``, ``Flatten`` and ``Dropout``."""
from __future__ import annotations

from typing import Iterator, Tuple

import numpy as np

from ..autograd import recording
from ..checks import UNIT_INTERVAL, check_choice, check_float, positive_int
from ..ops.linalg import linear
from ..ops.spelling import numpy_spelling
from ..tensor import Tensor
from .arguments import float_dtype
from .init import INITS, Seed, as_generator, initial_bias, initial_weight
from .module import Module, Parameter


class Linear(Module):
    """Affine layer ``x @ weight + bias`` with weight of shape (in_features, out_features).

    ``init`` is one of ``INITS``: "normal" (std ``init_std``; the lab reports used 0.01), "xavier"
    (Glorot uniform), "he" (Kaiming normal, fan_in) or "pytorch" (PyTorch's default, weight and bias
    U(-1/sqrt(in), 1/sqrt(in))). Other biases start at zero. ``seed`` is None, an int or a numpy
    Generator; ``dtype`` (float32 by default) is kept by the parameters.

    >>> layer = Linear(3, 2, init="he", seed=0)
    >>> layer(Tensor(np.ones((4, 3), dtype=np.float32))).shape
    (4, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "normal",
        init_std: float = 0.01,
        seed: Seed = None,
        dtype=np.float32,
    ):
        self.in_features = positive_int(in_features, "in_features", owner="Linear")
        self.out_features = positive_int(out_features, "out_features", owner="Linear")
        dtype = float_dtype("Linear", dtype)
        init = check_choice(init, "init", INITS, owner="Linear")
        shape = (self.in_features, self.out_features)
        rng = as_generator(seed)
        self.weight = Parameter(initial_weight(init, shape, init_std, rng, dtype))
        self.bias = Parameter(initial_bias(init, self.in_features, self.out_features, rng, dtype)) if bias else None

    def forward(self, x):
        shape, dtype = x.shape, x.dtype
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features} -> {self.out_features}) got an input of shape {shape}; it needs "
                f"(..., {self.in_features}) (flatten images first, e.g. with nn.Flatten())"
            )
        if dtype != self.weight.dtype:
            # Mixing dtypes would silently promote the whole graph (or fail on integers).
            raise TypeError(
                f"Linear holds {self.weight.dtype} weights but got a {dtype} input; "
                f"convert the input (x.astype(np.{self.weight.dtype})) or build the model with dtype={dtype}"
            )
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        return text if self.weight.dtype == np.float32 else f"{text}, dtype={self.weight.dtype}"


class Sequential(Module):
    """Modules applied one after the other; their names are their positions ("0", "1", ...).

    >>> from tinygrad_mnist.nn import ReLU
    >>> net = Sequential(Linear(4, 3, seed=0), ReLU(), Linear(3, 2, seed=1))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> len(net), type(net[1]).__name__
    (3, 'ReLU')
    """

    def __init__(self, *modules: Module):
        for position, module in enumerate(modules):
            if not isinstance(module, Module):
                what = f"the class {module.__name__}" if isinstance(module, type) else f"a {type(module).__name__}"
                hint = f"; create it: {module.__name__}()" if isinstance(module, type) else ""
                raise TypeError(f"Sequential: argument {position} is {what}, not a Module{hint}")
        # A dict, not a list: the generic registration refuses lists of modules (see _own_members).
        self._layers = {str(position): module for position, module in enumerate(modules)}

    def _own_members(self) -> Iterator[Tuple[str, object]]:
        yield from self._layers.items()
        yield from super()._own_members()

    def forward(self, x):
        for module in self._layers.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers.values())

    def __getitem__(self, index):
        layers = list(self._layers.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]


class Flatten(Module):
    """Merge axes ``start_axis..end_axis`` (by default all but the batch axis).

    >>> Flatten()(Tensor(np.zeros((2, 28, 28), dtype=np.float32))).shape
    (2, 784)
    """

    @numpy_spelling
    def __init__(self, start_axis: int = 1, end_axis: int = -1):
        self.start_axis, self.end_axis = int(start_axis), int(end_axis)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x.flatten(self.start_axis, self.end_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Dropout(Module):
    """Inverted dropout: in training mode zero each element with probability ``p`` and scale the rest
    by 1 / (1 - p); the identity in evaluation mode (``model.eval()``).

    >>> drop = Dropout(0.5, seed=0)
    >>> x = Tensor(np.ones((1, 6), dtype=np.float32))
    >>> sorted(set(drop(x).numpy().ravel().tolist())) == [0.0, 2.0]
    True
    >>> bool((drop.eval()(x).numpy() == 1).all())
    True
    """

    def __init__(self, p: float = 0.5, seed: Seed = None):
        self.p = check_float(p, "p", UNIT_INTERVAL, owner="Dropout")
        self.rng = as_generator(seed)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        # Drawn through autograd.recording: a jitted step draws a new mask at every replay.
        keep = recording.random(self.rng, x.shape, np.float32) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        return x * (keep * np.asarray(scale, dtype=x.dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"
