"""Checking an optimizer's numeric hyperparameters: each one a finite number inside an interval.

>>> group = {"lr": 0.1}
>>> check_interval("Adam", group, "lr", 0.0, math.inf, low_open=True)
0.1
"""
from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from ..errors import ConfigError


def check_interval(owner: str, group: Dict[str, Any], key: str, low: float, high: float,
                   low_open: bool = False, high_open: bool = False) -> float:
    """Store ``group[key]`` back as a Python float (which keeps float32 arrays float32 in NumPy
    arithmetic) and return it, or raise one ConfigError naming ``owner``, the key and the interval.

    >>> check_interval("RMSprop", {"alpha": 1.5}, "alpha", 0.0, 1.0)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: RMSprop: alpha must be a number in [0, 1], got 1.5
    """
    value = group[key]
    inside = (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and (low < value if low_open else low <= value)
        and (value < high if high_open else value <= high)
        and math.isfinite(value)
    )
    if not inside:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open or high == math.inf else ']'}"
        raise ConfigError(f"{owner}: {key} must be a number in {interval}, got {value!r}")
    group[key] = float(value)
    return group[key]
