"""Activation functions as Modules (thin wrappers over ``nn.functional``) and the name registry
``ACTIVATIONS`` used by configs and the command line."""
from __future__ import annotations

from typing import Dict

from ..ops.spelling import numpy_spelling
from . import functional as F
from .module import Module


class Sigmoid(Module):
    """Elementwise logistic function.

    >>> from tinygrad_mnist import Tensor
    >>> Sigmoid()(Tensor([0.0])).numpy()
    array([0.5], dtype=float32)
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Elementwise hyperbolic tangent.

    >>> from tinygrad_mnist import Tensor
    >>> Tanh()(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """Elementwise max(x, 0).

    >>> from tinygrad_mnist import Tensor
    >>> ReLU()(Tensor([-1.0, 1.0])).numpy()
    array([0., 1.], dtype=float32)
    """

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise.

    >>> from tinygrad_mnist import Tensor
    >>> LeakyReLU(0.5)(Tensor([-2.0])).numpy()
    array([-1.], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise (never overflows).

    >>> from tinygrad_mnist import Tensor
    >>> ELU()(Tensor([-1000.0])).numpy()
    array([-1.], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GeLU(Module):
    """Gaussian error linear unit, exact (erf) or with ``approximate="tanh"``.

    >>> from tinygrad_mnist import Tensor
    >>> GeLU()(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GeLU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class GeLUTanh(GeLU):
    """GeLU with the tanh approximation (the registry's "gelu_tanh").

    >>> GeLUTanh()
    GeLUTanh(approximate='tanh')
    """

    def __init__(self):
        super().__init__(approximate="tanh")


class SeLU(Module):
    """Scaled ELU with the standard self-normalising constants.

    >>> from tinygrad_mnist import Tensor
    >>> SeLU()(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """

    def forward(self, x):
        return F.selu(x)


class HardSwish(Module):
    """``x * clip(x + 3, 0, 6) / 6``.

    >>> from tinygrad_mnist import Tensor
    >>> HardSwish()(Tensor([3.0])).numpy()
    array([3.], dtype=float32)
    """

    def forward(self, x):
        return F.hardswish(x)


class SiLU(Module):
    """SiLU, also called Swish: ``x * sigmoid(x)``.

    >>> from tinygrad_mnist import Tensor
    >>> SiLU()(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """

    def forward(self, x):
        return F.silu(x)


Swish = SiLU


class Softplus(Module):
    """``log(1 + exp(x))``, computed stably.

    >>> from tinygrad_mnist import Tensor
    >>> Softplus()(Tensor([1000.0])).numpy()
    array([1000.], dtype=float32)
    """

    def forward(self, x):
        return F.softplus(x)


class Softmax(Module):
    """Probabilities along ``axis``.

    >>> from tinygrad_mnist import Tensor
    >>> Softmax()(Tensor([[0.0, 0.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """

    @numpy_spelling
    def __init__(self, axis: int = -1):
        self.axis = int(axis)

    def forward(self, x):
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """Log-probabilities along ``axis``: ``x - logsumexp(x)``.

    >>> from tinygrad_mnist import Tensor
    >>> LogSoftmax()(Tensor([[0.0, 0.0]])).numpy()
    array([[-0.6931472, -0.6931472]], dtype=float32)
    """

    @numpy_spelling
    def __init__(self, axis: int = -1):
        self.axis = int(axis)

    def forward(self, x):
        return F.log_softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


#: Hidden-layer activations by their command-line names (Softmax/LogSoftmax belong to losses).
ACTIVATIONS: Dict[str, type] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leakyrelu": LeakyReLU,
    "elu": ELU,
    "gelu": GeLU,
    "gelu_tanh": GeLUTanh,
    "selu": SeLU,
    "hardswish": HardSwish,
    "silu": SiLU,
    "swish": Swish,
    "softplus": Softplus,
}
