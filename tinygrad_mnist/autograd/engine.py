"""Reverse-mode differentiation: the backward pass behind ``grad`` and ``backward``.

This module is the ONE place where a gradient is summed back to its input's broadcast shape
(``sum_to_shape``) and where every gradient is checked against its node's shape and dtype. It knows
nodes (``autograd.node``), not ``Tensor``, and takes the order of the pass from the package's one
graph walker, ``toposort``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from . import anomaly, saved, teaching
from .grad_mode import _state
from .node import Node
from .toposort import toposort

GRAPH_FREED_MESSAGE = (
    "{op}: the graph was already freed by an earlier backward()/grad(); its saved values are gone. "
    "Pass retain_graph=True to the first call if you need to differentiate the same graph twice."
)


class GraphFreedError(RuntimeError):
    """Raised on a second backward pass through a graph whose saved values were freed.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> try:
    ...     y.backward()
    ... except GraphFreedError as error:
    ...     print(str(error).split(";")[0])
    Sum: the graph was already freed by an earlier backward()/grad()
    """


def inputs_needing_grad(node: Node) -> Sequence[Node]:
    """The edges the backward pass follows: the inputs of ``node``'s op that need a gradient.

    Pass it to ``toposort`` to list what a backward pass from some outputs would visit:

    >>> from tinygrad_mnist import Tensor
    >>> from tinygrad_mnist.autograd import toposort
    >>> x = Tensor([1.0], requires_grad=True)
    >>> y = (x * 2).exp()
    >>> [t is x for t in toposort([y], inputs_needing_grad)]
    [False, False, True]
    """
    ctx = node._ctx
    if ctx is None:
        return ()
    parents = ctx.parents
    if parents is None:
        raise GraphFreedError(GRAPH_FREED_MESSAGE.format(op=ctx.name))
    needs = ctx.needs_input_grad
    if False in needs:
        return [parent for parent, needed in zip(parents, needs) if needed]
    return parents


def _position(parents, parent) -> int:
    """Index of ``parent`` among an op's inputs, by identity (``==`` on tensors is elementwise)."""
    return next(i for i, p in enumerate(parents) if p is parent)


def sum_to_shape(gradient, shape: Tuple[int, ...]):
    """Sum a gradient of a broadcast result back to the shape of the input that was broadcast.

    Works on ndarrays and on Tensors (then it records the graph, for higher-order gradients).

    >>> sum_to_shape(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    """
    if gradient.shape == shape:
        return gradient
    extra = gradient.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"gradient of shape {gradient.shape} has fewer dimensions than its tensor {shape}")
    if any(size != 1 and gradient.shape[extra + i] != size for i, size in enumerate(shape)):
        raise RuntimeError(f"gradient of shape {gradient.shape} cannot be summed to shape {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and gradient.shape[extra + i] != 1
    )
    return gradient.sum(axis=axes, keepdims=True).reshape(shape)


def _check_gradient(gradient, node: Node, ctx, create_graph: bool):
    """Make a rule's gradient fit its node: a node under create_graph, else an ndarray; the node's
    shape (broadcasting undone here) and dtype (a float32 graph has float32 gradients)."""
    data = node.data
    if create_graph:
        if not isinstance(gradient, Node):
            gradient = node._wrap(np.asarray(gradient, dtype=data.dtype))
    elif not isinstance(gradient, np.ndarray):
        gradient = np.asarray(gradient)
    if gradient.shape != data.shape:
        try:
            gradient = sum_to_shape(gradient, data.shape)
        except RuntimeError as error:
            index = _position(ctx.parents, node)
            raise RuntimeError(f"backward of {ctx.name} returned, for input {index}, {error}") from None
    if gradient.dtype != data.dtype:
        gradient = gradient.astype(data.dtype)
    return gradient


def _seed(outputs: Sequence[Node], grad_outputs, create_graph: bool) -> list:
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Node, np.ndarray)):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one per output")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Node):
            raise TypeError(f"output {i} is a {type(out).__name__}, not a Tensor")
        if not out.requires_grad:
            raise RuntimeError(
                f"output {i} does not require grad: nothing it was computed from has requires_grad=True, "
                "it was computed under no_grad(), or it is (computed from) a gradient taken without "
                "create_graph=True; to differentiate a gradient, pass create_graph=True to the grad() or "
                "backward() that computes it"
            )
        shape = out.data.shape
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"backward of a non-scalar output of shape {shape} needs a gradient: pass "
                    "grad=<tensor of the same shape> (or reduce it first, e.g. out.sum().backward())"
                )
            g = np.ones(shape, dtype=out.data.dtype)
        elif isinstance(g, Node):
            g = g if create_graph else g.data
            if g.dtype != out.data.dtype:  # a float32 graph gets float32 gradients, whatever the seed's type
                g = g.astype(out.data.dtype)
        else:
            g = np.asarray(g, dtype=out.data.dtype)
        if g.shape != shape:
            raise ValueError(f"gradient for output {i} has shape {g.shape} but the output has shape {shape}")
        if create_graph and not isinstance(g, Node):
            g = out._wrap(g)
        seeds.append(g)
    return seeds


def _walk_towards(outputs: Sequence[Node], inputs: Sequence[Node]):
    """``grad``'s walk: the nodes between ``outputs`` and ``inputs``, and no further.

    Returns the nodes in backward order, the ids of those whose backward rule must run, and the ids
    of those that lead to a requested input (the only ones worth a gradient). The walk does not go
    below the requested inputs: ops are numbered as they are recorded, so when every requested input
    is an op's result, an op recorded no later than the earliest of them cannot have one among its
    inputs and is not expanded. (A requested leaf can be anywhere below, so then the walk goes on.)
    Nothing below the requested inputs is visited, run or freed; a later backward through it works.
    """
    wanted = {id(t) for t in inputs}
    floor = -1 if any(t._ctx is None for t in inputs) else min(t._ctx.sequence for t in inputs)

    def parents(node: Node) -> Sequence[Node]:
        ctx = node._ctx
        if ctx is None or ctx.sequence <= floor:
            return ()
        return inputs_needing_grad(node)

    order = toposort(outputs, parents)
    runs: Set[int] = set()
    leading: Set[int] = set()
    for node in reversed(order):  # inputs before their users
        through = any(id(parent) in leading for parent in parents(node))
        if through:
            runs.add(id(node))
        if through or id(node) in wanted:
            leading.add(id(node))
    return [node for node in order if id(node) in leading], runs, leading


def _own_array(gradient: np.ndarray, given_out: Set[int]) -> np.ndarray:
    """``gradient`` as an array that one tensor may keep (and users and optimizers update in place).

    A rule may hand the same array to several inputs (``Add``), or pass on a view or the caller's
    own ``grad_outputs``: those are copied. A fresh array that nothing else got in this pass is
    kept as it is, which saves copying every parameter's gradient each step (3-4% of a training
    step of the benchmark MLPs; see docs/performance.md). ``given_out`` holds the ids of the seeds
    and of the arrays already handed out.
    """
    if gradient.base is not None or not gradient.flags.writeable or id(gradient) in given_out:
        gradient = gradient.copy()
    given_out.add(id(gradient))
    return gradient


def _store_leaf_grad(leaf: Node, gradient, given_out: Set[int]) -> None:
    if leaf.grad is not None:
        teaching.check_accumulation(leaf)
    if isinstance(gradient, Node):  # create_graph: the gradient keeps its graph
        leaf.grad = gradient if leaf.grad is None else leaf.grad + gradient
    elif leaf.grad is None:
        leaf.grad = leaf._wrap(_own_array(gradient, given_out))
    else:
        leaf.grad = leaf._wrap(leaf.grad.data + gradient)


def _backward_pass(outputs, seeds, inputs, retain_graph: bool, create_graph: bool, store_leaf_grads: bool):
    """Propagate ``seeds`` from ``outputs``; return {id: gradient} for the nodes in ``inputs``.

    ``toposort`` gives every node after all the nodes computed from it, so a node's gradient is
    complete when its turn comes: the pass takes it (dropping it from the pending gradients), hands
    it to the op's backward rule, adds each input's share to what that input already has, and
    frees the op's saved inputs unless ``retain_graph``. Leaves keep their gradient in ``.grad``
    (``backward``) or have it returned (``grad``, which walks only towards its inputs).
    """
    grads: Dict[int, object] = {}  # id(node) -> its gradient so far
    for out, seed in zip(outputs, seeds):
        previous = grads.get(id(out))
        grads[id(out)] = seed if previous is None else _sum(previous, seed, create_graph)
    wanted = {id(t) for t in inputs}
    if store_leaf_grads:
        order = toposort(outputs, inputs_needing_grad)
        runs = leading = None
    else:
        order, runs, leading = _walk_towards(outputs, inputs)
    found: Dict[int, object] = {}
    given_out = {id(seed) for seed in seeds}  # arrays a tensor must not keep without a copy
    check_anomaly = _state["anomaly"]
    watcher = _state["watcher"]  # the one hook into the pass: see autograd/watch.py
    # Grad mode set directly rather than through a context manager: this runs once per training step.
    previous_mode = _state["enabled"]
    _state["enabled"] = create_graph
    try:
        order.reverse()  # popped from the end, so a visited node is no longer held by the pass
        while order:
            node = order.pop()
            key = id(node)
            gradient = grads.pop(key, None)
            if gradient is None:  # a rule gave None for this input: nothing flows here
                continue
            if watcher is not None:
                watcher.visit(node, gradient)
            if key in wanted:
                found[key] = gradient if create_graph else _own_array(gradient, given_out)
            ctx = node._ctx
            if ctx is None:
                if store_leaf_grads:
                    _store_leaf_grad(node, gradient, given_out)
                continue
            if runs is not None and key not in runs:
                continue
            parents = ctx.parents
            if saved.modified_at:
                saved.check_unmodified(ctx.name, ctx.held, ctx.sequence, ctx.input_arrays, node.data)
            if create_graph:
                _check_inputs_unchanged(ctx, parents)
                input_grads = ctx.backward(gradient, *parents, node)
            else:
                input_grads = ctx.backward(gradient, *ctx.input_arrays, node.data)
            if type(input_grads) is not tuple or len(input_grads) != len(parents):
                input_grads = _checked_rule_result(ctx, input_grads)
            for parent, needed, input_grad in zip(parents, ctx.needs_input_grad, input_grads):
                if not needed or input_grad is None or (leading is not None and id(parent) not in leading):
                    continue
                if check_anomaly:
                    anomaly.check_backward(ctx, _position(parents, parent), parent, input_grad)
                input_grad = _check_gradient(input_grad, parent, ctx, create_graph)
                previous = grads.get(id(parent))
                grads[id(parent)] = input_grad if previous is None else _sum(previous, input_grad, create_graph)
                if watcher is not None:
                    watcher.send(node, parent, input_grad, grads[id(parent)], previous is not None)
            if not retain_graph:
                ctx.free_saved()
    finally:
        _state["enabled"] = previous_mode
    return found


def _checked_rule_result(ctx, input_grads) -> Sequence:
    """A backward rule's result as one gradient (or None) per input, or an error naming the op."""
    count = len(ctx.parents)
    expected = f"a tuple of {count} gradient(s) (one per input, None where there is none)"
    if not isinstance(input_grads, (tuple, list)):
        raise TypeError(
            f"backward of {ctx.name} returned a bare {type(input_grads).__name__} instead of a tuple; "
            f"it must return {expected}, e.g. (grad_x,) for one input"
        )
    if len(input_grads) != count:
        raise TypeError(f"backward of {ctx.name} returned {len(input_grads)} gradient(s) for {count} input(s); "
                        f"it must return {expected}")
    return input_grads


def _check_inputs_unchanged(ctx, parents) -> None:
    """Refuse a create_graph pass through an op whose input got new values after the op was recorded
    (``p -= lr * g`` replaces ``p.data``): its rule would read the new values, not those it used.
    First-order passes read the saved arrays (``input_arrays``) and are not affected."""
    for index, (parent, array) in enumerate(zip(parents, ctx.input_arrays)):
        if parent.data is not array:
            raise RuntimeError(
                f"{ctx.name}: input {index} (shape {parent.data.shape}) got new values after {ctx.name} used it "
                "(an in-place update such as p -= ...), so a create_graph pass cannot differentiate the "
                "recorded values; update it after the backward pass, or record the graph again"
            )


def _sum(previous, addition, create_graph: bool):
    if create_graph:
        return previous + addition
    # An ndarray even for 0-d operands (NumPy gives a scalar), as rules and checks expect; asanyarray
    # keeps the traced arrays of a jit recording.
    return np.asanyarray(previous + addition)


def backward(tensor: Node, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([3.0], requires_grad=True)
    >>> backward((x * x).sum())
    >>> x.grad.numpy()
    array([6.], dtype=float32)
    """
    seeds = _seed([tensor], None if grad is None else [grad], create_graph)
    _backward_pass([tensor], seeds, (), retain_graph or create_graph, create_graph, store_leaf_grads=True)


def grad(
    outputs: Union[Node, Sequence[Node]],
    inputs: Union[Node, Sequence[Node]],
    grad_outputs=None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> Tuple[Optional[Node], ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves differentiable. Only the part
    of the graph between the outputs and the inputs is walked (and freed, without ``retain_graph``):
    what lies below the inputs stays usable.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([2.0], requires_grad=True)
    >>> (dx,) = grad((x ** 3).sum(), x, create_graph=True)
    >>> dx.numpy(), grad(dx.sum(), x)[0].numpy()
    (array([12.], dtype=float32), array([12.], dtype=float32))
    """
    outputs = [outputs] if isinstance(outputs, Node) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Node) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Node) or not t.requires_grad:
            raise RuntimeError(f"input {i} does not require grad; create it with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed(outputs, grad_outputs, create_graph)
    found = _backward_pass(outputs, seeds, inputs, retain_graph, create_graph, store_leaf_grads=False)
    result = []
    for i, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"input {i} (shape {t.data.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(g if isinstance(g, Node) else t._wrap(g))
    return tuple(result)
