"""Helpers shared by the perf tests: every tensor and op of a graph, found without recursion."""
from __future__ import annotations

from typing import List, Tuple

from tinygrad_mnist import Tensor


def graph_of(root: Tensor) -> Tuple[List[Tensor], list]:
    """All tensors ``root`` was computed from (itself included) and all recorded ops, each once."""
    tensors, ops, seen = [], [], set()
    stack = [root]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        tensors.append(tensor)
        ctx = tensor._ctx
        if ctx is not None:
            ops.append(ctx)
            stack.extend(ctx.parents or ())
    return tensors, ops
