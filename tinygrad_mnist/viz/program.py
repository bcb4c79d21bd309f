"""A drawing of a recorded step: the calls a jit ``Program`` replays and the arrays between them.

Each box is one NumPy call the replay makes, coloured by where it came from (the forward pass, the
backward pass, the optimizer update, a guard); each edge is an array one call hands to another,
labelled with the name it has in the generated code (``Program.source``): ``x0`` an argument of the
call, ``b12`` a buffer the replay keeps from call to call (written with ``out=``), ``v44`` an array
made anew each call (one the caller keeps, such as a gradient), ``c3`` a constant. Parameters and
buffers of the model are the green boxes at the top.

>>> import numpy as np
>>> from tinygrad_mnist import Tensor, jit, nn, optim
>>> model = nn.Linear(3, 2, seed=0)
>>> opt = optim.SGD(model.parameters(), lr=0.1)
>>> @jit
... def step(x):
...     opt.zero_grad(); loss = model(x).sum(); loss.backward(); opt.step(); return loss
>>> for _ in range(2):
...     _ = step(Tensor(np.ones((4, 3), np.float32)))
>>> "matmul" in draw_program(step.programs()[0]).source
True
"""
from __future__ import annotations

import html
from typing import Dict, List, Optional, Set

import graphviz
import numpy as np

from ..capture.instructions import Instruction, refs_in
from ..capture.program import Program
from .graph import new_digraph

#: Fill and border colours of a call, by the part of the step it belongs to.
PHASE_STYLES = {
    "forward": ("#dce8f7", "#4a78b0"),
    "backward": ("#f7e3d4", "#b06a2a"),
    "update": ("#e6dcf5", "#6a4ab0"),
    "guard": ("#ffe9a8", "#b8860b"),
}
_VALUE_STYLE = 'shape=box, style="filled", fillcolor="#d4efcc", color="#3f8f3f", fontsize=10'
_CONSTANT_STYLE = 'shape=box, style="filled", fillcolor="#f4f4f4", color="#bbbbbb", fontsize=9'


def phases(instructions: List[Instruction]) -> List[str]:
    """The part of the step each instruction belongs to (a key of ``PHASE_STYLES``), read from the
    framework line that made it; a helper line (``ops/arraylike.py``, a scatter) takes the part of
    the call before it.

    >>> calls = [Instruction("call", where="ops/linalg.py:70 (Linear.forward)"),
    ...          Instruction("call", where="ops/reduce.py:139 (LogSumExp.backward)"),
    ...          Instruction("call", where="ops/arraylike.py:35 (exp)")]
    >>> phases(calls)
    ['forward', 'backward', 'backward']
    """
    found, current = [], "forward"
    for instruction in instructions:
        where = instruction.where
        if instruction.kind == "guard":
            found.append("guard")
            continue
        if instruction.kind in ("opaque", "bind") or "optim/" in where:
            current = "update"
        elif "backward" in where or "engine.py" in where:
            current = "backward"
        elif "forward" in where:
            current = "forward"
        found.append(current)
    return found


def call_name(instruction: Instruction) -> str:
    """A short name of what an instruction does: ``matmul``, ``add.reduce``, ``.reshape``, ``guard``.

    >>> call_name(Instruction("call", np.add.reduce)), call_name(Instruction("call", ("method", "reshape")))
    ('add.reduce', '.reshape')
    """
    if instruction.kind == "guard":
        return "guard: bool()" if instruction.call == "__bool__" else "guard: int()"
    if instruction.kind == "opaque":
        owner = getattr(instruction.call, "__self__", None)
        return f"{type(owner).__name__} update" if owner is not None else "update"
    if instruction.kind == "bind":
        return "set " + ", ".join(f".{instruction.attribute}" for _ in instruction.bindings)
    call = instruction.call
    if isinstance(call, tuple):
        return {"__getitem__": "[...]", "__setitem__": "[...] ="}.get(call[1], f".{call[1]}")
    owner = getattr(call, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"{owner.__name__}.{call.__name__}"
    return getattr(call, "__name__", type(call).__name__)


def draw_program(program: Program, rankdir: str = "TB", max_calls: Optional[int] = None) -> graphviz.Digraph:
    """The calls of a compiled jit ``Program`` and the arrays between them, as a graphviz ``Digraph``
    (see the module docstring for how to read it); ``max_calls`` keeps only the first calls.

    Render it with ``graph.pipe(format="svg")`` or ``viz.graph.save_rendered`` (needs graphviz's
    ``dot``); ``graph.source`` is the DOT text.

    >>> from tinygrad_mnist import Tensor, jit
    >>> @jit
    ... def affine(x):
    ...     return (x * 2 + 1).tanh()
    >>> _ = [affine(Tensor(np.ones(3))) for _ in range(2)]
    >>> source = draw_program(affine.programs()[0]).source
    >>> [name in source for name in ("multiply", "add", "tanh", "x0: argument")]
    [True, True, True, True]
    """
    recording = program.recording
    values = program.values
    body: List[str] = []
    node_of: Dict[int, str] = {}   # value index -> the node that makes it
    drawn_values: Set[int] = set()
    positions = [p for p, kept in enumerate(program.kept) if kept]
    parts = phases(recording.instructions)
    if max_calls is not None:
        positions = positions[:max_calls]

    def source_node(index: int) -> str:
        """The node an array comes from: the call that made it, or a box for an input or parameter."""
        root = index
        while values[root].origin == "view" and root not in node_of:
            root = values[root].base
        if root in node_of:
            return node_of[root]
        name = f"value{root}"
        if root not in drawn_values:
            drawn_values.add(root)
            value = values[root]
            shape = "x".join(str(n) for n in value.array.shape) or "scalar"
            what = {"input": "argument", "state": "parameter / buffer", "rebound": "parameter",
                    "grad": "gradient held", "constant": "constant"}.get(value.origin, value.origin)
            style = _CONSTANT_STYLE if value.origin == "constant" else _VALUE_STYLE
            label = f"{program.name(root)}: {what}\\n{shape} {value.array.dtype}"
            body.append(f'\t{name} [label="{label}", {style}]')
        return name

    for position in positions:
        instruction = recording.instructions[position]
        node = f"call{position}"
        fill, border = PHASE_STYLES[parts[position]]
        title = html.escape(call_name(instruction), quote=False)
        where = html.escape(instruction.where.split(" ")[0], quote=False)
        label = f'<<B>{title}</B><BR/><FONT POINT-SIZE="8" COLOR="#555555">{where}</FONT>>'
        body.append(f'\t{node} [label={label}, shape=box, style="rounded,filled", fillcolor="{fill}", color="{border}"]')
        read = [ref.index for ref in refs_in((instruction.args, instruction.kwargs))]
        read += [binding for _, binding in instruction.bindings if binding is not None]
        for index in dict.fromkeys(read):
            body.append(f'\t{source_node(index)} -> {node} [label="{program.name(index)}", fontsize=8]')
        for index in instruction.results + instruction.writes:
            node_of[index] = node
    body.append('\tsubgraph legend { rank=sink; legend [shape=plaintext, fontsize=9, label="'
                "blue: forward   orange: backward   purple: optimizer update   yellow: guard\\n"
                "edge names as in Program.source: x = argument, b = kept buffer, v = new each call, "
                'c = constant"] }')
    return new_digraph(body, rankdir)


__all__ = ["PHASE_STYLES", "call_name", "draw_program", "phases"]
