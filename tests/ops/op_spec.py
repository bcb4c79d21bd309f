"""``Case`` and ``OpSpec``: what one entry of the op table (``op_table.py``) declares."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np
from hypothesis import strategies as st


class Case(NamedTuple):
    """One drawn input for an op: the arrays that become Tensors, and the op's other arguments."""

    arrays: Tuple[np.ndarray, ...]
    params: Dict[str, Any]


@dataclass(frozen=True)
class OpSpec:
    """How to call, check and feed one differentiable op.

    ``apply(*tensors, **params)`` runs the op; ``reference(*arrays, **params)`` is the NumPy
    truth; ``cases(dtype)`` is a strategy of ``Case`` with float arrays of that dtype;
    ``out_dtype`` is set only when the op changes the dtype (``astype``).
    """

    name: str
    apply: Callable[..., Any]
    reference: Callable[..., Any]
    cases: Callable[[np.dtype], st.SearchStrategy]
    out_dtype: Optional[np.dtype] = None
    gradcheck_options: Dict[str, Any] = field(default_factory=dict)
    # Inputs AT the op's special points (a zero base of pow, softplus at 0, huge logits, zero-size
    # axes, integer operands), which ``cases`` keeps away from or rarely draws; checked to second order.
    special: Optional[Callable[[np.dtype], st.SearchStrategy]] = None
    # gradcheck options for the special cases only (float64), when a special point needs them.
    special_options: Dict[str, Any] = field(default_factory=dict)
