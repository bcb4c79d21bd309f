"""tinygrad_mnist: a small NumPy-backed autograd framework for learning deep learning on MNIST."""
from .autograd import (
    AnomalyError, Function, ShapeError, TeachingWarning, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad,
    teaching_warnings,
)
from .capture import JitWarning, jit
from .creation import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .functions import cat, concatenate, stack, where
from .rng import manual_seed
from .tensor import Tensor
from . import func

__version__ = "0.1.0"
__all__ = [
    "AnomalyError",
    "JitWarning",
    "detect_anomaly",
    "Function",
    "ShapeError",
    "TeachingWarning",
    "Tensor",
    "arange",
    "cat",
    "concatenate",
    "enable_grad",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "func",
    "grad",
    "is_grad_enabled",
    "jit",
    "linspace",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "stack",
    "teaching_warnings",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
