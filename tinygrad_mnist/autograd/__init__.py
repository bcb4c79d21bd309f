"""The autograd engine: ops as ``Function`` subclasses, the backward pass, and grad mode."""
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .engine import GraphFreedError, backward, grad, sum_to_shape, topological_order
from .function import Function, ShapeError
from .grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "is_anomaly_enabled",
    "Function",
    "GraphFreedError",
    "ShapeError",
    "backward",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "sum_to_shape",
    "topological_order",
]
