"""What one training step costs the framework (eager and jitted) beyond hand-written NumPy and beyond
its matrix products alone, in CPU time.

    python benchmarks/step_overhead.py                          # both MLPs at batch 100, and a tiny MLP
    OPENBLAS_NUM_THREADS=1 python benchmarks/step_overhead.py   # steadier: one BLAS thread

Epoch times (run.py) on this virtual machine drift by tens of percent within minutes. For judging a
change to the framework, this script measures steadier numbers: CPU time of the process (not wall
time), many short rounds of 50 steps with (a) and (b) interleaved, and the lower quartile of the
rounds, which sheds the rounds a busy host slowed down. With one BLAS thread the CPU time is the
work done; with more, BLAS threads that wait by spinning add to it, so compare ratios from runs
with the same thread count.

It also splits the eager step into its phases (model forward, loss forward, ``backward()``,
``SGD.step``), times the jitted step (``jit_us``) and the same step's matrix products alone
(``matmuls_us``: every product a step of that MLP needs, on arrays of its shapes; what no
implementation can do without), and times a tiny MLP (8-4-3 on batches of 4), where arithmetic is
negligible and the eager step is almost all fixed cost: the graph's price per step, whatever the batch.

>>> rows = measure([Architecture((8, 4, 3), "tanh")], batch_size=4, rounds=2, steps=5)
>>> sorted(rows[0]), sorted(rows[0]["phases_us"])
(['arch', 'batch_size', 'framework_us', 'jit_us', 'matmuls_us', 'numpy_us', 'phases_us', 'ratio'], ['backward', 'loss', 'model', 'step'])
>>> abs(rows[0]["ratio"] - rows[0]["framework_us"] / rows[0]["numpy_us"]) < 1e-9
True
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Dict, List

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.framework_mlp import FrameworkMLP, JittedMLP  # noqa: E402
from benchmarks.numpy_reference import NumpyMLP  # noqa: E402
from benchmarks import workload  # noqa: E402
from benchmarks.workload import Architecture, Dataset  # noqa: E402
from tinygrad_mnist import Tensor  # noqa: E402

PHASES = ("model", "loss", "backward", "step")


def _data(arch: Architecture, samples: int) -> Dataset:
    if arch.widths[0] == 784 and arch.widths[-1] == 10:
        return workload.epoch_order(workload.synthetic_mnist(samples), 1)
    rng = np.random.default_rng(0)
    return Dataset(rng.random((samples, arch.widths[0]), dtype=np.float32),
                   rng.integers(0, arch.widths[-1], samples))


def _lower_quartile(values: List[float]) -> float:
    return sorted(values)[len(values) // 4]


def _phase_times(trainer: FrameworkMLP, data: Dataset, batch_size: int, steps: int) -> Dict[str, float]:
    """CPU seconds per phase over ``steps`` steps of the framework's public API."""
    model, loss_fn, optimizer = trainer.model, trainer.loss_fn, trainer.optimizer
    clock = time.process_time
    totals = dict.fromkeys(PHASES, 0.0)
    for start in range(0, steps * batch_size, batch_size):
        t0 = clock()
        logits = model(Tensor(data.x[start:start + batch_size]))
        t1 = clock()
        loss = loss_fn(logits, data.y[start:start + batch_size])
        t2 = clock()
        optimizer.zero_grad()
        loss.backward()
        t3 = clock()
        optimizer.step()
        t4 = clock()
        loss.item()
        for name, spent in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            totals[name] += spent
    return totals


class MatmulsOnly:
    """The matrix products of one training step of an MLP and nothing else: for every layer the
    forward product and the weight gradient, and the input gradient for every layer but the first."""

    def __init__(self, weights, activation: str, *settings):
        self.weights = [w for w, _ in weights]

    def train_epoch(self, data: Dataset, batch_size: int) -> None:
        """The products of every step of an epoch, on the batches' shapes."""
        for start in range(0, len(data.y), batch_size):
            h = data.x[start:start + batch_size]
            inputs = []
            for w in self.weights:
                inputs.append(h)
                h = h @ w
            delta = h
            for layer in range(len(self.weights) - 1, -1, -1):
                inputs[layer].T @ delta
                if layer > 0:
                    delta = delta @ self.weights[layer].T


def measure(archs: List[Architecture], batch_size: int, rounds: int = 40, steps: int = 50) -> List[dict]:
    """Per-step CPU time of (a), the jitted (a), (b) and the matmuls alone, interleaved over
    ``rounds`` rounds of ``steps`` steps each."""
    rows = []
    for arch in archs:
        data = _data(arch, steps * batch_size)
        weights = workload.initial_weights(arch)
        settings = (workload.LEARNING_RATE, workload.MOMENTUM, workload.WEIGHT_DECAY)
        trainers = {"framework": FrameworkMLP(weights, arch.activation, *settings),
                    "jit": JittedMLP(weights, arch.activation, *settings),
                    "numpy": NumpyMLP(weights, arch.activation, *settings),
                    "matmuls": MatmulsOnly(weights, arch.activation, *settings)}
        for trainer in trainers.values():
            trainer.train_epoch(data, batch_size)  # warm-up
        times: Dict[str, List[float]] = {name: [] for name in trainers}
        phases: Dict[str, List[float]] = {name: [] for name in PHASES}
        gc.collect()
        for _ in range(rounds):
            for name, trainer in trainers.items():
                start = time.process_time()
                trainer.train_epoch(data, batch_size)
                times[name].append(time.process_time() - start)
            for name, spent in _phase_times(trainers["framework"], data, batch_size, steps).items():
                phases[name].append(spent)
        framework, jitted, numpy, matmuls = (_lower_quartile(times[name]) / steps
                                             for name in ("framework", "jit", "numpy", "matmuls"))
        rows.append({
            "arch": arch.name,
            "batch_size": batch_size,
            "framework_us": framework * 1e6,
            "jit_us": jitted * 1e6,
            "numpy_us": numpy * 1e6,
            "matmuls_us": matmuls * 1e6,
            "ratio": framework / numpy,
            "phases_us": {name: _lower_quartile(values) / steps * 1e6 for name, values in phases.items()},
        })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds (default 40)")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    rows = measure(list(workload.ARCHITECTURES.values()), args.batch_size, args.rounds)
    rows += measure([Architecture((8, 4, 3), "tanh")], 4, args.rounds)
    print("| MLP | batch | eager µs/step | jit µs/step | NumPy µs/step | matmuls µs/step | eager/NumPy | jit/NumPy "
          "| jit/matmuls | NumPy/matmuls | eager phases µs: " + ", ".join(PHASES) + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        phases = ", ".join(f"{row['phases_us'][name]:.0f}" for name in PHASES)
        print(f"| {row['arch']} | {row['batch_size']} | {row['framework_us']:.0f} | {row['jit_us']:.0f} | "
              f"{row['numpy_us']:.0f} | {row['matmuls_us']:.0f} | {row['ratio']:.2f} | "
              f"{row['jit_us'] / row['numpy_us']:.2f} | {row['jit_us'] / row['matmuls_us']:.2f} | "
              f"{row['numpy_us'] / row['matmuls_us']:.2f} | {phases} |")
    print("(CPU time per step, lower quartile of interleaved rounds of 50 steps; phases timed in separate rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
