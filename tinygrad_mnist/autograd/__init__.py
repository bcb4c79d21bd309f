"""The autograd engine: ops as ``Function`` subclasses, the backward pass, grad mode, and the graph walker.

It knows values only through the small ``Node`` protocol (``autograd/node.py``) and never imports
``Tensor``: ``ops/`` build on this package and ``tensor.py`` on both.
"""
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .engine import GraphFreedError, backward, grad, inputs_needing_grad, sum_to_shape
from .function import Function, ShapeError
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .node import Node
from .saved import ModifiedError, modify_in_place
from .teaching import TeachingWarning, is_teaching_enabled, teaching_warnings
from .toposort import toposort
from .watch import BackwardStep, backward_steps, record_backward

__all__ = [
    "AnomalyError",
    "BackwardStep",
    "TeachingWarning",
    "backward_steps",
    "is_teaching_enabled",
    "record_backward",
    "teaching_warnings",
    "detect_anomaly",
    "is_anomaly_enabled",
    "Function",
    "GraphFreedError",
    "ModifiedError",
    "Node",
    "ShapeError",
    "backward",
    "enable_grad",
    "grad",
    "inputs_needing_grad",
    "is_grad_enabled",
    "modify_in_place",
    "no_grad",
    "sum_to_shape",
    "toposort",
]
