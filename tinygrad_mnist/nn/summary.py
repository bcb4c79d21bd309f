"""``summary(model, input_shape)``: a model's layers, their output shapes and parameter counts.

It works for any Module: the layers come from ``named_modules()`` and the output shapes from one
forward pass (under ``no_grad``) on a seeded random input, during which every module's ``forward``
is wrapped, on the instance and only for that pass, to note the shape of what it returns. A layer
written later (a convolution, a pooling layer) needs nothing added to appear with its shape.

This module duck-types modules (``named_modules``, ``_own_members``) instead of importing
``module.py``, which imports it for ``Module._repr_html_``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..autograd import no_grad
from ..display import table_html
from ..tensor import Tensor

HEADER = ("layer", "type", "output shape", "params")


@dataclass
class LayerRow:
    """One module: dotted name (depth from the dots), type with settings, output shape(s) seen in
    the forward pass (None if it was not called), and its parameters counted with its sub-modules'."""

    name: str
    kind: str
    output_shape: Optional[str]
    params: int

    @property
    def depth(self) -> int:
        return 0 if not self.name else self.name.count(".") + 1


class ModelSummary:
    """What ``summary`` returns: printable (``str``), shown as a table in a notebook, and its numbers.

    >>> from tinygrad_mnist import nn
    >>> result = summary(nn.MLP(4, [3], 2), (1, 4))
    >>> result.total_params, [row.output_shape for row in result.rows]
    (23, ['(1, 2)', '(1, 2)', '(1, 3)', '(1, 3)', '(1, 2)'])
    """

    def __init__(self, model_name: str, rows: List[LayerRow], total: int, input_shape, nbytes: int):
        self.model_name = model_name
        self.rows = rows
        self.total_params = total
        self.input_shape = input_shape
        self.param_bytes = nbytes

    def _header(self) -> Tuple[str, ...]:
        return HEADER if self.input_shape is not None else tuple(h for h in HEADER if h != "output shape")

    def _table(self) -> List[tuple]:
        """One row per module below the model (the model itself is in the footer); params as ints."""
        table = []
        for row in self.rows[1:]:
            cells = ["  " * (row.depth - 1) + row.name.rsplit(".", 1)[-1], row.kind]
            if self.input_shape is not None:
                cells.append(row.output_shape or "-")
            table.append(tuple(cells) + (row.params,))
        return table

    def _footer(self) -> List[str]:
        size = f"{self.total_params:,} parameters ({self.param_bytes / 1e6:.2f} MB)"
        if self.input_shape is None:
            return [f"{self.model_name}: {size}"]
        return [f"{self.model_name}: input {self.input_shape} -> output {self.rows[0].output_shape or '-'}", size]

    def __str__(self) -> str:
        table = [self._header()] + [row[:-1] + (f"{row[-1]:,}",) for row in self._table()]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = ["  ".join(f"{cell:<{width}}" for cell, width in zip(row[:-1], widths)) + f"  {row[-1]:>{widths[-1]}}"
                 for row in table]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:], rule, *self._footer()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return table_html(self._header(), self._table(), self._footer())


def _kind(module) -> str:
    extra = module.extra_repr()
    return f"{type(module).__name__}({extra})"


def _shape_text(value) -> Optional[str]:
    if isinstance(value, Tensor):
        return str(value.shape)
    if isinstance(value, (tuple, list)):
        shapes = [_shape_text(v) for v in value]
        return ", ".join(s for s in shapes if s) or None
    return None


def _count(module) -> Tuple[int, int]:
    """(all parameters, parameter bytes) of a module with its sub-modules, each shared one once."""
    params = list(module.parameters())
    return sum(p.size for p in params), sum(p.data.nbytes for p in params)


def summary(model, input_shape: Union[Sequence[int], Tensor, np.ndarray, None] = None,
            dtype=np.float32, seed: int = 0) -> ModelSummary:
    """Each layer of ``model`` with its output shape and parameter count, like torchinfo.

    ``input_shape`` includes the batch axis, e.g. ``(1, 784)`` for the MLP or ``(1, 1, 28, 28)`` for
    a convolutional net; a Tensor or array is used as the input itself. Without it only the layers
    and counts are listed. The forward pass runs under ``no_grad`` and leaves the model unchanged.

    >>> from tinygrad_mnist import nn
    >>> print(summary(nn.MLP(784, [128], 10), (1, 784)))
    layer   type                                                  output shape   params
    -----------------------------------------------------------------------------------
    layers  Sequential()                                          (1, 10)       101,770
      0     Linear(in_features=784, out_features=128, bias=True)  (1, 128)      100,480
      1     ReLU()                                                (1, 128)            0
      2     Linear(in_features=128, out_features=10, bias=True)   (1, 10)         1,290
    -----------------------------------------------------------------------------------
    MLP: input (1, 784) -> output (1, 10)
    101,770 parameters (0.41 MB)
    """
    if not hasattr(model, "named_modules"):
        raise TypeError(f"summary expects a Module, got {type(model).__name__}")
    modules = list(model.named_modules())
    shapes: Dict[int, List[str]] = {}
    if input_shape is not None:
        if isinstance(input_shape, (Tensor, np.ndarray)):
            sample = input_shape if isinstance(input_shape, Tensor) else Tensor(input_shape)
            input_shape = tuple(sample.shape)
        else:
            input_shape = tuple(int(n) for n in input_shape)
            values = np.random.default_rng(seed).standard_normal(input_shape).astype(dtype)
            sample = Tensor(values)
        _forward_noting_shapes(model, [m for _, m in modules], sample, shapes)
    rows = []
    for name, module in modules:
        count, _ = _count(module)
        seen = shapes.get(id(module))
        shape = None if not seen else seen[0] + (f" (x{len(seen)} calls)" if len(seen) > 1 else "")
        rows.append(LayerRow(name, _kind(module), shape, count))
    total, nbytes = _count(model)
    return ModelSummary(type(model).__name__, rows, total, input_shape, nbytes)


def _forward_noting_shapes(model, modules, sample: Tensor, shapes: Dict[int, List[str]]) -> None:
    """Run ``model(sample)`` with every module's ``forward`` wrapped (on the instance, removed after)."""
    def noting(module):
        original = module.forward

        def forward(*args, **kwargs):
            result = original(*args, **kwargs)
            shapes.setdefault(id(module), []).append(_shape_text(result) or type(result).__name__)
            return result
        return forward

    wrapped = []
    try:
        for module in modules:
            if "forward" not in vars(module):  # a module listed twice is wrapped once
                module.forward = noting(module)
                wrapped.append(module)
        with no_grad():
            model(sample)
    finally:
        for module in wrapped:
            del module.forward
