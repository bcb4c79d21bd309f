"""Making tensors: from data (``tensor``, ``from_numpy``), filled (``zeros``, ``ones``, ``full`` and
their ``*_like`` forms), ranges (``arange``, ``linspace``, ``eye``) and random samples (``rand``,
``randn``).

A Python float gives the default float type, float32; an explicit ``dtype=`` wins. Random
constructors take a ``seed=`` like every part of the package (see ``tinygrad_mnist.rng``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .checks import NON_NEGATIVE, check_int
from .ops.axes import shape_from_args
from .ops.spelling import numpy_spelling
from .rng import Seed, as_generator
from .tensor import DEFAULT_FLOAT, Tensor


def tensor(data, requires_grad: bool = False, dtype=None, name: Optional[str] = None) -> Tensor:
    """Create a tensor from a number, a (nested) list or an array; the data is copied.

    >>> tensor([1, 2]).dtype, tensor([1.0, 2.0]).dtype
    (dtype('int64'), dtype('float32'))
    """
    source = data.data if isinstance(data, Tensor) else data
    # Arrays are copied here; lists and numbers get a fresh array in the Tensor constructor anyway.
    array = np.array(source) if isinstance(source, np.ndarray) else source
    return Tensor(array, requires_grad=requires_grad, dtype=dtype, name=name)


def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Wrap an ndarray without copying; the tensor keeps the array's dtype.

    >>> from_numpy(np.zeros(2)).dtype
    dtype('float64')
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros. ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same.

    >>> zeros(2, 3).shape
    (2, 3)
    """
    return Tensor(np.zeros(shape_from_args(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """A tensor of ones.

    >>> ones(2).numpy()
    array([1., 1.], dtype=float32)
    """
    return Tensor(np.ones(shape_from_args(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """A tensor filled with one value.

    >>> full((2,), 7.0).numpy()
    array([7., 7.], dtype=float32)
    """
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def _like(template) -> np.ndarray:
    """The array whose shape and dtype a ``*_like`` constructor copies (lists become float32 as usual)."""
    return template.data if isinstance(template, Tensor) else Tensor(template).data


def zeros_like(template, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape and dtype of ``template`` (a Tensor, an array or a list).

    >>> zeros_like(Tensor([[1.0, 2.0]]))
    Tensor([[0., 0.]], dtype=float32)
    """
    like = _like(template)
    return Tensor(np.zeros(like.shape, dtype=dtype or like.dtype), requires_grad=requires_grad)


def ones_like(template, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape and dtype of ``template``.

    >>> ones_like(Tensor(np.zeros(2))).numpy()
    array([1., 1.])
    """
    like = _like(template)
    return Tensor(np.ones(like.shape, dtype=dtype or like.dtype), requires_grad=requires_grad)


def full_like(template, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape and dtype of ``template`` (as ``np.full_like``).

    >>> full_like(Tensor([1.0, 2.0, 3.0]), 0.5).numpy()
    array([0.5, 0.5, 0.5], dtype=float32)
    """
    like = _like(template)
    return Tensor(np.full(like.shape, fill_value, dtype=dtype or like.dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Evenly spaced values like ``np.arange`` (int64 for integer arguments, else float32).

    >>> arange(3).numpy()
    array([0, 1, 2])
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(0, start, step)
    if dtype is None and values.dtype == np.float64:
        dtype = DEFAULT_FLOAT
    return Tensor(values, dtype=dtype)


@numpy_spelling(steps="num", end="stop")
def linspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, requires_grad: bool = False) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless ``endpoint=False``),
    like ``np.linspace``; float32 unless ``dtype`` says otherwise.

    ``start`` and ``stop`` may be Tensors of any (broadcastable) shape, and then the result is
    differentiable with respect to them: it is ``start + (stop - start) * t`` for the fractions ``t``,
    with a new first axis of length ``num`` as in NumPy.

    >>> linspace(0, 1, num=5).numpy()
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    >>> start = Tensor(0.0, requires_grad=True)
    >>> linspace(start, 1.0, num=3).sum().backward()
    >>> start.grad.item()  # d/dstart of (start) + (start + 1)/2 + 1
    1.5
    """
    num = check_int(num, "num", NON_NEGATIVE, owner="linspace")
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        values = np.linspace(start, stop, num, endpoint=endpoint)
        dtype = dtype or (DEFAULT_FLOAT if values.dtype == np.float64 else values.dtype)
        return Tensor(values, dtype=dtype, requires_grad=requires_grad)
    if requires_grad:
        raise ValueError(
            "linspace: requires_grad=True is for numeric start and stop; with Tensor bounds the result is "
            "computed from them and requires grad when they do"
        )
    like = start if isinstance(start, Tensor) else stop
    dtype = np.dtype(dtype or like.dtype)
    # One fraction per value along a new first axis, broadcast against the bounds' own axes.
    shape = (num,) + (1,) * max(np.ndim(start), np.ndim(stop))
    fractions = np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(dtype).reshape(shape)
    values = start + (stop - start) * fractions
    return values if values.dtype == dtype else values.astype(dtype)


def eye(n: int, m: Optional[int] = None, dtype=DEFAULT_FLOAT) -> Tensor:
    """The identity matrix.

    >>> eye(2).numpy()
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    return Tensor(np.eye(n, m, dtype=dtype))


def rand(*shape, seed: Seed = None, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from an explicit seed or ``numpy.random.Generator``.

    >>> rand(2, seed=0).shape
    (2,)
    """
    values = as_generator(seed).random(shape_from_args(shape), dtype=np.float64).astype(dtype)
    return Tensor(values, requires_grad=requires_grad)


def randn(*shape, seed: Seed = None, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from an explicit seed or ``numpy.random.Generator``.

    >>> randn(2, 3, seed=np.random.default_rng(0)).shape
    (2, 3)
    """
    values = as_generator(seed).standard_normal(shape_from_args(shape)).astype(dtype)
    return Tensor(values, requires_grad=requires_grad)
