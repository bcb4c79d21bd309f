"""Reverse-mode transforms: ``grad``, ``value_and_grad``, ``vjp`` and ``jacrev``.

Each is one or more vector-Jacobian products on the graph of one call of the function: ``grad``
is one backward pass, ``jacrev`` one per output element.
"""
from __future__ import annotations

from typing import Callable, List

import numpy as np

from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .call import Argnums, TracedCall, assemble, check_argnums, named, one_hot


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return a function that computes the gradient of ``f`` with respect to argument ``argnums``.

    ``f`` must return one number: a tensor with one element (or, with ``has_aux=True``, a pair
    ``(number, aux)``; then the new function returns ``(gradient, aux)``). The gradient has the
    shape, dtype and nesting of the argument; with a tuple ``argnums`` it is a tuple, one gradient
    per argument. An argument ``f`` does not use gets zeros.

    >>> from tinygrad_mnist import Tensor, func
    >>> cube_sum = lambda x: (x ** 3).sum()
    >>> func.grad(cube_sum)(Tensor([1.0, 2.0]))
    Tensor([ 3., 12.], dtype=float32)
    >>> func.grad(func.grad(lambda x: x ** 3))(2.0)   # d²/dx² x³ = 6x
    Tensor(12., dtype=float32)
    >>> dx, dy = func.grad(lambda x, y: x * y, argnums=(0, 1))(3.0, 4.0)
    >>> dx.item(), dy.item()
    (4.0, 3.0)
    """
    return gradient_function("grad", f, argnums, has_aux)


def gradient_function(transform: str, f: Callable, argnums: Argnums, has_aux: bool) -> Callable:
    """:func:`grad` under another name, for the transforms built on it (errors name the transform used)."""
    argnums = check_argnums(argnums, transform)

    def gradient(*args, **kwargs):
        _, gradients, aux = _value_and_grad(transform, f, argnums, has_aux, args, kwargs)
        return (gradients, aux) if has_aux else gradients

    return named(gradient, transform, f, "The gradient")


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but the new function returns ``(value, gradient)`` from a single call of ``f``.

    With ``has_aux=True`` it returns ``((value, aux), gradient)``.

    >>> import numpy as np
    >>> from tinygrad_mnist import func
    >>> loss = lambda w: ((w - 1.0) ** 2).sum()
    >>> value, gradient = func.value_and_grad(loss)(np.array([0.0, 3.0]))
    >>> value.item(), gradient.numpy()
    (5.0, array([-2.,  4.]))
    """
    argnums = check_argnums(argnums, "value_and_grad")

    def value_and_gradient(*args, **kwargs):
        value, gradients, aux = _value_and_grad("value_and_grad", f, argnums, has_aux, args, kwargs)
        return ((value, aux), gradients) if has_aux else (value, gradients)

    return named(value_and_gradient, "value_and_grad", f, "The value and the gradient")


def _value_and_grad(transform: str, f, argnums, has_aux, args, kwargs):
    call = TracedCall(transform, f, args, kwargs, argnums, has_aux)
    if len(call.outputs) != 1 or not call.output_structure.is_leaf:
        raise TypeError(
            f"{transform}: the function must return one number, but it returned {len(call.outputs)} values; "
            "use jacrev for several outputs, or has_aux=True to return extra values"
        )
    value = call.outputs[0]
    if value.size != 1:
        raise ValueError(
            f"{transform}: the function must return one number (a tensor with one element), got shape "
            f"{value.shape}; reduce it (e.g. .sum()), or use jacrev or vjp for a vector output"
        )
    gradients = call.pullback(
        [value], [None], call.inputs, create_graph=call.differentiable, retain_graph=call.reaches_outside
    )
    return call.finish(value), call.input_tree(gradients), call.finish(call.aux)


def vjp(f: Callable, *primals, has_aux: bool = False):
    """Evaluate ``f(*primals)`` and return ``(output, vjp_fn)``: ``vjp_fn(v)`` is vᵀJ.

    ``vjp_fn`` takes one cotangent per output, nested like the output and of its shape, and returns
    a tuple with one gradient per primal: the cotangent pulled back through ``f``. It can be called
    many times (the graph is kept while ``vjp_fn`` exists); each call is one backward pass. With
    ``has_aux=True`` ``f`` returns ``(output, aux)`` and vjp returns ``(output, vjp_fn, aux)``.

    >>> from tinygrad_mnist import Tensor, func
    >>> out, vjp_fn = func.vjp(lambda x: x * x, Tensor([1.0, 2.0, 3.0]))
    >>> vjp_fn(Tensor([1.0, 0.0, 10.0]))
    (Tensor([ 2.,  0., 60.], dtype=float32),)
    """
    if not primals:
        raise TypeError("vjp: give the point to differentiate at: vjp(f, x) or vjp(f, x, y)")
    return vjp_at("vjp", f, primals, has_aux)


def vjp_at(transform: str, f: Callable, primals: tuple, has_aux: bool, direction: str = "cotangent"):
    """:func:`vjp` under another name, for the transforms built on it (errors name the transform used,
    and ``direction``, what its user calls the vector: ``hvp`` takes tangents)."""
    call = TracedCall(transform, f, primals, {}, tuple(range(len(primals))), has_aux)

    def vjp_fn(cotangents):
        directions = call.directions(cotangents, call.output_structure, call.outputs, direction)
        create_graph = call.differentiable or (is_grad_enabled() and any(d.requires_grad for d in directions))
        gradients = call.pullback(call.outputs, directions, call.inputs, create_graph=create_graph, retain_graph=True)
        return call.input_tree(gradients)

    named(vjp_fn, "vjp", f, "The vector-Jacobian product")
    output = call.finish(call.output_tree(call.outputs))
    return (output, vjp_fn, call.finish(call.aux)) if has_aux else (output, vjp_fn)


def jacrev(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return a function that computes the Jacobian of ``f`` by reverse mode, one row per backward pass.

    For an output of shape ``O`` and an argument of shape ``I`` the Jacobian block has shape
    ``O + I``: ``J[o..., i...] = ∂out[o...]/∂x[i...]``. Several outputs (a tuple) give a tuple of
    blocks; a tuple ``argnums`` gives, per output, a tuple with one block per argument. ``f`` runs
    once and an output with k elements costs k backward passes: pick this when outputs are fewer
    than inputs (see :func:`jacfwd` for the other case). Blocks have the dtype of the argument
    (each row is a gradient).

    >>> from tinygrad_mnist import Tensor, func
    >>> func.jacrev(lambda x: x[0] * x[1] * x)(Tensor([2.0, 3.0]))
    Tensor([[12.,  4.],
            [ 9., 12.]], dtype=float32)
    """
    argnums = check_argnums(argnums, "jacrev")

    def jacobian(*args, **kwargs):
        call = TracedCall("jacrev", f, args, kwargs, argnums, has_aux)
        passes = sum(o.size for o in call.outputs if o.requires_grad)
        per_output = []
        for output in call.outputs:
            rows: List[List[Tensor]] = []
            if output.requires_grad:
                for index in np.ndindex(*output.shape):
                    passes -= 1
                    # The graph is kept until the last row: the next row needs it.
                    rows.append(call.pullback(
                        [output], [one_hot(index, output)], call.inputs,
                        create_graph=call.differentiable, retain_graph=call.reaches_outside or passes > 0,
                    ))
            per_output.append(call.input_tree([
                assemble([row[a] for row in rows], 0, output.shape + x.shape, x.dtype, call.differentiable)
                for a, x in enumerate(call.inputs)
            ]))
        jac = call.output_tree(per_output)
        return (jac, call.finish(call.aux)) if has_aux else jac

    return named(jacobian, "jacrev", f, "The Jacobian (reverse mode)")

