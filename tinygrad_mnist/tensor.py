"""The ``Tensor``: an ndarray plus what reverse mode needs (``requires_grad``, ``grad``, its op).

``Tensor`` is the engine's ``Node`` (``autograd/node.py``) with an array API on top. This module sits
above ``autograd`` and ``ops`` and imports both; neither imports it (an op builds its result from the
class of its inputs). Operators and methods only delegate to the ops in ``tinygrad_mnist.ops``;
constructors are at the bottom of this file.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .autograd import engine
from .autograd.node import Node
from .display import tensor_html
from .ops import elementwise, linalg, movement, reduce
from .ops.axes import shape_from_args
from .rng import Seed, as_generator

DEFAULT_FLOAT = np.float32
_SUPPORTED_KINDS = "fiub"  # float, signed int, unsigned int, bool
_new = object.__new__


def _to_array(data, dtype) -> np.ndarray:
    """Python numbers and lists become float32 (or int64/bool); an ndarray keeps its dtype."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if dtype is None and array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(
            f"Tensor data must be numeric (float, int or bool), got dtype {array.dtype}; "
            "convert it first, e.g. np.asarray(data, dtype=np.float32)"
        )
    return array


class Tensor(Node):
    """An n-dimensional array that records the operations applied to it, for reverse-mode gradients.

    Python numbers and lists become float32 (the default float type); an ndarray keeps its dtype, so
    float64 arrays give float64 tensors and stay float64 through forward and backward.

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> loss = (x * x).sum()
    >>> loss.backward()
    >>> x.grad
    Tensor([[2., 4.],
            [6., 8.]], dtype=float32)
    """

    __slots__ = ("name", "__weakref__")  # data, requires_grad, grad and _ctx come from Node
    # Makes NumPy hand `ndarray <op> Tensor` to our reflected operators instead of looping over us.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: Optional[str] = None):
        self.data = _to_array(data, dtype)
        self.grad: Optional[Tensor] = None
        self._ctx = None
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, requires_grad: bool = False) -> "Tensor":
        """Fast internal constructor for op results and gradients: no conversion beyond making numpy
        scalars arrays. Always a plain Tensor (an op on a Parameter gives a Tensor)."""
        t = _new(Tensor)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        t.name = None
        return t

    @staticmethod
    def _constant_like(value, operands) -> "Tensor":
        """Wrap a Python number or array operand of an op as a constant tensor.

        A Python scalar takes the dtype of the tensor it meets (so ``x * 2`` keeps x float32);
        a float scalar meeting an integer tensor gives the default float type.
        """
        if isinstance(value, np.ndarray):
            return Tensor._wrap(value, False)
        if isinstance(value, (bool, int, float)):
            like = next((t.data.dtype for t in operands if isinstance(t, Tensor)), None)
            if like is not None and (like.kind == "f" or not isinstance(value, float)):
                return Tensor._wrap(np.asarray(value, dtype=like), False)
        return Tensor(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return the tensor; only float tensors can require grad.

        >>> Tensor([1.0]).requires_grad_().requires_grad
        True
        """
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, this one is {self.data.dtype}; "
                "convert it first with .float()"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("cannot turn off requires_grad on a non-leaf tensor; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    # ---- properties ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The size of each axis, like ``ndarray.shape``.

        >>> Tensor([[1.0, 2.0, 3.0]]).shape
        (1, 3)
        """
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data (float32 unless made otherwise)."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by a recorded op."""
        return self._ctx is None

    @property
    def op(self) -> Optional[str]:
        """Name of the op that produced this tensor, or None for a leaf."""
        return None if self._ctx is None else self._ctx.name

    @property
    def T(self) -> "Tensor":
        """The tensor with its axes reversed (the transpose of a matrix).

        >>> Tensor([[1.0, 2.0]]).T.shape
        (2, 1)
        """
        return movement.transpose(self)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        parts = [f"Tensor({body}", f"dtype={self.dtype}"]
        if self._ctx is not None:
            parts.append(f"grad_fn={self._ctx.name}")
        elif self.requires_grad:
            parts.append("requires_grad=True")
        if self.name:
            parts.append(f"name={self.name!r}")
        return ", ".join(parts) + ")"

    def _repr_html_(self) -> str:
        """How Jupyter shows a tensor: shape, dtype, autograd status and abbreviated values."""
        return tensor_html(self)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__  # __eq__ is elementwise, but tensors stay usable as dict keys

    # ---- conversion -----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """Return the underlying ndarray (shared, not copied).

        >>> Tensor([1.0, 2.0]).numpy()
        array([1., 2.], dtype=float32)
        """
        return self.data

    def item(self):
        """Return the value of a one-element tensor as a Python number.

        >>> Tensor([[2.5]]).item()
        2.5
        """
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def detach(self) -> "Tensor":
        """Return a tensor sharing the data but cut from the graph.

        >>> Tensor([1.0], requires_grad=True).detach().requires_grad
        False
        """
        return Tensor._wrap(self.data, False)

    def astype(self, dtype) -> "Tensor":
        """Return a copy with another dtype (differentiable between float types).

        >>> Tensor([1.5]).astype(np.float64).dtype
        dtype('float64')
        """
        return elementwise.cast(self, np.dtype(dtype))

    def float(self) -> "Tensor":
        """Cast to float32."""
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        """Cast to float64."""
        return self.astype(np.float64)

    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf that requires grad.

        A non-scalar tensor needs ``grad`` of its own shape. With ``create_graph=True`` the gradients
        are differentiable (for higher-order derivatives).

        >>> x = Tensor(3.0, requires_grad=True)
        >>> (x ** 2).backward()
        >>> x.grad.item()
        6.0
        """
        engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    # ---- arithmetic -----------------------------------------------------------------------------
    def __add__(self, other): return elementwise.add(self, other)
    def __radd__(self, other): return elementwise.add(other, self)
    def __sub__(self, other): return elementwise.sub(self, other)
    def __rsub__(self, other): return elementwise.sub(other, self)
    def __mul__(self, other): return elementwise.mul(self, other)
    def __rmul__(self, other): return elementwise.mul(other, self)
    def __truediv__(self, other): return elementwise.div(self, other)
    def __rtruediv__(self, other): return elementwise.div(other, self)
    def __pow__(self, other): return elementwise.pow(self, other)
    def __rpow__(self, other): return elementwise.pow(other, self)
    def __neg__(self): return elementwise.neg(self)
    def __pos__(self): return self
    def __abs__(self): return elementwise.abs(self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)

    # Comparisons give bool tensors outside the graph.
    def __lt__(self, other): return elementwise.less(self, other)
    def __le__(self, other): return elementwise.less_equal(self, other)
    def __gt__(self, other): return elementwise.greater(self, other)
    def __ge__(self, other): return elementwise.greater_equal(self, other)
    def __eq__(self, other): return elementwise.equal(self, other)  # type: ignore[override]
    def __ne__(self, other): return elementwise.not_equal(self, other)  # type: ignore[override]

    # ---- elementwise ----------------------------------------------------------------------------
    def exp(self):
        """Elementwise ``e ** x``."""
        return elementwise.exp(self)

    def log(self):
        """Elementwise natural logarithm."""
        return elementwise.log(self)

    def sqrt(self):
        """Elementwise square root."""
        return elementwise.sqrt(self)

    def abs(self):
        """Elementwise absolute value (gradient 0 at 0)."""
        return elementwise.abs(self)

    def tanh(self):
        """Elementwise hyperbolic tangent."""
        return elementwise.tanh(self)

    def sigmoid(self):
        """Elementwise logistic function ``1 / (1 + exp(-x))``, without overflow."""
        return elementwise.sigmoid(self)

    def relu(self):
        """Elementwise ``max(x, 0)`` (gradient 0 at 0)."""
        return elementwise.relu(self)

    def erf(self):
        """Elementwise error function."""
        return elementwise.erf(self)

    def clip(self, min=None, max=None):  # noqa: A002
        """Limit values to ``[min, max]``; the gradient is 0 where a value was clipped."""
        return elementwise.clip(self, min, max)

    def maximum(self, other):
        """Elementwise maximum with ``other`` (broadcast); ties split the gradient evenly."""
        return elementwise.maximum(self, other)

    def minimum(self, other):
        """Elementwise minimum with ``other`` (broadcast); ties split the gradient evenly."""
        return elementwise.minimum(self, other)

    def where(self, condition, other):
        """This tensor where ``condition`` holds, else ``other`` (as ``torch.Tensor.where``).

        >>> Tensor([1.0, 2.0]).where(np.array([True, False]), 0.0).numpy()
        array([1., 0.], dtype=float32)
        """
        return elementwise.where(condition, self, other)

    # ---- reductions -----------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple of ints, or None for all axes)."""
        return reduce.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over ``axis``."""
        return reduce.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; tied maxima share the gradient evenly."""
        return reduce.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``; tied minima share the gradient evenly."""
        return reduce.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        """Variance over ``axis`` (``ddof`` as in NumPy)."""
        return reduce.var(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
        return reduce.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None):
        """Indices of the maxima along ``axis`` (an int64 tensor, outside the graph)."""
        return reduce.argmax(self, axis)

    def argmin(self, axis=None):
        """Indices of the minima along ``axis`` (an int64 tensor, outside the graph)."""
        return reduce.argmin(self, axis)

    # ---- movement -------------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same values in a new shape; ``reshape(2, -1)`` and ``reshape((2, -1))`` both work."""
        return movement.reshape(self, *shape)

    def flatten(self, start_axis=0, end_axis=-1):
        """Merge the axes ``start_axis..end_axis`` into one."""
        return movement.flatten(self, start_axis, end_axis)

    def transpose(self, *axes):
        """Permute the axes (reverse them when none are given), like ``np.transpose``."""
        return movement.transpose(self, *axes)

    def permute(self, *axes):
        """Permute the axes into the given order (the same as ``transpose(*axes)``)."""
        return movement.transpose(self, *axes)

    def swapaxes(self, axis1, axis2):
        """Exchange two axes."""
        return movement.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        """Broadcast to ``shape`` (the same as ``broadcast_to``); the gradient is summed back."""
        return movement.broadcast_to(self, *shape)

    def broadcast_to(self, *shape):
        """Broadcast to ``shape`` with NumPy's rules; the gradient is summed back."""
        return movement.broadcast_to(self, *shape)

    def squeeze(self, axis=None):
        """Remove axes of length 1 (all of them, or the given ``axis``)."""
        return movement.squeeze(self, axis)

    def unsqueeze(self, axis):
        """Insert an axis of length 1 at position ``axis``."""
        return movement.unsqueeze(self, axis)

    def __getitem__(self, key): return movement.getitem(self, key)


# ---- constructors ---------------------------------------------------------------------------------
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
