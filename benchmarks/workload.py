"""What every implementation in the benchmark trains on: data, architectures, initial weights, order.

Two kinds of network: the MLPs of ``ARCHITECTURES`` and LeNet-5 (``CNN_ARCHITECTURES``).

Everything here is deterministic in a seed, so the framework, the NumPy reference and PyTorch see
bit-identical inputs, start from bit-identical weights and visit the batches in the same order.

>>> data = synthetic_mnist(200, seed=0)
>>> data.x.shape, data.x.dtype, data.y.dtype
((200, 784), dtype('float32'), dtype('int64'))
>>> [w.shape for w, _ in initial_weights(ARCHITECTURES["784-128-10 tanh"], seed=0)]
[(784, 128), (128, 10)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

IMAGE_SIDE = 28
IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE
CLASSES = 10
LEARNING_RATE = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4

# One (weight, bias) pair per layer: a Linear weight is (in, out), a convolution's (out, in, KH, KW).
Weights = List[Tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Architecture:
    """An MLP: layer widths from input to output and the hidden activation ("tanh" or "relu")."""

    widths: Tuple[int, ...]
    activation: str

    @property
    def hidden(self) -> List[int]:
        return list(self.widths[1:-1])

    @property
    def name(self) -> str:
        return "-".join(str(w) for w in self.widths) + f" {self.activation}"


ARCHITECTURES: Dict[str, Architecture] = {
    arch.name: arch
    for arch in (Architecture((IMAGE_SIZE, 128, CLASSES), "tanh"), Architecture((IMAGE_SIZE, 256, 128, CLASSES), "relu"))
}


@dataclass(frozen=True)
class LeNetArchitecture:
    """LeNet-5 on 28x28 images (N, 784 reshaped to N, 1, 28, 28): conv 6@5x5 padding 2 -> activation ->
    max pool 2 -> conv 16@5x5 -> activation -> max pool 2 -> 400 -> 120 -> 84 -> 10, activations between
    the Linear layers too."""

    activation: str

    #: (out_channels, in_channels, kernel, padding) of the two convolutions, then the Linear widths.
    convolutions = ((6, 1, 5, 2), (16, 6, 5, 0))
    widths = (16 * 5 * 5, 120, 84, CLASSES)
    #: How many float32 steps agreement.py compares (the MLPs: 20). Early LeNet training at lr 0.1 is
    #: chaotic sooner: weights perturbed by 1e-7 of their scale made the NumPy reference move 3.6e-7
    #: after 5 and 10 steps but 9.0e-4 after 20 (seed 0, 20,000 samples), and PyTorch on one thread,
    #: whose convolutions round differently, drifted as far; 5 steps stay clear of it.
    float32_prefix_steps = 5

    @property
    def name(self) -> str:
        return f"lenet5 {self.activation}"


CNN_ARCHITECTURES: Dict[str, LeNetArchitecture] = {arch.name: arch for arch in (LeNetArchitecture("relu"),)}


@dataclass(frozen=True)
class Dataset:
    """Images (N, 784) float32 in [0, 1] and labels (N,) int64."""

    x: np.ndarray
    y: np.ndarray


def synthetic_mnist(n: int, seed: int = 0, chunk: int = 10_000, label_noise: float = 0.1) -> Dataset:
    """MNIST-shaped data that is learnable but never perfectly: class-dependent sparse images, noisy labels.

    Each class has its own random ~20% of "stroke" pixels, lit with probability 0.6, while any other
    pixel is lit with probability 0.08, at a uniform intensity; a ``label_noise`` fraction of the
    labels is then redrawn at random, so the loss stays near real MNIST's first-epoch values instead
    of collapsing to ~0 (where softmax gradients would underflow towards subnormal floats and the
    benchmark would time an unusual corner). Sparse images also keep SGD at lr 0.1 and momentum 0.9
    stable, as on real MNIST; dense uniform noise would make the input's mean direction dominate.
    Built in chunks so the float32 array is the only large allocation.
    """
    rng = np.random.default_rng(seed)
    strokes = rng.random((CLASSES, IMAGE_SIZE)) < 0.2
    classes = rng.integers(0, CLASSES, size=n, dtype=np.int64)
    x = np.empty((n, IMAGE_SIZE), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        chance = np.where(strokes[classes[start:stop]], np.float32(0.6), np.float32(0.08))
        lit = rng.random((stop - start, IMAGE_SIZE), dtype=np.float32) < chance
        x[start:stop] = rng.random((stop - start, IMAGE_SIZE), dtype=np.float32) * lit
    relabel = rng.random(n) < label_noise
    y = np.where(relabel, rng.integers(0, CLASSES, size=n, dtype=np.int64), classes)
    return Dataset(x, y)


def initial_weights(arch, seed: int = 0) -> Weights:
    """float32 weights: for an MLP in the (in, out) layout, Glorot uniform for tanh, He normal for ReLU,
    zero biases; for LeNet-5 PyTorch's default init (see ``lenet_weights``)."""
    rng = np.random.default_rng(seed)
    if isinstance(arch, LeNetArchitecture):
        return lenet_weights(arch, rng)
    weights: Weights = []
    for fan_in, fan_out in zip(arch.widths[:-1], arch.widths[1:]):
        if arch.activation == "tanh":
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        else:
            w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        weights.append((w.astype(np.float32), np.zeros(fan_out, dtype=np.float32)))
    return weights


def lenet_weights(arch: LeNetArchitecture, rng: np.random.Generator) -> Weights:
    """PyTorch's default init for every layer: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    >>> [w.shape for w, _ in lenet_weights(CNN_ARCHITECTURES["lenet5 relu"], np.random.default_rng(0))]
    [(6, 1, 5, 5), (16, 6, 5, 5), (400, 120), (120, 84), (84, 10)]
    """
    shapes = [((out, inp, k, k), inp * k * k) for out, inp, k, _ in arch.convolutions]
    shapes += [((fan_in, fan_out), fan_in) for fan_in, fan_out in zip(arch.widths[:-1], arch.widths[1:])]
    weights: Weights = []
    for shape, fan_in in shapes:
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        b = rng.uniform(-bound, bound, size=shape[0] if len(shape) == 4 else shape[1]).astype(np.float32)
        weights.append((w, b))
    return weights


def epoch_order(data: Dataset, epoch: int, seed: int = 0) -> Dataset:
    """The data shuffled for one epoch, as contiguous copies: batches are then free slices (views).

    Shuffling happens outside the timed region so the timings measure training, not data movement.
    """
    perm = np.random.default_rng((seed, epoch)).permutation(len(data.y))
    return Dataset(np.ascontiguousarray(data.x[perm]), data.y[perm])


def matmul_flops(arch, n: int) -> int:
    """Floating-point operations of the matmuls of one epoch over n samples, forward and backward.

    Per layer of shape (i, o): forward 2*n*i*o, weight gradient 2*n*i*o, and the gradient to the
    layer's input 2*n*i*o for every layer but the first (the images need no gradient). A convolution
    counts as such a layer applied at each of its output positions (i = C*KH*KW, o = out channels).

    >>> matmul_flops(CNN_ARCHITECTURES["lenet5 relu"], 1)
    2263920
    """
    total = 0
    if isinstance(arch, LeNetArchitecture):
        side = IMAGE_SIDE
        for index, (out, inp, k, padding) in enumerate(arch.convolutions):
            side = side + 2 * padding - k + 1  # the convolution's output side; each pool halves it after
            total += 2 * n * side * side * inp * k * k * out * (2 if index == 0 else 3)
            side //= 2
        return total + sum(2 * n * i * o * 3 for i, o in zip(arch.widths[:-1], arch.widths[1:]))
    for index, (fan_in, fan_out) in enumerate(zip(arch.widths[:-1], arch.widths[1:])):
        per_product = 2 * n * fan_in * fan_out
        total += per_product * (2 if index == 0 else 3)
    return total
