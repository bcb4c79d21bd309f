"""A ``Recording``: the NumPy calls of one eager run of a step, written down so they can be replayed.

While a jitted function runs eagerly for the first time(s), a ``Recording`` is the recorder of
``autograd/recording.py``. Every array the step works on becomes a *value* of the recording, known
by where it came from:

* ``input``: an array passed to the function (new each call);
* ``state``: the array of a parameter or buffer (``adopt``), updated in place across calls;
* ``grad``: the gradient a tensor already had when the call began (read each call);
* ``constant``: a plain array the step made itself without tracing (``np.arange(n)``, a one-hot
  pattern of constants); a snapshot of it is kept, and two recordings must agree on it;
* ``random``: a draw from a random generator (drawn again by each replay);
* ``result`` / ``view``: what a recorded call returned, fresh or as a view of another value.

Each NumPy call on traced arrays becomes an ``Instruction`` (the callable, its arguments with
values as ``Ref``s, the values it made and those it changed in place, and the line of the framework
or user code it came from). Python control flow on a traced value becomes a guard instruction; an
optimizer update becomes one opaque instruction; a value that leaves for Python (``.item()``) marks
the recording as not replayable, with the reason.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..autograd.grad_mode import _state
from .instructions import (
    SHAPE_FUNCTIONS,
    SHAPE_STATIC_FUNCTIONS,
    WRITING_FUNCTIONS,
    WRITING_METHODS,
    Instruction,
    Output,
    Ref,
    Value,
    refs_in,
)
from .traced import Traced, _plain_tree, _view, plain

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CAPTURE_DIR = os.path.dirname(os.path.abspath(__file__))
_HOOKS = os.path.join(_PACKAGE_DIR, "autograd", "recording.py")
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))

class UntracedArrayError(RuntimeError):
    """A traced array that the recording did not make reached it (made by NumPy code it cannot see)."""


def _where(user: bool = False) -> str:
    """``file:line (function)`` of the innermost frame outside the jit and NumPy: the rule or the
    user code that made the current NumPy call (``user``: the innermost frame outside the package)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        inside = path.startswith(_PACKAGE_DIR) if user else path.startswith(_CAPTURE_DIR) or path == _HOOKS
        if not inside and not path.startswith(_NUMPY_DIR):
            shown = os.path.relpath(path, _PACKAGE_DIR) if path.startswith(_PACKAGE_DIR) else os.path.basename(path)
            return f"{shown}:{frame.f_lineno} ({frame.f_code.co_qualname})"
        frame = frame.f_back
    return "<unknown>"


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays are the same window on the same memory."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.shape == b.shape
            and a.strides == b.strides and a.dtype == b.dtype)


class Recording:
    """The values and instructions of one eager run of a step (see the module docstring).

    >>> from tinygrad_mnist.autograd.grad_mode import _state
    >>> recording = Recording()
    >>> x = recording.add_input(np.ones(2), position=0)
    >>> _state["recorder"] = recording
    >>> try:
    ...     y = np.exp(x) + x
    ... finally:
    ...     _state["recorder"] = None
    >>> [getattr(i.call, "__name__", i.call) for i in recording.instructions], recording.values[-1].origin
    (['exp', 'add'], 'result')
    """

    def __init__(self) -> None:
        self.values: List[Value] = []
        self.instructions: List[Instruction] = []
        self.unreplayable: Optional[str] = None
        self.modules: Dict[int, Any] = {}           # id -> module whose forward ran (training flag guarded)
        self.inputs: List[Tuple[Any, int]] = []    # (tensor or None, value) per argument position
        self.outputs: Any = None                   # the output structure, values as Refs
        self._by_id: Dict[int, Any] = {}           # id(plain array) -> its value (or ("grad", tensor))
        self._keep: List[np.ndarray] = []          # those arrays, so that their ids stay theirs
        self._swapped: List[Tuple[Any, np.ndarray, Traced]] = []  # (tensor, original data, traced data)
        self._entry_grads: Dict[int, Any] = {}     # id(tensor) -> its .grad when adopted
        self._watched: Dict[int, Any] = {}         # tensors whose .grad is bound at the end
        self._inputs_watched: Dict[int, Any] = {}  # input tensors, whose .grad a replay cannot set
        self._bound: Dict[int, Any] = {}           # id(tensor) -> the gradient binding made last

    # ---- values -------------------------------------------------------------------------------
    def _new_value(self, array: np.ndarray, origin: str, **fields) -> Traced:
        value = Value(len(self.values), array, origin, **fields)
        self.values.append(value)
        traced = _view(array, Traced)
        traced.value = value.index
        return traced

    def value_of(self, traced: Traced) -> Value:
        """The value a traced array holds (an error for one the recording did not make)."""
        if traced.value < 0:
            raise UntracedArrayError(
                "a traced array made by NumPy code the recording cannot see (an ndarray method it does not "
                "know) reached a recorded call"
            )
        return self.values[traced.value]

    def traced(self, index: int) -> Traced:
        """A traced array holding value ``index``."""
        traced = _view(self.values[index].array, Traced)
        traced.value = index
        return traced

    def traced_base(self, traced: Traced):
        """What ``traced.base`` says: None for a fresh result, the viewed value for a view, and the
        memory of an input or a parameter (never None: those arrays belong to someone else)."""
        value = self.value_of(traced)
        if value.origin == "view":
            return self.traced(value.base)
        if value.origin in ("result", "random"):
            return None
        return value.array

    def add_input(self, array: np.ndarray, position: int, tensor=None) -> Traced:
        """The traced form of the function's argument ``position`` (a Tensor's array or an ndarray)."""
        traced = self._new_value(array, "input", source=position)
        self.inputs.append((tensor, traced.value))
        if tensor is not None:
            self._swap(tensor, traced)
            self._entry_grads[id(tensor)] = tensor.grad
            self._inputs_watched[id(tensor)] = tensor
        return traced

    def _swap(self, tensor, traced: Traced) -> None:
        self._swapped.append((tensor, tensor.data, traced))
        tensor.data = traced

    def _constant(self, array: np.ndarray) -> int:
        """The value of a plain array met as an argument: an alias of a value it is the same window
        on, or a new constant. A partial view of a traced value's memory cannot be followed."""
        known = self._by_id.get(id(array))
        if isinstance(known, tuple):  # the gradient a tensor had when the call began, read now
            index = len(self.values)
            self.values.append(Value(index, array, "grad", source=known[1]))
            self._by_id[id(array)] = index
            return index
        if known is not None:
            return known
        for value in self.values:
            if value.origin != "constant" and np.may_share_memory(array, value.array):
                if _same_view(array, value.array):
                    self._by_id[id(array)] = value.index
                    self._keep.append(array)
                    return value.index
                self.give_up("an array of the step was taken out of the recording as a plain ndarray view "
                             "(np.asarray or np.array of a tensor's data?) and used again: the recording "
                             "cannot tell which of its values it holds")
        index = len(self.values)
        self.values.append(Value(index, array, "constant", source=array.copy()))
        self._by_id[id(array)] = index
        self._keep.append(array)
        return index

    def ref(self, item):
        """``item`` with arrays replaced by ``Ref``s (tuples, lists, dicts and slices gone through)."""
        if isinstance(item, Traced):
            return Ref(self.value_of(item).index)
        if isinstance(item, np.ndarray):
            return Ref(self._constant(item))
        if isinstance(item, tuple):
            return tuple(self.ref(x) for x in item)
        if isinstance(item, list):
            return [self.ref(x) for x in item]
        if isinstance(item, dict):
            return {key: self.ref(x) for key, x in item.items()}
        return item

    def give_up(self, reason: str) -> None:
        """Mark the recording as not replayable (the first reason is the one reported)."""
        if self.unreplayable is None:
            self.unreplayable = reason

    # ---- recorded calls -----------------------------------------------------------------------
    def _record(self, call, args, kwargs, written: List[Any], shape_static: bool, fresh: bool = True):
        """Write down ``call(*args, **kwargs)``, run it on plain arrays and return its result with
        fresh arrays wrapped as new values (``fresh=False``: it returns only what it wrote into)."""
        args_ref, kwargs_ref = self.ref(args), self.ref(kwargs)  # before the call: a constant it
        writes = tuple(self.ref(w).index for w in written)       # writes is kept as it was
        refs = [r.index for r in refs_in((args_ref, kwargs_ref))]
        dynamic = not shape_static or any(self.values[i].dynamic for i in refs)
        instruction = Instruction("call", call, args_ref, kwargs_ref, writes=writes, where=_where())
        position = len(self.instructions)
        self.instructions.append(instruction)
        for index in writes:
            self.values[index].written = True
        result = (getattr(np.ndarray, call[1]) if isinstance(call, tuple) else call)(
            *_plain_tree(args), **_plain_tree(kwargs))
        if not fresh:
            return result
        operands = [self.values[i] for i in refs]
        results, wrapped = [], []
        for item in (result if isinstance(result, tuple) else (result,)):
            if item is None:
                wrapped.append(None)
                continue
            if not isinstance(item, np.ndarray):
                item = np.asarray(item)  # a NumPy or Python scalar: a 0-d value (replays write it with out=)
            base = next((v for v in operands if np.may_share_memory(item, v.array)), None)
            if base is not None:
                traced = self._new_value(item, "view", producer=position, base=base.index, dynamic=dynamic)
            else:
                traced = self._new_value(item, "result", producer=position, dynamic=dynamic)
            results.append(traced.value)
            wrapped.append(traced)
        instruction.results = tuple(results)
        instruction.unpack = isinstance(result, tuple)
        return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]

    def ufunc(self, ufunc: np.ufunc, method: str, inputs, kwargs):
        """A ufunc call (``Traced.__array_ufunc__``)."""
        call = ufunc if method == "__call__" else getattr(ufunc, method)
        outs = kwargs.get("out")
        if method == "at":
            self._record(call, inputs, kwargs, [inputs[0]], True, fresh=False)
            return None
        if outs:
            result = self._record(call, inputs, kwargs, list(outs), True, fresh=False)
            return outs if isinstance(result, tuple) else outs[0]
        return self._record(call, inputs, kwargs, [], True)

    def function(self, func, args, kwargs):
        """An array function such as ``np.where`` (``Traced.__array_function__``)."""
        if func in SHAPE_FUNCTIONS:
            return func(*_plain_tree(args), **_plain_tree(kwargs))
        out = kwargs.get("out")
        outs = list(out) if isinstance(out, tuple) else [] if out is None else [out]
        written = ([args[0]] if func in WRITING_FUNCTIONS else []) + outs
        static = func in SHAPE_STATIC_FUNCTIONS
        if written:
            self._record(func, args, kwargs, written, static, fresh=False)
            return None if func in WRITING_FUNCTIONS and out is None else out
        result = self._record(func, args, kwargs, [], static)
        return list(result) if isinstance(result, tuple) and func in (np.split, np.array_split) else result

    def method(self, name: str, target: Traced, args, kwargs):
        """An ndarray method NumPy runs in C (``reshape``, indexing, ``astype``, ...)."""
        if name == "view" and args and isinstance(args[0], type) and issubclass(args[0], np.ndarray):
            return target  # "as a plain ndarray": a traced array is one already
        if name == "astype" and _no_conversion(target, args, kwargs):
            return target  # astype(dtype, copy=False) to its own dtype returns the array itself
        static = not (name == "nonzero" or (name == "__getitem__" and _has_mask(args[0])))
        call = ("method", name)
        if name in WRITING_METHODS:
            self._record(call, (target,) + tuple(args), kwargs, [target], static, fresh=False)
            return None
        return self._record(call, (target,) + tuple(args), kwargs, [], static)

    def escape(self, name: str, traced: Traced, value) -> None:
        """A traced value became a Python value: a guard for ``bool``/``int``, else the end of replaying."""
        if name in ("__bool__", "__int__", "__index__"):
            self.instructions.append(Instruction(
                "guard", call=name, args=(Ref(self.value_of(traced).index),), expected=value, where=_where()))
            return
        shown = {"__float__": "float()", "__complex__": "complex()", "__repr__": "printing",
                 "__str__": "printing", "__format__": "formatting"}.get(name, f".{name}()")
        self.give_up(f"{shown} of a tensor value inside the function ({_where(user=True)}): the value leaves for "
                     "Python code the recording cannot follow; return the tensor and read it outside the "
                     "jitted function")

    # ---- hooks of autograd/recording.py -------------------------------------------------------
    def adopt(self, tensors) -> None:
        """Trace the arrays of trainable leaves among ``tensors`` (from ``Function.apply``)."""
        for tensor in tensors:
            if getattr(tensor, "requires_grad", False) and tensor._ctx is None:
                self._adopt(tensor)

    def adopt_state(self, tensor) -> None:
        """Trace the array of a tensor that lives across calls (a parameter, a buffer, a constant
        the step reads): replays read its current values, and updates in place are replayed."""
        if id(tensor) not in self._inputs_watched:
            self._adopt(tensor)

    def _adopt(self, tensor) -> None:
        if isinstance(tensor.data, Traced):
            return
        known = self._by_id.get(id(tensor.data))
        if isinstance(known, int) and self.values[known].origin == "constant":
            # Read through .data before any op adopted it (softmax's shift by the max): that
            # "constant" was this tensor's state all along.
            value = self.values[known]
            value.origin, value.source = "state", tensor
            traced = self.traced(known)
        else:
            traced = self._new_value(tensor.data, "state", source=tensor)
        self._swap(tensor, traced)
        self._watched[id(tensor)] = tensor
        grad = tensor.grad
        self._entry_grads[id(tensor)] = grad
        if grad is not None and not isinstance(grad.data, Traced):
            # A value only if the step reads it (gradient accumulation): most steps zero it first.
            self._by_id[id(grad.data)] = ("grad", tensor)
            self._keep.append(grad.data)

    def enter_module(self, module) -> None:
        """Trace a module's parameters and buffers and guard its training flag (``Module.__call__``)."""
        for sub in module.modules():
            if id(sub) in self.modules:
                continue
            self.modules[id(sub)] = sub
            tensors = list(sub._own_members()) if hasattr(sub, "_own_members") else []
            for _, member in tensors:
                if hasattr(member, "data") and hasattr(member, "_ctx"):
                    self._adopt(member)

    def opaque(self, call: Callable[[], None], reads_grads_of: List[Any]) -> None:
        """Run ``call`` untraced now and write it down as one instruction, after noting the gradient
        each tensor in ``reads_grads_of`` holds (the replay binds the same ones before the call)."""
        bindings = []
        for tensor in reads_grads_of:
            self._watched[id(tensor)] = tensor
            binding = self._grad_binding(tensor)
            if binding is not _UNCHANGED and self._bound.get(id(tensor), _NEVER) != binding:
                bindings.append((tensor, binding))
                self._bound[id(tensor)] = binding
        self.instructions.append(Instruction("opaque", call=call, bindings=tuple(bindings), where=_where()))
        _state["recorder"] = None
        try:
            call()
        finally:
            _state["recorder"] = self

    def random(self, generator: np.random.Generator, shape: Tuple[int, ...], dtype: np.dtype) -> Traced:
        """A random draw, replayed as a new draw from the same generator."""
        array = generator.random(shape, dtype=dtype)
        position = len(self.instructions)
        self.instructions.append(Instruction("call", generator.random, (shape,), {"dtype": dtype}, where=_where()))
        traced = self._new_value(array, "random", producer=position, source=generator)
        self.instructions[-1].results = (traced.value,)
        return traced

    # ---- the end of the call ------------------------------------------------------------------
    def _grad_binding(self, tensor):
        grad = tensor.grad
        if grad is self._entry_grads.get(id(tensor), _NEVER) or (grad is not None and not isinstance(grad.data, Traced)):
            return _UNCHANGED
        return None if grad is None else self.value_of(grad.data).index

    def finish(self, outputs) -> Any:
        """Note the outputs and the final gradients, hand the tensors back their plain arrays, and
        return ``outputs`` with detached tensors around plain arrays."""
        try:
            self.outputs = self._output_refs(outputs)
            for tensor in self._inputs_watched.values():
                if self._grad_binding(tensor) is not _UNCHANGED:
                    self.give_up("the step leaves a gradient in .grad of a tensor passed to it: a replay gets "
                                 "the arrays of its arguments, not the tensors; return the gradient instead")
            for tensor in self._watched.values():
                binding = self._grad_binding(tensor)
                if binding is not _UNCHANGED and self._bound.get(id(tensor), _NEVER) != binding:
                    self.instructions.append(Instruction("bind", bindings=((tensor, binding),)))
            for tensor, original, traced in self._swapped:
                if tensor.data is traced:
                    continue
                if isinstance(tensor.data, Traced) and self.values[traced.value].origin == "state":
                    self.instructions.append(Instruction(
                        "bind", bindings=((tensor, self.value_of(tensor.data).index),), attribute="data"))
                    self.values[traced.value].source = tensor  # read each call: the step replaces it
                    self.values[traced.value].origin = "rebound"
                else:
                    self.give_up("the step gave a tensor an array the recording did not compute")
            for value in self.values:
                if value.origin == "constant" and not value.written and not _identical(value.array, value.source):
                    self.give_up("an array used by the step was changed by code the recording cannot see "
                                 "(a plain NumPy write); make it inside the step from traced values")
        finally:
            self.release()
        return _detached(outputs)

    def release(self) -> None:
        """Give every tensor whose array was traced a plain array again (also after an error)."""
        for tensor, original, traced in reversed(self._swapped):
            if tensor.data is traced:
                tensor.data = original
            elif isinstance(tensor.data, Traced):
                tensor.data = plain(tensor.data)
        for tensor in list(self._watched.values()) + list(self._inputs_watched.values()):
            grad = tensor.grad
            if grad is not None and isinstance(grad.data, Traced):
                grad.data = plain(grad.data)

    def _output_refs(self, outputs):
        if isinstance(outputs, (tuple, list)):
            return type(outputs)(self._output_refs(item) for item in outputs)
        if isinstance(outputs, dict):
            return {key: self._output_refs(item) for key, item in outputs.items()}
        if isinstance(outputs, np.ndarray) or hasattr(outputs, "_ctx"):
            # A tensor's graph is dropped: every call of a jitted function returns detached tensors.
            tensor = hasattr(outputs, "_ctx")
            array = outputs.data if tensor else outputs
            return Output("tensor", self.ref(array), outputs._wrap) if tensor else Output("array", self.ref(array))
        return Output("literal", outputs)


_UNCHANGED = object()
_NEVER = object()


def _has_mask(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype == np.bool_ for k in keys)


def _no_conversion(target: np.ndarray, args, kwargs) -> bool:
    dtype = args[0] if args else kwargs.get("dtype")
    copy = args[3] if len(args) > 3 else kwargs.get("copy", True)
    return not copy and np.dtype(dtype) == target.dtype


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _detached(outputs):
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(_detached(item) for item in outputs)
    if isinstance(outputs, dict):
        return {key: _detached(item) for key, item in outputs.items()}
    if hasattr(outputs, "_ctx") and hasattr(outputs, "_wrap"):
        return outputs._wrap(plain(outputs.data))
    if isinstance(outputs, Traced):
        return plain(outputs)
    return outputs


__all__ = ["Recording", "UntracedArrayError"]
