"""Forward-mode hyper-dual numbers over NumPy arrays: an independent reference for derivatives.

A hyper-dual number is ``a + b·ε₁ + c·ε₂ + d·ε₁ε₂`` with ``ε₁² = ε₂² = 0`` (but ``ε₁ε₂ ≠ 0``).
Seeding an input ``x`` as ``HyperDual(x, u, v, 0)`` and evaluating ``f`` gives, exactly (only
floating-point rounding, no finite-difference step):

* ``.e1`` = ∇f · u and ``.e2`` = ∇f · v  (first directional derivatives),
* ``.e12`` = uᵀ H v                      (the mixed second directional derivative).

The class mirrors the small part of the ``Tensor`` API that the reference tests use (operators with
broadcasting, ``exp log sqrt tanh sigmoid``, ``sum mean logsumexp`` over axes, ``reshape transpose
swapaxes T``, indexing, ``@``), so one expression written with those calls runs on both. It shares
no code with tinygrad_mnist.

>>> x = HyperDual(np.array(2.0), np.array(1.0), np.array(1.0))
>>> y = x * x * x            # f = x^3: f' = 12, f'' = 12 at x = 2
>>> float(y.real), float(y.e1), float(y.e12)
(8.0, 12.0, 12.0)
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np


def _as_float_array(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


class HyperDual:
    """An array-valued hyper-dual number: ``real``, ``e1``, ``e2`` and ``e12`` parts of one shape.

    >>> h = HyperDual(np.ones(3), e1=np.arange(3.0))
    >>> (h * 2).sum().e1
    6.0
    """

    __slots__ = ("real", "e1", "e2", "e12")
    # ndarray <op> HyperDual must reach our reflected operators, not loop over our elements.
    __array_ufunc__ = None

    def __init__(self, real, e1=None, e2=None, e12=None):
        self.real = _as_float_array(real)
        shape = self.real.shape
        self.e1, self.e2, self.e12 = (
            np.zeros(shape) if part is None else np.broadcast_to(_as_float_array(part), shape).copy()
            for part in (e1, e2, e12)
        )

    @classmethod
    def _from_parts(cls, real, e1, e2, e12) -> "HyperDual":
        """Build from parts that may broadcast against each other (results of binary rules)."""
        real = _as_float_array(real)
        shape = np.broadcast_shapes(real.shape, np.shape(e1), np.shape(e2), np.shape(e12))
        out = cls.__new__(cls)
        out.real = np.broadcast_to(real, shape).copy() if real.shape != shape else real
        out.e1, out.e2, out.e12 = (np.broadcast_to(_as_float_array(p), shape).copy() for p in (e1, e2, e12))
        return out

    @staticmethod
    def lift(value) -> "HyperDual":
        """A constant (all derivative parts zero) unless it already is a hyper-dual number."""
        return value if isinstance(value, HyperDual) else HyperDual(value)

    def _linear(self, fn: Callable[[np.ndarray], np.ndarray]) -> "HyperDual":
        """A linear map (reshape, sum, indexing, ...) acts on every part alike."""
        out = HyperDual.__new__(HyperDual)
        out.real, out.e1, out.e2, out.e12 = (np.asarray(fn(p), dtype=np.float64) for p in self._parts())
        return out

    def _parts(self):
        return self.real, self.e1, self.e2, self.e12

    def _chain(self, f0, f1, f2) -> "HyperDual":
        """Apply a smooth scalar function given its value f0, first f1 and second f2 derivative
        at ``real``: the ε₁ε₂ part picks up ``f2 · e1 · e2`` besides ``f1 · e12``."""
        return HyperDual._from_parts(f0, f1 * self.e1, f1 * self.e2, f1 * self.e12 + f2 * self.e1 * self.e2)

    # ---- shape ---------------------------------------------------------------------------------
    @property
    def shape(self):
        return self.real.shape

    @property
    def ndim(self):
        return self.real.ndim

    @property
    def size(self):
        return self.real.size

    def __repr__(self) -> str:
        return f"HyperDual(real={self.real!r}, e1={self.e1!r}, e2={self.e2!r}, e12={self.e12!r})"

    # ---- arithmetic ----------------------------------------------------------------------------
    def __add__(self, other):
        o = HyperDual.lift(other)
        return HyperDual._from_parts(self.real + o.real, self.e1 + o.e1, self.e2 + o.e2, self.e12 + o.e12)

    def __radd__(self, other):
        return HyperDual.lift(other) + self

    def __neg__(self):
        return self._linear(np.negative)

    def __sub__(self, other):
        return self + (-HyperDual.lift(other))

    def __rsub__(self, other):
        return HyperDual.lift(other) + (-self)

    def __mul__(self, other):
        o = HyperDual.lift(other)
        return HyperDual._from_parts(
            self.real * o.real,
            self.real * o.e1 + self.e1 * o.real,
            self.real * o.e2 + self.e2 * o.real,
            self.real * o.e12 + self.e1 * o.e2 + self.e2 * o.e1 + self.e12 * o.real,
        )

    def __rmul__(self, other):
        return HyperDual.lift(other) * self

    def reciprocal(self) -> "HyperDual":
        """1/x: derivatives -1/x² and 2/x³."""
        inv = 1.0 / self.real
        return self._chain(inv, -inv * inv, 2.0 * inv * inv * inv)

    def __truediv__(self, other):
        return self * HyperDual.lift(other).reciprocal()

    def __rtruediv__(self, other):
        return HyperDual.lift(other) * self.reciprocal()

    def __pow__(self, exponent):
        """x**p for a constant real p (x > 0 unless p is an integer).

        A derivative whose coefficient is 0 (the (n+1)-th of x**n) is 0, also at x = 0 where the
        power it multiplies is infinite.
        """
        if isinstance(exponent, HyperDual):
            return (exponent * self.log()).exp()
        p = float(exponent)
        x = self.real
        with np.errstate(divide="ignore"):
            first = p * x ** (p - 1) if p != 0 else np.zeros_like(x)
            second = p * (p - 1) * x ** (p - 2) if p not in (0.0, 1.0) else np.zeros_like(x)
        return self._chain(x**p, first, second)

    def __rpow__(self, base):
        """c**x = exp(x log c) for a positive constant c."""
        return (self * math.log(float(base))).exp()

    def __matmul__(self, other):
        o = HyperDual.lift(other)
        # Bilinear, so the same expansion as the product, with @ in place of *.
        return HyperDual._from_parts(
            self.real @ o.real,
            self.real @ o.e1 + self.e1 @ o.real,
            self.real @ o.e2 + self.e2 @ o.real,
            self.real @ o.e12 + self.e1 @ o.e2 + self.e2 @ o.e1 + self.e12 @ o.real,
        )

    def __rmatmul__(self, other):
        return HyperDual.lift(other) @ self

    # ---- smooth elementwise functions ------------------------------------------------------------
    def exp(self):
        e = np.exp(self.real)
        return self._chain(e, e, e)

    def log(self):
        x = self.real
        return self._chain(np.log(x), 1.0 / x, -1.0 / (x * x))

    def sqrt(self):
        s = np.sqrt(self.real)
        return self._chain(s, 0.5 / s, -0.25 / (s * s * s))

    def tanh(self):
        t = np.tanh(self.real)
        d = 1.0 - t * t
        return self._chain(t, d, -2.0 * t * d)

    def softplus(self):
        """log(1 + e^x): derivatives sigmoid(x) and sigmoid(x) (1 - sigmoid(x))."""
        s = 1.0 / (1.0 + np.exp(-self.real))
        return self._chain(np.logaddexp(0.0, self.real), s, s * (1.0 - s))

    def sigmoid(self):
        s = 1.0 / (1.0 + np.exp(-self.real))
        d = s * (1.0 - s)
        return self._chain(s, d, d * (1.0 - 2.0 * s))

    # ---- reductions ------------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return self._linear(lambda p: np.sum(p, axis=axis, keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        return self._linear(lambda p: np.mean(p, axis=axis, keepdims=keepdims))

    def logsumexp(self, axis=None, keepdims=False):
        """log Σ exp, shifted by the (constant) max of the real part: exact, since the shift cancels."""
        shift = np.max(self.real, axis=axis, keepdims=True)
        total = (self - shift).exp().sum(axis=axis, keepdims=True)
        out = total.log() + shift
        if keepdims:
            return out
        return out._linear(lambda p: np.squeeze(p, axis=axis) if axis is not None else p.reshape(()))

    # ---- movement ------------------------------------------------------------------------------
    def reshape(self, *shape):
        target = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._linear(lambda p: p.reshape(target))

    def transpose(self, *axes):
        order: Optional[tuple] = (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None
        return self._linear(lambda p: np.transpose(p, order))

    def swapaxes(self, axis1, axis2):
        return self._linear(lambda p: np.swapaxes(p, axis1, axis2))

    @property
    def T(self):
        return self.transpose()

    def broadcast_to(self, *shape):
        target = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._linear(lambda p: np.broadcast_to(p, target))

    def __getitem__(self, key):
        return self._linear(lambda p: p[key])
