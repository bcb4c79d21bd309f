"""One call of the function being transformed, recorded as a graph ready to be differentiated.

Every transform starts the same way (:class:`TracedCall`): each differentiated argument becomes a
new node of the graph, the function runs with grad mode on, and its results are checked. The
vector-Jacobian products are then plain calls of :func:`tinygrad_mnist.grad` on that graph.

Two decisions are made here, once for every transform:

* **Whether the results are differentiable.** They are when grad mode is on and the function's
  outputs depend on a tensor that requires grad *outside* this call: an argument that arrived
  requiring grad (an outer transform's variable, when transforms are nested) or a tensor the
  function closes over (a model's parameters). Then the backward passes record their own graph
  (``create_graph=True``), so ``grad(grad(f))`` and ``loss + penalty(grad(f)(x))`` work. Otherwise
  results are plain tensors and the passes record nothing, which is as cheap as ``backward()``.
* **Whether the graph may be freed.** Only a graph that is wholly this call's own: a pass never
  frees history that the caller may still differentiate.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..autograd import enable_grad, inputs_needing_grad, is_grad_enabled, toposort
from ..autograd import grad as engine_grad
from ..functions import stack
from ..tensor import Tensor
from .trees import Structure, describe, flatten, unflatten

Argnums = Union[int, Tuple[int, ...]]


def check_argnums(argnums: Any, transform: str) -> Argnums:
    """Validate ``argnums`` when a transform is created: an int or a non-empty tuple of ints.

    >>> check_argnums([0, 2], "grad")
    (0, 2)
    """
    if isinstance(argnums, list):
        argnums = tuple(argnums)
    if isinstance(argnums, tuple):
        if not argnums:
            raise ValueError(f"{transform}: argnums=() selects no argument; give an index such as argnums=0")
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in argnums):
            raise TypeError(f"{transform}: argnums must be an int or a tuple of ints, got {argnums!r}")
        return argnums
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return argnums
    raise TypeError(f"{transform}: argnums must be an int or a tuple of ints, got {argnums!r}")


def _positions(argnums: Argnums, count: int, transform: str) -> Tuple[int, ...]:
    """The argument positions ``argnums`` selects in a call with ``count`` positional arguments."""
    wanted = (argnums,) if isinstance(argnums, int) else argnums
    positions = []
    for a in wanted:
        if not -count <= a < count:
            raise ValueError(
                f"{transform}: argnums={argnums!r} but the function was called with {count} positional "
                f"argument{'s' if count != 1 else ''}; pass the differentiated arguments positionally"
            )
        positions.append(a % count)
    if len(set(positions)) != len(positions):
        raise ValueError(f"{transform}: argnums={argnums!r} names the same argument twice")
    return tuple(positions)


def _kind(value: Any) -> str:
    return f"a {value.dtype} tensor" if isinstance(value, Tensor) else f"an ndarray of {value.dtype}"


class TracedCall:
    """``f(*args, **kwargs)`` evaluated with fresh graph nodes for the arguments ``argnums`` selects.

    Attributes: ``inputs`` (the nodes, flat), ``input_structure`` (how they nest: the argument for
    an int ``argnums``, a tuple of arguments for a tuple), ``outputs`` (f's results as tensors,
    flat), ``output_structure``, ``aux`` (with ``has_aux``), ``differentiable`` and
    ``reaches_outside`` (see the module docstring).

    >>> call = TracedCall("grad", lambda x, y: (x * y).sum(), (np.ones(2), 3.0), {}, 0, False)
    >>> call.inputs[0].shape, call.outputs[0].item(), call.differentiable
    ((2,), 6.0, False)
    """

    def __init__(self, transform: str, f: Callable, args: Sequence, kwargs: dict, argnums: Argnums, has_aux: bool):
        self.transform = transform
        positions = _positions(argnums, len(args), transform)
        self.outer_grad = is_grad_enabled()
        self.connected = False
        labels: List[str] = []
        given: List[Any] = []
        structures: List[Structure] = []
        for p in positions:
            leaves, structure = flatten(args[p])
            given += leaves
            structures.append(structure)
            labels += [f"argument {p}"] if structure.is_leaf else [f"argument {p} (leaf {j})" for j in range(len(leaves))]
        if isinstance(argnums, int):
            self.input_structure = structures[0]
        else:
            self.input_structure = Structure(tuple, (), tuple(structures))
        with enable_grad():
            self.inputs = [self._node(value, label) for value, label in zip(given, labels)]
            new_args = list(args)
            for p, structure, nodes in zip(positions, structures, self._split(self.inputs, structures)):
                new_args[p] = unflatten(structure, nodes)
            result = f(*new_args, **kwargs)
        self.aux = None
        if has_aux:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(
                    f"{transform}: with has_aux=True the function must return a pair (output, aux), "
                    f"got {type(result).__name__}"
                )
            result, self.aux = result
        leaves, self.output_structure = flatten(result)
        self.outputs = [self._output(leaf, k) for k, leaf in enumerate(leaves)]
        self.reaches_outside = self.connected or self._depends_on_outside()
        self.differentiable = self.outer_grad and self.reaches_outside

    @staticmethod
    def _split(nodes: List[Tensor], structures: List[Structure]) -> List[List[Tensor]]:
        parts, start = [], 0
        for structure in structures:
            parts.append(nodes[start:start + structure.num_leaves])
            start += structure.num_leaves
        return parts

    def _node(self, value: Any, label: str) -> Tensor:
        """A new graph node holding ``value``: the variable the derivatives are taken with respect to."""
        if isinstance(value, Tensor):
            if value.dtype.kind != "f":
                raise TypeError(
                    f"{self.transform}: {label} is {_kind(value)}; derivatives need floats: convert it with .float()"
                )
            if self.outer_grad and value.requires_grad:
                # A new node rather than the tensor itself: the derivative is with respect to this
                # argument alone (not to other uses of the same tensor), and the graph still reaches
                # the tensor, so an outer transform or backward() can differentiate the result.
                self.connected = True
                return value.reshape(value.shape)
            return Tensor(value.data, requires_grad=True, name=value.name)
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.kind != "f":
                raise TypeError(
                    f"{self.transform}: {label} is {_kind(array)}; derivatives need floats: "
                    "pass array.astype(np.float32)"
                )
            return Tensor(array, requires_grad=True)
        if isinstance(value, float):
            return Tensor(value, requires_grad=True)  # float32, like every Python number made a Tensor
        if isinstance(value, (bool, int)):
            raise TypeError(f"{self.transform}: {label} is the integer {value!r}; derivatives need floats: write {float(value)!r}")
        raise TypeError(
            f"{self.transform}: {label} is a {type(value).__name__}; pass a Tensor, a float ndarray or a float "
            "(or a tuple, list or dict of them)"
        )

    def _output(self, value: Any, k: int) -> Tensor:
        label = "the output" if self.output_structure.is_leaf else f"output {k}"
        if isinstance(value, Tensor):
            if value.dtype.kind != "f":
                raise TypeError(
                    f"{self.transform}: {label} of the function is {_kind(value)}; only floating-point outputs "
                    "have derivatives (return it as aux with has_aux=True)"
                )
            return value
        # A number is a constant output, whose derivatives are zero (Python numbers become float32).
        if isinstance(value, (float, int)) and not isinstance(value, bool):
            return Tensor(float(value))
        if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind == "f":
            return Tensor(np.asarray(value))
        raise TypeError(
            f"{self.transform}: {label} of the function is a {type(value).__name__}; "
            "return a Tensor or a float (or a tuple, list or dict of them)"
        )

    def _depends_on_outside(self) -> bool:
        """True if the outputs reach a leaf requiring grad that is not one of this call's inputs."""
        roots = [o for o in self.outputs if o.requires_grad]
        ours = {id(t) for t in self.inputs}
        return any(t.is_leaf and id(t) not in ours for t in toposort(roots, inputs_needing_grad))

    # ---- differentiating --------------------------------------------------------------------------
    def pullback(
        self,
        outputs: Sequence[Tensor],
        cotangents: Sequence[Any],
        targets: Sequence[Tensor],
        create_graph: bool,
        retain_graph: bool,
    ) -> List[Tensor]:
        """Σ cotangent · ∂output/∂target for each target, zeros for a target no output depends on.

        A ``None`` cotangent stands for 1 (one-element outputs only), as in :func:`tinygrad_mnist.grad`.
        """
        live = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
        found: Sequence[Optional[Tensor]] = [None] * len(targets)
        if live:
            found = engine_grad(
                [o for o, _ in live], list(targets), grad_outputs=[c for _, c in live],
                # A recorded gradient keeps references into this graph: it must not be freed then.
                retain_graph=retain_graph or create_graph, create_graph=create_graph, allow_unused=True,
            )
        return [zeros_like(t) if g is None else g for g, t in zip(found, targets)]

    def directions(self, values: Any, structure: Structure, like: Sequence[Tensor], what: str) -> List[Tensor]:
        """Check tangents (or cotangents) against the primals (or outputs) they go with; one tensor each.

        Each must have its primal's shape; it is converted to its primal's dtype.
        """
        leaves, given = flatten(values)
        if given != structure:
            raise ValueError(
                f"{self.transform}: the {what}s are nested as {describe(given)} but must be nested like "
                f"their {'primal' if what == 'tangent' else 'output'}s, {describe(structure)}"
            )
        result = []
        for k, (value, target) in enumerate(zip(leaves, like)):
            label = f"{what} {k}" if len(like) > 1 else f"the {what}"
            if isinstance(value, Tensor):
                direction = value
            elif isinstance(value, (float, int, np.ndarray, np.generic)) and not isinstance(value, bool):
                direction = Tensor(np.asarray(value, dtype=target.dtype))
            else:
                raise TypeError(f"{self.transform}: {label} is a {type(value).__name__}; pass a Tensor or an ndarray")
            if direction.shape != target.shape:
                raise ValueError(
                    f"{self.transform}: {label} has shape {direction.shape}; it must have the shape of its "
                    f"{'primal' if what == 'tangent' else 'output'}, {target.shape}"
                )
            if direction.dtype != target.dtype:
                direction = direction.astype(target.dtype)
            result.append(direction)
        return result

    # ---- results ----------------------------------------------------------------------------------
    def finish(self, tree: Any) -> Any:
        """Results as the caller gets them: tensors cut from the graph unless they are differentiable."""
        if self.differentiable:
            return tree
        leaves, structure = flatten(tree)
        return unflatten(structure, [t.detach() if isinstance(t, Tensor) else t for t in leaves])

    def output_tree(self, per_output: List[Any]) -> Any:
        """One value per output, nested as the function returned its outputs."""
        return unflatten(self.output_structure, per_output)

    def input_tree(self, per_input: List[Any]) -> Any:
        """One value per input, nested as the differentiated arguments were."""
        return unflatten(self.input_structure, per_input)


def zeros_like(t: Tensor) -> Tensor:
    """A constant tensor of zeros with ``t``'s shape and dtype: the derivative of an unused input.

    >>> zeros_like(Tensor(np.ones(2, dtype=np.float64))).numpy()
    array([0., 0.])
    """
    return Tensor(np.zeros(t.shape, dtype=t.dtype))


def one_hot(index: Tuple[int, ...], like: Tensor) -> np.ndarray:
    """An array of ``like``'s shape and dtype with a 1 at ``index`` and 0 elsewhere.

    >>> one_hot((1,), Tensor([0.0, 0.0, 0.0]))
    array([0., 1., 0.], dtype=float32)
    """
    array = np.zeros(like.shape, dtype=like.dtype)
    array[index] = 1
    return array


def assemble(pieces: List[Tensor], axis: int, shape: Tuple[int, ...], dtype, differentiable: bool) -> Tensor:
    """Stack rows (``axis=0``) or columns (``axis=-1``) of a Jacobian block and give it ``shape``.

    Plain arrays are stacked outside the graph; differentiable pieces are stacked by the ``stack`` op,
    so the block can be differentiated again (a Hessian is the Jacobian of a gradient).

    >>> assemble([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], 0, (2, 2), np.float32, False).numpy()
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """
    if not pieces:  # an output or an input with no elements
        return Tensor(np.zeros(shape, dtype=dtype))
    if differentiable:
        return stack(pieces, axis=axis).reshape(shape)
    return Tensor(np.stack([p.data for p in pieces], axis=axis).reshape(shape))


def named(transformed: Callable, transform: str, f: Callable, summary: str) -> Callable:
    """Give a transformed function a name and docstring that say what it computes."""
    name = getattr(f, "__name__", type(f).__name__)
    transformed.__name__ = transformed.__qualname__ = f"{transform}({name})"
    transformed.__doc__ = f"{summary} of {name}; takes the same arguments as {name}."
    return transformed
