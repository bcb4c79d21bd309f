"""``Traced``: an ndarray that reports every NumPy operation on it to the recording in progress.

While a step is recorded, the arrays of its inputs and of the state it reads (parameters, buffers,
random draws) are ``Traced`` views of their memory. NumPy asks such an array before it runs any
ufunc (``__array_ufunc__``: arithmetic, comparisons, ``np.exp``, ``np.add.reduce``, ``@``, ...) or
array function (``__array_function__``: ``np.where``, ``np.concatenate``, ...) that involves it,
and this class hands the call to the recording, which runs it on plain arrays, writes it down and
wraps the results as ``Traced`` again. The few ndarray methods that NumPy runs in C without asking
(``reshape``, indexing, ``astype``, ``copy``, ``fill``, ...) are overridden to do the same.

Turning a traced value into a Python value cannot be written down: ``bool(x)`` (an ``if`` on a
tensor value) becomes a *guard* that a replay checks, ``int(x)`` one that compares the number, and
``float(x)``, ``x.item()``, ``x.tolist()`` and printing end the recording's chance of being
replayed (the value leaves for Python code the recording cannot follow).

Outside a recording (during an optimizer update that is replayed as one call, or if a traced array
outlives its recording) every operation simply runs on the plain array.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import _state


def plain(array):
    """The plain ndarray view behind a ``Traced`` array (any other object is returned unchanged).

    >>> t = np.arange(3.0).view(Traced)
    >>> type(plain(t)).__name__, plain(5)
    ('ndarray', 5)
    """
    if isinstance(array, Traced):
        return _view(array, np.ndarray)
    return array


def _plain_tree(value):
    """``value`` with every Traced array inside tuples, lists and dicts replaced by its plain view."""
    if isinstance(value, Traced):
        return _view(value, np.ndarray)
    if isinstance(value, tuple):
        return tuple(_plain_tree(item) for item in value)
    if isinstance(value, list):
        return [_plain_tree(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain_tree(item) for key, item in value.items()}
    return value


# ndarray's own view method: Traced overrides ``view`` to write it down.
_view = np.ndarray.view


def _recording():
    return _state["recorder"]


def _untraced_call(call, args, kwargs, outs=None):
    """Run ``call`` on plain arrays; results that NumPy returns as one of ``outs`` come back as it."""
    result = call(*_plain_tree(args), **_plain_tree(kwargs))
    if outs:
        if isinstance(result, tuple):
            return tuple(out if out is not None else r for out, r in zip(outs, result))
        return outs[0]
    return result


def _forwarding(name: str):
    """An ndarray method that NumPy runs without asking the protocols: hand it to the recording."""

    def method(self, *args, **kwargs):
        recording = _recording()
        if recording is None:
            return getattr(np.ndarray, name)(plain(self), *_plain_tree(args), **_plain_tree(kwargs))
        return recording.method(name, self, args, kwargs)

    method.__name__ = name
    method.__doc__ = f"``ndarray.{name}``, written down by the recording in progress."
    return method


def _escaping(name: str, convert):
    """A conversion to a Python value: a guard (bool, int) or the end of replaying (float, item...)."""

    def method(self, *args):
        recording = _recording()
        value = convert(plain(self), *args)
        if recording is not None:
            recording.escape(name, self, value)
        return value

    method.__name__ = name
    return method


class Traced(np.ndarray):
    """An ndarray whose NumPy operations are written down by the recording in progress.

    The recording sets ``value`` (which of its values this array holds); ``Traced`` arrays are made
    by the recording only.

    >>> t = np.arange(3.0).view(Traced)   # no recording in progress: behaves like its plain view
    >>> type(t + 1).__name__, float(t.sum())
    ('ndarray', 3.0)
    """

    value: int = -1

    def __array_finalize__(self, obj) -> None:
        self.value = -1  # a new view is not a value until the recording says which one

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        recording = _recording()
        call = ufunc if method == "__call__" else getattr(ufunc, method)
        if recording is None:
            return _untraced_call(call, inputs, kwargs, kwargs.get("out"))
        return recording.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        recording = _recording()
        if recording is None:
            return _untraced_call(func, args, kwargs)
        return recording.function(func, args, kwargs)

    # Views, copies and in-place writes NumPy runs in C, without asking the protocols above.
    reshape = _forwarding("reshape")
    transpose = _forwarding("transpose")
    swapaxes = _forwarding("swapaxes")
    squeeze = _forwarding("squeeze")
    ravel = _forwarding("ravel")
    flatten = _forwarding("flatten")
    diagonal = _forwarding("diagonal")
    astype = _forwarding("astype")
    copy = _forwarding("copy")
    view = _forwarding("view")
    fill = _forwarding("fill")
    dot = _forwarding("dot")
    take = _forwarding("take")
    repeat = _forwarding("repeat")
    argmax = _forwarding("argmax")
    argmin = _forwarding("argmin")
    argsort = _forwarding("argsort")
    nonzero = _forwarding("nonzero")
    sort = _forwarding("sort")
    __getitem__ = _forwarding("__getitem__")
    __setitem__ = _forwarding("__setitem__")
    __copy__ = _forwarding("__copy__")

    @property
    def T(self):
        """``ndarray.T``, written down as a transpose."""
        return self.transpose()

    @property
    def mT(self):
        """``ndarray.mT``, written down as a swap of the last two axes."""
        return self.swapaxes(-1, -2)

    @property
    def base(self):
        """The traced array this one views, or None when it owns its values (as a fresh result of
        an operation does; its plain memory belongs to the recording, not to another array)."""
        recording = _recording()
        if recording is None:
            return np.ndarray.base.__get__(self)
        return recording.traced_base(self)

    # Python values: guards, or the end of replaying.
    __bool__ = _escaping("__bool__", lambda a: bool(a))
    __int__ = _escaping("__int__", lambda a: int(a))
    __index__ = _escaping("__index__", lambda a: a.__index__())
    __float__ = _escaping("__float__", lambda a: float(a))
    __complex__ = _escaping("__complex__", lambda a: complex(a))
    item = _escaping("item", lambda a, *args: a.item(*args))
    tolist = _escaping("tolist", lambda a: a.tolist())
    __repr__ = _escaping("__repr__", lambda a: repr(a))
    __str__ = _escaping("__str__", lambda a: str(a))
    __format__ = _escaping("__format__", lambda a, spec: format(a, spec))
    tobytes = _escaping("tobytes", lambda a, *args: a.tobytes(*args))
