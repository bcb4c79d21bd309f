"""Forward-mode transforms, ``jvp`` and ``jacfwd``, built from reverse mode by the double-VJP trick.

A Jacobian-vector product J·v is usually computed by pushing tangents forward through every op,
which needs a forward rule per op. This package builds it from two reverse passes instead:

1. With a placeholder cotangent u (a leaf that requires grad), one backward pass with
   ``create_graph=True`` records the map u ↦ Jᵀu as a graph. The map is linear in u.
2. The derivative of a linear map is the map's matrix, so differentiating ⟨Jᵀu, v⟩ with respect to u
   gives (Jᵀ)ᵀv = J·v: a second backward pass, through the graph recorded in step 1.

No op needs a forward rule: every op whose backward rule is itself differentiable (every op here,
and any ``Function`` written with the ``arraylike`` helpers) has forward mode for free. The price:
J·v costs two backward passes and a recorded graph instead of one forward sweep. Step 1 is done
once per call, so ``jacfwd`` with n input elements costs n + 1 passes.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np

from ..autograd import grad as engine_grad
from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .call import Argnums, TracedCall, assemble, check_argnums, named, one_hot, zeros_like


class Linearization:
    """The map u ↦ Jᵀu of one traced call, recorded as a graph; :meth:`push_forward` gives J·v.

    >>> from tinygrad_mnist.func.call import TracedCall
    >>> call = TracedCall("jvp", lambda x: x * x, (Tensor([3.0]),), {}, 0, False)
    >>> Linearization(call).push_forward([Tensor([1.0])], create_graph=False, retain_graph=False)
    [Tensor([6.], dtype=float32)]
    """

    def __init__(self, call: TracedCall):
        self.call = call
        self.live = [k for k, o in enumerate(call.outputs) if o.requires_grad]
        # The placeholder's value does not matter (the map is linear in it); zeros are the usual choice.
        self.placeholders = [Tensor(np.zeros(call.outputs[k].shape, call.outputs[k].dtype), requires_grad=True)
                             for k in self.live]
        self.transposed: Sequence[Optional[Tensor]] = [None] * len(call.inputs)
        if self.live:
            self.transposed = engine_grad(
                [call.outputs[k] for k in self.live], call.inputs, grad_outputs=self.placeholders,
                create_graph=True, retain_graph=True, allow_unused=True,
            )

    def push_forward(self, tangents: Sequence[Optional[Tensor]], create_graph: bool, retain_graph: bool) -> List[Tensor]:
        """J·v, one tensor per output, for one tangent per input (``None`` for a zero tangent)."""
        pairs = [(g, v) for g, v in zip(self.transposed, tangents) if v is not None and g is not None and g.requires_grad]
        found: Sequence[Optional[Tensor]] = [None] * len(self.placeholders)
        if pairs:
            found = engine_grad(
                [g for g, _ in pairs], self.placeholders, grad_outputs=[v for _, v in pairs],
                create_graph=create_graph, retain_graph=retain_graph or create_graph, allow_unused=True,
            )
        result = [zeros_like(o) for o in self.call.outputs]
        for k, tangent in zip(self.live, found):
            if tangent is not None:
                result[k] = tangent
        return result


def jvp(f: Callable, primals, tangents, has_aux: bool = False):
    """Evaluate ``f(*primals)`` and its derivative along ``tangents``: return ``(output, J·v)``.

    ``primals`` is a tuple of arguments and ``tangents`` a tuple with one tangent per primal, of
    the primal's shape and nesting. The result ``J·v`` is nested like the output. Computed from two
    reverse passes (the double-VJP trick, see the module documentation), so it works for every op.
    With ``has_aux=True`` ``f`` returns ``(output, aux)`` and jvp returns ``(output, J·v, aux)``.

    >>> from tinygrad_mnist import Tensor, func
    >>> out, tangent = func.jvp(lambda x: x ** 3, (Tensor([1.0, 2.0]),), (Tensor([1.0, 0.5]),))
    >>> out, tangent
    (Tensor([1., 8.], dtype=float32), Tensor([3., 6.], dtype=float32))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples (one entry per argument of f), "
            "e.g. jvp(f, (x,), (v,))"
        )
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    if not primals:
        raise TypeError("jvp: give the point to differentiate at: jvp(f, (x,), (v,))")
    call = TracedCall("jvp", f, tuple(primals), {}, tuple(range(len(primals))), has_aux)
    directions = call.directions(tuple(tangents), call.input_structure, call.inputs, "tangent")
    create_graph = call.differentiable or (is_grad_enabled() and any(d.requires_grad for d in directions))
    pushed = Linearization(call).push_forward(directions, create_graph=create_graph, retain_graph=call.reaches_outside)
    output = call.finish(call.output_tree(call.outputs))
    tangent_out = call.output_tree(pushed)
    return (output, tangent_out, call.finish(call.aux)) if has_aux else (output, tangent_out)


def jacfwd(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Return a function that computes the Jacobian of ``f`` column by column, in forward mode.

    Same layout as :func:`jacrev` (block shape ``output shape + argument shape``, tuples for
    several outputs or a tuple ``argnums``); blocks have the dtype of the output (each column is a
    tangent of the outputs). An argument with n elements costs n + 1 backward passes, whatever the
    number of outputs: pick this when inputs are fewer than outputs.

    >>> from tinygrad_mnist import Tensor, func
    >>> func.jacfwd(lambda x: x[0] * x[1] * x)(Tensor([2.0, 3.0]))
    Tensor([[12.,  4.],
            [ 9., 12.]], dtype=float32)
    """
    argnums = check_argnums(argnums, "jacfwd")

    def jacobian(*args, **kwargs):
        call = TracedCall("jacfwd", f, args, kwargs, argnums, has_aux)
        linearization = Linearization(call)
        passes = sum(x.size for x in call.inputs)
        blocks = [[] for _ in call.outputs]  # blocks[output][input]
        for a, x in enumerate(call.inputs):
            columns: List[List[Tensor]] = []
            for index in np.ndindex(*x.shape):
                passes -= 1
                tangents: List[Optional[Tensor]] = [None] * len(call.inputs)
                tangents[a] = Tensor(one_hot(index, x))
                columns.append(linearization.push_forward(
                    tangents, create_graph=call.differentiable, retain_graph=call.reaches_outside or passes > 0,
                ))
            for k, output in enumerate(call.outputs):
                blocks[k].append(assemble(
                    [column[k] for column in columns], -1, output.shape + x.shape, output.dtype, call.differentiable,
                ))
        jac = call.output_tree([call.input_tree(per_input) for per_input in blocks])
        return (jac, call.finish(call.aux)) if has_aux else jac

    return named(jacobian, "jacfwd", f, "The Jacobian (forward mode)")
