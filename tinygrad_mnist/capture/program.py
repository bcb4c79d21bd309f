"""From a ``Recording`` to a ``Program``: the recorded NumPy calls as one straight-line Python function.

The program is the recording's instructions, in their order, written out as source code and
compiled once. Four decisions turn the recording into it:

1. **What is needed.** Walking backwards from what the caller sees (the outputs, the gradients
   left in ``.grad``, the updates of parameters and buffers, guards, random draws), an instruction
   is kept when something needed reads what it makes or writes. The rest (values the eager code
   computed and dropped) is not replayed.
2. **Where each value lives.** A value whose array the caller keeps (an output, a gradient) or
   whose shape may depend on the data is made anew by every replay, as eagerly. Every other result
   of a ufunc or reduction is written with ``out=`` into the array the recording left, so a replay
   allocates nothing for it: buffers are allocated once. Views of such arrays were made once too.
3. **In place where an input dies.** An elementwise result may go into the array of an operand
   that nothing reads afterwards (``1 - t * t`` then ``grad * that`` run in one buffer): the same
   operations, so the same bits, with a smaller working set.
4. **What is checked.** A replay first checks that each parameter still has the array it was
   recorded with and each module its training flag; a guard re-checks a Python decision (an ``if``
   on a tensor value) where the recording made it, and a replay whose guard disagrees stops before
   anything was updated, so that the caller runs that call eagerly instead.

``Program.source`` is the generated code: it reads like the NumPy a careful person would write by
hand, with a comment naming the framework line each call came from.
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Dict, List, Optional, Set

import numpy as np

from ..autograd.grad_mode import _state
from .instructions import Instruction, Ref, refs_in
from .recording import Recording

#: What a replay returns instead of the outputs when a guard disagrees: run this call eagerly.
GUARD_FAILED = object()
#: What a replay returns when the recording no longer fits (a parameter got a new array, a module
#: changed its training flag): record again.
STALE = object()


class NotReplayable(RuntimeError):
    """A recording that no program can replay faithfully; the message says why."""

# Array functions whose result a replay can write into an existing array with ``out=``.
_OUT_FUNCTIONS = frozenset({np.dot, np.take, np.clip, np.concatenate, np.stack, np.cumsum, np.sum, np.mean})
_OUT_METHODS = frozenset({"reduce", "accumulate", "reduceat", "outer", "random"})
# Functions that make a new array from a shape alone: a replay fills the buffer it keeps instead
# (empty_like: nothing to do; the others: ``fill`` with their value).
_ALLOCATING = {np.empty_like: None, np.zeros_like: 0, np.ones_like: 1, np.full_like: "fill_value"}
# ndarray methods whose fresh (copied) result a replay writes into the buffer it keeps with copyto:
# a reshape of a strided view (im2col's windows), a copy, a conversion.
_COPYING_METHODS = frozenset({"reshape", "ravel", "flatten", "copy", "astype"})
# Elementwise calls whose result may go into an operand's array (NumPy handles exact aliasing).
_ELEMENTWISE = np.ufunc


def _writes_fully(instruction: Instruction, index: int) -> bool:
    """Whether ``instruction`` overwrites every element of value ``index`` without reading it (so
    its old content does not matter): a ufunc's ``out=`` without ``where=``, ``fill``, ``copyto``."""
    call = instruction.call
    if "where" in instruction.kwargs:
        return False
    if isinstance(call, np.ufunc):
        if any(ref.index == index for ref in refs_in(instruction.args)):
            return False
        out = instruction.kwargs.get("out")
        return isinstance(out, tuple) and any(isinstance(o, Ref) and o.index == index for o in out)
    if call == ("method", "fill") or call is np.copyto:
        first = instruction.args[0]
        return isinstance(first, Ref) and first.index == index
    return False


def _can_write_out(instruction: Instruction, recording: Recording) -> bool:
    """Whether a replay can give ``instruction`` an existing array for its (single, fresh) result."""
    call = instruction.call
    if instruction.kind != "call" or instruction.writes or "out" in instruction.kwargs:
        return False
    if len(instruction.results) != 1 or recording.values[instruction.results[0]].origin == "view":
        return False
    if isinstance(call, np.ufunc):
        return call.nout == 1
    if isinstance(call, tuple):
        return call[1] in _COPYING_METHODS and _copies_in_c_order(instruction, recording)
    if call in _ALLOCATING:
        return "order" not in instruction.kwargs or instruction.kwargs["order"] in ("C", "K")
    if getattr(call, "__name__", None) in _OUT_METHODS:
        return isinstance(getattr(call, "__self__", None), (np.ufunc, np.random.Generator))
    return call in _OUT_FUNCTIONS


def _copies_in_c_order(instruction: Instruction, recording: Recording) -> bool:
    """Whether a copying method's result is the source's elements in C order (so that copying the
    source into a C-ordered buffer of the source's shape fills the result)."""
    result = recording.values[instruction.results[0]].array
    if instruction.call[1] == "copy" or instruction.call[1] == "astype":
        return True  # copyto fills the kept array in whatever layout it has
    return "order" not in instruction.kwargs and len(instruction.args) >= 1 and result.flags.c_contiguous


class Program:
    """A recording compiled to a Python function of the step's input arrays (see the module docstring).

    ``run(arrays)`` replays the step and returns its outputs, ``GUARD_FAILED`` or ``STALE``;
    ``source`` is the generated code and ``kept`` says which recorded instructions it replays.

    >>> from tinygrad_mnist import Tensor, jit
    >>> @jit
    ... def affine(x):
    ...     return x * 2 + 1
    >>> _ = [affine(Tensor(np.ones(3))) for _ in range(2)]
    >>> program = affine.programs()[0]
    >>> program.run(np.arange(3.0)).tolist()
    [1.0, 3.0, 5.0]
    >>> print(program.source.splitlines()[3].split("#")[0].strip())
    np.multiply(x0, c1, out=b2)
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.values = recording.values
        self.kept = self._needed()
        self._roots = [self._root(v.index) for v in self.values]
        self.per_call = self._per_call_roots()
        self.in_place: Dict[int, int] = self._reuse_dying_operands()
        self.namespace: Dict[str, Any] = {"np": np, "GUARD_FAILED": GUARD_FAILED, "STALE": STALE}
        self._names: Dict[int, str] = {}
        self._objects: Dict[int, str] = {}
        self.source = self._generate()
        self.run = self._compile()

    # ---- 1. what is needed ----------------------------------------------------------------------
    def _root(self, index: int) -> int:
        while self.values[index].origin == "view":
            index = self.values[index].base
        return index

    def _escaping(self) -> List[int]:
        """Values whose arrays the caller gets: outputs, bound gradients and rebound parameter data."""
        escaping = [ref.index for ref in refs_in(self.recording.outputs)]
        for instruction in self.recording.instructions:
            for _, binding in instruction.bindings:
                if binding is not None:
                    escaping.append(binding)
        return escaping

    def _needed(self) -> List[bool]:
        needed_roots: Set[int] = {self._root(i) for i in self._escaping()}
        kept = [False] * len(self.recording.instructions)
        for position in range(len(self.recording.instructions) - 1, -1, -1):
            instruction = self.recording.instructions[position]
            roots = {self._root(i) for i in instruction.results + instruction.writes}
            effect = instruction.kind != "call" or instruction.results and \
                self.values[instruction.results[0]].origin == "random" or any(
                    self.values[r].origin in ("state", "input", "grad", "rebound") for r in roots)
            if effect or roots & needed_roots:
                kept[position] = True
                needed_roots |= {self._root(ref.index) for ref in refs_in((instruction.args, instruction.kwargs))}
        return kept

    # ---- 2. where each value lives --------------------------------------------------------------
    def _per_call_roots(self) -> Set[int]:
        """Roots whose arrays a replay makes anew (or reads anew) each call."""
        per_call = {v.index for v in self.values if v.origin in ("input", "grad", "rebound") or v.dynamic}
        per_call |= {self._roots[i] for i in self._escaping() if self.values[self._roots[i]].origin in ("result", "random")}
        for position, instruction in enumerate(self.recording.instructions):
            if self.kept[position] and instruction.kind == "call" and not _can_write_out(instruction, self.recording):
                per_call |= {r for r in instruction.results if self.values[r].origin != "view"}
        return per_call

    def _is_per_call(self, index: int) -> bool:
        return self._roots[index] in self.per_call

    # ---- 3. in place where an operand dies ------------------------------------------------------
    def _reuse_dying_operands(self) -> Dict[int, int]:
        """result value -> operand value whose array it may be written into.

        A fixed result of an elementwise ufunc goes into a fixed operand's array of the same
        shape, dtype and memory layout when nothing reads that operand (or a view of it) later.
        """
        last_use: Dict[int, int] = {}
        for position, instruction in enumerate(self.recording.instructions):
            if self.kept[position]:
                for ref in refs_in((instruction.args, instruction.kwargs, instruction.bindings)):
                    last_use[self._roots[ref.index]] = position
        for ref in refs_in(self.recording.outputs):
            last_use[self._roots[ref.index]] = len(self.recording.instructions)
        has_views = {v.base for v in self.values if v.origin == "view"}
        reuse: Dict[int, int] = {}
        owner: Dict[int, int] = {}  # value -> the value whose array it now uses
        for position, instruction in enumerate(self.recording.instructions):
            if not (self.kept[position] and isinstance(instruction.call, np.ufunc)
                    and _can_write_out(instruction, self.recording)):
                continue
            result = self.values[instruction.results[0]]
            if result.index in self.per_call or result.index in has_views:
                continue
            for ref in instruction.args:
                if not isinstance(ref, Ref):
                    continue
                operand = self.values[ref.index]
                if (operand.origin == "result" and operand.index not in self.per_call and operand.index not in has_views
                        and last_use.get(operand.index) == position and operand.array.shape == result.array.shape
                        and operand.array.dtype == result.array.dtype and operand.array.strides == result.array.strides):
                    reuse[result.index] = owner.get(operand.index, operand.index)
                    owner[result.index] = reuse[result.index]
                    last_use[operand.index] = -1  # one result per dying operand
                    last_use[result.index] = max(last_use.get(result.index, position), position)
                    break
        return reuse

    # ---- 4. the code ----------------------------------------------------------------------------
    def _object(self, obj: Any, prefix: str) -> str:
        """A name in the generated function's closure for ``obj`` (a tensor, a callable, a constant)."""
        name = self._objects.get(id(obj))
        if name is None:
            name = f"{prefix}{len(self._objects)}"
            self._objects[id(obj)] = name
            self.namespace[name] = obj
        return name

    def name(self, index: int) -> str:
        """The name of value ``index`` in the generated code."""
        name = self._names.get(index)
        if name is not None:
            return name
        value = self.values[index]
        if index in self.in_place:
            name = self.name(self.in_place[index])
        elif self._is_per_call(index):
            name = f"v{index}" if value.origin != "input" else f"x{value.source}"
        else:
            name = f"{'c' if value.origin == 'constant' else 'b'}{index}"
            self.namespace[name] = value.array
        self._names[index] = name
        return name

    def literal(self, item) -> str:
        """``item`` (an argument with Refs) as Python source."""
        if isinstance(item, Ref):
            return self.name(item.index)
        if item is None or item is Ellipsis or type(item) in (bool, int, str):
            return "..." if item is Ellipsis else repr(item)
        if type(item) is float and math.isfinite(item):
            return repr(item)
        if isinstance(item, tuple):
            inner = ", ".join(self.literal(x) for x in item)
            return f"({inner},)" if len(item) == 1 else f"({inner})"
        if isinstance(item, list):
            return "[" + ", ".join(self.literal(x) for x in item) + "]"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{self.literal(k)}: {self.literal(v)}" for k, v in item.items()) + "}"
        if isinstance(item, slice):
            return f"slice({self.literal(item.start)}, {self.literal(item.stop)}, {self.literal(item.step)})"
        if isinstance(item, np.dtype) and item.isbuiltin:
            return f"np.{item.name}" if hasattr(np, item.name) else self._object(item, "k")
        return self._object(item, "k")

    def _callable(self, call) -> str:
        if isinstance(call, np.ufunc) and getattr(np, call.__name__, None) is call:
            return f"np.{call.__name__}"
        owner = getattr(call, "__self__", None)
        if isinstance(owner, np.ufunc) and getattr(np, owner.__name__, None) is owner:
            return f"np.{owner.__name__}.{call.__name__}"
        if getattr(np, getattr(call, "__name__", ""), None) is call:
            return f"np.{call.__name__}"
        if isinstance(owner, np.random.Generator):
            return f"{self._object(owner, 'rng')}.{call.__name__}"
        return self._object(call, "f")

    def _call_text(self, instruction: Instruction, out: Optional[str]) -> str:
        args = [self.literal(a) for a in instruction.args]
        kwargs = [f"{key}={self.literal(value)}" for key, value in instruction.kwargs.items()]
        if out is not None:
            kwargs.append(f"out={out}")
        call = instruction.call
        if isinstance(call, tuple):  # an ndarray method
            target, rest = args[0], args[1:]
            if call[1] == "__getitem__":
                return f"{target}[{rest[0]}]"
            if call[1] == "__setitem__":
                return f"{target}[{rest[0]}] = {rest[1]}"
            return f"{target}.{call[1]}({', '.join(rest + kwargs)})"
        return f"{self._callable(call)}({', '.join(args + kwargs)})"

    def _generate(self) -> str:
        lines: List[str] = []
        recording = self.recording
        used = {self._roots[r.index] for p, ins in enumerate(recording.instructions) if self.kept[p]
                for r in refs_in((ins.args, ins.kwargs, ins.bindings))} | {self._roots[i] for i in self._escaping()}
        lines += self._entry_checks(used)
        backups, rollback = self._undo_before_guards()
        lines += backups
        restored: Set[int] = set()
        for position, instruction in enumerate(recording.instructions):
            if not self.kept[position]:
                continue
            lines += self._restores(instruction, restored)
            text = self._instruction_text(instruction)
            if instruction.kind == "guard" and rollback:
                lines.append(f"{text[:-len(' return GUARD_FAILED')]:<72}# {instruction.where}")
                lines += ["    " + line for line in rollback] + ["    return GUARD_FAILED"]
            elif text:
                lines.append(f"{text:<72}# {instruction.where}" if instruction.where else text)
        lines.append(f"return {self._output_text(recording.outputs)}")
        inputs = ", ".join(f"x{v.source}" for v in self.values if v.origin == "input")
        return f"def replay({inputs}):\n" + "\n".join("    " + line for line in lines) + "\n"

    def _undo_before_guards(self):
        """Lines that save, at the start, what a replay changes before its last guard (arrays of
        parameters, buffers and inputs written in place, generators drawn from), and the lines that
        put it back when a guard fails, so that the eager run of that call starts where it should.
        An optimizer update cannot be taken back: a guard after one makes the recording unreplayable."""
        instructions = self.recording.instructions
        guards = [p for p, ins in enumerate(instructions) if self.kept[p] and ins.kind == "guard"]
        if not guards:
            return [], []
        before = [ins for p, ins in enumerate(instructions[:guards[-1]]) if self.kept[p]]
        opaque = next((ins for ins in before if ins.kind == "opaque"), None)
        if opaque is not None:
            raise NotReplayable(f"a tensor value decides what the step does after the update at {opaque.where}; "
                                "a replay cannot take an update back to run that call eagerly")
        save, undo = [], []
        written = {self._roots[w] for ins in before for w in ins.writes}
        for root in sorted(written):
            if self.values[root].origin in ("state", "rebound", "grad", "input"):
                backup = self._object(np.empty_like(self.values[root].array), "u")
                save.append(f"np.copyto({backup}, {self.name(root)})")
                undo.append(f"np.copyto({self.name(root)}, {backup})")
        generators = {id(ins.call.__self__): ins.call.__self__ for ins in before
                      if ins.kind == "call" and isinstance(getattr(ins.call, "__self__", None), np.random.Generator)}
        for generator in generators.values():
            name = self._object(generator, "rng")
            save.append(f"{name}_state = {name}.bit_generator.state")
            undo.append(f"{name}.bit_generator.state = {name}_state")
        return save, undo

    def _entry_checks(self, used: Set[int]) -> List[str]:
        lines = []
        stale = [f"{self._object(m, 'm')}.training is not {m.training!r}" for m in self.recording.modules.values()]
        stale.append(f"_state['structure'] != {_state['structure']!r}")
        for index in sorted(used):
            value = self.values[index]
            if value.origin == "state":
                stale.append(f"{self._object(value.source, 'p')}.data is not {self.name(index)}")
        self.namespace["_state"] = _state
        lines.append("if " + " or ".join(stale) + ":")
        lines.append("    return STALE")
        for index in sorted(used):
            value = self.values[index]
            layout = self._object((value.array.shape, value.array.dtype, value.array.strides), "k")
            tensor = self._object(value.source, "p")
            if value.origin == "rebound":
                lines.append(f"{self.name(index)} = {tensor}.data")
            elif value.origin == "grad":
                lines.append(f"if {tensor}.grad is None:")
                lines.append("    return STALE")
                lines.append(f"{self.name(index)} = {tensor}.grad.data")
            else:
                continue
            name = self.name(index)
            lines.append(f"if ({name}.shape, {name}.dtype, {name}.strides) != {layout}:")
            lines.append("    return STALE")
        return lines

    def _restores(self, instruction: Instruction, restored: Set[int]) -> List[str]:
        """Constants this instruction is the first to touch, when some instruction writes them: put
        back the values they had when recorded (a replay left its own there)."""
        lines = []
        for ref in refs_in((instruction.args, instruction.kwargs)):
            root = self._roots[ref.index]
            value = self.values[root]
            if value.origin != "constant" or not value.written or root in restored:
                continue
            restored.add(root)
            snapshot = self._object(value.source, "s")
            if root in self.per_call:
                lines.append(f"{self.name(root)} = {snapshot}.copy()")
            elif not _writes_fully(instruction, root):
                lines.append(f"np.copyto({self.name(root)}, {snapshot})")
        return lines

    def _instruction_text(self, instruction: Instruction) -> str:
        kind = instruction.kind
        if kind == "guard":
            value = self.literal(instruction.args[0])
            if instruction.call == "__bool__":
                test = f"not {value}" if instruction.expected else value
            else:
                test = f"int({value}) != {instruction.expected!r}"
            return f"if {test}: return GUARD_FAILED"
        if kind in ("opaque", "bind"):
            lines = [self._binding_text(tensor, binding, instruction.attribute)
                     for tensor, binding in instruction.bindings]
            if kind == "opaque":
                lines.append(f"{self._object(instruction.call, 'update')}()")
            return "; ".join(lines)
        results = instruction.results
        if not results:
            return self._call_text(instruction, None)
        first = self.values[results[0]]
        if first.origin == "view" and not any(self._is_per_call(r.index) for r in refs_in(instruction.args)):
            for index in results:
                self.name(index)  # views of arrays that live across calls: made once, here
            return ""
        if len(results) == 1 and not self._is_per_call(results[0]) and _can_write_out(instruction, self.recording):
            if isinstance(instruction.call, tuple) or instruction.call in _ALLOCATING:
                return self._refill_text(instruction)
            return self._call_text(instruction, self.name(results[0]))
        targets = ", ".join(self.name(r) for r in results)
        if instruction.unpack:
            targets += "," if len(results) == 1 else ""
        return f"{targets} = {self._call_text(instruction, None)}"

    def _refill_text(self, instruction: Instruction) -> str:
        """A new array made again in the buffer a replay keeps: an allocation becomes a ``fill`` (or
        nothing), a copying method a ``copyto``; the same values as the eager call, no allocation."""
        name = self.name(instruction.results[0])
        call = instruction.call
        if not isinstance(call, tuple):
            fill = _ALLOCATING[call]
            if fill == "fill_value":
                fill = instruction.args[1] if len(instruction.args) > 1 else instruction.kwargs["fill_value"]
            return "" if fill is None else f"{name}.fill({self.literal(fill)})"
        source = instruction.args[0]
        if call[1] in ("copy", "astype"):
            return f"np.copyto({name}, {self.literal(source)}, casting='unsafe')"
        shaped = self._object(self.values[instruction.results[0]].array.reshape(self.values[source.index].array.shape), "shaped")
        return f"np.copyto({shaped}, {self.literal(source)})"

    def _binding_text(self, tensor, binding: Optional[int], attribute: str) -> str:
        name = self._object(tensor, "p")
        if binding is None:
            return f"{name}.{attribute} = None"
        array = self.name(binding)
        if self.values[self._roots[binding]].origin == "constant":
            array = f"{array}.copy()"
        if attribute == "data":
            return f"{name}.data = {array}"
        return f"{name}.grad = {self._object(tensor._wrap, 'wrap')}({array})"

    def _output_text(self, item) -> str:
        if isinstance(item, (tuple, list)):
            inner = ", ".join(self._output_text(x) for x in item)
            if isinstance(item, list):
                return f"[{inner}]"
            return f"({inner},)" if len(item) == 1 else f"({inner})"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{self.literal(k)}: {self._output_text(v)}" for k, v in item.items()) + "}"
        kind, payload, wrap = item.kind, item.ref, item.wrap
        if kind == "literal":
            return self.literal(payload)
        array = self.name(payload.index)
        if self.values[self._roots[payload.index]].origin == "constant":
            array = f"{array}.copy()"
        if kind == "array":
            return array
        return f"{self._object(wrap, 'wrap')}({array})"

    def _compile(self):
        names = sorted(self.namespace)
        header = f"def _build({', '.join(names)}):\n"
        body = "\n".join("    " + line for line in self.source.splitlines())
        scope: Dict[str, Any] = {"__builtins__": builtins}
        exec(compile(header + body + "\n    return replay\n", "<jit replay>", "exec"), scope)  # noqa: S102
        return scope["_build"](**self.namespace)

    # ---- facts for people ---------------------------------------------------------------------
    def fixed_bytes(self) -> int:
        """Bytes of the arrays a replay reuses from call to call (its preallocated buffers)."""
        seen, total = set(), 0
        for name, value in self.namespace.items():
            if name[:1] in "bc" and name[1:].isdigit() and id(value) not in seen:
                seen.add(id(value))
                total += value.nbytes
        return total

    def counts(self) -> Dict[str, int]:
        """How many recorded instructions were kept, dropped, and how many results went in place."""
        kept = sum(self.kept)
        return {"recorded": len(self.kept), "replayed": kept, "dropped": len(self.kept) - kept,
                "in_place": len(self.in_place)}
