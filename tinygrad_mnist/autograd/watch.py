"""Watching a backward pass: the engine's own steps, recorded as they happen, for the teaching views.

The engine has one hook (``_state["watcher"]``, None unless someone watches). While
``record_backward()`` is active, the real pass reports each node it visits with the complete
gradient it took from the pending gradients, and each share an op's rule sends to an input, with
the input's total after the share was added. Nothing is re-derived here: the order, the gradients
and the places where contributions are summed are the engine's, so the views cannot drift from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from .engine import grad, inputs_needing_grad
from .grad_mode import _state
from .node import Node
from .toposort import toposort


@dataclass
class Share:
    """What one op's backward rule sent to one of its inputs.

    ``position`` is the input's index among the op's inputs, ``gradient`` the share (already summed
    back to the input's shape), ``total`` what the input had received once the share was added,
    and ``added`` whether an earlier share was there to add it to (a tensor used more than once).
    """

    position: int
    input: Node
    gradient: np.ndarray
    total: np.ndarray
    added: bool


@dataclass
class BackwardStep:
    """One node visited by the backward pass: its number (from 1), the node, the complete gradient it
    received, and the shares its op sent to its inputs (none for a leaf).

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([2.0], requires_grad=True)
    >>> first = backward_steps((x * 3.0).sum())[1]
    >>> first.number, first.node.op, first.gradient, [share.gradient for share in first.shares]
    (2, 'Mul', array([1.], dtype=float32), [array([3.], dtype=float32)])
    """

    number: int
    node: Node
    gradient: np.ndarray
    shares: List[Share] = field(default_factory=list)


def _array(value) -> np.ndarray:
    """A copy the record keeps: later steps and optimizers may change the engine's arrays in place."""
    return np.array(value.data if isinstance(value, Node) else value)


class BackwardRecorder:
    """The watcher the engine calls; ``steps`` lists what the pass did, in its order."""

    def __init__(self):
        self.steps: List[BackwardStep] = []
        self._next_position = 0

    def visit(self, node: Node, gradient) -> None:
        """The pass took ``node``'s complete ``gradient`` and is about to run its op's rule."""
        self.steps.append(BackwardStep(len(self.steps) + 1, node, _array(gradient)))
        self._next_position = 0

    def send(self, node: Node, parent: Node, gradient, total, added: bool) -> None:
        """``node``'s rule sent ``gradient`` to its input ``parent``, whose total is now ``total``."""
        # Shares come in input order; the same tensor may be several inputs (x * x), so the position
        # is the next one holding ``parent``, by identity.
        parents = node._ctx.parents
        position = next(i for i in range(self._next_position, len(parents)) if parents[i] is parent)
        self._next_position = position + 1
        self.steps[-1].shares.append(Share(position, parent, _array(gradient), _array(total), added))


class record_backward:
    """Record every backward pass run inside the ``with`` block into ``.steps``.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with record_backward() as recorder:
    ...     (x * x).sum().backward()
    >>> [(step.number, step.node.op) for step in recorder.steps]
    [(1, 'Sum'), (2, 'Mul'), (3, None)]
    >>> [share.added for share in recorder.steps[1].shares]  # x is both inputs of Mul: the 2nd share is added
    [False, True]
    """

    def __init__(self):
        self.recorder = BackwardRecorder()

    def __enter__(self) -> BackwardRecorder:
        self._previous = _state["watcher"]
        _state["watcher"] = self.recorder
        return self.recorder

    def __exit__(self, *exc_info):
        _state["watcher"] = self._previous
        return False


def backward_steps(output: Node, grad_output=None) -> List[BackwardStep]:
    """The steps ``output.backward()`` would take, recorded from a real pass that keeps the graph.

    The pass is ``grad(output, leaves, retain_graph=True)`` over every leaf that needs a gradient: the
    same walk and the same rules as ``backward()``, but no ``.grad`` is touched and the graph stays
    usable (draw it, or call ``backward()`` afterwards). ``grad_output`` seeds a non-scalar output.

    >>> from tinygrad_mnist import Tensor
    >>> w = Tensor([2.0], requires_grad=True, name="w")
    >>> steps = backward_steps((w * 3.0).tanh().sum())
    >>> [step.node.op or step.node.name for step in steps], w.grad is None
    (['Sum', 'Tanh', 'Mul', 'w'], True)
    """
    if not isinstance(output, Node):
        raise TypeError(f"backward_steps expects a Tensor, got {type(output).__name__}")
    leaves = [node for node in toposort([output], inputs_needing_grad) if node._ctx is None]
    with record_backward() as recorder:
        grad([output], leaves, grad_outputs=None if grad_output is None else [grad_output],
             retain_graph=True, allow_unused=True)
    return recorder.steps


def step_gradients(steps: Sequence[BackwardStep]) -> dict:
    """``{id(node): gradient}`` of every node the steps visited (its complete gradient).

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([3.0], requires_grad=True)
    >>> y = x * x
    >>> step_gradients(backward_steps(y.sum()))[id(x)]
    array([6.], dtype=float32)
    """
    return {id(step.node): step.gradient for step in steps}


def find_step(steps: Sequence[BackwardStep], node: Node) -> Optional[BackwardStep]:
    """The step that visited ``node``, or None."""
    return next((step for step in steps if step.node is node), None)
