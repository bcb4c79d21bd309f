"""What the numbers were measured on: CPU, cores, NumPy's BLAS and its threads, load, memory, peak FLOP rate.

>>> info = describe()
>>> sorted(info)[:3]
['blas', 'blas_threads', 'cores']
>>> current = current_rss_kib()  # read first: memory may grow between the two reads
>>> peak_rss_kib() >= current > 0
True
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> Optional[float]:
    """The 1-minute load average from /proc/loadavg (None where there is none)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CpuWatch:
    """CPU seconds the rest of the machine used while this watch ran: everything busy in /proc/stat
    minus this process's own user and system time, plus the hypervisor's steal time.

    A benchmark that timed its epochs while others computed is not a measurement of the code.

    >>> with CpuWatch() as watch:
    ...     pass
    >>> watch.others_seconds >= 0.0
    True
    """

    def __enter__(self) -> "CpuWatch":
        self._busy, self._steal = _system_cpu_seconds()
        self._own = _own_cpu_seconds()
        self.others_seconds = 0.0
        self.steal_seconds = 0.0
        return self

    def __exit__(self, *exc_info) -> None:
        busy, steal = _system_cpu_seconds()
        own = _own_cpu_seconds() - self._own
        # Clock ticks are 10 ms: small negative noise is rounding, not negative work.
        self.others_seconds = max(0.0, busy - self._busy - own)
        self.steal_seconds = max(0.0, steal - self._steal)


def _system_cpu_seconds():
    """(busy seconds of all CPUs excluding steal, steal seconds) from the first line of /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _openblas_function(suffix: str):
    """A function of the OpenBLAS that NumPy loaded, found through /proc/self/maps, or None.

    NumPy's wheels ship scipy-openblas, whose symbols carry a prefix and a 64-bit-integer suffix,
    so both spellings are tried.
    """
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and ".so" in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in (f"scipy_openblas_{suffix}64_", f"openblas_{suffix}64_", f"scipy_openblas_{suffix}", f"openblas_{suffix}"):
            function = getattr(lib, name, None)
            if function is not None:
                return function
    return None


def blas_threads() -> int:
    """How many threads NumPy's BLAS uses (OpenBLAS asked directly; else the env vars; else the cores)."""
    function = _openblas_function("get_num_threads")
    if function is not None:
        function.restype = ctypes.c_int
        return int(function())
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return usable_cores()


def blas_description() -> str:
    """NumPy's BLAS library, version and configuration, in one line."""
    function = _openblas_function("get_config")
    if function is not None:
        function.restype = ctypes.c_char_p
        return function().decode(errors="replace").strip()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # show_config's layout differs between NumPy versions
        return "unknown"


def current_rss_kib() -> int:
    """Resident memory now (VmRSS), KiB."""
    return _status_field("VmRSS")


def peak_rss_kib() -> int:
    """Peak resident memory of this process so far (VmHWM, the high-water mark), KiB."""
    return _status_field("VmHWM")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {name} line; peak memory needs Linux")


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """The best rate (GFLOP/s) of a size x size float32 matmul in NumPy: a practical peak.

    The best of several runs, not the median: the floor built from it should be one no
    implementation can beat, so it takes the machine at its fastest.
    """
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm-up: thread pool start, page faults
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def describe() -> Dict[str, object]:
    """Machine facts for the report."""
    return {
        "cpu_model": cpu_model(),
        "cores": usable_cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_description(),
        "blas_threads": blas_threads(),
        "platform": platform.platform(),
    }
