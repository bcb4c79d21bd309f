"""Transforms made by composing the others: ``jacobian``, ``hessian`` and ``hvp``.

They are written with the public transforms themselves, the way a user would nest them, which is
also a standing test that nesting works.
"""
from __future__ import annotations

from typing import Callable

from .call import Argnums, check_argnums, named
from .forward import jacfwd
from .reverse import gradient_function, jacrev, vjp_at

MODES = ("reverse", "forward")
"""The ways :func:`jacobian` can compute a Jacobian: by rows (reverse) or by columns (forward)."""


def jacobian(f: Callable, argnums: Argnums = 0, mode: str = "reverse", has_aux: bool = False) -> Callable:
    """Return a function that computes the Jacobian of ``f``: :func:`jacrev` or, with
    ``mode="forward"``, :func:`jacfwd`.

    Both give the same blocks (shape ``output shape + argument shape``). Reverse mode costs one
    backward pass per output element, forward mode one per input element (plus one): choose the
    mode on the side that has fewer elements.

    >>> from tinygrad_mnist import Tensor, func
    >>> polar = lambda p: (p[0] * p[1].tanh(), p[0] * p[1].sigmoid())
    >>> [block.shape for block in func.jacobian(polar)(Tensor([2.0, 0.5]))]
    [(2,), (2,)]
    >>> func.jacobian(lambda x: x * x, mode="forward")(Tensor([1.0, 3.0]))
    Tensor([[2., 0.],
            [0., 6.]], dtype=float32)
    """
    if mode not in MODES:
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    return (jacrev if mode == "reverse" else jacfwd)(f, argnums, has_aux)


def hessian(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return a function that computes the Hessian of ``f``: the Jacobian of its gradient.

    For a scalar ``f`` of an argument of shape ``I`` the Hessian has shape ``I + I``; with a tuple
    ``argnums`` it is a tuple of tuples of blocks, ``H[i][j] = ∂²f/∂x_i∂x_j``. A vector output of
    shape ``O`` gives one Hessian per element, shape ``O + I + I``. Computed as
    ``jacrev(jacrev(f))``: reverse over reverse costs 1 + n backward passes for n input elements,
    while ``jacfwd(jacrev(f))``, the usual choice where forward mode has its own rules, would cost
    one more here (forward mode is two reverse passes).

    >>> import numpy as np
    >>> from tinygrad_mnist import func
    >>> func.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
    Tensor([[4., 2.],
            [2., 0.]], dtype=float64)
    """
    argnums = check_argnums(argnums, "hessian")
    return named(jacrev(jacrev(f, argnums, has_aux), argnums, has_aux), "hessian", f, "The Hessian")


def hvp(f: Callable, primals, tangents):
    """Return ``(gradient, H·v)`` of a scalar ``f`` at ``primals`` along ``tangents``.

    The same as ``jvp(grad(f, argnums=all), primals, tangents)`` without forming H: the Hessian is
    symmetric, so H·v is also the vector-Jacobian product vᵀH, and that is computed reverse over
    reverse (``vjp`` of ``grad``): two backward passes, whatever the size of H. ``primals`` is a
    tuple of arguments, ``tangents`` one tangent per primal; both results have one entry per primal.

    >>> from tinygrad_mnist import Tensor, func
    >>> f = lambda x: (x ** 3).sum()             # H = diag(6x)
    >>> gradient, hv = func.hvp(f, (Tensor([1.0, 2.0]),), (Tensor([1.0, 1.0]),))
    >>> gradient, hv
    ((Tensor([ 3., 12.], dtype=float32),), (Tensor([ 6., 12.], dtype=float32),))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp: primals and tangents must be tuples (one entry per argument of f), e.g. hvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    if not primals:
        raise TypeError("hvp: give the point to differentiate at: hvp(f, (x,), (v,))")
    everything = tuple(range(len(primals)))
    gradient, vjp_fn = vjp_at("hvp", gradient_function("hvp", f, everything, False), tuple(primals), False, "tangent")
    return gradient, vjp_fn(tuple(tangents))
