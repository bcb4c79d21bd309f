"""How long full MNIST takes from the four .gz files to float32 arrays, cold and warm.

Every load decompresses and sha256-verifies the four files (nothing is cached), then converts to
float32. Cold: the .gz files are first dropped from the OS page cache (``posix_fadvise`` DONTNEED,
which needs no privileges for files nobody is writing), so they are read from the disk as after a
reboot. Warm: the files are in the page cache, as on every later run. Every load runs in a new
interpreter, as a training run starts (the interpreter's start and imports are not counted): a
process that already used and freed a few hundred MB would get that memory back without page faults
and look faster than a user ever sees.

    python benchmarks/mnist_load.py             # cold and warm medians, as JSON
    python benchmarks/mnist_load.py --once      # one load, as JSON (what time_loading runs)

>>> folder = find_mnist_dir()
>>> folder is None or (folder / "train-images-idx3-ubyte.gz").exists()
True
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygrad_mnist.data import load_mnist, prepare  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def find_mnist_dir(explicit: Optional[str] = None) -> Optional[Path]:
    """The folder with the four .gz files: ``explicit``, $TINYGRAD_MNIST_DATA, or ../shared/data/mnist."""
    candidates = [explicit, os.environ.get("TINYGRAD_MNIST_DATA"), str(REPO_ROOT.parent / "shared" / "data" / "mnist")]
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in FILES):
            return Path(candidate)
    return None


def load_once(data_dir: Path) -> Dict[str, float]:
    """Time one load_mnist + prepare in this process (seconds)."""
    start = time.perf_counter()
    mnist = load_mnist(data_dir, download=False, progress=False)
    loaded = time.perf_counter()
    splits = prepare(mnist, normalize="scale", dtype=np.float32, flatten=True)
    done = time.perf_counter()
    if splits.x_train.shape != (60000, 784) or splits.x_train.dtype != np.float32:
        raise RuntimeError(f"unexpected training images {splits.x_train.shape} {splits.x_train.dtype}")
    return {"load_s": loaded - start, "prepare_s": done - loaded, "total_s": done - start}


def drop_from_page_cache(data_dir: Path) -> bool:
    """Ask the OS to forget the cached pages of the four files; False where that is not possible.

    >>> drop_from_page_cache(Path("no-such-folder"))
    False
    """
    if not hasattr(os, "posix_fadvise"):
        return False
    try:
        for name in FILES:
            with open(data_dir / name, "rb") as handle:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        return False
    return True


def _load_in_new_process(data_dir: Path) -> Dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--data-dir", str(data_dir), "--once"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"MNIST load worker failed ({finished.returncode}):\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _median(runs, key: str) -> float:
    return statistics.median(run[key] for run in runs)


def time_loading(data_dir: Path, repeats: int = 3) -> Dict[str, object]:
    """Median cold and warm times (seconds) of load_mnist + prepare(float32, flattened), and the fastest.

    The fastest is reported too because fresh memory is sometimes expensive to touch on a virtual
    machine (the host may have reclaimed the guest's free pages), which only the slow runs pay.
    ``cold_from_disk`` says whether the files could really be dropped from the page cache.
    """
    cold, warm = [], []
    dropped = True
    for _ in range(repeats):
        dropped = drop_from_page_cache(data_dir) and dropped
        cold.append(_load_in_new_process(data_dir))
        warm.append(_load_in_new_process(data_dir))
        warm.append(_load_in_new_process(data_dir))
    result: Dict[str, object] = {"data_dir": str(data_dir), "repeats": repeats, "cold_from_disk": dropped}
    for label, runs in (("cold", cold), ("warm", warm)):
        result[label] = {key: _median(runs, key) for key in ("load_s", "prepare_s", "total_s")}
        result[label]["total_s_min"] = min(run["total_s"] for run in runs)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Time loading MNIST (gz -> float32) and print it as JSON.")
    parser.add_argument("--data-dir", help="folder with the four .gz files (default: see find_mnist_dir)")
    parser.add_argument("--once", action="store_true", help="time one load in this process")
    parser.add_argument("--repeats", type=int, default=3, help="cold loads to time (and twice as many warm ones)")
    args = parser.parse_args(argv)
    data_dir = find_mnist_dir(args.data_dir)
    if data_dir is None:
        raise SystemExit("MNIST .gz files not found: pass --data-dir or set TINYGRAD_MNIST_DATA")
    result = load_once(data_dir) if args.once else time_loading(data_dir, args.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
