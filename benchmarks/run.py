"""Epoch times of this framework (eager and jitted) vs hand-written NumPy vs PyTorch eager, MNIST loading, peak memory.

    python benchmarks/run.py                      # the full benchmark (a few minutes)
    python benchmarks/run.py --quick              # a short version, for checking that it all works
    python benchmarks/run.py --out results.json   # also write every number as JSON
    OPENBLAS_NUM_THREADS=1 python benchmarks/run.py --clock cpu   # CPU time, one thread: for a busy machine

One process measures, one epoch after another on the same synthetic MNIST-shaped data, (a) the
framework's public API run eagerly, (j) the same training loop with its step under
``tinygrad_mnist.jit``, (b) the NumPy reference and (c) PyTorch eager when it is importable, for two
MLPs at two batch sizes and LeNet-5 at batch 100 (``--only lenet`` or ``--only mlp`` runs one kind).
All start from the same weights and see the same batches, and before anything is timed they must
compute the same training run (agreement.py: float32 weights after the first 20 steps, float64
weights after a whole epoch), or the run fails: a benchmark of wrong code is worthless. Timed epochs
are interleaved (a, j, b, c, a, j, b, c, ...) so that a change in machine load hits all alike, each
reported time is the median of the timed epochs, and each ratio the median of the per-round ratios.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import agreement, machine, memory, mnist_load, torch_reference  # noqa: E402
from benchmarks.framework_cnn import FrameworkLeNet, JittedLeNet  # noqa: E402
from benchmarks.framework_mlp import FrameworkMLP, JittedMLP  # noqa: E402
from benchmarks.numpy_cnn import NumpyLeNet  # noqa: E402
from benchmarks.numpy_reference import NumpyMLP  # noqa: E402
from benchmarks.workload import (  # noqa: E402
    ARCHITECTURES,
    CNN_ARCHITECTURES,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    Architecture,
    epoch_order,
    initial_weights,
    matmul_flops,
    synthetic_mnist,
)

BATCH_SIZES = (100, 1000)
CNN_BATCH_SIZE = 100
# Targets at batch 100 (issue 15 for the MLPs and the jitted LeNet-5, the CNN issue for the eager one):
# (numerator, denominator) -> {network: the largest ratio that meets it}.
TARGETS = {
    ("jit", "numpy"): {"784-128-10 tanh": 0.90, "784-256-128-10 relu": 0.90},
    ("jit", "torch"): {"784-128-10 tanh": 0.65, "784-256-128-10 relu": 0.75, "lenet5 relu": 1.00},
    ("framework", "numpy"): {"784-128-10 tanh": 1.15, "784-256-128-10 relu": 1.10},
    ("framework", "torch"): {"lenet5 relu": 1.50},
}
#: The ratios every cell reports (and the table shows), as (numerator, denominator).
RATIOS = (("framework", "numpy"), ("jit", "numpy"), ("jit", "torch"), ("framework", "torch"), ("jit", "framework"))
SHORT_NAMES = {"framework": "eager", "jit": "jit", "numpy": "NumPy", "torch": "PyTorch"}
TARGET_LOAD_SECONDS = 1.0
# What an epoch's time is read from (--clock).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _settle(seconds: float) -> None:
    """Let BLAS/OpenMP worker threads of the previous implementation stop spinning before the next."""
    gc.collect()
    time.sleep(seconds)


def measure_cell(arch: Architecture, batch_size: int, data, implementations: Dict[str, type],
                 epochs: int, settle: float, seed: int, clock=time.perf_counter) -> dict:
    """Check the implementations agree (see agreement.py), train each one warm-up epoch, then time
    ``epochs`` epochs each, interleaved."""
    weights = initial_weights(arch, seed=seed)
    trainers = {name: cls(weights, arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
                for name, cls in implementations.items()}
    check = agreement.check(arch, batch_size, data, implementations, seed)  # raises on a mismatch
    warmup_order = epoch_order(data, 0, seed)
    warmup_loss = {}
    for name, trainer in trainers.items():
        _settle(settle)
        warmup_loss[name] = trainer.train_epoch(warmup_order, batch_size)
    del warmup_order

    times: Dict[str, List[float]] = {name: [] for name in trainers}
    losses: Dict[str, float] = {}
    with machine.CpuWatch() as watch:
        for epoch in range(1, epochs + 1):
            order = epoch_order(data, epoch, seed)
            for name, trainer in trainers.items():
                _settle(settle)
                start = clock()
                losses[name] = trainer.train_epoch(order, batch_size)
                times[name].append(clock() - start)
            del order
    return {
        "arch": arch.name,
        "batch_size": batch_size,
        "samples": len(data.y),
        "epoch_seconds": times,
        "median_seconds": {name: statistics.median(values) for name, values in times.items()},
        "min_seconds": {name: min(values) for name, values in times.items()},
        "warmup_loss": warmup_loss,
        "last_loss": losses,
        "correctness": check,
        "other_processes_cpu_seconds": watch.others_seconds,
        "steal_seconds": watch.steal_seconds,
        "matmul_gflop": matmul_flops(arch, len(data.y)) / 1e9,
    }


def _ratio(cell: dict, numerator: str, denominator: str) -> Optional[float]:
    """The median of the per-round ratios: each round times the implementations back to back, so a
    drift in the machine's speed between rounds cancels out of the ratio."""
    times = cell["epoch_seconds"]
    if numerator not in times or denominator not in times:
        return None
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))


def ratio_name(numerator: str, denominator: str) -> str:
    """The key of a ratio in a cell's "ratios", e.g. ``jit/numpy``.

    >>> ratio_name("jit", "torch")
    'jit/torch'
    """
    return f"{numerator}/{denominator}"


def summarize(cells: List[dict], peak_gflops: float) -> None:
    """Add ratios and the FLOP floor to every cell, in place."""
    for cell in cells:
        cell["ratios"] = {ratio_name(a, b): _ratio(cell, a, b) for a, b in RATIOS}
        cell["floor_seconds"] = cell["matmul_gflop"] / peak_gflops
        cell["over_floor"] = {name: seconds / cell["floor_seconds"] for name, seconds in cell["median_seconds"].items()}


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown_table(cells: List[dict]) -> str:
    """The results as a Markdown table (seconds per epoch, medians; ratios, medians of per-round ratios)."""
    names = ("framework", "jit", "numpy", "torch")
    header = ["network", "batch"] + [f"{SHORT_NAMES[n]} s" for n in names]
    header += [f"{SHORT_NAMES[a]}/{SHORT_NAMES[b]}" for a, b in RATIOS] + ["floor s", "jit/floor", "NumPy/floor"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for cell in cells:
        medians = cell["median_seconds"]
        row = [cell["arch"], str(cell["batch_size"])] + [_fmt(medians.get(n)) for n in names]
        row += [_fmt(cell["ratios"][ratio_name(a, b)], 2) for a, b in RATIOS]
        row += [_fmt(cell["floor_seconds"]), _fmt(cell["over_floor"].get("jit"), 1), _fmt(cell["over_floor"].get("numpy"), 1)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def disturbed(cells: List[dict], spread: float = 1.5) -> List[str]:
    """Cells where some epoch took ``spread`` times the median or more: something else used the CPU."""
    lines = []
    for cell in cells:
        for name, values in cell["epoch_seconds"].items():
            median = cell["median_seconds"][name]
            if max(values) >= spread * median:
                lines.append(f"{cell['arch']}, batch {cell['batch_size']}, {name}: epochs "
                             f"{', '.join(f'{v:.2f}' for v in values)} s")
    return lines


def verdicts(cells: List[dict], loading: Optional[dict]) -> List[str]:
    """One line per target: the measured value and whether it is met (targets are for batch 100)."""
    lines = []
    for cell in cells:
        if cell["batch_size"] != 100:
            continue
        for (a, b), limits in TARGETS.items():
            value = cell["ratios"].get(ratio_name(a, b))
            if cell["arch"] not in limits or value is None:
                continue
            limit = limits[cell["arch"]]
            lines.append(f"{cell['arch']}, batch 100: {SHORT_NAMES[a]}/{SHORT_NAMES[b]} = {value:.2f} "
                         f"(target <= {limit:.2f}: {'met' if value <= limit else 'MISSED'})")
    if loading is not None:
        cold = loading["cold"]["total_s"]
        lines.append(f"MNIST gz -> float32, cold (files not in the page cache): {cold:.2f} s (target < {TARGET_LOAD_SECONDS:.1f} s: "
                     f"{'met' if cold < TARGET_LOAD_SECONDS else 'MISSED'}); warm: {loading['warm']['total_s']:.2f} s")
    return lines


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="6,000 samples, 3 timed epochs, shorter pauses: checks the benchmark, not the speed")
    parser.add_argument("--out", type=Path, help="write all results as JSON to this file")
    parser.add_argument("--epochs", type=int, help="timed epochs per cell after the warm-up (default 7, quick 3; at least 3)")
    parser.add_argument("--samples", type=int, help="synthetic training samples (default 60000, quick 6000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the weights and the batch order")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--mnist-dir", help="folder with the four MNIST .gz files (default: $TINYGRAD_MNIST_DATA, "
                                            "then ../shared/data/mnist); loading is skipped when none is found")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--only", choices=("mlp", "lenet"), help="measure only the MLPs or only LeNet-5")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES), metavar="N",
                        help=f"batch sizes of the MLP cells (default {' '.join(map(str, BATCH_SIZES))}; "
                             "the targets are for 100)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: elapsed time (the default); cpu: this process's CPU time, steadier on a busy "
                             "machine but only fair with one thread each (OPENBLAS_NUM_THREADS=1)")
    args = parser.parse_args(argv)
    args.epochs = args.epochs if args.epochs is not None else (3 if args.quick else 7)
    args.samples = args.samples if args.samples is not None else (6000 if args.quick else 60000)
    if args.epochs < 3:
        parser.error(f"--epochs must be at least 3 (a median needs them), got {args.epochs}")
    if min(args.batch_sizes) < 1:
        parser.error(f"--batch-sizes must be positive, got {args.batch_sizes}")
    if args.samples < max(args.batch_sizes):
        parser.error(f"--samples must be at least {max(args.batch_sizes)}, got {args.samples}")
    if args.clock == "cpu" and machine.blas_threads() != 1:
        parser.error("--clock cpu counts the CPU time of every thread, including threads that wait; "
                     "run it with one thread each: OPENBLAS_NUM_THREADS=1 python benchmarks/run.py --clock cpu")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine.describe()
    info["load_average_start"] = machine.load_average()
    implementations: Dict[str, type] = {"framework": FrameworkMLP, "jit": JittedMLP, "numpy": NumpyMLP}
    cnn_implementations: Dict[str, type] = {"framework": FrameworkLeNet, "jit": JittedLeNet, "numpy": NumpyLeNet}
    if torch_reference.available() and not args.no_torch:
        implementations["torch"] = torch_reference.TorchMLP
        cnn_implementations["torch"] = torch_reference.TorchLeNet
        info["torch"] = torch_reference.version()
        info["torch_threads"] = torch_reference.set_threads(info["blas_threads"])
    settle = 0.05 if args.quick else 0.25
    print(f"machine: {info['cpu_model']}, {info['cores']} cores, Python {info['python']}, NumPy {info['numpy']} "
          f"({info['blas']}, {info['blas_threads']} threads)"
          + (f", torch {info['torch']} with {info['torch_threads']} threads (set to match NumPy's BLAS)"
             if "torch" in info else ", PyTorch not measured"), flush=True)
    print(f"load average at start: {info['load_average_start']}", flush=True)

    peak = machine.matmul_gflops()
    print(f"large-matmul rate (2048x2048 float32, best of 5): {peak:.1f} GFLOP/s", flush=True)
    data = synthetic_mnist(args.samples, seed=args.seed)

    plan = []
    if args.only != "lenet":
        plan += [(arch, batch_size, implementations) for arch in ARCHITECTURES.values() for batch_size in args.batch_sizes]
    if args.only != "mlp":
        plan += [(arch, CNN_BATCH_SIZE, cnn_implementations) for arch in CNN_ARCHITECTURES.values()]
    cells = []
    for arch, batch_size, kind in plan:
        cell = measure_cell(arch, batch_size, data, kind, args.epochs, settle, args.seed, CLOCKS[args.clock])
        cells.append(cell)
        medians = ", ".join(f"{name} {seconds:.3f}s" for name, seconds in cell["median_seconds"].items())
        print(f"  {arch.name}, batch {batch_size}: {medians} (other processes used "
              f"{cell['other_processes_cpu_seconds']:.1f} CPU s meanwhile, steal {cell['steal_seconds']:.1f} s)",
              flush=True)
    del data
    summarize(cells, peak)

    loading = None
    mnist_dir = mnist_load.find_mnist_dir(args.mnist_dir)
    if mnist_dir is None:
        print("MNIST .gz files not found: loading times skipped (pass --mnist-dir)", flush=True)
    else:
        loading = mnist_load.time_loading(mnist_dir, repeats=1 if args.quick else 5)

    memory_runs = []
    if not args.skip_memory:
        for arch, _, _ in plan:
            if arch.name not in {run["arch"] for run in memory_runs}:
                memory_runs.append(memory.measure(arch.name, 100, 5, args.samples, args.seed))
    info["load_average_end"] = machine.load_average()

    print()
    print(markdown_table(cells))
    print()
    print(f"seconds ({args.clock} clock): median of {args.epochs} epochs; ratios: median of the per-round ratios "
          f"(epochs interleaved); eager = the framework's public API, jit = the same loop with its step under "
          f"tinygrad_mnist.jit; floor = matmul FLOPs of the epoch / {peak:.1f} GFLOP/s")
    for line in verdicts(cells, loading):
        print(line)
    noisy = disturbed(cells)
    if noisy:
        print("WARNING: some epochs took 1.5x their median or more; the machine was busy, rerun when it is quiet:")
        for line in noisy:
            print(f"  {line}")
    if loading is not None:
        for label in ("cold", "warm"):
            part = loading[label]
            print(f"MNIST {label}: load_mnist {part['load_s']:.3f} s + prepare {part['prepare_s']:.3f} s "
                  f"= {part['total_s']:.3f} s (median of {loading['repeats'] * (1 if label == 'cold' else 2)}, "
                  f"fastest {part['total_s_min']:.3f} s; each in a new process)")
    for run in memory_runs:
        rss = ", ".join(f"{kib / 1024:.1f}" for kib in run["rss_after_epoch_kib"])
        print(f"memory {run['arch']}, batch {run['batch_size']}, {run['epochs']} epochs: RSS before training "
              f"{run['rss_before_training_kib'] / 1024:.1f} MiB, after each epoch [{rss}] MiB, peak during training "
              f"{run['training_peak_kib'] / 1024:.1f} MiB (VmHWM)")
    print(f"load average: start {info['load_average_start']}, end {info['load_average_end']}")

    if args.out is not None:
        results = {
            "machine": info,
            "settings": {"quick": args.quick, "samples": args.samples, "epochs": args.epochs, "seed": args.seed,
                         "clock": args.clock,
                         "lr": LEARNING_RATE, "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY,
                         "batch_sizes": list(args.batch_sizes),
                         "float32_prefix_steps": {arch.name: agreement.float32_prefix_steps(arch) for arch, _, _ in plan},
                         "float32_tolerance": agreement.FLOAT32_TOLERANCE,
                         "float64_tolerance": agreement.FLOAT64_TOLERANCE},
            "peak_matmul_gflops": peak,
            "cells": cells,
            "loading": loading,
            "memory": memory_runs,
            "verdicts": verdicts(cells, loading),
            "disturbed": disturbed(cells),
        }
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except agreement.CorrectnessError as error:
        print(f"benchmark aborted: {error}", file=sys.stderr)
        sys.exit(1)
