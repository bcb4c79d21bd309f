"""How much memory a model needs, estimated from its settings before anything is allocated, and
how much this process may use; a run that cannot fit is refused with one line instead of dying
in a MemoryError (or at the hands of the OOM killer) after its run folder was made.

The estimate is deliberately simple and on the generous side of what the arrays take (Python's
own objects are a small, fixed part); it is meant to catch ``--hidden 65536 65536`` (70 GB), not
to predict a run's peak to the megabyte.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ConfigError
from .config import N_TEST, N_TRAIN, TrainConfig

# Arrays of one parameter's size alive while training: the weights, their gradient, the momentum
# buffer and the temporary of the update.
_TRAINING_COPIES = 4
# Per layer and per example: its output, the activation of it, and the gradients of both.
_ACTIVATION_COPIES = 4
# Examples per evaluation pass (train.evaluation.EVAL_BATCH; not imported to keep this module a leaf).
_EVAL_BATCH = 5000
# Python objects of a layer (module, parameters, graph nodes of one step): a few KB, rounded up.
_PER_LAYER = 64 << 10
# Initialisation draws each weight matrix in float64 and scales it (two float64 arrays).
_INIT_BYTES_PER_WEIGHT = 16


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a model needs, and the parameter count behind them.

    >>> estimate = training_memory(TrainConfig(hidden=[128]))
    >>> estimate.parameters, estimate.total < 1 << 30
    (101770, True)
    >>> training_memory(TrainConfig(model="lenet5")).parameters
    61706
    """

    parameters: int
    parameter_bytes: int
    total: int


def layer_shapes(config: TrainConfig, in_features: int, num_classes: int) -> List[Tuple[int, int]]:
    """``(fan_in, fan_out)`` of every layer of the MLP the config describes.

    >>> layer_shapes(TrainConfig(hidden=[32, 16]), 784, 10)
    [(784, 32), (32, 16), (16, 10)]
    """
    widths = [int(in_features), *(int(h) for h in config.hidden), int(num_classes)]
    return list(zip(widths[:-1], widths[1:]))


# LeNet-5 on 28x28 images: values per example of each layer's output and the weight count of each
# layer; the first convolution's unfolded input (im2col: every 5x5 window, the largest array of a
# step) is one scratch array, made and dropped within the op, so it is counted once.
_LENET_OUTPUTS = (6 * 28 * 28, 6 * 14 * 14, 16 * 10 * 10, 16 * 5 * 5, 120, 84)
_LENET_UNFOLDED = 28 * 28 * 25
_LENET_WEIGHTS = (6 * 25, 16 * 6 * 25, 400 * 120, 120 * 84)
_LENET_FEATURES = (6, 16, 120, 84)  # the layers a batch norm follows


def _lenet_shapes(config: TrainConfig, num_classes: int) -> Tuple[List[int], List[int], int]:
    """``(weights per layer, outputs per example, parameters)`` of LeNet-5."""
    weights = [*_LENET_WEIGHTS, 84 * num_classes]
    outputs = [*_LENET_OUTPUTS, num_classes]
    parameters = sum(weights) + sum(_LENET_FEATURES) + num_classes
    if config.batch_norm:
        parameters += 2 * sum(_LENET_FEATURES)
    return weights, outputs, parameters


def _model_parts(config: TrainConfig, in_features: int, num_classes: int) -> Dict[str, int]:
    itemsize = np.dtype(config.dtype).itemsize
    if config.model == "lenet5":
        weights, outputs, parameters = _lenet_shapes(config, num_classes)
        return {
            "parameters": parameters,
            "parameter_bytes": parameters * itemsize,
            "itemsize": itemsize,
            "init": max(weights) * (_INIT_BYTES_PER_WEIGHT + itemsize),
            "layers": 2 * len(weights) * _PER_LAYER,
            "widest": max(outputs),
            "widths": sum(outputs),
            "scratch": _LENET_UNFOLDED * itemsize,
        }
    shapes = layer_shapes(config, in_features, num_classes)
    parameters = sum(fan_in * fan_out + fan_out for fan_in, fan_out in shapes)
    if config.batch_norm:
        parameters += 2 * sum(fan_out for _, fan_out in shapes[:-1])
    largest = max(fan_in * fan_out for fan_in, fan_out in shapes)
    return {
        "parameters": parameters,
        "parameter_bytes": parameters * itemsize,
        "itemsize": itemsize,
        "init": largest * (_INIT_BYTES_PER_WEIGHT + itemsize),
        "layers": len(shapes) * _PER_LAYER,
        "widest": max(fan_out for _, fan_out in shapes),
        "widths": sum(fan_out for _, fan_out in shapes),
        "scratch": 0,  # bytes per example of an op's temporary array beyond the layers' outputs
    }


def training_memory(config: TrainConfig, in_features: int = 784, num_classes: int = 10) -> MemoryEstimate:
    """Estimated bytes to train the config's model on MNIST-sized data.

    >>> small, wide = training_memory(TrainConfig(hidden=[64])), training_memory(TrainConfig(hidden=[65536, 65536]))
    >>> small.total < 1 << 30, wide.total > 64 << 30
    (True, True)
    """
    parts = _model_parts(config, in_features, num_classes)
    itemsize = parts["itemsize"]
    n_train = config.train_size or N_TRAIN
    n_test = config.test_size or N_TEST
    steady = (
        _TRAINING_COPIES * parts["parameter_bytes"]
        + _ACTIVATION_COPIES * config.batch_size * parts["widths"] * itemsize
        + _ACTIVATION_COPIES * _EVAL_BATCH * parts["widest"] * itemsize
        + _EVAL_BATCH * parts["scratch"]
    )
    data = (n_train + n_test) * in_features * (itemsize + 1)  # the prepared copy and the raw bytes
    total = max(steady, parts["parameter_bytes"] + parts["init"]) + data + parts["layers"]
    return MemoryEstimate(parts["parameters"], parts["parameter_bytes"], total)


def evaluation_memory(config: TrainConfig, in_features: int = 784, num_classes: int = 10) -> MemoryEstimate:
    """Estimated bytes to build the config's model and evaluate it on the test set.

    >>> evaluation_memory(TrainConfig(hidden=[64])).total < training_memory(TrainConfig(hidden=[64])).total
    True
    """
    parts = _model_parts(config, in_features, num_classes)
    itemsize = parts["itemsize"]
    n_test = config.test_size or N_TEST
    steady = (parts["parameter_bytes"] + _ACTIVATION_COPIES * _EVAL_BATCH * parts["widest"] * itemsize
              + _EVAL_BATCH * parts["scratch"])
    total = max(steady, parts["parameter_bytes"] + parts["init"]) + n_test * in_features * (itemsize + 1) + parts["layers"]
    return MemoryEstimate(parts["parameters"], parts["parameter_bytes"], total)


def model_memory(config: TrainConfig, in_features: int = 784, num_classes: int = 10) -> MemoryEstimate:
    """Estimated bytes to build the config's model and run one small batch forward and backward
    (what ``tinygrad-mnist graph`` does).

    >>> model_memory(TrainConfig(hidden=[64])).total < evaluation_memory(TrainConfig(hidden=[64])).total
    True
    """
    parts = _model_parts(config, in_features, num_classes)
    total = parts["parameter_bytes"] + max(parts["parameter_bytes"], parts["init"]) + parts["layers"]
    return MemoryEstimate(parts["parameters"], parts["parameter_bytes"], total)


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(64).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _proc_kib(path: str, field: str) -> Optional[int]:
    """A ``Field:  123 kB`` value of /proc/meminfo or /proc/self/status, in bytes."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> Optional[int]:
    """Bytes this process can still allocate, as far as the system says; None when it does not.

    The smallest of: the memory the kernel calls available, what the cgroup (container) limit
    leaves, and what the address-space and data limits (``ulimit -v`` / ``-d``) leave.

    >>> available = available_memory()
    >>> available is None or available > 0
    True
    """
    limits = []
    meminfo = _proc_kib("/proc/meminfo", "MemAvailable")
    if meminfo is not None:
        limits.append(meminfo)
    else:
        try:
            limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:
            limits.append(max(0, limit - usage))
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        resource = None
    if resource is not None:
        for name, used_field in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
            soft = resource.getrlimit(getattr(resource, name))[0]
            used = _proc_kib("/proc/self/status", used_field)
            if soft != resource.RLIM_INFINITY and soft > 0 and used is not None:
                limits.append(max(0, soft - used))
    return min(limits) if limits else None


def format_bytes(count: int) -> str:
    """A byte count for people: ``1.5 GiB``, ``310 MiB``.

    >>> format_bytes(3 << 29), format_bytes(310 << 20)
    ('1.5 GiB', '310 MiB')
    """
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GiB"
    return f"{max(1, math.ceil(count / (1 << 20)))} MiB"


def check_fits_in_memory(estimate: MemoryEstimate, what: str, available: Optional[int] = None) -> None:
    """Raise ConfigError (one line, saying what to change) when ``estimate`` exceeds the memory
    available (``available_memory()`` unless given); ``what`` starts the message ("training
    this model").

    >>> check_fits_in_memory(training_memory(TrainConfig(hidden=[65536, 65536])), "training this model", available=8 << 30)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: training this model needs about ... GiB of memory (4,347,133,962 parameters: 16.2 GiB for the weights alone) but only 8.0 GiB is available; use smaller hidden widths (--hidden)
    """
    available = available_memory() if available is None else available
    if available is None or estimate.total <= available:
        return
    raise ConfigError(
        f"{what} needs about {format_bytes(estimate.total)} of memory ({estimate.parameters:,} parameters: "
        f"{format_bytes(estimate.parameter_bytes)} for the weights alone) but only {format_bytes(available)} is "
        "available; use smaller hidden widths (--hidden)"
    )
