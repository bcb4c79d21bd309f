"""Spellings people bring from PyTorch, and this project's own: one clear error that names both.

The project follows NumPy for axis arguments (``axis=``, ``keepdims=``, ``ddof=``), so a PyTorch
keyword such as ``dim=`` would otherwise end in Python's bare "unexpected keyword argument". One
decorator, :func:`numpy_spelling`, turns that into a line that says what to write instead; the
functions and methods that take these arguments wear it. :data:`TENSOR_ATTRIBUTE_HINTS` does the
same for PyTorch method names a Tensor does not have (``x.view``, ``x.t()``).

Only the error path costs anything: the decorated function is called as it is, and the keywords
are looked at only when the call has already failed with a ``TypeError``.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict, Mapping, TypeVar

F = TypeVar("F", bound=Callable)

#: PyTorch keywords and the NumPy keyword this project uses for the same argument.
TORCH_KEYWORDS: Dict[str, str] = {
    "dim": "axis",
    "keepdim": "keepdims",
    "start_dim": "start_axis",
    "end_dim": "end_axis",
    "dim0": "axis1",
    "dim1": "axis2",
}

#: Keywords whose value changes too, with the advice to give.
_REWRITTEN_VALUES: Dict[str, str] = {
    "unbiased": "ddof=1 for unbiased=True (PyTorch's default), ddof=0 for unbiased=False (NumPy's default)",
    "correction": "ddof=<the same number> (PyTorch's correction is NumPy's ddof)",
}

#: PyTorch Tensor attributes this project spells differently: the advice shown when one is used.
TENSOR_ATTRIBUTE_HINTS: Dict[str, str] = {
    "view": "this project spells it x.reshape(...) (NumPy's name)",
    "t": "this project spells it x.T (or x.mT for the last two axes of a batch)",
    "numel": "this project spells it x.size (NumPy's element count; x.size() gives the shape)",
    "dim": "this project spells it x.ndim (NumPy's name)",
    "clamp": "this project spells it x.clip(min, max) (NumPy's name); the bounds may be tensors",
    "clamp_min": "this project spells it x.clip(min=...)",
    "clamp_max": "this project spells it x.clip(max=...)",
    "masked_fill": "this project spells it tinygrad_mnist.where(mask, value, x)",
    "zero_": "to clear a gradient write p.grad = None (or optimizer.zero_grad()); for values, x *= 0",
    "contiguous": "not needed: a tensor's data is always a NumPy array, so drop the call",
    "to": "for a dtype write x.astype(np.float64) (or x.float() / x.double()); there are no devices",
    "cpu": "not needed: every tensor lives in NumPy on the CPU, so drop the call",
    "cuda": "this project runs on NumPy on the CPU only",
}


def spelling_advice(function_name: str, keywords: Mapping, renamed: Mapping[str, str]) -> str:
    """The one-line advice for the misspelled ``keywords`` of a call, or ``""`` if none is misspelled.

    >>> print(spelling_advice("sum", {"dim": 1}, TORCH_KEYWORDS))
    sum(dim=1): this project uses NumPy's keyword axis=, not dim=; write sum(axis=1)
    >>> spelling_advice("sum", {"axis": 1}, TORCH_KEYWORDS)
    ''
    """
    for wrong, value in keywords.items():
        if wrong in renamed:
            right = renamed[wrong]
            return (
                f"{function_name}({wrong}={value!r}): this project uses NumPy's keyword {right}=, not {wrong}=; "
                f"write {function_name}({right}={value!r})"
            )
        if wrong in _REWRITTEN_VALUES:
            return f"{function_name}({wrong}={value!r}): this project uses NumPy's ddof=; write {_REWRITTEN_VALUES[wrong]}"
    return ""


def numpy_spelling(function: F = None, *, shown_as: str = "", **renamed: str) -> F:
    """Decorate a function so that a PyTorch keyword (``dim=``, ``keepdim=``, ...) gets a clear
    ``TypeError`` naming this project's keyword; ``renamed`` adds keywords for one function
    (``steps="num"`` for ``linspace``). Messages call the function by its name, a class by its own
    for ``__init__``, or ``shown_as``.

    >>> @numpy_spelling
    ... def total(values, axis=None):
    ...     return sum(values)
    >>> total([1, 2], dim=0)
    Traceback (most recent call last):
    ...
    TypeError: total(dim=0): this project uses NumPy's keyword axis=, not dim=; write total(axis=0)
    """
    table = {**TORCH_KEYWORDS, **renamed}

    def decorate(wrapped: F) -> F:
        name = shown_as or wrapped.__name__
        if name == "__init__":
            name = wrapped.__qualname__.rsplit(".", 2)[-2]

        @functools.wraps(wrapped)
        def checked(*args, **kwargs):
            try:
                return wrapped(*args, **kwargs)
            except TypeError:
                advice = spelling_advice(name, kwargs, table) if kwargs else ""
                if advice:
                    raise TypeError(advice) from None
                raise

        checked.numpy_spelling = table  # what tests look for: this callable explains PyTorch keywords
        return checked  # type: ignore[return-value]

    return decorate(function) if function is not None else decorate  # type: ignore[return-value]
