"""Capture and replay: ``jit`` runs a training step from a recording of its NumPy calls, bit for bit
the eager step.

This is where the framework's speed lives. The eager engine builds a graph and dispatches every op
through Python; a jitted step is recorded once (``Traced`` arrays write down every NumPy call of the
forward pass, the backward pass and the optimizer) and then replayed as straight-line NumPy code
with preallocated buffers. See the guide "How the JIT works" for what is recorded, what a replay
does and when a call runs eagerly instead.

>>> import numpy as np
>>> from tinygrad_mnist import Tensor, jit
>>> @jit
... def double(x):
...     return x * 2
>>> [double(Tensor(np.arange(3.0))).tolist() for _ in range(3)][-1]
[0.0, 2.0, 4.0]
"""
from .jit import JitFunction, JitWarning, jit
from .program import Program
from .recording import Recording
from .traced import Traced

__all__ = ["JitFunction", "JitWarning", "Program", "Recording", "Traced", "jit"]
