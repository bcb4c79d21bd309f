"""Public helpers for testing differentiable ops built on tinygrad_mnist.

* :func:`gradcheck` / :func:`gradgradcheck` compare the engine's first and
  second derivatives with float64 central differences and raise
  :class:`GradcheckError` with a precise report on a mismatch.
* The hypothesis strategies (:func:`shapes`, :func:`broadcastable_shapes`,
  :func:`arrays`, :func:`tensors`, :func:`axes`, :func:`matmul_shapes`,
  :func:`index_keys`, :func:`permutations`, :func:`reshape_shapes`) generate
  well-conditioned inputs for them.  They need ``hypothesis``
  (``pip install tinygrad_mnist[dev]``); the gradient checks do not.

Example::

    from hypothesis import given
    from tinygrad_mnist.testing import broadcastable_shapes, gradcheck, arrays
    from hypothesis import strategies as st

    @given(st.data())
    def test_mul_grad(data):
        a_shape, b_shape = data.draw(broadcastable_shapes())
        a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
        assert gradcheck(lambda x, y: x * y, [a, b])
"""

from .gradcheck import DEFAULT_TOLERANCES, FULL_JACOBIAN_MAX_OUTPUTS, GradcheckError, gradcheck, gradgradcheck

_STRATEGIES = (
    "ShapeTuple",
    "arrays",
    "axes",
    "broadcastable_shapes",
    "index_keys",
    "matmul_shapes",
    "permutations",
    "reshape_shapes",
    "shapes",
    "tensors",
)

try:
    from .strategies import (
        ShapeTuple,
        arrays,
        axes,
        broadcastable_shapes,
        index_keys,
        matmul_shapes,
        permutations,
        reshape_shapes,
        shapes,
        tensors,
    )
except ModuleNotFoundError as _error:  # hypothesis is a dev dependency only
    if _error.name is None or _error.name.split(".")[0] != "hypothesis":
        raise
    _missing_hypothesis = _error

    def __getattr__(name: str):
        if name in _STRATEGIES:
            raise ImportError(
                f"tinygrad_mnist.testing.{name} needs hypothesis: pip install 'tinygrad_mnist[dev]'"
            ) from _missing_hypothesis
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TOLERANCES",
    "FULL_JACOBIAN_MAX_OUTPUTS",
    "GradcheckError",
    "ShapeTuple",
    "arrays",
    "axes",
    "broadcastable_shapes",
    "gradcheck",
    "gradgradcheck",
    "index_keys",
    "matmul_shapes",
    "permutations",
    "reshape_shapes",
    "shapes",
    "tensors",
]
