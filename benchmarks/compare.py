"""Epoch times of several versions of the framework side by side: does a change pay?

    python benchmarks/compare.py HEAD~1 HEAD                  # two commits of this repository
    python benchmarks/compare.py main ../my-checkout          # a commit and a folder
    OPENBLAS_NUM_THREADS=1 python benchmarks/compare.py main HEAD --epochs 11   # steadier
    OPENBLAS_NUM_THREADS=1 python benchmarks/compare.py HEAD . --jit --clock cpu  # jitted steps, CPU time

A version is a git revision of this repository or a folder that holds a ``tinygrad_mnist``
package. Every version is loaded into this one process under a name of its own, and run.py's
``measure_cell`` trains all of them and the NumPy reference on the same batches, after the same
agreement check, with their timed epochs interleaved. Each version's figure is the median of the
per-round ratios of its epoch time to the first version's, so a change in the machine's speed hits
every version of a round alike. The training loop is ``benchmarks/framework_mlp.py``'s, with its
import pointed at the version.

>>> here = str(REPO_ROOT)
>>> rows = compare([here, here], epochs=3, samples=400, archs=["784-128-10 tanh"])
>>> [(row["version"], row["over_first"] > 0) for row in rows]
[('v0', True), ('v1', True)]
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path
from typing import Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import run  # noqa: E402
from benchmarks.numpy_reference import NumpyMLP  # noqa: E402
from benchmarks.numpy_cnn import NumpyLeNet  # noqa: E402
from benchmarks.workload import ARCHITECTURES, CNN_ARCHITECTURES, synthetic_mnist  # noqa: E402

PACKAGE = "tinygrad_mnist"


def package_folder(version: str, scratch: Path) -> Path:
    """The folder holding ``version``'s package: the folder itself, or a git revision extracted."""
    folder = Path(version)
    if (folder / PACKAGE / "__init__.py").is_file():
        return folder
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", version, PACKAGE],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"compare.py: error: {version!r} is neither a folder with {PACKAGE}/ nor a git revision "
                         f"({archive.stderr.decode().strip()})")
    target = scratch / version.replace("/", "_").replace("~", "_")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target)
    return target


def load_version(folder: Path, alias: str) -> types.ModuleType:
    """Import ``folder``'s package under the name ``alias`` (its imports are relative)."""
    spec = importlib.util.spec_from_file_location(alias, folder / PACKAGE / "__init__.py",
                                                  submodule_search_locations=[str(folder / PACKAGE)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def _benchmark_module(name: str, alias: str, names: Optional[dict] = None) -> types.ModuleType:
    """``benchmarks/<name>.py`` executed with its ``from tinygrad_mnist import`` pointed at package
    ``alias`` and its import of framework_mlp replaced by ``names``."""
    source = (REPO_ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
    source = source.replace(f"from {PACKAGE} import", f"from {alias} import")
    source = source.replace("from benchmarks.framework_mlp import FrameworkMLP, JittedMLP, load_weights", "")
    module = types.ModuleType(f"{name}_{alias}")
    module.__dict__.update(names or {})
    exec(compile(source, f"{name}[{alias}]", "exec"), module.__dict__)  # noqa: S102
    return module


def framework_class(alias: str, jitted: bool = False, lenet: bool = False) -> type:
    """framework_mlp.FrameworkMLP (``jitted``: JittedMLP; ``lenet``: framework_cnn's LeNet classes),
    its ``from tinygrad_mnist import`` pointed at package ``alias``."""
    mlp = _benchmark_module("framework_mlp", alias)
    if not lenet:
        return mlp.JittedMLP if jitted else mlp.FrameworkMLP
    names = {name: getattr(mlp, name) for name in ("FrameworkMLP", "JittedMLP", "load_weights")}
    cnn = _benchmark_module("framework_cnn", alias, names)
    return cnn.JittedLeNet if jitted else cnn.FrameworkLeNet


def compare(versions: List[str], epochs: int = 11, samples: int = 20000, batch_size: int = 100,
            seed: int = 0, archs: Optional[List[str]] = None, jitted: bool = False, clock: str = "wall") -> List[dict]:
    """One row per architecture and version: median epoch seconds, and median per-round ratios."""
    networks = {**ARCHITECTURES, **CNN_ARCHITECTURES}
    names = archs or list(ARCHITECTURES)
    kinds = {name: name in CNN_ARCHITECTURES for name in names}
    implementations: Dict[bool, Dict[str, type]] = {False: {"numpy": NumpyMLP}, True: {"numpy": NumpyLeNet}}
    with tempfile.TemporaryDirectory() as scratch:
        for index, version in enumerate(versions):
            alias = f"{PACKAGE}_v{index}"
            load_version(package_folder(version, Path(scratch)), alias)
            for lenet in set(kinds.values()):
                implementations[lenet][f"v{index}"] = framework_class(alias, jitted, lenet)
    data = synthetic_mnist(samples, seed=seed)
    rows = []
    for name in names:
        cell = run.measure_cell(networks[name], batch_size, data, implementations[kinds[name]], epochs, 0.05, seed,
                                run.CLOCKS[clock])
        times = cell["epoch_seconds"]
        for index, version in enumerate(versions):
            own = times[f"v{index}"]
            rows.append({
                "arch": name,
                "version": f"v{index}",
                "source": version,
                "median_seconds": statistics.median(own),
                "over_first": statistics.median(a / b for a, b in zip(own, times["v0"])),
                "over_numpy": statistics.median(a / b for a, b in zip(own, times["numpy"])),
            })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("versions", nargs="+", help="git revisions or folders holding tinygrad_mnist/; the first is the baseline")
    parser.add_argument("--epochs", type=int, default=11, help="timed epochs per version (default 11, at least 3)")
    parser.add_argument("--samples", type=int, default=20000, help="synthetic training samples (default 20000)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", action="append", choices=sorted({**ARCHITECTURES, **CNN_ARCHITECTURES}),
                        help="a network to time (repeatable; default: both MLPs)")
    parser.add_argument("--jit", action="store_true", help="time the versions' jitted steps (JittedMLP)")
    parser.add_argument("--clock", choices=sorted(run.CLOCKS), default="wall",
                        help="cpu: this process's CPU time (with OPENBLAS_NUM_THREADS=1), steadier on a busy machine")
    args = parser.parse_args(argv)
    if args.epochs < 3:
        parser.error(f"--epochs must be at least 3 (a median needs them), got {args.epochs}")
    rows = compare(args.versions, args.epochs, args.samples, args.batch_size, args.seed, args.arch, args.jit, args.clock)
    print("| network | version | source | median epoch s | / first version | / NumPy |")
    print("|---|---|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['arch']} | {row['version']} | {row['source']} | {row['median_seconds']:.3f} | "
              f"{row['over_first']:.3f} | {row['over_numpy']:.3f} |")
    print(f"batch {args.batch_size}, {args.samples} samples, {args.epochs} interleaved epochs; ratios are medians "
          "of per-round ratios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
