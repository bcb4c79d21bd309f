"""Peak and per-epoch resident memory of training with the framework, in a fresh process.

A separate process, so the high-water mark (VmHWM) belongs to this training alone, not to PyTorch or
to the other benchmark cells. Run directly it is the worker; ``measure()`` starts it and reads its
JSON line.

    python benchmarks/memory.py --arch "784-256-128-10 relu" --batch-size 100 --epochs 5 --samples 60000
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import machine  # noqa: E402
from benchmarks.workload import (  # noqa: E402
    ARCHITECTURES,
    CNN_ARCHITECTURES,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    epoch_order,
    initial_weights,
    synthetic_mnist,
)


def measure(arch_name: str, batch_size: int, epochs: int, samples: int, seed: int = 0) -> dict:
    """Run the worker in a new interpreter and return what it measured (KiB)."""
    command = [
        sys.executable, str(Path(__file__).resolve()), "--arch", arch_name, "--batch-size", str(batch_size),
        "--epochs", str(epochs), "--samples", str(samples), "--seed", str(seed),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"memory worker failed ({finished.returncode}):\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _worker(arch_name: str, batch_size: int, epochs: int, samples: int, seed: int) -> dict:
    from benchmarks.framework_cnn import FrameworkLeNet
    from benchmarks.framework_mlp import FrameworkMLP

    arch = ARCHITECTURES.get(arch_name) or CNN_ARCHITECTURES[arch_name]
    data = synthetic_mnist(samples, seed=seed)
    trainer_class = FrameworkLeNet if arch_name in CNN_ARCHITECTURES else FrameworkMLP
    trainer = trainer_class(initial_weights(arch, seed=seed), arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    order = epoch_order(data, 0, seed)  # one order reused: the shuffled copy is not what is measured
    setup_peak = machine.peak_rss_kib()  # data generation has its own temporaries
    peak_was_reset = machine.reset_peak_rss()
    baseline = machine.current_rss_kib()
    rss_after_epoch = []
    for _ in range(epochs):
        trainer.train_epoch(order, batch_size)
        rss_after_epoch.append(machine.current_rss_kib())
    return {
        "arch": arch_name,
        "batch_size": batch_size,
        "epochs": epochs,
        "samples": samples,
        "rss_before_training_kib": baseline,
        "setup_peak_kib": setup_peak,
        "rss_after_epoch_kib": rss_after_epoch,
        # With the reset this is the peak during training alone; without, the whole process's.
        "training_peak_kib": machine.peak_rss_kib(),
        "peak_reset_supported": peak_was_reset,
        "growth_epoch1_to_last_kib": rss_after_epoch[-1] - rss_after_epoch[0],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES) + sorted(CNN_ARCHITECTURES), required=True)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(_worker(args.arch, args.batch_size, args.epochs, args.samples, args.seed)))


if __name__ == "__main__":
    main()
