"""Nested arguments and results: tuples, lists and dicts, flattened to a list of leaves and rebuilt.

The transforms accept a function whose differentiated arguments and results are tensors or
containers of tensors (a list of weights, a dict of named parameters, a tuple of outputs). They work
on the flat list of leaves and give results back in the caller's structure. Everything that is not
a tuple, a list or a dict is a leaf; named tuples keep their type.

>>> leaves, structure = flatten({"w": [1.0, 2.0], "b": 3.0})
>>> leaves
[1.0, 2.0, 3.0]
>>> unflatten(structure, [10.0, 20.0, 30.0])
{'w': [10.0, 20.0], 'b': 30.0}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Tuple


@dataclass(frozen=True)
class Structure:
    """The shape of a nested container without its leaves: ``kind`` is ``"leaf"``, ``tuple``,
    ``list``, ``dict`` or a named tuple class; ``keys`` are a dict's keys, in order.

    >>> flatten((1.0, [2.0]))[1].num_leaves
    2
    """

    kind: Any
    keys: Tuple[Any, ...] = ()
    children: Tuple["Structure", ...] = ()

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure holds."""
        if self.kind == "leaf":
            return 1
        return sum(child.num_leaves for child in self.children)

    @property
    def is_leaf(self) -> bool:
        """True for a single leaf (no container around it)."""
        return self.kind == "leaf"


LEAF = Structure("leaf")


def flatten(tree: Any) -> Tuple[List[Any], Structure]:
    """Return the leaves of ``tree`` in order (dict values in insertion order) and its structure.

    >>> flatten([1.0, (2.0, 3.0)])[0]
    [1.0, 2.0, 3.0]
    """
    leaves: List[Any] = []
    # Recursion over the user's containers (a few levels deep), never over a graph.
    structure = _flatten_into(tree, leaves)
    return leaves, structure


def _flatten_into(tree: Any, leaves: List[Any]) -> Structure:
    if isinstance(tree, dict):
        keys = tuple(tree)
        return Structure(dict, keys, tuple(_flatten_into(tree[key], leaves) for key in keys))
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return Structure(type(tree), (), tuple(_flatten_into(item, leaves) for item in tree))
    if type(tree) in (tuple, list):
        return Structure(type(tree), (), tuple(_flatten_into(item, leaves) for item in tree))
    leaves.append(tree)
    return LEAF


def unflatten(structure: Structure, leaves: List[Any]) -> Any:
    """Rebuild a tree of ``structure`` from its leaves (the inverse of :func:`flatten`).

    >>> tree = {"a": (1.0, 2.0)}
    >>> unflatten(flatten(tree)[1], [5.0, 6.0])
    {'a': (5.0, 6.0)}
    """
    if len(leaves) != structure.num_leaves:
        raise ValueError(f"got {len(leaves)} leaves for a structure that holds {structure.num_leaves}")
    position = iter(leaves)
    return _build(structure, position)


def _build(structure: Structure, position) -> Any:
    if structure.kind == "leaf":
        return next(position)
    children = [_build(child, position) for child in structure.children]
    if structure.kind is dict:
        return dict(zip(structure.keys, children))
    if structure.kind in (tuple, list):
        return structure.kind(children)
    return structure.kind(*children)  # a named tuple


def describe(structure: Structure) -> str:
    """A short description of a structure for error messages.

    >>> describe(flatten((1.0, [2.0, 3.0]))[1])
    'tuple(leaf, list(leaf, leaf))'
    """
    if structure.kind == "leaf":
        return "leaf"
    name = "dict" if structure.kind is dict else structure.kind.__name__
    inner = ", ".join(
        f"{key!r}: {describe(child)}" if structure.kind is dict else describe(child)
        for key, child in zip(structure.keys or [None] * len(structure.children), structure.children)
    )
    return f"{name}({inner})"
