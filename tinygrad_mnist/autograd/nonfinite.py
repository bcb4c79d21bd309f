"""Naming the non-finite values in an array, for the messages of anomaly mode and the trainer.

It imports only NumPy, so anomaly mode and the trainer share it without importing each other.
"""
from __future__ import annotations

import numpy as np


def describe_nonfinite(values) -> str:
    """``"NaN"``, ``"inf"`` or ``"-inf"``: the worst non-finite value in ``values`` (NaN first).

    Example:
        >>> describe_nonfinite(np.array([1.0, np.inf, np.nan])), describe_nonfinite(-np.inf)
        ('NaN', '-inf')
    """
    values = np.asarray(values)
    if np.isnan(values).any():
        return "NaN"
    return "inf" if (values == np.inf).any() else "-inf"
