"""What every implementation in the benchmark trains on: data, architectures, initial weights, order.

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

IMAGE_SIZE = 784
CLASSES = 10
LEARNING_RATE = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4

Weights = List[Tuple[np.ndarray, np.ndarray]]  # one (weight (in, out), bias (out,)) per Linear layer


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


def initial_weights(arch: Architecture, seed: int = 0) -> Weights:
    """float32 weights in the (in, out) layout: Glorot uniform for tanh, He normal for ReLU; zero biases."""
    rng = np.random.default_rng(seed)
    weights: Weights = []
    for fan_in, fan_out in zip(arch.widths[:-1], arch.widths[1:]):
        if arch.activation == "tanh":
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        else:
            w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        weights.append((w.astype(np.float32), np.zeros(fan_out, dtype=np.float32)))
    return weights


def epoch_order(data: Dataset, epoch: int, seed: int = 0) -> Dataset:
    """The data shuffled for one epoch, as contiguous copies: batches are then free slices (views).

    Shuffling happens outside the timed region so the timings measure training, not data movement.
    """
    perm = np.random.default_rng((seed, epoch)).permutation(len(data.y))
    return Dataset(np.ascontiguousarray(data.x[perm]), data.y[perm])


def matmul_flops(arch: Architecture, n: int) -> int:
    """Floating-point operations of the matmuls of one epoch over n samples, forward and backward.

    Per layer of shape (i, o): forward 2*n*i*o, weight gradient 2*n*i*o, and the gradient to the
    layer's input 2*n*i*o for every layer but the first (the images need no gradient).
    """
    total = 0
    for index, (fan_in, fan_out) in enumerate(zip(arch.widths[:-1], arch.widths[1:])):
        per_product = 2 * n * fan_in * fan_out
        total += per_product * (2 if index == 0 else 3)
    return total
