"""Reverse-mode differentiation: topological order, the backward pass, ``grad`` and ``backward``.

This module is the ONE place where a gradient is summed back to its input's broadcast shape
(``sum_to_shape``) and where every gradient is checked against its tensor's shape and dtype. It
knows nodes (``autograd.node``), not ``Tensor``: gradients are wrapped with ``_wrap`` of the node
they belong to.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import anomaly
from .grad_mode import _state
from .node import Node

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


def topological_order(roots: Sequence[Node]) -> List[Node]:
    """Return every tensor that ``roots`` depend on through recorded ops, inputs before users.

    The walk uses an explicit stack, so a chain of 100,000 ops needs no recursion, and it visits
    each node and edge once (linear time). Tensors that do not require grad are left out.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> y = (x * 2).exp()
    >>> [t is x for t in topological_order([y])]
    [True, False, False]
    """
    order: List[Node] = []
    seen = set()
    for root in roots:
        if id(root) in seen or not root.requires_grad:
            continue
        seen.add(id(root))
        # Each stack entry keeps an iterator over its node's parents, so a node is resumed where it
        # left off; a node is emitted once all its parents are.
        stack = [(root, iter(_parents_of(root)))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if parent.requires_grad and id(parent) not in seen:
                    seen.add(id(parent))
                    ctx = parent._ctx  # _parents_of inlined: this loop runs for every node of every step
                    if ctx is None:
                        order.append(parent)  # a leaf has no parents to wait for
                        continue
                    stack.append((parent, iter(_parents_of(parent))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _parents_of(node: Node) -> Tuple[Node, ...]:
    ctx = node._ctx
    if ctx is None:
        return ()
    if ctx.parents is None:
        raise GraphFreedError(GRAPH_FREED_MESSAGE.format(op=ctx.name))
    return ctx.parents


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
    if extra == 1 and gradient.shape[1:] == shape:
        # The common case (a bias added to a batch): one leading axis to sum, no reshape needed.
        return np.add.reduce(gradient, axis=0) if isinstance(gradient, np.ndarray) else gradient.sum(axis=0)
    if extra < 0:
        raise RuntimeError(f"gradient of shape {gradient.shape} has fewer dimensions than its tensor {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and gradient.shape[extra + i] != 1
    )
    if any(size != 1 and gradient.shape[extra + i] != size for i, size in enumerate(shape)):
        raise RuntimeError(f"gradient of shape {gradient.shape} cannot be summed to shape {shape}")
    if isinstance(gradient, np.ndarray):
        # The ufunc directly (ndarray.sum goes through a Python wrapper); a fresh array, not a view,
        # so the engine can adopt it as a .grad without a copy.
        summed = np.add.reduce(gradient, axis=axes, keepdims=True)
        summed.shape = shape  # in place on the fresh result: a reshape() view would need a copy later
        return summed
    return gradient.sum(axis=axes, keepdims=True).reshape(shape)


def _check_gradient(gradient, tensor: Node, ctx, parents, create_graph: bool):
    """Sum to shape, and keep the tensor's dtype: a float32 graph has float32 gradients."""
    if not create_graph and type(gradient) is not np.ndarray:
        gradient = np.asarray(gradient)
    if create_graph and not isinstance(gradient, Node):
        gradient = tensor._wrap(np.asarray(gradient, dtype=tensor.data.dtype))
    if gradient.shape != tensor.data.shape:
        try:
            gradient = sum_to_shape(gradient, tensor.data.shape)
        except RuntimeError as error:
            index = _position(parents, tensor)
            raise RuntimeError(f"backward of {ctx.name} returned, for input {index}, {error}") from None
    if gradient.dtype != tensor.data.dtype:
        gradient = gradient.astype(tensor.data.dtype)
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
                f"output {i} does not require grad: nothing it was computed from has requires_grad=True "
                "(or it was computed under no_grad())"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"backward of a non-scalar output of shape {out.data.shape} needs a gradient: pass "
                    "grad=<tensor of the same shape> (or reduce it first, e.g. out.sum().backward())"
                )
            g = np.ones(out.data.shape, dtype=out.data.dtype)
        elif isinstance(g, Node):
            g = g if create_graph else g.data
        else:
            g = np.asarray(g, dtype=out.data.dtype)
        if g.shape != out.data.shape:
            raise ValueError(f"gradient for output {i} has shape {g.shape} but the output has shape {out.data.shape}")
        if create_graph and not isinstance(g, Node):
            g = out._wrap(g)
        seeds.append(g)
    return seeds


def _backward_pass(outputs, seeds, targets, retain_graph: bool, create_graph: bool, store_leaf_grads: bool):
    """Propagate ``seeds`` from ``outputs``; return {id: gradient} for the tensors in ``targets``.

    Ops are visited latest-recorded first (a max-heap on ``Function.sequence``). An op is recorded
    after all of its inputs, so every user of a tensor is visited before the tensor's own op: its
    gradient is complete when its turn comes. An op enters the heap when its output receives a first
    gradient, so the walk and the backward pass are one loop, and only ops that lead to an output are
    ever touched. Leaves have nothing to pass on; their gradients are handed out at the end.
    """
    grads: Dict[int, object] = {}  # id(tensor) -> its gradient so far
    owned: set = set()  # ids whose gradient is an array the engine made by adding, safe to add into
    heap: list = []  # (-sequence, tensor) of the ops still to visit
    leaves: List[Node] = []  # in the order their first gradient arrived
    for out, seed in zip(outputs, seeds):
        key = id(out)
        if key in grads:  # the same tensor given twice as an output
            grads[key] = grads[key] + seed
            if not create_graph:
                grads[key] = np.asarray(grads[key])
                owned.add(key)
            continue
        grads[key] = seed
        if out._ctx is None:
            leaves.append(out)
        else:
            heappush(heap, (-out._ctx.sequence, out))
    wanted = {id(t) for t in targets}
    found: Dict[int, object] = {}
    # ids of arrays handed to a backward rule: a rule may return the very array it got (add does),
    # so such an array must be copied before a tensor adopts it as its own .grad.
    handed = {id(seed) for seed in seeds}
    check_anomaly = _state["anomaly"]
    # Grad mode set directly rather than through a context manager: this runs once per training step.
    previous_mode = _state["enabled"]
    _state["enabled"] = create_graph
    try:
        while heap:
            node = heappop(heap)[1]
            key = id(node)
            gradient = grads.pop(key)
            if key in wanted:
                found[key] = gradient if create_graph else _adoptable(gradient, key in owned, handed)
            ctx = node._ctx
            parents = ctx.parents
            if parents is None:
                raise GraphFreedError(GRAPH_FREED_MESSAGE.format(op=ctx.name))
            if create_graph:
                input_grads = ctx.backward(gradient, *parents, node)
            else:
                handed.add(id(gradient))
                input_grads = ctx.backward(gradient, *ctx.input_arrays, node.data)
            for parent, needed, input_grad in zip(parents, ctx.needs_input_grad, input_grads):
                if not needed or input_grad is None:
                    continue
                if check_anomaly:
                    anomaly.check_backward(ctx, _position(parents, parent), parent, input_grad)
                # Fast path first: most gradients already have their tensor's type, shape and dtype.
                if create_graph or type(input_grad) is not np.ndarray or input_grad.shape != parent.data.shape \
                        or input_grad.dtype != parent.data.dtype:
                    input_grad = _check_gradient(input_grad, parent, ctx, parents, create_graph)
                parent_key = id(parent)
                previous = grads.get(parent_key)
                if previous is None:
                    grads[parent_key] = input_grad
                    parent_ctx = parent._ctx
                    if parent_ctx is None:
                        leaves.append(parent)
                    else:
                        heappush(heap, (-parent_ctx.sequence, parent))
                elif create_graph:
                    grads[parent_key] = previous + input_grad
                elif parent_key in owned:
                    np.add(previous, input_grad, out=previous)
                else:
                    # np.add with no out= gives a NumPy scalar for 0-d operands; keep an array so the
                    # next contribution can be added in place.
                    grads[parent_key] = np.asarray(previous + input_grad)
                    owned.add(parent_key)
            if not retain_graph:
                ctx.parents = ctx.input_arrays = None
    finally:
        _state["enabled"] = previous_mode
    for leaf in leaves:
        key = id(leaf)
        gradient = grads[key]
        if not create_graph:
            gradient = _adoptable(gradient, key in owned, handed)
        if key in wanted:
            found[key] = gradient
        if store_leaf_grads:
            _store_leaf_grad(leaf, gradient)
    return found


def _adoptable(gradient, owned: bool, handed: set):
    """Return an array a tensor may keep as its own gradient.

    A view, a read-only broadcast, or an array a rule passed through unchanged may be shared with
    another tensor's gradient; those are copied so users and optimizers can update ``.grad`` in place.
    Fresh results (a matmul's, a sum's) are adopted without a copy.
    """
    if owned or (gradient.base is None and gradient.flags.writeable and id(gradient) not in handed):
        return gradient
    return np.array(gradient)


def _store_leaf_grad(leaf: Node, gradient) -> None:
    if leaf.grad is None:
        leaf.grad = gradient if isinstance(gradient, Node) else leaf._wrap(gradient)
    elif isinstance(gradient, Node):
        leaf.grad = leaf.grad + gradient
    else:
        leaf.grad = leaf._wrap(leaf.grad.data + gradient)


def backward(tensor: Node, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([3.0], requires_grad=True)
    >>> backward((x * x).sum())
    >>> x.grad.numpy()
    array([6.], dtype=float32)
    """
    if grad is None and not create_graph and tensor.requires_grad and tensor.data.size == 1:
        seed = np.empty(tensor.data.shape, dtype=tensor.data.dtype)  # the usual loss.backward():
        seed.fill(1)  # cheaper than np.ones, whose Python layer costs more than the array
        seeds = [seed]
    else:
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

    With ``create_graph=True`` the returned gradients are themselves differentiable.

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
