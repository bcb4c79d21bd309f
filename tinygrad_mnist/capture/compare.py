"""Whether two recordings of a step are the same program, and if not, the first difference in words.

Two recordings are the same program when they made the same values (the same kinds, shapes,
dtypes and memory layouts, from the same inputs, parameters and generators, and constants with the
same bytes) and the same instructions on them (the same calls, arguments, guards with the same
outcome, the same optimizer updates and gradient bindings) and return the same structure. A
constant that differs is the sign of a value computed outside the recording's sight (from random
numbers NumPy drew for Python code, or from a tensor's values read into Python), which a replay
would freeze: it makes the recordings differ, and the step runs eagerly.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .instructions import Instruction, Output, Ref, Value
from .recording import Recording


def _same(a: Any, b: Any) -> bool:
    """Equality of recorded arguments: Refs by index, floats with NaN equal to itself, containers
    element by element, everything else by ``==`` (or identity when ``==`` is not a plain bool)."""
    if isinstance(a, Ref) or isinstance(b, Ref):
        return isinstance(a, Ref) and isinstance(b, Ref) and a.index == b.index
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    try:
        same = a == b
    except Exception:  # noqa: BLE001  (an object whose == raises compares by identity)
        return a is b
    return same if isinstance(same, bool) else a is b


def _value_difference(a: Value, b: Value) -> Optional[str]:
    layout_a = (a.origin, a.array.shape, a.array.dtype, a.array.strides, a.base, a.dynamic)
    layout_b = (b.origin, b.array.shape, b.array.dtype, b.array.strides, b.base, b.dynamic)
    if layout_a != layout_b:
        return f"value {a.index} is {_describe(a)} in one call and {_describe(b)} in the next"
    if a.origin in ("state", "grad") and a.source is not b.source:
        return f"value {a.index} is the array of another tensor"
    if a.origin == "input" and a.source != b.source:
        return f"value {a.index} is another argument"
    if a.origin == "constant" and not _same(a.source, b.source):
        return (f"constant {a.index} ({a.array.dtype}{list(a.array.shape)}) holds other numbers: the step computes it "
                "outside the recording's sight (random numbers drawn by plain NumPy, or a tensor's values read "
                "into Python), and a replay would freeze it")
    return None


def _describe(value: Value) -> str:
    return f"a {value.origin} {value.array.dtype}{list(value.array.shape)}"


def _instruction_difference(a: Instruction, b: Instruction, position: int) -> Optional[str]:
    if a.kind != b.kind or not _same(a.call, b.call) or a.attribute != b.attribute:
        return f"instruction {position} is {_name(a)} in one call and {_name(b)} in the next ({b.where})"
    if a.kind == "guard" and a.expected != b.expected:
        return (f"the Python decision at {b.where} went another way ({a.expected!r} then {b.expected!r}); "
                "make it on numbers that do not change from step to step")
    same_bindings = len(a.bindings) == len(b.bindings) and all(
        ta is tb and va == vb for (ta, va), (tb, vb) in zip(a.bindings, b.bindings))
    if not (_same(a.args, b.args) and _same(a.kwargs, b.kwargs) and a.results == b.results
            and a.writes == b.writes and same_bindings):
        return f"instruction {position} ({_name(b)} at {b.where}) has other arguments"
    return None


def _name(instruction: Instruction) -> str:
    call = instruction.call
    if isinstance(call, tuple):
        return f"ndarray.{call[1]}"
    if instruction.kind != "call":
        return instruction.kind
    owner = getattr(call, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"np.{owner.__name__}.{call.__name__}"
    return getattr(call, "__qualname__", getattr(call, "__name__", repr(call)))


def difference(first: Recording, second: Recording) -> Optional[str]:
    """None when ``first`` and ``second`` are the same program, else the first difference in words.

    >>> difference(Recording(), Recording()) is None
    True
    """
    if len(first.values) != len(second.values):
        return f"one call made {len(first.values)} arrays, the next {len(second.values)}"
    for a, b in zip(first.values, second.values):
        reason = _value_difference(a, b)
        if reason:
            return reason
    if len(first.instructions) != len(second.instructions):
        return f"one call ran {len(first.instructions)} NumPy calls, the next {len(second.instructions)}"
    for position, (a, b) in enumerate(zip(first.instructions, second.instructions)):
        reason = _instruction_difference(a, b, position)
        if reason:
            return reason
    if not _same(_outputs_shape(first.outputs), _outputs_shape(second.outputs)):
        return "the function returned something else"
    if first.modules.keys() != second.modules.keys():
        return "other modules ran"
    return None


def _outputs_shape(outputs):
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(_outputs_shape(item) for item in outputs)
    if isinstance(outputs, dict):
        return {key: _outputs_shape(item) for key, item in outputs.items()}
    if outputs is None:  # a recording that has not finished (no outputs noted yet)
        return None
    return (outputs.kind, outputs.ref)
