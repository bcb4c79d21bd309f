"""The ``Tensor``: an ndarray plus what reverse mode needs (``requires_grad``, ``grad``, its op).

``Tensor`` is the engine's ``Node`` (``autograd/node.py``) with an array API on top. This module sits
above ``autograd`` and ``ops`` and imports both; neither imports it (an op builds its result from the
class of its inputs). Operators and methods only delegate to the ops in ``tinygrad_mnist.ops``;
the constructors (``zeros``, ``randn``, ...) are in ``tinygrad_mnist.creation``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .autograd import engine
from .autograd.dtypes import DEFAULT_FLOAT
from .autograd.node import Node
from .display import tensor_html
from .ops import compare, elementwise, inplace, linalg, movement, reduce, ufuncs
from .ops.axes import ElementCount
from .ops.spelling import TENSOR_ATTRIBUTE_HINTS, numpy_spelling

_SUPPORTED_KINDS = "fiub"  # float, signed int, unsigned int, bool
_new = object.__new__


def _to_array(data, dtype) -> np.ndarray:
    """Python numbers and lists become float32 (or int64/bool); an ndarray or a NumPy scalar keeps
    its dtype (``np.float64(0.1)`` is a float64 tensor, as in PyTorch)."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, np.generic):
        array = np.asarray(data)
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
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
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
            # A number takes the tensor's dtype unless that would change its value: a float meeting
            # an integer tensor, or any non-bool number meeting a bool one (2 must not become True).
            if like is not None and (like.kind == "f" or (like.kind == "b") == isinstance(value, bool)
                                     and not isinstance(value, float)):
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
    def size(self) -> ElementCount:
        """The number of elements (an int, as in NumPy); ``x.size()`` and ``x.size(axis)`` give the shape
        and one axis's length, as in PyTorch. ``Tensor([[1.0, 2.0, 3.0]]).size()`` is ``(1, 3)``.

        >>> Tensor([[1.0, 2.0, 3.0]]).size
        3
        """
        return ElementCount(self.data.size, self.data.shape)

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

    @property
    def mT(self) -> "Tensor":
        """The last two axes swapped: the transpose of each matrix in a batch.

        >>> Tensor(np.zeros((4, 2, 3))).mT.shape
        (4, 3, 2)
        """
        return movement.matrix_transpose(self)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        # Without this, Python would iterate through __getitem__ until an IndexError, so a 0-d
        # tensor would silently look empty (list(Tensor(1.0)) == []); NumPy and PyTorch refuse.
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor; use .item() to get its value")
        return (self[i] for i in range(self.shape[0]))

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

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # `ndarray - tensor` becomes the Tensor's op, `array -= tensor` takes the values (ops/ufuncs.py).
        return ufuncs.array_ufunc(ufunc, method, inputs, kwargs)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.3f}"`` formats a one-element tensor like its number; ``f"{x}"`` is ``str(x)``."""
        if not spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(
                f"format spec {spec!r} needs a tensor with one element, this one has shape {self.shape}; "
                f"format a reduction (f\"{{x.mean():{spec}}}\") or the values (np.array2string(x.numpy()))"
            )
        return format(self.data.item(), spec)

    def __getattr__(self, name: str):
        # Only reached for a missing attribute: a PyTorch spelling gets its equivalent here.
        hint = TENSOR_ATTRIBUTE_HINTS.get(name)
        message = f"'{type(self).__name__}' object has no attribute {name!r}"
        raise AttributeError(f"{message}; {hint}" if hint else message, name=name, obj=self)

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

    def tolist(self):
        """The values as (nested) Python lists of numbers; a 0-d tensor gives a number.

        >>> Tensor([[1.0, 2.0]]).tolist()
        [[1.0, 2.0]]
        """
        return self.data.tolist()

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

    # `p -= lr * p.grad` updates p outside the graph; `loss += x` is recorded (rules: ops/inplace.py).
    def __iadd__(self, other): return inplace.augmented_assign(self, "+=", other)
    def __isub__(self, other): return inplace.augmented_assign(self, "-=", other)
    def __imul__(self, other): return inplace.augmented_assign(self, "*=", other)
    def __itruediv__(self, other): return inplace.augmented_assign(self, "/=", other)
    def __ipow__(self, other): return inplace.augmented_assign(self, "**=", other)
    def __imatmul__(self, other): return inplace.augmented_assign(self, "@=", other)

    # Comparisons give bool tensors outside the graph.
    def __lt__(self, other): return compare.less(self, other)
    def __le__(self, other): return compare.less_equal(self, other)
    def __gt__(self, other): return compare.greater(self, other)
    def __ge__(self, other): return compare.greater_equal(self, other)
    def __eq__(self, other): return compare.equal(self, other)  # type: ignore[override]
    def __ne__(self, other): return compare.not_equal(self, other)  # type: ignore[override]

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
        """Limit values to ``[min, max]``; bounds may be numbers, None or tensors (differentiable too:
        see ``tinygrad_mnist.ops.elementwise.clip`` for who gets the gradient at ties).

        >>> Tensor([-2.0, 0.5, 2.0]).clip(Tensor([-1.0, 0.0, 0.0]), 1.0).numpy()
        array([-1. ,  0.5,  1. ], dtype=float32)
        """
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
    @numpy_spelling
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple of ints, or None for all axes)."""
        return reduce.sum(self, axis, keepdims)

    @numpy_spelling
    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over ``axis``."""
        return reduce.mean(self, axis, keepdims)

    @numpy_spelling
    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; tied maxima share the gradient evenly."""
        return reduce.max(self, axis, keepdims)

    @numpy_spelling
    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``; tied minima share the gradient evenly."""
        return reduce.min(self, axis, keepdims)

    @numpy_spelling
    def var(self, axis=None, keepdims=False, ddof=0):
        """Variance over ``axis`` (``ddof`` as in NumPy: 0 by default, PyTorch's default is 1)."""
        return reduce.var(self, axis, keepdims, ddof)

    @numpy_spelling
    def std(self, axis=None, keepdims=False, ddof=0):
        """Standard deviation over ``axis`` (``ddof=0`` by default as in NumPy; PyTorch's is 1).

        >>> Tensor([1.0, 3.0]).std().item()
        1.0
        """
        return reduce.std(self, axis, keepdims, ddof)

    @numpy_spelling
    def softmax(self, axis=-1):
        """Probabilities along ``axis`` (``exp(x - max) / sum(exp(x - max))``, without overflow).

        >>> Tensor([[0.0, 0.0]]).softmax(axis=1).numpy()
        array([[0.5, 0.5]], dtype=float32)
        """
        return reduce.softmax(self, axis)

    @numpy_spelling
    def log_softmax(self, axis=-1):
        """Log-probabilities along ``axis``, ``x - logsumexp(x)``, stable for any finite values.

        >>> Tensor([[0.0, 0.0]]).log_softmax().numpy()
        array([[-0.6931472, -0.6931472]], dtype=float32)
        """
        return reduce.log_softmax(self, axis)

    @numpy_spelling
    def any(self, axis=None, keepdims=False):
        """Whether any element (along ``axis``) is true or non-zero: a bool tensor, not differentiable.

        >>> (Tensor([1.0, -2.0]) > 0).any().item()
        True
        """
        return reduce.any(self, axis, keepdims)

    @numpy_spelling
    def all(self, axis=None, keepdims=False):
        """Whether every element (along ``axis``) is true or non-zero: a bool tensor, not differentiable.

        >>> (Tensor([1.0, -2.0]) > 0).all().item()
        False
        """
        return reduce.all(self, axis, keepdims)

    @numpy_spelling
    def logsumexp(self, axis=None, keepdims=False):
        """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
        return reduce.logsumexp(self, axis, keepdims)

    @numpy_spelling
    def argmax(self, axis=None):
        """Indices of the maxima along ``axis`` (an int64 tensor, outside the graph)."""
        return reduce.argmax(self, axis)

    @numpy_spelling
    def argmin(self, axis=None):
        """Indices of the minima along ``axis`` (an int64 tensor, outside the graph)."""
        return reduce.argmin(self, axis)

    # ---- movement -------------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same values in a new shape; ``reshape(2, -1)`` and ``reshape((2, -1))`` both work."""
        return movement.reshape(self, *shape)

    @numpy_spelling
    def flatten(self, start_axis=0, end_axis=-1):
        """Merge the axes ``start_axis..end_axis`` into one."""
        return movement.flatten(self, start_axis, end_axis)

    def transpose(self, *axes):
        """Permute the axes like ``np.transpose`` (reverse them when none are given).

        Two integers are a permutation here, not PyTorch's swap: ``x.transpose(0, 1)`` on a 2-D tensor
        (the identity) or on any other rank is an error that points to ``swapaxes``.

        >>> Tensor(np.zeros((2, 3, 4))).transpose(2, 0, 1).shape
        (4, 2, 3)
        """
        return movement.transpose(self, *axes)

    def permute(self, *axes):
        """Put the axes in the given order, a permutation of all of them (the identity too).

        >>> Tensor(np.zeros((2, 3, 4))).permute(2, 0, 1).shape
        (4, 2, 3)
        """
        return movement.permute(self, *axes)

    @numpy_spelling
    def swapaxes(self, axis1, axis2):
        """Exchange two axes (PyTorch's ``transpose(dim0, dim1)``).

        >>> Tensor(np.zeros((2, 3, 4))).swapaxes(0, 2).shape
        (4, 3, 2)
        """
        return movement.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        """Broadcast to ``shape`` (the same as ``broadcast_to``); the gradient is summed back."""
        return movement.broadcast_to(self, *shape)

    def broadcast_to(self, *shape):
        """Broadcast to ``shape`` with NumPy's rules; the gradient is summed back."""
        return movement.broadcast_to(self, *shape)

    @numpy_spelling
    def squeeze(self, axis=None):
        """Remove axes of length 1 (all of them, or the given ``axis``)."""
        return movement.squeeze(self, axis)

    @numpy_spelling
    def unsqueeze(self, axis):
        """Insert an axis of length 1 at position ``axis``."""
        return movement.unsqueeze(self, axis)

    def __getitem__(self, key): return movement.getitem(self, key)
