"""The one graph walker: every node reachable from some roots, each once, users before the nodes they use.

The backward pass, the graph drawings (``viz.graph``) and module traversal (``Module.named_modules``)
all walk with ``toposort``; each passes its own ``parents`` function (an op's inputs, a module's
children). The walk is a depth-first search with an explicit stack, so a chain of 100,000 ops needs
no recursion, and it calls ``parents`` once per node and looks at each edge once: linear time.
"""
from __future__ import annotations

from typing import Callable, List, Sequence, TypeVar

T = TypeVar("T")


def toposort(roots: Sequence[T], parents: Callable[[T], Sequence[T]]) -> List[T]:
    """Every node reachable from ``roots`` through ``parents``, each once, every node before its parents.

    The order is reverse postorder of a depth-first search that takes roots and parents in the
    order given: deterministic, and for a tree it is the tree read top-down, first child first.
    Reversed, it lists parents before the nodes that use them (inputs before ops). Nodes are told
    apart by identity (``id``), so nodes with an elementwise ``==`` (tensors) work; a graph of plain
    values must use one object per node.

    >>> children = {"loss": ["tanh"], "tanh": ["x", "w"], "x": [], "w": []}
    >>> toposort(["loss"], children.__getitem__)
    ['loss', 'tanh', 'x', 'w']
    >>> diamond = {"top": ["a", "b"], "a": ["bottom"], "b": ["bottom"], "bottom": []}
    >>> toposort(["top"], diamond.__getitem__)  # "bottom" after both of its users
    ['top', 'a', 'b', 'bottom']
    """
    postorder: List[T] = []
    seen = set()
    # Roots and parents are pushed in reverse so that the first of them is finished last, and so
    # comes first once the postorder is reversed.
    for root in reversed(roots):
        if id(root) in seen:
            continue
        seen.add(id(root))
        # Each entry keeps an iterator over its node's parents, so a node resumes where it left off.
        stack = [(root, reversed(parents(root)))]
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, reversed(parents(parent))))
                    break
            else:
                stack.pop()
                postorder.append(node)
    postorder.reverse()
    return postorder

