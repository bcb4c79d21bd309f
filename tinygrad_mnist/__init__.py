"""tinygrad_mnist: a small NumPy-backed autograd framework for learning deep learning on MNIST."""
from .tensor import Tensor, arange, eye, from_numpy, full, ones, rand, randn, tensor, zeros  # isort: skip
from .autograd import AnomalyError, Function, ShapeError, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad
from . import func  # isort: skip  (builds on the Tensor and the engine imported above)

__version__ = "0.1.0"
__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "Function",
    "ShapeError",
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
    "tensor",
    "zeros",
]
