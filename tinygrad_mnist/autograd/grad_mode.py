"""Whether operations record a graph: ``no_grad``, ``enable_grad`` and ``is_grad_enabled``."""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

# A module-level flag rather than thread-local state: the framework is single-threaded by design and
# reading a global is the cheapest check on the hot path of every op.
# "watcher": an object that sees each step of a backward pass (autograd/watch.py), None when nobody looks.
# "recorder": the jit's recording in progress, if any, and "structure" counts changes of modules'
# layers and parameters (``autograd/recording.py``).
_state = {"enabled": True, "anomaly": False, "watcher": None, "recorder": None, "structure": 0}


def is_grad_enabled() -> bool:
    """Return True when new operations record a graph for backward.

    >>> is_grad_enabled()
    True
    """
    return _state["enabled"]


class _GradMode:
    """Context manager and decorator that sets grad recording on or off, restoring it afterwards."""

    _mode: bool

    def __enter__(self):
        self._previous = _state["enabled"]
        _state["enabled"] = self._mode
        return self

    def __exit__(self, *exc_info):
        _state["enabled"] = self._previous
        return False

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disable graph recording inside a ``with`` block or a decorated function.

    >>> from tinygrad_mnist import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording, for example inside a ``no_grad`` block.

    >>> from tinygrad_mnist import Tensor
    >>> w = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     with enable_grad():
    ...         y = w * 2
    >>> y.requires_grad
    True
    """

    _mode = True
