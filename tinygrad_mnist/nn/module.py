"""``Parameter`` (a trainable Tensor), ``Buffer`` (saved state that is not trained) and ``Module``
(a tree of layers that owns both).

A Module registers its Parameters, Buffers and sub-Modules simply by holding them as attributes: the
instance ``__dict__`` keeps assignment order, so ``named_parameters()`` lists them in the order the
constructor defined them, with nothing to forget to call. ``__setattr__`` only guards against the
two assignments that would silently lose a weight (see ``Module.__setattr__``).
"""
from __future__ import annotations

from typing import Dict, Iterator, List, NamedTuple, Tuple

import numpy as np

from ..autograd import recording
from ..autograd.saved import modify_in_place
from ..autograd.toposort import toposort
from ..errors import CheckpointError
from ..tensor import Tensor
from .summary import summary


class Parameter(Tensor):
    """A Tensor that a Module trains: it always has ``requires_grad=True``.

    Python numbers and lists become float32; an ndarray keeps its dtype (and is shared, not copied).

    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32), name="w")
    >>> w.requires_grad, w.shape, w.dtype
    (True, (2, 3), dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A Tensor a Module saves in ``state_dict()`` but does not train, such as batch norm's running
    statistics: never in ``parameters()``, never requires grad. Update it in place (``buf.data[...] = ``).

    >>> b = Buffer(np.zeros(3, dtype=np.float32))
    >>> b.requires_grad, b.shape
    (False, (3,))
    """

    __slots__ = ()

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=False, name=name)

    def __repr__(self) -> str:
        return "Buffer containing:\n" + super().__repr__()


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: keys the model has but the state lacks, and keys
    the state has but the model lacks.

    >>> from tinygrad_mnist.nn import Linear
    >>> Linear(3, 2, bias=False).load_state_dict(Linear(3, 2).state_dict(), strict=False)
    LoadResult(missing_keys=[], unexpected_keys=['bias'])
    """

    missing_keys: List[str]
    unexpected_keys: List[str]


class Module:
    """Base class of layers and models.

    Subclasses assign Parameters and Modules as attributes in ``__init__`` and implement ``forward``;
    calling the module calls ``forward``.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         self.scale = Parameter([2.0])
    ...         self.shift = Parameter([1.0])
    ...     def forward(self, x):
    ...         return x * self.scale + self.shift
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['scale', 'shift']
    >>> m(Tensor([3.0])).numpy()
    array([7.], dtype=float32)
    """

    # A class attribute, so a subclass that never calls super().__init__() still works;
    # train()/eval() set it per instance.
    training: bool = True

    def forward(self, *args, **kwargs):
        """Compute the module's output; subclasses implement it, and ``module(x)`` calls it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(self, ...)")

    def __call__(self, *args, **kwargs):
        recording.entering(self)  # a jit recording traces this module's parameters (else nothing)
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value) -> None:
        """Refuse the assignments that would silently drop a weight from ``parameters()`` and
        ``state_dict()`` (so from the optimizer and from saved models), as PyTorch does:

        * a plain Tensor over a Parameter (``lin.weight = lin.weight - 0.1``): update in place
          (``lin.weight.data -= 0.1``) or assign a new ``Parameter``;
        * a leaf Tensor with ``requires_grad=True`` (``self.w = Tensor(..., requires_grad=True)``),
          which looks trainable but is not registered: make it a ``Parameter``.

        >>> from tinygrad_mnist.nn import Linear
        >>> lin = Linear(2, 2)
        >>> try:
        ...     lin.weight = lin.weight * 2
        ... except TypeError as error:
        ...     print(str(error).split(";")[0])
        cannot assign a Tensor to Linear.weight, which holds a Parameter
        """
        current = vars(self).get(name)
        if value is not None and not isinstance(value, Parameter) and isinstance(current, Parameter):
            kind = "a Tensor" if isinstance(value, Tensor) else f"a value of type {type(value).__name__}"
            raise TypeError(
                f"cannot assign {kind} to {type(self).__name__}.{name}, which holds a Parameter; it would "
                f"drop out of parameters() and state_dict(). Update it in place ({name}.data[...] = ...) "
                f"or assign a Parameter ({name} = Parameter(...))"
            )
        if value is not None and not isinstance(value, Module) and isinstance(current, Module):
            raise TypeError(
                f"cannot assign a value of type {type(value).__name__} to {type(self).__name__}.{name}, which holds a Module; "
                "its parameters would drop out of parameters() and state_dict(). Assign a Module (or None)"
            )
        if isinstance(value, Tensor) and not isinstance(value, Parameter):
            if value.requires_grad and value.is_leaf:
                raise TypeError(
                    f"{type(self).__name__}.{name} = a Tensor with requires_grad=True is not registered as a "
                    f"parameter (the optimizer and state_dict() would not see it); use Parameter(...) for a "
                    f"trainable weight, or requires_grad=False for a constant"
                )
        if isinstance(value, (Parameter, Module)) or isinstance(current, (Parameter, Module)):
            recording.structure_changed()  # a jitted step recorded before must record this model again
        object.__setattr__(self, name, value)

    # ---- registration ---------------------------------------------------------------------------
    def _own_members(self) -> Iterator[Tuple[str, object]]:
        """(name, value) of this module's own Parameters, Buffers and sub-Modules, in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Buffer, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)) and any(isinstance(v, (Parameter, Buffer, Module)) for v in value):
                # A plain list would silently hide its layers from parameters() and the optimizer.
                raise TypeError(
                    f"{type(self).__name__}.{name} is a {type(value).__name__} of modules or parameters, which "
                    "is not registered; wrap modules in nn.Sequential(...) or nn.ModuleList(...) and assign "
                    "parameters one per attribute"
                )

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """The direct sub-Modules with their attribute names.

        >>> from tinygrad_mnist.nn import Linear, ReLU, Sequential
        >>> [name for name, _ in Sequential(Linear(2, 2), ReLU()).named_children()]
        ['0', '1']
        """
        for name, value in self._own_members():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator["Module"]:
        """The direct sub-Modules."""
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        """This module and all modules below it, depth first in definition order, each once.

        A module held in two places is listed at the first, under that name (as in PyTorch).

        >>> from tinygrad_mnist.nn import MLP
        >>> [name for name, _ in MLP(4, [3], 2).named_modules()]
        ['', 'layers', 'layers.0', 'layers.1', 'layers.2']
        """
        # The package's graph walker gives every module after all modules holding it; in that order
        # each module's first place (the smallest path of child positions to it) is final before its
        # children's are derived from it. Sorted by that path, the modules come depth first.
        paths = {id(self): ()}
        names = {id(self): prefix}
        walk = toposort([self], lambda module: list(module.children()))
        for module in walk:
            for position, (child_name, child) in enumerate(module.named_children()):
                path = paths[id(module)] + (position,)
                if id(child) not in paths or path < paths[id(child)]:
                    paths[id(child)] = path
                    names[id(child)] = f"{names[id(module)]}.{child_name}" if names[id(module)] else child_name
        for module in sorted(walk, key=lambda module: paths[id(module)]):
            yield names[id(module)], module

    def modules(self) -> Iterator["Module"]:
        """This module and all modules below it (see ``named_modules``)."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Parameter]]:
        """All Parameters with dotted names such as ``"layers.0.weight"``; a shared one is listed once.

        Order (as in PyTorch): module by module, depth first; within a module its own parameters, in
        definition order, come before those of its sub-modules.

        >>> from tinygrad_mnist.nn import Linear
        >>> [(name, p.shape) for name, p in Linear(3, 2).named_parameters()]
        [('weight', (3, 2)), ('bias', (2,))]
        """
        for name, value in self._named_state(prefix):
            if isinstance(value, Parameter):
                yield name, value

    def parameters(self) -> Iterator[Parameter]:
        """All Parameters (see ``named_parameters``), e.g. for ``optim.SGD(model.parameters(), lr=0.1)``."""
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self, prefix: str = "") -> Iterator[Tuple[str, Buffer]]:
        """All Buffers with dotted names, in the order of ``named_parameters``.

        >>> from tinygrad_mnist.nn import BatchNorm1d
        >>> [name for name, _ in BatchNorm1d(3).named_buffers()]
        ['running_mean', 'running_var']
        """
        for name, value in self._named_state(prefix):
            if isinstance(value, Buffer):
                yield name, value

    def buffers(self) -> Iterator[Buffer]:
        """All Buffers (see ``named_buffers``)."""
        for _, buffer in self.named_buffers():
            yield buffer

    def _named_state(self, prefix: str = "") -> Iterator[Tuple[str, Tensor]]:
        """Parameters and Buffers by dotted name: module by module, each module's own in definition
        order; a shared one is listed once."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in module._own_members():
                if isinstance(value, (Parameter, Buffer)) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    # ---- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Put this module and every sub-module in training mode (or evaluation mode with False).

        >>> from tinygrad_mnist.nn import Dropout, Sequential
        >>> net = Sequential(Dropout(0.5))
        >>> net.eval()[0].training, net.train()[0].training
        (False, True)
        """
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)`` (Dropout becomes the identity)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (``.grad = None``)."""
        for parameter in self.parameters():
            parameter.grad = None

    # ---- state ----------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, np.ndarray]:
        """Copies of all parameter and buffer arrays by name, ready for ``np.savez``.

        >>> from tinygrad_mnist.nn import Linear
        >>> {name: a.shape for name, a in Linear(3, 2).state_dict().items()}
        {'weight': (3, 2), 'bias': (2,)}
        """
        return {name: tensor.data.copy() for name, tensor in self._named_state()}

    def load_state_dict(self, state, strict: bool = True) -> LoadResult:
        """Copy arrays from ``state`` (name -> array) into the parameters and buffers, in place.

        Nothing is changed unless everything fits. With ``strict=True`` missing or unexpected keys are
        an error; shape and dtype mismatches always are. Returns the skipped keys.

        >>> from tinygrad_mnist.nn import Linear
        >>> a, b = Linear(3, 2, seed=0), Linear(3, 2, seed=1)
        >>> b.load_state_dict(a.state_dict())
        LoadResult(missing_keys=[], unexpected_keys=[])
        >>> bool((a.weight.numpy() == b.weight.numpy()).all())
        True
        """
        if not hasattr(state, "items"):
            raise CheckpointError(
                f"{type(self).__name__}.load_state_dict expects a mapping of name -> array "
                f"(as made by state_dict()), got {type(state).__name__}"
            )
        own = dict(self._named_state())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        arrays = {}
        for name, parameter in own.items():
            if name not in state:
                continue
            value = state[name]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != parameter.shape:
                problems.append(
                    f"shape mismatch for {name}: the model has {parameter.shape}, the state has {array.shape}"
                )
            elif array.dtype != parameter.dtype:
                problems.append(
                    f"dtype mismatch for {name}: the model has {parameter.dtype}, the state has {array.dtype} "
                    "(build the model with the state's dtype)"
                )
            arrays[name] = array
        if problems:
            hint = "; pass strict=False to skip missing/unexpected keys" if strict and (missing or unexpected) else ""
            raise CheckpointError(
                f"the state does not fit {type(self).__name__}: " + "; ".join(problems) + hint
            )
        # A graph may still hold some of these arrays: the copy is a deliberate update, which a later
        # backward pass through that graph reports (autograd/saved.py).
        with modify_in_place(*(own[name] for name in arrays)):
            for name, array in arrays.items():
                own[name].data[...] = array
        return LoadResult(missing, unexpected)

    # ---- display --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown inside the parentheses of ``repr`` (override in subclasses)."""
        return ""

    def _repr_html_(self) -> str:
        """How Jupyter shows a module: its layers and parameter counts (``nn.summary`` without an input)."""
        return summary(self)._repr_html_()

    def __repr__(self) -> str:
        lines = []
        for name, child in self.named_children():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"
