"""Run the same calls eagerly and through ``jit`` and require the same bits everywhere.

``run_both(make, calls)`` builds two independent setups with ``make()`` (each returns the step
function and the tensors whose values and gradients to compare, optionally an optimizer whose state
to compare), feeds both the same argument lists, and after every call compares, bit for bit: the
outputs, each tensor's ``data`` and ``grad``, and the optimizer's state. Bits, not closeness: the jit
must reproduce the eager step exactly, in float32 and float64 alike, including the sign of zeros and
the payload of NaNs.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from tinygrad_mnist import JitWarning, Tensor, jit


def same_bits(a, b) -> bool:
    """Whether two arrays (or numbers) are the same dtype, shape and bytes."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _flat(outputs) -> List[Any]:
    if isinstance(outputs, (tuple, list)):
        return [x for item in outputs for x in _flat(item)]
    if isinstance(outputs, Tensor):
        return [outputs.data]
    return [outputs]


def _state(optimizer) -> List[Tuple[str, Any]]:
    if optimizer is None:
        return []
    return [(f"{index}.{name}", value) for index, entries in sorted(optimizer.state.items())
            for name, value in sorted(entries.items())]


def compare(eager, jitted, label: str) -> None:
    """Assert that two (outputs, tensors, optimizer) triples hold the same bits."""
    (out_a, tensors_a, opt_a), (out_b, tensors_b, opt_b) = eager, jitted
    flat_a, flat_b = _flat(out_a), _flat(out_b)
    assert len(flat_a) == len(flat_b), f"{label}: {len(flat_a)} outputs eagerly, {len(flat_b)} jitted"
    for i, (a, b) in enumerate(zip(flat_a, flat_b)):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert same_bits(a, b), f"{label}: output {i} differs\n{a}\n{b}"
        else:
            assert a == b, f"{label}: output {i} is {a!r} eagerly, {b!r} jitted"
    for i, (ta, tb) in enumerate(zip(tensors_a, tensors_b)):
        assert same_bits(ta.data, tb.data), f"{label}: tensor {i} differs"
        assert (ta.grad is None) == (tb.grad is None), f"{label}: tensor {i} has a gradient in one run only"
        if ta.grad is not None:
            assert same_bits(ta.grad.data, tb.grad.data), f"{label}: the gradient of tensor {i} differs"
    state_a, state_b = _state(opt_a), _state(opt_b)
    assert [k for k, _ in state_a] == [k for k, _ in state_b], f"{label}: optimizer state keys differ"
    for (key, a), (_, b) in zip(state_a, state_b):
        assert same_bits(a, b), f"{label}: optimizer state {key} differs"


def run_both(make: Callable[[], tuple], calls: Sequence[Callable[[], tuple]], before=None,
             expect_replays: Optional[int] = None, allow_warnings: bool = False):
    """Run ``calls`` (each gives the arguments of one call) eagerly and jitted, comparing after each.

    ``make()`` returns (step, tensors to compare, optimizer or None, anything else the scenario
    needs); ``before(i, setup)``, if given, runs before call ``i`` (from 0) on each setup alone.
    Returns the jitted function (its ``stats`` say how each call ran) and the JitWarning messages.
    ``expect_replays``: at least that many calls must have been replayed; unless
    ``allow_warnings``, no JitWarning may be raised (nothing may have fallen back to eager for good).
    """
    setups = [make(), make()]
    steps = [setups[0][0], jit(setups[1][0])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JitWarning)
        for number, arguments in enumerate(calls):
            outputs = []
            for setup, step in zip(setups, steps):
                if before is not None:
                    before(number, setup)
                outputs.append(step(*arguments()))
            compare((outputs[0], *setups[0][1:3]), (outputs[1], *setups[1][1:3]), f"call {number + 1}")
    messages = [str(w.message) for w in caught if issubclass(w.category, JitWarning)]
    if not allow_warnings:
        assert not messages, messages
    if expect_replays is not None:
        assert steps[1].stats["replayed"] >= expect_replays, steps[1].stats
    return steps[1], messages
