"""How long full MNIST takes from the four .gz files to float32 arrays, cold and warm.

Cold: a fresh, empty decompressed-cache folder, so every file is decompressed, verified (sha256) and
written to the cache. Warm: the same cache folder again, so the verified decompressed copies are read.
The .gz files themselves are in the OS page cache either way (they are read once beforehand): this
measures the library, not the disk.

>>> folder = find_mnist_dir()
>>> folder is None or (folder / "train-images-idx3-ubyte.gz").exists()
True
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from tinygrad_mnist.data import load_mnist, prepare

REPO_ROOT = Path(__file__).resolve().parents[1]
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def find_mnist_dir(explicit: Optional[str] = None) -> Optional[Path]:
    """The folder with the four .gz files: ``explicit``, $TINYGRAD_MNIST_DATA, or ../shared/data/mnist."""
    candidates = [explicit, os.environ.get("TINYGRAD_MNIST_DATA"), str(REPO_ROOT.parent / "shared" / "data" / "mnist")]
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in FILES):
            return Path(candidate)
    return None


def _load_once(data_dir: Path, cache_dir: str) -> Dict[str, float]:
    start = time.perf_counter()
    mnist = load_mnist(data_dir, download=False, progress=False, cache_dir=cache_dir)
    loaded = time.perf_counter()
    splits = prepare(mnist, normalize="scale", dtype=np.float32, flatten=True)
    done = time.perf_counter()
    if splits.x_train.shape != (60000, 784) or splits.x_train.dtype != np.float32:
        raise RuntimeError(f"unexpected training images {splits.x_train.shape} {splits.x_train.dtype}")
    return {"load_s": loaded - start, "prepare_s": done - loaded, "total_s": done - start}


def _median(runs, key: str) -> float:
    return statistics.median(run[key] for run in runs)


def time_loading(data_dir: Path, repeats: int = 3) -> Dict[str, object]:
    """Median cold and warm times (seconds) of load_mnist + prepare(float32, flattened)."""
    for name in FILES:  # into the page cache, so cold means "no decompressed cache", not "cold disk"
        (data_dir / name).read_bytes()
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="mnist-bench-cache-") as cache_dir:
            cold.append(_load_once(data_dir, cache_dir))
            warm.append(_load_once(data_dir, cache_dir))
            warm.append(_load_once(data_dir, cache_dir))
    result: Dict[str, object] = {"data_dir": str(data_dir), "repeats": repeats}
    for label, runs in (("cold", cold), ("warm", warm)):
        result[label] = {key: _median(runs, key) for key in ("load_s", "prepare_s", "total_s")}
    return result
