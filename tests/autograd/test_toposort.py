"""``toposort``: the package's one graph walker, on plain graphs (dicts of parents), tensors and modules.

Work is checked by counting calls of the parents function, never by timing.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor
from tinygrad_mnist.autograd import toposort


def _counting(graph):
    calls = []

    def parents(node):
        calls.append(node)
        return graph[node]

    return parents, calls


def test_a_tree_comes_out_top_down_first_child_first():
    tree = {"root": ["a", "b"], "a": ["a1", "a2"], "b": ["b1"], "a1": [], "a2": [], "b1": []}
    assert toposort(["root"], tree.__getitem__) == ["root", "a", "a1", "a2", "b", "b1"]


def test_a_shared_node_comes_after_every_node_that_uses_it_and_only_once():
    graph = {"top": ["left", "right"], "left": ["shared"], "right": ["shared", "leaf"], "shared": ["leaf"], "leaf": []}
    order = toposort(["top"], graph.__getitem__)
    assert sorted(order) == sorted(graph)
    position = {node: i for i, node in enumerate(order)}
    for node, parents in graph.items():
        assert all(position[node] < position[parent] for parent in parents)


def test_several_roots_each_node_once_roots_in_the_order_given():
    graph = {"r1": ["x"], "r2": ["x", "r1"], "x": []}
    order = toposort(["r2", "r1"], graph.__getitem__)
    assert order == ["r2", "r1", "x"]  # r1 is also r2's parent: it waits for r2
    assert toposort(["r1", "r1"], graph.__getitem__) == ["r1", "x"]


def test_repeated_edges_are_one_edge():
    graph = {"square": ["x", "x"], "x": []}
    assert toposort(["square"], graph.__getitem__) == ["square", "x"]


def test_a_cycle_does_not_hang_each_node_comes_out_once():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"]}
    assert sorted(toposort(["a"], graph.__getitem__)) == ["a", "b", "c"]


def test_nodes_are_told_apart_by_identity_not_equality():
    x, y = Tensor([1.0]), Tensor([1.0])  # equal values, two nodes; == is elementwise
    graph = {id(x): [y], id(y): []}
    assert [t is x for t in toposort([x], lambda t: graph[id(t)])] == [True, False]


def test_a_chain_of_100k_nodes_needs_no_recursion_and_one_parents_call_per_node():
    length = 100_000
    assert length > 10 * sys.getrecursionlimit()
    graph = {i: ([i + 1] if i + 1 < length else []) for i in range(length)}
    parents, calls = _counting(graph)
    order = toposort([0], parents)
    assert order == list(range(length))
    assert len(calls) == length


def test_the_work_is_linear_where_paths_are_exponential():
    # Level k has two nodes that both use both nodes of level k + 1: 2**depth paths, 2 * depth nodes.
    depth = 60
    # One object per node: the walker tells nodes apart by identity, as it must for tensors.
    node = {(k, side): (k, side) for k in range(depth) for side in (0, 1)}
    graph = {node[k, side]: [node[k + 1, 0], node[k + 1, 1]] if k + 1 < depth else []
             for k in range(depth) for side in (0, 1)}
    parents, calls = _counting(graph)
    order = toposort([node[0, 0], node[0, 1]], parents)
    assert len(order) == len(calls) == 2 * depth


@given(st.lists(st.lists(st.integers(0, 29), max_size=4), min_size=1, max_size=30), st.data())
def test_on_random_dags_every_node_comes_before_its_parents(edges, data):
    # Node i may use only nodes with a larger number: a DAG.
    graph = {i: sorted({j for j in targets if j > i}) for i, targets in enumerate(edges)}
    graph.update({j: [] for targets in graph.values() for j in targets if j not in graph})
    roots = data.draw(st.lists(st.sampled_from(sorted(graph)), min_size=1, max_size=3))
    parents, calls = _counting(graph)
    order = toposort(roots, parents)
    reachable, stack = set(roots), list(roots)
    while stack:
        for parent in graph[stack.pop()]:
            if parent not in reachable:
                reachable.add(parent)
                stack.append(parent)
    assert sorted(order) == sorted(reachable)
    assert len(calls) == len(reachable)
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[node] < position[parent] for parent in graph[node])
    assert toposort(roots, graph.__getitem__) == order  # deterministic


def test_on_a_tensor_graph_users_come_before_inputs():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    w = Tensor(np.array([3.0, 4.0]), requires_grad=True, name="w")
    loss = (x * w + x).exp().sum()
    order = toposort([loss], lambda t: t._ctx.parents if t._ctx else ())
    # x, used by Mul and by Add, waits for both; w for Mul only.
    assert [t.name or t.op for t in order] == ["Sum", "Exp", "Add", "Mul", "w", "x"]


@pytest.mark.parametrize("roots", [[], ()])
def test_no_roots_no_nodes(roots):
    assert toposort(roots, lambda node: ()) == []
