"""Teaching-mode warnings: one line when code does something legal that is usually a mistake.

Three are raised, each a ``TeachingWarning`` of one line pointing at the user's code:

* ``backward()`` adds gradients onto ones an optimizer step already used (no ``zero_grad()`` between
  the steps of a training loop; the check is here, the optimizer marks what it used);
* a softmax is fed into a loss that applies its own (``nn.functional``);
* a graph is drawn with ``show_grads=True`` while there is no gradient to show (``viz``).

They are on by default. ``teaching_warnings(False)`` switches all of them off (it also works as a
``with`` block that restores the previous state), and so does Python's own
``warnings.filterwarnings("ignore", category=TeachingWarning)``. Nothing here costs time when the
code does the right thing: each check runs only on the path where the mistake shows.
"""
from __future__ import annotations

import os
import sys
import warnings
import weakref
from typing import Dict, Iterable

from .node import Node

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_state = {"enabled": True}
# id(parameter) -> weak reference to the gradient an optimizer step last used for it.
_used_by_step: Dict[int, "weakref.ref"] = {}


class TeachingWarning(UserWarning):
    """A legal but probably unintended use of the framework (switch off with ``teaching_warnings(False)``).

    >>> issubclass(TeachingWarning, UserWarning)
    True
    """


class teaching_warnings:
    """Switch the teaching-mode warnings on or off; as a ``with`` block, only inside it.

    >>> teaching_warnings(False).previous, is_teaching_enabled()
    (True, False)
    >>> with teaching_warnings(True):
    ...     is_teaching_enabled()
    True
    >>> is_teaching_enabled()
    False
    >>> _ = teaching_warnings(True)
    """

    def __init__(self, enabled: bool = True):
        self.previous = _state["enabled"]
        _state["enabled"] = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _state["enabled"] = self.previous
        return False


def is_teaching_enabled() -> bool:
    """Whether teaching-mode warnings are on (they are by default).

    >>> is_teaching_enabled()
    True
    """
    return _state["enabled"]


def warn(message: str) -> None:
    """Emit ``message`` as a one-line ``TeachingWarning`` at the first caller outside the package."""
    if not _state["enabled"]:
        return
    level = 2  # warnings.warn counts its caller (this function) as level 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, TeachingWarning, stacklevel=level)


def mark_used_by_step(parameters: Iterable[Node]) -> None:
    """Remember the gradients an optimizer step has just applied (called by ``Optimizer`` subclasses).

    A later ``backward()`` that adds onto one of them means the loop forgot ``zero_grad()``.
    """
    if not _state["enabled"]:
        return
    for parameter in parameters:
        if parameter.grad is not None:
            _used_by_step[id(parameter)] = weakref.ref(parameter.grad)


def check_accumulation(leaf: Node) -> None:
    """Called by the backward pass before it adds onto ``leaf.grad``: warn if a step already used it."""
    if not _state["enabled"]:
        return
    used = _used_by_step.get(id(leaf))
    if used is not None and used() is leaf.grad:
        del _used_by_step[id(leaf)]
        warn(
            "backward() is adding to gradients that optimizer.step() already used: call "
            "optimizer.zero_grad() before each backward() in a training loop (or teaching_warnings(False) "
            "if you accumulate on purpose)"
        )
