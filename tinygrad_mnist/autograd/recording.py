"""Where a recording of a training step (``tinygrad_mnist.jit``) is told about the framework's state.

The jit records a step by tracing its NumPy calls. NumPy calls on arrays that hold the step's
inputs, and on everything computed from them, trace themselves; what this module adds is the state
that lives in Python objects around those arrays, which NumPy never sees:

* ``adopt(tensors)`` (called by ``Function.apply`` and ``Module.__call__``): the arrays of
  parameters and buffers that an op or a module is about to read, so the recording traces them too
  and their in-place updates (a running mean, an optimizer step) are replayed, not frozen;
* ``opaque(call, reads_grads_of)`` (called by ``Optimizer.step``): a whole update replayed as one
  Python call that reads its hyperparameters (a scheduled learning rate, Adam's step count) when
  it runs, instead of baking them in as the numbers they were while recording;
* ``random(generator, shape, dtype)`` (used by ``Dropout``): a draw from a random generator, which
  a replay must draw again rather than reuse.

Nothing here imports the jit: a recording registers itself as ``_state["recorder"]`` (the same
dict as grad mode) and these functions ask it, so ``autograd`` stays at the bottom of the imports.
With no recording active each is one dictionary lookup.
"""
from __future__ import annotations

from typing import Callable, Iterable, Tuple

import numpy as np

from .grad_mode import _state


def active():
    """The recording in progress, or None (there is none outside a jit's recording calls).

    >>> active() is None
    True
    """
    return _state["recorder"]


def adopt(tensors: Iterable) -> None:
    """Tell a recording in progress that ``tensors`` (parameters, buffers) are about to be read."""
    recorder = _state["recorder"]
    if recorder is not None:
        recorder.adopt(tensors)


def opaque(call: Callable[[], None], reads_grads_of) -> bool:
    """Hand ``call`` (an optimizer's update) to a recording in progress; True when it ran it.

    The recording runs the call itself (untraced), notes which gradients it read, and replays it as
    one call. Without a recording, returns False and the caller runs the update.
    """
    recorder = _state["recorder"]
    if recorder is None:
        return False
    recorder.opaque(call, list(reads_grads_of))
    return True


def entering(module) -> None:
    """Tell a recording in progress that ``module``'s forward is about to run (``Module.__call__``):
    it traces the module's parameters and buffers and checks its training flag before each replay."""
    recorder = _state["recorder"]
    if recorder is not None:
        recorder.enter_module(module)


def structure_changed() -> None:
    """A module got or lost a layer or a parameter (``Module.__setattr__``): recordings made before
    no longer describe the model, so the jit records again.

    >>> before = _state["structure"]; structure_changed(); _state["structure"] - before
    1
    """
    _state["structure"] += 1


def random(generator: np.random.Generator, shape: Tuple[int, ...], dtype) -> np.ndarray:
    """``generator.random(shape, dtype=dtype)``, drawn again by every replay of a recorded step.

    >>> random(np.random.default_rng(0), (2,), np.float32).shape
    (2,)
    """
    recorder = _state["recorder"]
    if recorder is None:
        return generator.random(shape, dtype=dtype)
    return recorder.random(generator, tuple(shape), np.dtype(dtype))
