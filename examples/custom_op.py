"""Writing your own differentiable op: a ``Function`` subclass with forward and backward.

``forward`` works on NumPy arrays. ``backward(grad, *inputs, out)`` returns one gradient per input.
Written with ordinary operators, the same rule runs on arrays for first-order gradients and on Tensors
under ``create_graph=True``, so second derivatives work too. ``gradcheck`` and ``gradgradcheck``
verify both against finite differences.

Run: python examples/custom_op.py
"""
import numpy as np

from tinygrad_mnist import Function, Tensor
from tinygrad_mnist.testing import gradcheck, gradgradcheck


class SoftClip(Function):
    """soft_clip(x) = x / (1 + |x|): a smooth squashing function with derivative 1 / (1 + |x|)^2."""

    def forward(self, x):
        return x / (1 + np.abs(x))

    def backward(self, grad, x, out):
        # `x` is an ndarray in first-order mode and a Tensor under create_graph=True; `abs(x)` and the
        # operators work on both, so this one rule also gives correct second derivatives.
        return (grad / ((1 + abs(x)) ** 2),)


def soft_clip(x: Tensor) -> Tensor:
    """Apply SoftClip. >>> soft_clip(Tensor([1.0])).item()  ->  0.5"""
    return SoftClip.apply(x)


def main() -> None:
    x = Tensor(np.array([-2.0, -0.5, 0.3, 4.0]), requires_grad=True)
    y = soft_clip(x)
    y.sum().backward()
    print("soft_clip(x) =", y.numpy().round(4).tolist())
    print("gradient     =", x.grad.numpy().round(4).tolist())
    inputs = [Tensor(np.random.default_rng(0).uniform(0.1, 2.0, size=(3, 4)), requires_grad=True)]
    print("gradcheck:", gradcheck(soft_clip, inputs))
    print("gradgradcheck:", gradgradcheck(soft_clip, inputs))


if __name__ == "__main__":
    main()
