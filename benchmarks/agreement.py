"""The benchmark's correctness gate: all implementations must compute the same training run.

Two checks, because one epoch of these MLPs at lr 0.1 and momentum 0.9 is chaotic: float32 rounding
differences of 1e-7 grow to tens of percent of the weights over 600 steps of the 784-256-128-10 ReLU
MLP (PyTorch drifts from the NumPy reference exactly as far, and real MNIST does the same), so
comparing float32 weights after a whole epoch cannot tell a bug from rounding. Instead:

* float32, the first steps of the epoch (``PREFIX_STEPS``, or the architecture's
  ``float32_prefix_steps``): weights agree to ``FLOAT32_TOLERANCE``;
* float64, the whole epoch: the same run with every array in float64, where rounding (1e-16) stays
  far below ``FLOAT64_TOLERANCE`` even after the same amplification, so a mistake of any size that
  accumulates over an epoch (a weight decay or momentum term slightly off) is caught.

>>> from benchmarks.numpy_reference import NumpyMLP
>>> from benchmarks.workload import ARCHITECTURES, synthetic_mnist
>>> report = check(ARCHITECTURES["784-128-10 tanh"], 100, synthetic_mnist(500), {"numpy": NumpyMLP}, seed=0)
>>> sorted(report)
[]
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from benchmarks.workload import (
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    Architecture,
    Dataset,
    Weights,
    epoch_order,
    initial_weights,
)

PREFIX_STEPS = 20
# After 20 steps float32 rounding differences are ~1e-6 of the weights' scale; a wrong gradient or
# update moves them by 1e-3 or more.
FLOAT32_TOLERANCE = 1e-4
# After a whole float64 epoch rounding differences are ~1e-9 even where float32 ones reach 0.4.
FLOAT64_TOLERANCE = 1e-6
REFERENCE = "numpy"


class CorrectnessError(AssertionError):
    """The implementations disagree: timing them would compare different computations."""


def weight_difference(weights: Weights, reference: Weights) -> float:
    """The largest |difference| of any parameter, relative to that parameter's largest |value|.

    >>> w = [(np.ones((2, 2), np.float32), np.zeros(2, np.float32))]
    >>> weight_difference(w, w)
    0.0
    """
    worst = 0.0
    for pair, reference_pair in zip(weights, reference):
        for array, ref in zip(pair, reference_pair):
            if array.shape != ref.shape or array.dtype != ref.dtype:
                raise CorrectnessError(f"parameter {array.dtype}{array.shape} vs reference {ref.dtype}{ref.shape}")
            scale = max(float(np.max(np.abs(ref))), 1e-12)
            worst = max(worst, float(np.max(np.abs(array.astype(np.float64) - ref))) / scale)
    return worst


def float32_prefix_steps(arch) -> int:
    """How many float32 steps the first check compares: the architecture's own number, else PREFIX_STEPS.

    >>> from benchmarks.workload import ARCHITECTURES, CNN_ARCHITECTURES
    >>> float32_prefix_steps(ARCHITECTURES["784-128-10 tanh"]), float32_prefix_steps(CNN_ARCHITECTURES["lenet5 relu"])
    (20, 5)
    """
    return getattr(arch, "float32_prefix_steps", PREFIX_STEPS)


def _train_all(implementations: Dict[str, type], arch: Architecture, weights: Weights, data: Dataset,
               batch_size: int) -> Dict[str, tuple]:
    results = {}
    for name, cls in implementations.items():
        trainer = cls(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
        loss = trainer.train_epoch(data, batch_size)
        results[name] = (loss, trainer.weights())
    return results


def _compare(results: Dict[str, tuple], tolerance: float, what: str, context: str) -> Dict[str, float]:
    reference_loss, reference_weights = results[REFERENCE]
    differences = {}
    for name, (loss, weights) in results.items():
        if name == REFERENCE:
            continue
        difference = weight_difference(weights, reference_weights)
        differences[name] = difference
        if not (np.isfinite(loss) and difference <= tolerance):
            raise CorrectnessError(
                f"{context}: {name} disagrees with the NumPy reference after {what} (largest weight difference "
                f"{difference:.2e} of the weights' scale, tolerance {tolerance:.0e}; loss {loss} vs {reference_loss})"
            )
    return differences


def check(arch: Architecture, batch_size: int, data: Dataset, implementations: Dict[str, type], seed: int) -> dict:
    """Run both checks for every implementation against ``implementations["numpy"]``; raise on a mismatch.

    Returns {implementation: {"float32_prefix": difference, "float64_epoch": difference}}.
    """
    if REFERENCE not in implementations:
        raise ValueError(f"the agreement check needs the {REFERENCE!r} reference implementation")
    context = f"{arch.name}, batch {batch_size}"
    weights = initial_weights(arch, seed=seed)
    order = epoch_order(data, 0, seed)
    prefix = min(len(order.y), float32_prefix_steps(arch) * batch_size)
    prefix_data = Dataset(order.x[:prefix], order.y[:prefix])
    float32 = _compare(_train_all(implementations, arch, weights, prefix_data, batch_size), FLOAT32_TOLERANCE,
                       f"{prefix // batch_size} float32 steps", context)
    weights64 = [(w.astype(np.float64), b.astype(np.float64)) for w, b in weights]
    data64 = Dataset(order.x.astype(np.float64), order.y)
    float64 = _compare(_train_all(implementations, arch, weights64, data64, batch_size), FLOAT64_TOLERANCE,
                       "a float64 epoch", context)
    return {name: {"float32_prefix": float32[name], "float64_epoch": float64[name]} for name in float32}
