"""``jit``: run a step function eagerly while recording it, then replay the recording.

For each *signature* of its arguments (the shapes, dtypes and memory layouts of the array and
tensor arguments, the values of the others, and grad mode) a jitted function goes through:

1. **recording**: the call runs eagerly, exactly as without the jit, while a ``Recording`` writes
   down its NumPy calls; the caller gets the eager results;
2. **settling**: the next call with that signature is recorded too, and two recordings must be
   the same program: the same calls in the same order on the same kinds of values, with the same
   constants. A recording that matches none of the earlier ones (the first call of a step that
   differs, an ``if`` that went the other way) is kept and another call recorded; a program that
   keeps changing (``MAX_RECORDINGS``), or a recording that saw something it cannot replay, makes
   the signature run eagerly from then on, with a one-time ``JitWarning`` that says why;
3. **replay**: later calls run the ``Program`` compiled from the last recording: no graph, no op
   dispatch, buffers allocated once. A guard that disagrees (say, a non-finite loss the step handles
   with an ``if``) makes that one call run eagerly; a parameter given a new array, a module switched
   between ``train()`` and ``eval()`` or a module given new layers makes the signature record again.

Under ``detect_anomaly()`` every call runs eagerly (anomaly mode checks each op as it runs).
At most ``max_programs`` signatures are kept, the least recently used dropped first.
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple

import numpy as np

from ..autograd.grad_mode import _state
from ..autograd.node import Node
from .compare import difference
from .program import GUARD_FAILED, STALE, NotReplayable, Program
from .recording import Recording, UntracedArrayError, _detached

#: How many recordings of one signature may disagree before it is run eagerly for good.
MAX_RECORDINGS = 4


class JitWarning(UserWarning):
    """A jitted function runs (some of its calls) eagerly, and why; shown once per function and reason.

    >>> import warnings
    >>> from tinygrad_mnist import Tensor
    >>> @jit
    ... def reads(x):
    ...     return (x * 2).sum().item()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = [reads(Tensor(np.ones(2))) for _ in range(2)]
    >>> caught[0].category.__name__, "runs eagerly: .item()" in str(caught[0].message)
    ('JitWarning', True)
    """


@dataclass
class _Entry:
    """What a jitted function knows about one signature."""

    candidates: List[Recording] = field(default_factory=list)  # recordings waiting for one to agree
    recordings: int = 0
    program: Optional[Program] = None
    eager_reason: Optional[str] = None      # set: this signature runs eagerly


def _signature(args: Tuple, kwargs: Dict[str, Any]) -> Optional[Hashable]:
    """What a replay depends on besides the values of the arrays, or None when an argument is not
    something the jit can key on (then the call runs eagerly)."""

    def key(item) -> Optional[Hashable]:
        if isinstance(item, Node):
            data = item.data
            return ("tensor", type(item), data.shape, data.dtype, data.strides, item.requires_grad)
        if isinstance(item, np.ndarray):
            return ("array", item.shape, item.dtype, item.strides)
        if isinstance(item, (tuple, list)):
            parts = tuple(key(x) for x in item)
            return None if None in parts else (type(item), parts)
        if item is None or isinstance(item, (bool, int, float, str, np.generic)):
            return ("value", type(item), item)
        return ("object", id(item))  # a model or an optimizer passed in: the same object, the same program

    parts = tuple(key(a) for a in args) + tuple((name, key(v)) for name, v in sorted(kwargs.items()))
    if any(p is None or (isinstance(p, tuple) and p[-1] is None) for p in parts):
        return None
    return parts + (_state["enabled"],)


class JitFunction:
    """A function of tensors that replays recordings of itself (see the module docstring and ``jit``).

    ``stats`` counts how the calls ran; ``programs()`` gives the compiled programs.

    >>> from tinygrad_mnist import Tensor
    >>> square = JitFunction(lambda x: x * x)
    >>> [square(Tensor(np.full(2, float(i)))).tolist() for i in range(3)][-1], square.stats["replayed"]
    ([4.0, 4.0], 1)
    """

    def __init__(self, function: Callable, max_programs: int = 8) -> None:
        self.function = function
        self.max_programs = max_programs
        self.entries: "OrderedDict[Hashable, _Entry]" = OrderedDict()
        self.warned: set = set()
        self.stats = {"eager": 0, "recorded": 0, "replayed": 0, "guard_failed": 0}
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        if _state["recorder"] is not None:
            return self.function(*args, **kwargs)  # called while an outer jit records: part of its program
        if _state["anomaly"]:
            self._warn("detect_anomaly() checks every op as it runs, so calls run eagerly while it is on")
            return self._eager(args, kwargs)
        signature = _signature(args, kwargs)
        if signature is None:
            self._warn("an argument is neither a tensor, an array, a number, a string nor an object to key on")
            return self._eager(args, kwargs)
        entry = self.entries.get(signature)
        if entry is None:
            entry = self.entries[signature] = _Entry()
            while len(self.entries) > self.max_programs:
                self.entries.popitem(last=False)
        self.entries.move_to_end(signature)
        if entry.eager_reason is not None:
            return self._eager(args, kwargs)
        if entry.program is not None:
            outputs = entry.program.run(*[_array(a) for a in _flat_arguments(args, kwargs)])
            if outputs is GUARD_FAILED:
                self.stats["guard_failed"] += 1
                return self._eager(args, kwargs)
            if outputs is not STALE:
                self.stats["replayed"] += 1
                return outputs
            entry.program, entry.candidates, entry.recordings = None, [], 0
        return self._record(entry, args, kwargs)

    def _eager(self, args, kwargs):
        self.stats["eager"] += 1
        return _detached(self.function(*args, **kwargs))

    def _record(self, entry: _Entry, args, kwargs):
        recording = Recording()
        traced_args, traced_kwargs = _traced_arguments(recording, args, kwargs)
        for tensor in tensors_in_reach(self.function):
            recording.adopt_state(tensor)
        _state["recorder"] = recording
        try:
            outputs = self.function(*traced_args, **traced_kwargs)
        except UntracedArrayError as error:
            _state["recorder"] = None
            recording.release()
            raise RuntimeError(f"jit({self.__name__}): {error}") from None
        except BaseException:
            _state["recorder"] = None
            recording.release()
            raise
        _state["recorder"] = None
        outputs = recording.finish(outputs)
        self.stats["recorded"] += 1
        entry.recordings += 1
        differences = [difference(candidate, recording) for candidate in entry.candidates]
        if recording.unreplayable is not None:
            entry.eager_reason = recording.unreplayable
            self._warn(recording.unreplayable)
        elif None in differences:
            try:
                entry.program, entry.candidates = Program(recording), []
            except NotReplayable as error:
                entry.eager_reason = str(error)
                self._warn(entry.eager_reason)
        elif entry.recordings >= MAX_RECORDINGS:
            entry.eager_reason = f"the recorded program changed from call to call ({differences[-1]})"
            entry.candidates = []
            self._warn(entry.eager_reason)
        else:
            entry.candidates.append(recording)
        return outputs

    def _warn(self, reason: str) -> None:
        if reason not in self.warned:
            self.warned.add(reason)
            warnings.warn(f"jit({self.__name__}) runs eagerly: {reason}", JitWarning, stacklevel=3)

    def programs(self) -> List[Program]:
        """The compiled programs, one per signature that settled (most recently used last)."""
        return [entry.program for entry in self.entries.values() if entry.program is not None]


def tensors_in_reach(function: Callable) -> List[Node]:
    """The tensors a step reaches without being handed them: those its code names as closure
    variables or globals, or holds as attributes of its bound object, and the parameters and buffers
    of the modules and optimizers among them (one level deep; lists, tuples and dicts looked into).

    A recording traces them from the start: code that reads ``p.data`` before any op touches ``p``
    (softmax's shift by the max) is then traced too. Modules and ops found later adopt theirs as
    they run.

    >>> from tinygrad_mnist import nn
    >>> model = nn.Linear(2, 1)
    >>> [t.shape for t in tensors_in_reach(lambda x: model(x))]
    [(2, 1), (1,)]
    """
    found: Dict[int, Node] = {}

    def visit(item, depth: int) -> None:
        if isinstance(item, Node):
            found.setdefault(id(item), item)
        elif hasattr(item, "parameters") and hasattr(item, "forward"):  # a Module
            for tensor in list(item.parameters()) + list(getattr(item, "buffers", lambda: [])()):
                found.setdefault(id(tensor), tensor)
        elif hasattr(item, "param_groups"):  # an optimizer
            for group in item.param_groups:
                for tensor in group["params"]:
                    found.setdefault(id(tensor), tensor)
        elif depth > 0 and isinstance(item, (list, tuple)):
            for x in item:
                visit(x, depth - 1)
        elif depth > 0 and isinstance(item, dict):
            for x in item.values():
                visit(x, depth - 1)

    owner = getattr(function, "__self__", None)
    if owner is not None:
        for value in vars(owner).values() if hasattr(owner, "__dict__") else ():
            visit(value, 1)
        function = function.__func__
    code = getattr(function, "__code__", None)
    for cell in getattr(function, "__closure__", None) or ():
        try:
            visit(cell.cell_contents, 1)
        except ValueError:  # an empty cell
            pass
    if code is not None:
        scope = getattr(function, "__globals__", {})
        for name in code.co_names:
            if name in scope:
                visit(scope[name], 1)
    return list(found.values())


def _flat_arguments(args, kwargs) -> List[Any]:
    flat = []

    def walk(item):
        if isinstance(item, (Node, np.ndarray)):
            flat.append(item)
        elif isinstance(item, (tuple, list)):
            for x in item:
                walk(x)

    for item in list(args) + [kwargs[name] for name in sorted(kwargs)]:
        walk(item)
    return flat


def _array(item) -> np.ndarray:
    return item.data if isinstance(item, Node) else item


def _traced_arguments(recording: Recording, args, kwargs):
    """The arguments with each tensor's array traced in place and each ndarray replaced by its traced form."""
    position = [0]

    def trace(item):
        if isinstance(item, Node):
            recording.add_input(item.data, position[0], tensor=item)
            position[0] += 1
            return item
        if isinstance(item, np.ndarray):
            traced = recording.add_input(item, position[0])
            position[0] += 1
            return traced
        if isinstance(item, (tuple, list)):
            return type(item)(trace(x) for x in item)
        return item

    traced_args = tuple(trace(a) for a in args)
    traced_kwargs = {name: trace(kwargs[name]) for name in sorted(kwargs)}
    return traced_args, traced_kwargs


def jit(function: Optional[Callable] = None, *, max_programs: int = 8):
    """Replay a function of tensors from recordings of its NumPy calls (TinyJit-style).

    The first calls with given argument shapes run eagerly and are recorded; once two recordings
    agree, later calls replay the program compiled from them: the same NumPy calls on the new
    arrays, bit for bit the eager results, without building a graph. Outputs are detached tensors
    in every call (a jitted function is a whole step: its backward pass runs inside); gradients left
    in ``.grad`` and in-place updates (an optimizer step) happen as eagerly. What
    cannot be replayed (``.item()`` inside, a program that changes from call to call) runs eagerly
    with a one-time ``JitWarning``. See the guide "How the JIT works".

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor, nn, optim
    >>> model = nn.Linear(3, 2, seed=0)
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> @jit
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = ((model(x) - y) ** 2).mean()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x, y = Tensor(np.ones((4, 3), np.float32)), Tensor(np.zeros((4, 2), np.float32))
    >>> losses = [step(x, y).item() for _ in range(4)]   # recorded, recorded, replayed, replayed
    >>> step.stats["replayed"], losses[3] < losses[0]
    (2, True)
    """
    if function is None:
        return lambda f: JitFunction(f, max_programs=max_programs)
    return JitFunction(function, max_programs=max_programs)
