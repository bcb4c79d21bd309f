"""``ModuleList`` (a list of sub-modules that registers them) and ``Identity``."""
from __future__ import annotations

from typing import Iterable, Iterator, Optional, Tuple

from .module import Module


def _checked(owner: str, position, module) -> Module:
    if not isinstance(module, Module):
        what = f"the class {module.__name__}" if isinstance(module, type) else f"a {type(module).__name__}"
        raise TypeError(f"{owner}: item {position} is {what}, not a Module")
    return module


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner (a plain list would hide them), named
    by position ("0", "1", ...). It has no ``forward``: iterate over it in the owner's forward.

    >>> from tinygrad_mnist.nn import Linear
    >>> blocks = ModuleList([Linear(4, 4, seed=0) for _ in range(2)])
    >>> _ = blocks.append(Linear(4, 2, seed=1))  # returns the list, as PyTorch's does
    >>> len(blocks), [name for name, _ in blocks.named_parameters()][-2:]
    (3, ['2.weight', '2.bias'])
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None):
        self._items = []  # a list inside a private attribute: _own_members below names its entries
        if modules is not None:
            self.extend(modules)

    def _own_members(self) -> Iterator[Tuple[str, object]]:
        for position, module in enumerate(self._items):
            yield str(position), module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward; iterate over it: for block in self.blocks: x = block(x)")

    def append(self, module: Module) -> "ModuleList":
        """Add a module at the end."""
        self._items.append(_checked("ModuleList", len(self._items), module))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Add modules at the end, in order."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before ``index``."""
        self._items.insert(index, _checked("ModuleList", index, module))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._items))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[index] = _checked("ModuleList", index, module)

    def __delitem__(self, index) -> None:
        del self._items[index]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. where a layer is switched off).

    >>> from tinygrad_mnist import Tensor
    >>> Identity()(Tensor([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
    """

    def __init__(self, *args, **kwargs):
        pass  # accepts and ignores any arguments, as PyTorch's does, so it can replace any layer

    def forward(self, x):
        return x
