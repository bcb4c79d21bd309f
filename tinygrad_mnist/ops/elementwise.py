"""Elementwise ops: arithmetic, transcendental functions, activations' primitives, selection.

Comparisons (``<``, ``==``, ...), which have no derivative, are in ``compare.py``.

Every binary op broadcasts like NumPy; the engine sums gradients back to each input's shape.
Results are built from the inputs' own class (a Tensor for Tensors): like every op module, this
one knows ``autograd`` and not ``tensor.py``, which imports it.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.node import Node, first_node
from . import arraylike as A
from .special import erf as _erf_array
from .special import sigmoid as _sigmoid_array

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad, a, b, out):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad, a, b, out):
        return grad, -grad


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    real_result = True

    def forward(self, a, b):
        return a / b

    def backward(self, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        return (grad / b if need_a else None), (-grad * out / b if need_b else None)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, grad, a, out):
        return (-grad,)


class Pow(Function):
    def forward(self, a, b):
        return a ** b

    def backward(self, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            # d(a**b)/da = b * a**(b - 1). Where b = 0 this reads 0 * a**-1: 0 * inf = nan at a = 0,
            # and the next order, 0 * a**-2, overflows to nan for |a| < 1e-154 too. But a**0 is the
            # constant 1, whose derivatives of every order are 0 (the step from x**n to its (n+1)-th
            # derivative passes through such a term). There the exponent b - 1 is taken as 0 instead:
            # the product is still b * 1 = 0, and it stays finite when differentiated again. A constant
            # exponent (x ** 3) gets this wherever b = 0. A differentiated one only where a = 0 too:
            # elsewhere the plain formula keeps d2/(da db) = a**(b-1) (1 + b log a) right at b = 0.
            exponent = b - 1
            zero_power = A.value(b) == 0
            if need_b:
                zero_power = zero_power & (A.value(a) == 0)
            if zero_power.any():
                exponent = A.where(zero_power, 0.0, exponent)
            grad_a = grad * b * a ** exponent
        if need_b:
            # d(a**b)/db = a**b * log(a), taken as 0 where a <= 0 (the real power is not smooth in b there).
            positive = A.value(a) > 0
            grad_b = A.where(positive, grad * out * A.log(A.where(positive, a, 1.0)), 0.0)
        return grad_a, grad_b


class Exp(Function):
    real_result = True

    def forward(self, a):
        return np.exp(a)

    def backward(self, grad, a, out):
        return (grad * out,)


class Log(Function):
    real_result = True

    def forward(self, a):
        return np.log(a)

    def backward(self, grad, a, out):
        return (grad / a,)


class Sqrt(Function):
    real_result = True

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, grad, a, out):
        return (grad / (2 * out),)


class Abs(Function):
    def forward(self, a):
        return np.abs(a)

    def backward(self, grad, a, out):
        a = A.value(a)
        # The sign, 0 at 0 and (as in PyTorch) at NaN, where np.sign would give NaN.
        return (grad * np.subtract(a > 0, a < 0, dtype=a.dtype),)


class Tanh(Function):
    real_result = True

    def forward(self, a):
        return np.tanh(a)

    def backward(self, grad, a, out):
        return (grad * (1 - out * out),)


class Sigmoid(Function):
    real_result = True

    def forward(self, a):
        return _sigmoid_array(a)

    def backward(self, grad, a, out):
        return (grad * out * (1 - out),)


class Softplus(Function):
    """``log(1 + exp(a))``: its derivative is the sigmoid, whose own rule gives every higher order, so
    the derivatives are right everywhere (a composition through abs or maximum has a kink at 0 that
    the second derivative falls into)."""

    real_result = True

    def forward(self, a):
        return np.logaddexp(0, a)  # log(exp(0) + exp(a)) without overflow, in a's dtype

    def backward(self, grad, a, out):
        return (grad * A.sigmoid(a),)


class Relu(Function):
    def forward(self, a):
        return np.maximum(a, 0)

    def backward(self, grad, a, out):
        # Blocked where the output is 0, i.e. where a <= 0 (PyTorch's rule): a NaN input lets the
        # gradient through, as in PyTorch. One comparison, like a > 0 would be.
        return (grad * (A.value(out) != 0),)


def _share_of_first(a: np.ndarray, b: np.ndarray, first_wins: np.ndarray, dtype) -> np.ndarray:
    """1 where the first input wins, 0 where it loses, 0.5 on ties (the gradient is split)."""
    return np.where(first_wins, 1.0, np.where(a == b, 0.5, 0.0)).astype(dtype, copy=False)


class Maximum(Function):
    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, grad, a, b, out):
        a, b = A.value(a), A.value(b)
        share = _share_of_first(a, b, a > b, A.value(out).dtype)
        return grad * share, grad * (1 - share)


class Minimum(Function):
    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, grad, a, b, out):
        a, b = A.value(a), A.value(b)
        share = _share_of_first(a, b, a < b, A.value(out).dtype)
        return grad * share, grad * (1 - share)


class Where(Function):
    def forward(self, a, b, condition):
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        zero = np.zeros((), dtype=A.value(out).dtype)
        return (
            A.where(self.condition, grad, zero) if need_a else None,
            A.where(self.condition, zero, grad) if need_b else None,
        )


def _clip_shares(a: np.ndarray, low: np.ndarray, high: np.ndarray):
    """Which of ``clip(a, low, high)``'s three inputs each output element is taken from.

    The three masks partition the elements: ``a`` where ``low <= a <= high`` (so ``a`` keeps the
    gradient at a tie with a bound), else ``low`` where ``a < low <= high``, else ``high`` (above it,
    or everywhere when ``low > high``: NumPy's clip then gives ``high``).
    """
    to_a = (low <= a) & (a <= high)
    to_low = (a < low) & (low <= high)
    return to_a, to_low, ~(to_a | to_low)


class Clip(Function):
    """Clip between numbers (None for an open side): a gradient for ``a`` only."""

    def forward(self, a, low, high):
        self.low, self.high = low, high
        return np.clip(a, low, high)

    def backward(self, grad, a, out):
        a = A.value(a)
        inside = np.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        return (grad * inside,)


class ClipBetween(Function):
    """Clip between tensor bounds (broadcast with ``a``): gradients for ``a`` and both bounds."""

    def forward(self, a, low, high):
        return np.minimum(np.maximum(a, low), high)

    def backward(self, grad, a, low, high, out):
        shares = _clip_shares(A.value(a), A.value(low), A.value(high))
        return tuple(grad * share if needed else None for share, needed in zip(shares, self.needs_input_grad))


class Erf(Function):
    real_result = True

    def forward(self, a):
        return _erf_array(a)

    def backward(self, grad, a, out):
        return (grad * _TWO_OVER_SQRT_PI * A.exp(-(a * a)),)


class Cast(Function):
    def forward(self, a, dtype):
        return a.astype(dtype)

    def backward(self, grad, a, out):
        return (grad,)  # the engine casts it back to the input's dtype


# ---- functional forms ---------------------------------------------------------------------------
def add(a, b) -> Node:
    """Elementwise ``a + b`` with broadcasting.

    >>> from tinygrad_mnist import Tensor
    >>> add(Tensor([1.0, 2.0]), 1).numpy()
    array([2., 3.], dtype=float32)
    """
    return Add.apply(a, b)


def sub(a, b) -> Node:
    """Elementwise ``a - b``.

    >>> from tinygrad_mnist import Tensor
    >>> sub(Tensor([3.0, 4.0]), 1).numpy()
    array([2., 3.], dtype=float32)
    """
    return Sub.apply(a, b)


def mul(a, b) -> Node:
    """Elementwise ``a * b``.

    >>> from tinygrad_mnist import Tensor
    >>> mul(Tensor([[1.0], [2.0]]), Tensor([10.0, 20.0])).numpy()
    array([[10., 20.],
           [20., 40.]], dtype=float32)
    """
    return Mul.apply(a, b)


def div(a, b) -> Node:
    """Elementwise ``a / b``.

    >>> from tinygrad_mnist import Tensor
    >>> div(1, Tensor([2.0, 4.0])).numpy()
    array([0.5 , 0.25], dtype=float32)
    """
    return Div.apply(a, b)


def neg(a) -> Node:
    """Elementwise ``-a``.

    >>> from tinygrad_mnist import Tensor
    >>> neg(Tensor([1.0, -2.0])).numpy()
    array([-1.,  2.], dtype=float32)
    """
    return Neg.apply(a)


def pow(a, b) -> Node:  # noqa: A001  (the operator's own name)
    """Elementwise ``a ** b``; either side may be a tensor or a number.

    >>> from tinygrad_mnist import Tensor
    >>> pow(Tensor([2.0, 3.0]), 2).numpy()
    array([4., 9.], dtype=float32)
    """
    return Pow.apply(a, b)


def exp(a) -> Node:
    """Elementwise exponential.

    >>> from tinygrad_mnist import Tensor
    >>> exp(Tensor([0.0])).numpy()
    array([1.], dtype=float32)
    """
    return Exp.apply(a)


def log(a) -> Node:
    """Elementwise natural logarithm.

    >>> from tinygrad_mnist import Tensor
    >>> log(Tensor([1.0])).numpy()
    array([0.], dtype=float32)
    """
    return Log.apply(a)


def sqrt(a) -> Node:
    """Elementwise square root.

    >>> from tinygrad_mnist import Tensor
    >>> sqrt(Tensor([4.0, 9.0])).numpy()
    array([2., 3.], dtype=float32)
    """
    return Sqrt.apply(a)


def abs(a) -> Node:  # noqa: A001
    """Elementwise absolute value (gradient 0 at 0).

    >>> from tinygrad_mnist import Tensor
    >>> abs(Tensor([-1.5, 2.0])).numpy()
    array([1.5, 2. ], dtype=float32)
    """
    return Abs.apply(a)


def tanh(a) -> Node:
    """Elementwise hyperbolic tangent.

    >>> from tinygrad_mnist import Tensor
    >>> tanh(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """
    return Tanh.apply(a)


def sigmoid(a) -> Node:
    """Elementwise logistic function, computed without overflow for large ``|a|``.

    >>> from tinygrad_mnist import Tensor
    >>> sigmoid(Tensor([-1000.0, 0.0, 1000.0])).numpy()
    array([0. , 0.5, 1. ], dtype=float32)
    """
    return Sigmoid.apply(a)


def softplus(a) -> Node:
    """Elementwise ``log(1 + exp(a))``, finite for any finite ``a``, smooth to every order.

    >>> from tinygrad_mnist import Tensor
    >>> softplus(Tensor([-1000.0, 0.0, 1000.0])).numpy()
    array([0.000000e+00, 6.931472e-01, 1.000000e+03], dtype=float32)
    """
    return Softplus.apply(a)


def relu(a) -> Node:
    """Elementwise ``max(a, 0)`` (gradient 0 at 0).

    >>> from tinygrad_mnist import Tensor
    >>> relu(Tensor([-1.0, 2.0])).numpy()
    array([0., 2.], dtype=float32)
    """
    return Relu.apply(a)


def erf(a) -> Node:
    """Elementwise error function (float64-accurate; see ``ops/special.py``).

    >>> from tinygrad_mnist import Tensor
    >>> round(erf(Tensor(1.0, dtype=np.float64)).item(), 10)
    0.8427007929
    """
    return Erf.apply(a)


def maximum(a, b) -> Node:
    """Elementwise maximum; on ties the gradient is split evenly.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> maximum(x, 2.0).sum().backward()
    >>> x.grad.numpy()
    array([0. , 0.5], dtype=float32)
    """
    return Maximum.apply(a, b)


def minimum(a, b) -> Node:
    """Elementwise minimum; on ties the gradient is split evenly.

    >>> from tinygrad_mnist import Tensor
    >>> minimum(Tensor([1.0, 3.0]), 2.0).numpy()
    array([1., 2.], dtype=float32)
    """
    return Minimum.apply(a, b)


def where(condition, a, b) -> Node:
    """Pick ``a`` where ``condition`` holds, else ``b`` (the condition gets no gradient).

    >>> from tinygrad_mnist import Tensor
    >>> where(Tensor([True, False]), Tensor([1.0, 2.0]), 0.0).numpy()
    array([1., 0.], dtype=float32)
    """
    condition = np.asanyarray(A.value(condition))
    if condition.dtype != np.bool_:
        condition = condition.astype(bool)
    return Where.apply(a, b, condition=condition)


def clip(a, min=None, max=None) -> Node:  # noqa: A002
    """Limit values to ``[min, max]``; a bound may be a number, None (that side is open), an array
    or a Tensor (broadcast with ``a``).

    Gradients: ``a`` gets the gradient where ``min <= a <= max`` (ties with a bound included), a
    tensor bound where the output was taken from it (``min`` where ``a < min``, ``max`` where
    ``a > max``); where ``min > max`` the output is ``max``, as in NumPy, and so is the gradient.

    >>> from tinygrad_mnist import Tensor
    >>> clip(Tensor([-2.0, 0.5, 2.0]), -1, 1).numpy()
    array([-1. ,  0.5,  1. ], dtype=float32)
    >>> low = Tensor([0.0, 1.0, 0.0], requires_grad=True)
    >>> clip(Tensor([-2.0, 0.5, 2.0]), low, 1.0).sum().backward()
    >>> low.grad.numpy()
    array([1., 1., 0.], dtype=float32)
    """
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    if not isinstance(min, (Node, np.ndarray)) and not isinstance(max, (Node, np.ndarray)):
        return Clip.apply(a, low=min, high=max)
    # An open side is an infinite bound (a Python float: it takes the dtype of the tensors it meets).
    return ClipBetween.apply(a, -math.inf if min is None else min, math.inf if max is None else max)


def cast(a, dtype) -> Node:
    """Convert to another dtype; differentiable between float dtypes.

    >>> from tinygrad_mnist import Tensor
    >>> cast(Tensor([1.5]), np.float64).dtype
    dtype('float64')
    """
    return Cast.apply(a, dtype=np.dtype(dtype))
