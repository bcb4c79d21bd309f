"""Helpers shared by the perf tests: every tensor and op of a graph, found by the package's walker."""
from __future__ import annotations

from typing import List, Tuple

from tinygrad_mnist import Tensor
from tinygrad_mnist.autograd import toposort


def graph_of(root: Tensor) -> Tuple[List[Tensor], list]:
    """All tensors ``root`` was computed from (itself included) and all recorded ops, each once."""
    tensors = toposort([root], lambda t: t._ctx.parents or () if t._ctx is not None else ())
    return tensors, [t._ctx for t in tensors if t._ctx is not None]
