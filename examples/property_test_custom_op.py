"""Property-testing your own op with hypothesis, as you would in your own test suite.

The strategies in ``tinygrad_mnist.testing.strategies`` draw shapes (0-d and size-1 dims included),
well-conditioned arrays and broadcastable shape pairs; ``gradcheck`` and ``gradgradcheck`` compare
the op's first and second derivatives with float64 finite differences.

Run with pytest:  python -m pytest examples/property_test_custom_op.py
or directly:      python examples/property_test_custom_op.py
"""
import numpy as np
from hypothesis import given, settings

from tinygrad_mnist import Function, Tensor
from tinygrad_mnist.ops import arraylike
from tinygrad_mnist.testing import gradcheck, gradgradcheck
from tinygrad_mnist.testing.strategies import arrays, broadcastable_shapes, shapes


class SquaredDistance(Function):
    """(a - b)^2 elementwise, with NumPy broadcasting between a and b."""

    def forward(self, a, b):
        return (a - b) ** 2

    def backward(self, grad, a, b, out):
        # Gradients have the broadcast shape; the engine sums them back to a's and b's shapes.
        difference = a - b
        return grad * 2 * difference, grad * -2 * difference


class LogCosh(Function):
    """log(cosh(x)), computed without overflow as |x| + log1p(exp(-2|x|)) - log 2."""

    def forward(self, x):
        magnitude = np.abs(x)
        return magnitude + np.log1p(np.exp(-2 * magnitude)) - np.log(2.0)

    def backward(self, grad, x, out):
        # d/dx log cosh x = tanh x; written with ops that work on arrays and Tensors alike.
        return (grad * (arraylike.exp(2 * x) - 1) / (arraylike.exp(2 * x) + 1),)


@settings(max_examples=25, deadline=None)
@given(broadcastable_shapes(2).flatmap(lambda pair: arrays(pair[0]).flatmap(
    lambda a: arrays(pair[1]).map(lambda b: (a, b)))))
def test_squared_distance_gradients_on_broadcast_shapes(arrays_pair):
    a, b = (Tensor(v, requires_grad=True) for v in arrays_pair)
    assert gradcheck(SquaredDistance.apply, [a, b])
    assert gradgradcheck(SquaredDistance.apply, [a, b])


@settings(max_examples=25, deadline=None)
@given(shapes().flatmap(lambda shape: arrays(shape, min_value=-4.0, max_value=4.0)))
def test_log_cosh_gradients_and_values(values):
    x = Tensor(values, requires_grad=True)
    np.testing.assert_allclose(LogCosh.apply(x).numpy(), np.log(np.cosh(values)), atol=1e-12)
    assert gradcheck(LogCosh.apply, [x])
    assert gradgradcheck(LogCosh.apply, [x])


if __name__ == "__main__":
    test_squared_distance_gradients_on_broadcast_shapes()
    test_log_cosh_gradients_and_values()
    print("all properties hold")
