"""tinygrad_mnist: a small NumPy-backed autograd framework for learning deep learning on MNIST."""
from .autograd import (
    AnomalyError, Function, ShapeError, TeachingWarning, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad,
    teaching_warnings,
)
from .tensor import Tensor, arange, eye, from_numpy, full, ones, rand, randn, tensor, zeros
from . import func

__version__ = "0.1.0"
__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "Function",
    "ShapeError",
    "TeachingWarning",
    "Tensor",
    "arange",
    "enable_grad",
    "eye",
    "from_numpy",
    "func",
    "full",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "rand",
    "randn",
    "teaching_warnings",
    "tensor",
    "zeros",
]
