"""The matrix products of LeNet-5's convolutions (batch 100): block-wise, as ``ops/conv.py`` computes
them, against one NumPy call each.

    python benchmarks/conv_products.py              # NumPy's BLAS threads as configured
    OPENBLAS_NUM_THREADS=1 python benchmarks/conv_products.py

The operands are short and very wide (6 x 25 weights against 78,400 columns in the first layer), a
shape OpenBLAS handles poorly in one call; ``ops.conv`` splits the columns into blocks that stay in
cache. Each product is timed both ways, interleaved, and the median of the rounds is printed (ms).

>>> rows = measure(rounds=1, repeats=1)
>>> sorted(rows[0])
['blocked_ms', 'one_call_ms', 'product', 'shape']
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygrad_mnist.ops.conv import _product, _product_summed  # noqa: E402

# (out channels, C*KH*KW, OH*OW*N) of LeNet-5's two convolutions at batch 100.
LAYERS = {"conv1": (6, 25, 28 * 28 * 100), "conv2": (16, 150, 10 * 10 * 100)}


def _cases(rng: np.random.Generator) -> Dict[str, tuple]:
    cases = {}
    for name, (out, rows, columns) in LAYERS.items():
        weight = rng.standard_normal((out, rows)).astype(np.float32)
        cols = rng.standard_normal((rows, columns)).astype(np.float32)
        grad = rng.standard_normal((out, columns)).astype(np.float32)
        cases[f"{name} forward W @ cols"] = ((out, rows, columns), lambda w=weight, c=cols: w @ c,
                                             lambda w=weight, c=cols: _product(w, c))
        cases[f"{name} weight gradient g @ cols.T"] = ((out, columns, rows), lambda g=grad, c=cols: g @ c.T,
                                                       lambda g=grad, c=cols: _product_summed(g, c))
        if name != "conv1":  # the images need no gradient
            cases[f"{name} input gradient W.T @ g"] = ((rows, out, columns), lambda w=weight, g=grad: w.T @ g,
                                                       lambda w=weight, g=grad: _product(w.T, g))
    return cases


def _seconds(function: Callable[[], object], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def measure(rounds: int = 15, repeats: int = 10) -> List[dict]:
    """Median milliseconds of each product done both ways, the two timed back to back in each round."""
    rows = []
    for product, (shape, one_call, blocked) in _cases(np.random.default_rng(0)).items():
        np.testing.assert_allclose(blocked(), one_call(), rtol=1e-4, atol=1e-3)
        times = {"one_call": [], "blocked": []}
        for _ in range(rounds):
            times["one_call"].append(_seconds(one_call, repeats))
            times["blocked"].append(_seconds(blocked, repeats))
        rows.append({"product": product, "shape": "x".join(map(str, shape)),
                     "one_call_ms": statistics.median(times["one_call"]) * 1e3,
                     "blocked_ms": statistics.median(times["blocked"]) * 1e3})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    print("| product | M x K x N | one call ms | blocked ms |\n|---|---|---:|---:|")
    for row in measure(args.rounds):
        print(f"| {row['product']} | {row['shape']} | {row['one_call_ms']:.3f} | {row['blocked_ms']:.3f} |")


if __name__ == "__main__":
    main()
