"""Where an epoch of the framework spends its time: NumPy arithmetic versus everything else.

    python benchmarks/profile_epoch.py                   # 784-128-10 tanh, batch 100, 60,000 samples
    python benchmarks/profile_epoch.py --arch "784-256-128-10 relu" --epochs 2 --quick
    python benchmarks/profile_epoch.py --arch "lenet5 relu" --epochs 1

Method: the sampling profiler py-spy (``pip install py-spy``; a development tool, not a dependency)
records the native and Python stack of the training process a few hundred times a second. A sample
counts as NumPy arithmetic when a native frame of NumPy or its BLAS is on the stack below the
innermost Python frame (the process is inside a ufunc, a reduction, a matmul or NumPy's own dispatch,
which the hand-written reference pays too); every other sample is the framework's Python side: graph
building, op dispatch, backward bookkeeping, the optimizer's loop, the interpreter and the garbage
collector. Sampling does not slow Python down relative to C the way a tracing profiler (cProfile)
does, so the fraction is not inflated; the profiler pauses the process while it reads a stack, which
stretches the wall time but not the proportions. The epoch is also timed once without the profiler.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional, Tuple

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

MARKER = "profiled_epochs"  # the worker function whose samples are counted
PYTHON_FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^()]*\.py):(?P<line>\d+)\)$")
NATIVE_FRAME = re.compile(r"^(?P<function>.+) \((?P<library>[^()]+)\)$")
# Native libraries whose code is NumPy's arithmetic: NumPy's extension modules and its BLAS.
NUMPY_LIBRARY = re.compile(r"(numpy/.*\.so|openblas|libgomp|libm\.so|libmvec)", re.IGNORECASE)
BLAS_LIBRARY = re.compile(r"(openblas|libgomp|mkl|blis)", re.IGNORECASE)
# NumPy's typed inner loops are named after their dtype and the SIMD target they were built for.
INNER_LOOP = re.compile(r"(FLOAT|DOUBLE|HALF|BOOL|BYTE|SHORT|INT|LONG|LONGLONG)_|_X86_|AVX|SSE|simd|_contig_|_strided_")


def find_py_spy() -> Optional[str]:
    """The py-spy executable: next to this interpreter (a virtualenv) or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def profiled_epochs(trainer, order, batch_size: int, epochs: int) -> float:
    """The profiled region: ``epochs`` epochs of training; returns their wall time."""
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.train_epoch(order, batch_size)
    return time.perf_counter() - start


def worker(arch_name: str, batch_size: int, samples: int, epochs: int, seed: int) -> dict:
    """Warm up, time one epoch unprofiled (by wall clock), then run the profiled epochs."""
    from benchmarks.framework_cnn import FrameworkLeNet
    from benchmarks.framework_mlp import FrameworkMLP

    arch = ARCHITECTURES.get(arch_name) or CNN_ARCHITECTURES[arch_name]
    data = synthetic_mnist(samples, seed=seed)
    trainer_class = FrameworkLeNet if arch_name in CNN_ARCHITECTURES else FrameworkMLP
    trainer = trainer_class(initial_weights(arch, seed=seed), arch.activation, LEARNING_RATE, MOMENTUM, WEIGHT_DECAY)
    order = epoch_order(data, 0, seed)
    trainer.train_epoch(order, batch_size)  # warm-up
    start = time.perf_counter()
    trainer.train_epoch(order, batch_size)
    plain = time.perf_counter() - start
    profiled = profiled_epochs(trainer, order, batch_size, epochs)
    return {"epoch_seconds_unprofiled": plain, "epoch_seconds_profiled": profiled / epochs}


def parse_frame(frame: str) -> Tuple[str, str, Optional[int]]:
    """("python" | "native", "file:function" or "library:function", line or None).

    >>> parse_frame("forward (tinygrad_mnist/ops/linalg.py:17)")
    ('python', 'tinygrad_mnist/ops/linalg.py:forward', 17)
    >>> parse_frame("sgemm_kernel_HASWELL (libscipy_openblas64_-32a4b2a6.so)")
    ('native', 'libscipy_openblas64_-32a4b2a6.so:sgemm_kernel_HASWELL', None)
    """
    match = PYTHON_FRAME.match(frame)
    if match:
        return "python", f"{match['file']}:{match['function']}", int(match["line"])
    match = NATIVE_FRAME.match(frame)
    if match:
        return "native", f"{match['library']}:{match['function']}", None
    return "native", frame, None


def classify(frames: List[str]) -> Tuple[str, Optional[str], Optional[str]]:
    """For one stack (outermost first): ("numpy" | "gc" | "python", innermost Python frame, its line).

    >>> classify(["main (run.py:1)", "forward (ops/linalg.py:17)", "PyNumber_MatrixMultiply (libpython3.11.so)",
    ...           "cblas_sgemm (libscipy_openblas64_.so)"])
    ('numpy', 'ops/linalg.py:forward', 'ops/linalg.py:17')
    >>> classify(["main (run.py:1)", "apply (autograd/function.py:80)", "PyObject_Malloc (libpython3.11.so)"])
    ('python', 'autograd/function.py:apply', 'autograd/function.py:80')
    """
    innermost = None
    for index in range(len(frames) - 1, -1, -1):
        kind, name, line = parse_frame(frames[index])
        if kind == "python":
            innermost = (index, name, line)
            break
    below = frames[innermost[0] + 1:] if innermost else frames
    where = innermost[1] if innermost else None
    location = f"{where.rsplit(':', 1)[0]}:{innermost[2]}" if innermost else None
    natives = [parse_frame(frame)[1] for frame in below]
    if any(NUMPY_LIBRARY.search(name.rsplit(":", 1)[0]) for name in natives):
        return "numpy", where, location
    if any(name.endswith(":gc_collect_main") or ":gc_collect" in name for name in natives):
        return "gc", where, location
    return "python", where, location


def numpy_part(frames: List[str]) -> str:
    """Which part of NumPy a NumPy sample is in, from its innermost native frame.

    >>> numpy_part(["f (x.py:1)", "cblas_sgemm (libscipy_openblas64_.so)", "sgemm_kernel (libscipy_openblas64_.so)"])
    'BLAS'
    >>> numpy_part(["f (x.py:1)", "FLOAT_add_X86_V3 (numpy/_core/_multiarray_umath.so)"])
    'ufunc/reduction/copy loops'
    """
    kind, name, _ = parse_frame(frames[-1])
    library, _, function = name.rpartition(":")
    if any(BLAS_LIBRARY.search(parse_frame(frame)[1].rpartition(":")[0]) for frame in frames):
        return "BLAS"
    if kind == "native" and INNER_LOOP.search(function):
        return "ufunc/reduction/copy loops"
    if kind == "native" and not NUMPY_LIBRARY.search(library):
        return "libc/libm (memory, FP status)"
    return "NumPy per-call machinery (dispatch, allocation, iterators)"


def analyse(raw: str, top: int) -> dict:
    """Attribute the samples of the profiled region; see the module docstring for the rule."""
    totals: Counter = Counter()
    python_self: Counter = Counter()
    python_lines: Counter = Counter()
    python_inclusive: Counter = Counter()
    numpy_by_caller: Counter = Counter()
    numpy_parts: Counter = Counter()
    for text in raw.splitlines():
        stack, _, count_text = text.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        start = next((i for i, frame in enumerate(frames) if frame.startswith(MARKER + " (")), None)
        if start is None:
            continue
        frames = frames[start + 1:]
        count = int(count_text)
        kind, where, location = classify(frames)
        totals[kind] += count
        if kind == "numpy":
            numpy_by_caller[where] += count
            numpy_parts[numpy_part(frames)] += count
            continue
        python_self[where] += count
        python_lines[location] += count
        # Inclusive: every framework function on the stack, once per sample.
        seen = set()
        for frame in frames:
            frame_kind, name, _ = parse_frame(frame)
            if frame_kind == "python" and name not in seen:
                seen.add(name)
                python_inclusive[name] += count
    samples = sum(totals.values())
    if samples == 0:
        raise RuntimeError(f"py-spy recorded no samples inside {MARKER}(); profile more epochs or raise --rate")

    def shares(counter: Counter) -> List[Tuple[str, float]]:
        return [(name, count / samples) for name, count in counter.most_common(top)]

    return {
        "samples": samples,
        "numpy_fraction": totals["numpy"] / samples,
        "python_fraction": totals["python"] / samples,
        "gc_fraction": totals["gc"] / samples,
        "top_python_self": shares(python_self),
        "top_python_lines": shares(python_lines),
        "top_python_inclusive": shares(python_inclusive),
        "top_numpy_callers": shares(numpy_by_caller),
        "numpy_parts": shares(numpy_parts),
    }


def profile(arch_name: str, batch_size: int, samples: int, epochs: int, rate: int, seed: int, top: int) -> dict:
    """Run the worker under py-spy and analyse what it recorded."""
    py_spy = find_py_spy()
    if py_spy is None:
        raise SystemExit("profile_epoch.py needs py-spy, a sampling profiler: pip install py-spy "
                         "(a development tool; the package does not depend on it)")
    with tempfile.TemporaryDirectory(prefix="profile-epoch-") as folder:
        raw_path = Path(folder) / "stacks.txt"
        command = [
            py_spy, "record", "--native", "--idle", "--rate", str(rate), "--format", "raw", "--output", str(raw_path),
            "--", sys.executable, str(Path(__file__).resolve()), "--worker", "--arch", arch_name,
            "--batch-size", str(batch_size), "--samples", str(samples), "--epochs", str(epochs), "--seed", str(seed),
            "--out", str(Path(folder) / "timing.json"),
        ]
        with machine.CpuWatch() as watch:
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode != 0 or not raw_path.exists():
            raise SystemExit(f"py-spy failed ({finished.returncode}); it needs permission to read another "
                             f"process's memory (ptrace):\n{finished.stderr.strip()}")
        timing = json.loads((Path(folder) / "timing.json").read_text())
        result = analyse(raw_path.read_text(), top)
    result.update(timing)
    result.update({"arch": arch_name, "batch_size": batch_size, "samples_per_epoch": samples, "epochs": epochs,
                   "rate_hz": rate, "load_average": machine.load_average(),
                   "other_processes_cpu_seconds": watch.others_seconds, "steal_seconds": watch.steal_seconds})
    return result


def report(result: dict) -> str:
    """A short human summary of ``analyse``'s result."""
    lines = [
        f"{result['arch']}, batch {result['batch_size']}, {result['samples_per_epoch']} samples x {result['epochs']} "
        f"epochs, {result['samples']} stack samples at {result['rate_hz']} Hz (py-spy --native)",
        f"epoch: {result['epoch_seconds_unprofiled']:.3f} s unprofiled, {result['epoch_seconds_profiled']:.3f} s "
        "under the profiler (its pauses stretch wall time, not the shares)",
        f"other processes used {result['other_processes_cpu_seconds']:.1f} CPU s meanwhile (steal "
        f"{result['steal_seconds']:.1f} s); load average {result['load_average']}",
        f"NumPy arithmetic (ufuncs, reductions, BLAS, NumPy dispatch): {result['numpy_fraction'] * 100:.1f}%, of which",
    ]
    lines += [f"    {share * 100:5.1f}%  {name}" for name, share in result["numpy_parts"]]
    lines += [
        f"everything else (graph, dispatch, backward bookkeeping, optimizer Python, interpreter): "
        f"{(result['python_fraction'] + result['gc_fraction']) * 100:.1f}%  (garbage collector "
        f"{result['gc_fraction'] * 100:.1f}%)",
        "",
        "top Python-side costs, self time (file:function):",
    ]
    lines += [f"  {share * 100:5.1f}%  {name}" for name, share in result["top_python_self"]]
    lines += ["", "top Python-side costs by line:"]
    lines += [f"  {share * 100:5.1f}%  {name}" for name, share in result["top_python_lines"]]
    lines += ["", "Python-side time by enclosing function (inclusive; nested functions overlap):"]
    lines += [f"  {share * 100:5.1f}%  {name}" for name, share in result["top_python_inclusive"]]
    lines += ["", "NumPy time by the Python function that called it:"]
    lines += [f"  {share * 100:5.1f}%  {name}" for name, share in result["top_numpy_callers"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES) + sorted(CNN_ARCHITECTURES), default="784-128-10 tanh")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--samples", type=int, help="samples per epoch (default 60000, quick 6000)")
    parser.add_argument("--epochs", type=int, default=3, help="profiled epochs (after a warm-up and a timed epoch)")
    parser.add_argument("--rate", type=int, default=500, help="stack samples per second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=12, help="how many entries each top list shows")
    parser.add_argument("--quick", action="store_true", help="6,000 samples per epoch")
    parser.add_argument("--out", type=Path, help="write the analysis as JSON to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    samples = args.samples if args.samples is not None else (6000 if args.quick else 60000)
    if args.worker:
        args.out.write_text(json.dumps(worker(args.arch, args.batch_size, samples, args.epochs, args.seed)))
        return 0
    result = profile(args.arch, args.batch_size, samples, args.epochs, args.rate, args.seed, args.top)
    print(report(result))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
