"""Per-call overhead of tiny ops, where the arithmetic is nothing and the bookkeeping is everything.

    python benchmarks/overhead.py            # microseconds per call, median of 7 repeats
    python benchmarks/overhead.py --quick    # 3 repeats of shorter loops

Each case runs forward (recording the graph) and backward of a tiny computation, in this framework
and in PyTorch eager when it is importable; the 2-layer MLP on a batch of 1 also runs as a whole
training step and as the hand-written NumPy step, which is the cost of the Python alone. One large
matmul, run by all three, shows whether their BLAS differ.
Gradients are reset to None in every call in both frameworks, so no case measures accumulation.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygrad_mnist import Tensor, nn, optim  # noqa: E402

from benchmarks import machine, torch_reference  # noqa: E402
from benchmarks.framework_mlp import build_model  # noqa: E402
from benchmarks.numpy_reference import NumpyMLP  # noqa: E402
from benchmarks.workload import (  # noqa: E402
    ARCHITECTURES,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    initial_weights,
    synthetic_mnist,
)

MLP_NAME = "784-128-10 tanh"
# The largest matmul of the benchmark's ReLU MLP (its first layer at batch 100): each column's BLAS
# on it, so that per-op overhead is not mistaken for a slower or faster matmul.
MATMUL_CASE = "matmul (100, 784) @ (784, 256) float32, no graph"


def matmul_operands():
    """The fixed float32 operands of MATMUL_CASE."""
    rng = np.random.default_rng(0)
    return rng.random((100, 784), dtype=np.float32), rng.random((784, 256), dtype=np.float32)


def microseconds_per_call(fn: Callable[[], object], repeats: int, min_seconds: float) -> float:
    """Median over ``repeats`` of the mean time of one call, in microseconds.

    >>> microseconds_per_call(lambda: None, repeats=3, min_seconds=0.001) < 100
    True
    """
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < min_seconds:  # grow the loop until a repeat is long enough to time
        number *= 2
    return statistics.median(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def _named_cases(add_forward, add_forward_backward, mlp_forward_backward, mlp_train_step, matmul):
    """The cases under their row names: one place for the names, which join the columns of the table."""
    return {
        "add (1,)+(1,): forward": add_forward,
        "add (1,)+(1,): forward+backward": add_forward_backward,
        f"MLP {MLP_NAME}, batch 1: forward+backward": mlp_forward_backward,
        f"MLP {MLP_NAME}, batch 1: train step": mlp_train_step,
        MATMUL_CASE: matmul,
    }


def framework_cases() -> Dict[str, Callable[[], object]]:
    """The tiny computations written with this framework's public API."""
    x = Tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    y = Tensor(np.array([2.0], dtype=np.float32), requires_grad=True)

    def add_forward():
        return x + y

    def add_forward_backward():
        x.grad = y.grad = None
        (x + y).backward()

    arch = ARCHITECTURES[MLP_NAME]
    model = build_model(initial_weights(arch), arch.activation)
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    sample = synthetic_mnist(1)
    image, label = sample.x, sample.y

    def mlp_forward_backward():
        optimizer.zero_grad()
        loss_fn(model(Tensor(image)), label).backward()

    def mlp_train_step():
        loss = loss_fn(model(Tensor(image)), label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    a, b = (Tensor(array) for array in matmul_operands())
    return _named_cases(add_forward, add_forward_backward, mlp_forward_backward, mlp_train_step, lambda: a @ b)


def torch_cases() -> Dict[str, Callable[[], object]]:
    """The same computations in PyTorch eager."""
    import torch

    x = torch.tensor([1.0], requires_grad=True)
    y = torch.tensor([2.0], requires_grad=True)

    def add_forward():
        return x + y

    def add_forward_backward():
        x.grad = y.grad = None
        (x + y).backward()

    arch = ARCHITECTURES[MLP_NAME]
    trainer = torch_reference.TorchMLP(initial_weights(arch), arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    model, loss_fn, optimizer = trainer.model, trainer.loss_fn, trainer.optimizer
    sample = synthetic_mnist(1)
    image, label = torch.from_numpy(sample.x), torch.from_numpy(sample.y)

    def mlp_forward_backward():
        optimizer.zero_grad()
        loss_fn(model(image), label).backward()

    def mlp_train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(image), label)
        loss.backward()
        optimizer.step()

    a, b = (torch.from_numpy(array) for array in matmul_operands())
    return _named_cases(add_forward, add_forward_backward, mlp_forward_backward, mlp_train_step, lambda: a @ b)


def numpy_cases() -> Dict[str, Callable[[], object]]:
    """The hand-written NumPy training step (forward, backward and update in one), and the matmul."""
    arch = ARCHITECTURES[MLP_NAME]
    reference = NumpyMLP(initial_weights(arch), arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    sample = synthetic_mnist(1)
    a, b = matmul_operands()
    return {f"MLP {MLP_NAME}, batch 1: train step": lambda: reference.train_step(sample.x, sample.y),
            MATMUL_CASE: lambda: a @ b}


def measure(repeats: int, min_seconds: float, use_torch: bool) -> List[dict]:
    """Rows of {case, framework_us, torch_us, numpy_us} (None where a column does not apply)."""
    columns = {"framework": framework_cases(), "numpy": numpy_cases()}
    if use_torch:
        torch_reference.set_threads(machine.blas_threads())
        columns["torch"] = torch_cases()
    rows = []
    for case in columns["framework"]:
        row: Dict[str, Optional[float]] = {"case": case}
        for name, cases in columns.items():
            row[f"{name}_us"] = microseconds_per_call(cases[case], repeats, min_seconds) if case in cases else None
        rows.append(row)
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The rows as Markdown, with the framework/PyTorch ratio."""
    def cell(value: Optional[float]) -> str:
        return "—" if value is None else f"{value:.1f}"

    lines = ["| case | framework µs | PyTorch µs | framework/PyTorch | NumPy by hand µs |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        ratio = None if row.get("torch_us") is None else row["framework_us"] / row["torch_us"]
        lines.append(f"| {row['case']} | {cell(row['framework_us'])} | {cell(row.get('torch_us'))} | "
                     f"{'—' if ratio is None else f'{ratio:.2f}'} | {cell(row.get('numpy_us'))} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repeats of ~20 ms instead of 7 of ~200 ms")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--out", type=Path, help="write the rows as JSON to this file")
    args = parser.parse_args(argv)
    use_torch = torch_reference.available() and not args.no_torch
    rows = measure(3 if args.quick else 7, 0.02 if args.quick else 0.2, use_torch)
    print(markdown_table(rows))
    print(f"(median of {3 if args.quick else 7} repeats; load average {machine.load_average()})")
    if args.out is not None:
        args.out.write_text(json.dumps({"rows": rows, "load_average": machine.load_average()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
