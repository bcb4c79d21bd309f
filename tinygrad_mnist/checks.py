"""The argument checks every part of the package shares: numbers within bounds, names among
choices, flags. The training settings, the command line, the TOML files and the library's own
constructors (layers, losses, optimizers, schedules) all call these, so one rule gives one message
wherever it is broken.

A check returns the value in its canonical form (an int, a float, a lower-case name) or raises
:class:`~tinygrad_mnist.errors.ConfigError` with one line naming the argument, the rule and the
value it got. ``owner`` (a class name, say) prefixes the message.

Example:
    >>> check_float(0.5, "momentum", Bounds(0, 1, high_open=True))
    0.5
    >>> positive_int(0, "step_size", owner="StepLR")
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: StepLR: step_size must be >= 1, got 0
"""
from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

from .errors import ConfigError

__all__ = [
    "Bounds",
    "POSITIVE",
    "NON_NEGATIVE",
    "AT_LEAST_ONE",
    "UNIT_INTERVAL",
    "MAX_NESTING",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "did_you_mean",
    "nesting_depth",
    "positive_int",
    "shown",
]


@dataclass(frozen=True)
class Bounds:
    """The interval a number must lie in; ``None`` leaves a side open-ended.

    Example:
        >>> Bounds(0, 1, high_open=True).describe(), Bounds(0, 1, high_open=True).contains(1.0)
        ('>= 0 and < 1', False)
    """

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies within the bounds."""
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or (x < self.high if self.high_open else x <= self.high)

    def describe(self) -> str:
        """The bounds in words, e.g. ``"> 0"`` or ``">= 1 and <= 60000"`` (``""`` when unbounded)."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return " and ".join(parts)


POSITIVE = Bounds(0, low_open=True)
NON_NEGATIVE = Bounds(0)
AT_LEAST_ONE = Bounds(1)
UNIT_INTERVAL = Bounds(0, 1)


def shown(value: Any) -> str:
    """A value as a message quotes it: its ``repr``, cut short when long.

    Example:
        >>> shown("relu"), shown(0.5), len(shown(list(range(100))))
        ("'relu'", '0.5', 60)
    """
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_float(value: Any, name: str, bounds: Bounds = Bounds(), owner: str = "") -> float:
    """``value`` as a finite float within ``bounds``.

    Example:
        >>> check_float(1, "lr", POSITIVE)
        1.0
        >>> check_float(float("nan"), "lr", POSITIVE)
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: lr must be a finite number, got nan
    """
    if not _is_real(value):
        raise ConfigError(f"{_prefix(owner)}{name} must be a number, got {shown(value)}")
    number = float(value)  # a Python float keeps float32 arrays float32 in NumPy arithmetic
    if not math.isfinite(number):
        raise ConfigError(f"{_prefix(owner)}{name} must be a finite number, got {shown(value)}")
    if not bounds.contains(number):
        raise ConfigError(f"{_prefix(owner)}{name} must be {bounds.describe()}, got {number:g}")
    return number


def check_int(value: Any, name: str, bounds: Bounds = Bounds(), owner: str = "") -> int:
    """``value`` as an int within ``bounds``; a whole float such as ``50.0`` counts as ``50``.

    Example:
        >>> check_int(50.0, "batch_size", AT_LEAST_ONE)
        50
        >>> check_int(2.5, "batch_size", AT_LEAST_ONE)
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: batch_size must be an integer, got 2.5
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
    elif _is_real(value) and math.isfinite(float(value)) and float(value).is_integer():
        number = int(value)
    else:
        raise ConfigError(f"{_prefix(owner)}{name} must be an integer, got {shown(value)}")
    if not bounds.contains(number):
        raise ConfigError(f"{_prefix(owner)}{name} must be {bounds.describe()}, got {number}")
    return number


def positive_int(value: Any, name: str, owner: str = "") -> int:
    """``value`` as an int >= 1 (sizes, counts, steps).

    Example:
        >>> positive_int(3, "in_features", owner="Linear")
        3
    """
    return check_int(value, name, AT_LEAST_ONE, owner)


def did_you_mean(word: Any, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` naming the closest of ``names``, or ``""`` when none is close.

    Example:
        >>> did_you_mean("gleu", ["relu", "gelu", "sigmoid"])
        "; did you mean 'gelu'?"
        >>> did_you_mean("zzz", ["relu"])
        ''
    """
    close = difflib.get_close_matches(str(word), list(names), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_choice(value: Any, name: str, choices: Iterable[str], owner: str = "") -> str:
    """``value`` as one of ``choices``; names are compared lower-case, without surrounding spaces.

    Example:
        >>> check_choice(" GeLU", "activation", ["relu", "gelu"])
        'gelu'
        >>> check_choice("rleu", "activation", ["relu", "gelu"])
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: unknown activation 'rleu'; did you mean 'relu'? (choose from: relu, gelu)
    """
    choices = list(choices)
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    raise ConfigError(f"{_prefix(owner)}unknown {name} {shown(value)}{hint} (choose from: {', '.join(choices)})")


def check_bool(value: Any, name: str, owner: str = "") -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy booleans included); nothing else counts.

    Example:
        >>> check_bool(True, "nesterov")
        True
        >>> check_bool(1, "nesterov")
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: nesterov must be true or false, got 1
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ConfigError(f"{_prefix(owner)}{name} must be true or false, got {shown(value)}")


#: How deeply lists and dicts may nest in a file the package reads (a TOML config, a checkpoint's
#: metadata, a summary.json). Real files nest 3 or 4 levels; a crafted one nested thousands deep
#: would otherwise end in a RecursionError in whatever walks it next (repr, a JSON encoder, ...).
MAX_NESTING = 32


def nesting_depth(value: Any, limit: int = MAX_NESTING) -> int:
    """How deeply lists, tuples and dicts nest in ``value`` (a scalar is 0), counted without
    recursion; the count stops at ``limit + 1``, so a huge document costs no more than needed.

    Example:
        >>> nesting_depth({"a": [1, [2]]}), nesting_depth(3)
        (3, 0)
        >>> deep = []
        >>> for _ in range(100_000):
        ...     deep = [deep]
        >>> nesting_depth(deep) == MAX_NESTING + 1
        True
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return limit + 1
        stack.extend((child, depth + 1) for child in children)
    return deepest
