"""Making tensors: from data (``tensor``, ``from_numpy``), filled (``zeros``, ``ones``, ``full``),
ranges (``arange``, ``eye``) and random samples (``rand``, ``randn``).

A Python float gives the default float type, float32; an explicit ``dtype=`` wins. Random
constructors take a ``seed=`` like every part of the package (see ``tinygrad_mnist.rng``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .ops.axes import shape_from_args
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


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Evenly spaced values like ``np.arange`` (int64 for integer arguments, else float32).

    >>> arange(3).numpy()
    array([0, 1, 2])
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(0, start, step)
    if dtype is None and values.dtype == np.float64:
        dtype = DEFAULT_FLOAT
    return Tensor(values, dtype=dtype)


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
