"""Anomaly mode: find the first op whose forward or backward produces NaN or Inf.

Checking every array costs time, so it is off by default and switched on with ``detect_anomaly()``
(or the CLI's ``--detect-anomaly``) while hunting a NaN loss.
"""
from __future__ import annotations

import os
import traceback
from typing import Optional

import numpy as np

from .nonfinite import describe_nonfinite as _describe
from .grad_mode import _state
from .node import Node

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnomalyError(FloatingPointError):
    """Raised in anomaly mode by the first op that produces NaN or Inf.

    The message names the op, what it produced and where the op was written:

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> with np.errstate(invalid="ignore"), detect_anomaly():
    ...     try:
    ...         Tensor([4.0, -1.0]).sqrt()
    ...     except AnomalyError as error:
    ...         print(str(error).splitlines()[0])
    Sqrt produced NaN in forward from finite inputs of shape (2,)
    """


class detect_anomaly:
    """Context manager (and decorator) that checks every op's output and gradients for NaN/Inf.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([0.0, 1.0], requires_grad=True)
    >>> with detect_anomaly():
    ...     try:
    ...         y = x.log()
    ...     except AnomalyError as error:
    ...         print(str(error).splitlines()[0])
    Log produced -inf in forward from finite inputs of shape (2,)
    """

    def __enter__(self):
        self._previous = _state.get("anomaly", False)
        _state["anomaly"] = True
        return self

    def __exit__(self, *exc_info):
        _state["anomaly"] = self._previous
        return False

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return function(*args, **kwargs)

        wrapper.__name__ = getattr(function, "__name__", "wrapper")
        wrapper.__doc__ = getattr(function, "__doc__", None)
        return wrapper


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``.

    >>> with detect_anomaly():
    ...     is_anomaly_enabled()
    True
    >>> is_anomaly_enabled()
    False
    """
    return _state.get("anomaly", False)


def user_frame() -> Optional[str]:
    """``file:line in function`` of the innermost caller outside this package (where the op was written)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
    return None


def _is_finite(array) -> bool:
    array = np.asarray(array)
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


def check_forward(fn, inputs, output: np.ndarray) -> None:
    """Called by ``Function.apply`` in anomaly mode; raises if this op is where NaN/Inf appears."""
    fn.created_at = user_frame()
    if _is_finite(output):
        return
    shapes = ", ".join(str(t.shape) for t in inputs)
    bad_inputs = [i for i, t in enumerate(inputs) if not _is_finite(t.data)]
    if bad_inputs:
        index = bad_inputs[0]
        origin = (f": its input {index} already contains {_describe(inputs[index].data)} "
                  "(check the data it came from, or enter detect_anomaly() earlier)")
    else:
        origin = f" from finite inputs of shape {shapes}"
    raise AnomalyError(
        f"{fn.name} produced {_describe(output)} in forward{origin}\n"
        f"  created at {fn.created_at or '<unknown>'}\n"
        "  look for log/sqrt/division of zero or negative values, exp of large values, or a learning rate that is too high"
    )


def check_backward(fn, index: int, parent, gradient) -> None:
    """Called by the engine in anomaly mode for every gradient a backward rule returns."""
    values = gradient.data if isinstance(gradient, Node) else gradient
    if _is_finite(values):
        return
    raise AnomalyError(
        f"backward of {fn.name} produced {_describe(np.asarray(values))} in the gradient of its input {index} "
        f"(shape {parent.shape})\n  created at {getattr(fn, 'created_at', None) or '<unknown>'}"
    )
