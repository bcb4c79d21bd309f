"""Crafted checkpoints against `tinygrad-mnist eval`, each in its own process with its peak memory
measured: one clear line and exit status 2, and memory bounded by what the file honestly holds,
never by what it declares (a zip bomb, a header declaring 2**40 elements, a model a million wide).

The processes run under a 4 GiB address-space limit (``ulimit -v``), as on a shared machine: any
attempt to allocate what a crafted file declares would end in a MemoryError traceback there.
"""
import os
import re
import resource
import subprocess
import sys

import numpy as np
import pytest

from hostile_npz import Zeros, checkpoint_members, npy_header, real_arrays, write_zip
from tinygrad_mnist.errors import CheckpointError
from tinygrad_mnist.train import TrainConfig, build_model, open_checkpoint
from tinygrad_mnist.train import checkpoint as checkpoint_module
from tinygrad_mnist.train.checkpoint import MAX_META_BYTES, load_into_model

ADDRESS_SPACE = 4 << 30
# What the measured process may use beyond a failing `eval` of a file that is not even a zip.
ALLOWED_GROWTH = 64 << 20
CONFIG = TrainConfig(hidden=[8])
MODEL_META = {"in_features": 784, "num_classes": 10}

MEASURED = """
import resource, sys
from tinygrad_mnist.cli import main
try:
    code = main(sys.argv[1:])
finally:
    print(f"PEAK_RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}", file=sys.stderr)
sys.exit(code)
"""


def _limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_measured(*argv):
    """(exit status, stderr lines without the measurement, peak RSS in bytes) of the CLI."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", MEASURED, *map(str, argv)], capture_output=True, text=True,
                          timeout=120, env=env, preexec_fn=_limit_address_space)
    lines = done.stderr.splitlines()
    peak = int(lines[-1].split()[1])
    return done.returncode, lines[:-1], peak


@pytest.fixture(scope="module")
def baseline_peak(tmp_path_factory):
    junk = tmp_path_factory.mktemp("baseline") / "checkpoint.npz"
    junk.write_bytes(b"not a zip at all")
    code, lines, peak = run_measured("eval", junk)
    assert code == 2 and len(lines) == 1, lines
    return peak


def _meta(config=CONFIG, model=MODEL_META, **extra):
    return {"config": config.to_dict(), "model": model, "training": {"status": "completed"}, **extra}


def _model_arrays():
    return real_arrays(build_model(CONFIG))


def zip_bomb(path):
    # 1.5 GB of declared (and honestly compressed) zeros in 1.5 MB, consistent with the metadata.
    arrays = _model_arrays()
    arrays["model/layers.0.weight"] = ((784, 500_000), np.float32, [Zeros(784 * 500_000 * 4)])
    return write_zip(path, checkpoint_members(_meta(), arrays))


def bomb_behind_a_small_header(path):
    # The header and metadata say 784x8, the zip directory says 1.5 GB and the data inflate to it.
    arrays = _model_arrays()
    arrays["model/layers.0.weight"] = ((784, 8), np.float32, [Zeros(1_500_000_000)])
    return write_zip(path, checkpoint_members(_meta(), arrays))


def huge_declared_shape(path):
    arrays = _model_arrays()
    arrays["model/layers.0.bias"] = ((2**40,), np.float32, [bytes(1024)])
    return write_zip(path, checkpoint_members(_meta(), arrays))


def in_features_1e12(path):
    return write_zip(path, checkpoint_members(_meta(model={"in_features": 10**12, "num_classes": 10}), _model_arrays()))


def hidden_a_million_wide(path):
    config = CONFIG.to_dict()
    config["hidden"] = [10**6, 10**6]
    return write_zip(path, checkpoint_members({**_meta(), "config": config}, _model_arrays()))


def hidden_65536_by_65536(path):
    # Valid settings (each width within the cap), but the model needs ~100 GB to build.
    return write_zip(path, checkpoint_members(_meta(config=CONFIG.replace(hidden=[65536, 65536])), _model_arrays()))


def metadata_nested_5000_deep(path):
    # Deeper than Python's recursion limit: json.loads itself raises RecursionError on it.
    deep = b', "note": ' + b"[" * 5000 + b"]" * 5000
    return write_zip(path, checkpoint_members(_meta(), _model_arrays(), extra_json=deep))


def metadata_bomb(path):
    members = [m for m in checkpoint_members(_meta(), _model_arrays()) if m[0] != "__meta__.npy"]
    size = MAX_META_BYTES + (16 << 20)
    members.append(("__meta__.npy", [npy_header((size,), np.uint8), Zeros(size)]))
    return write_zip(path, members)


def state_bomb(path):
    # An "optimizer" buffer of 1 GB next to a 25 KB model.
    arrays = _model_arrays()
    arrays["optimizer/state/0/momentum_buffer"] = ((1 << 28,), np.float32, [Zeros(1 << 30)])
    return write_zip(path, checkpoint_members(_meta(), arrays))


def twenty_thousand_members(path):
    arrays = _model_arrays()
    for i in range(20_000):
        arrays[f"optimizer/{i}"] = ((0,), np.float32, [b""])
    return write_zip(path, checkpoint_members(_meta(), arrays))


CASES = {
    zip_bomb: r"does not fit this model: layers\.0\.weight has shape \(784, 500000\), the model expects \(784, 8\)",
    bomb_behind_a_small_header: r"declares float32\(784, 8\) \(25,088 bytes\) but the zip directory gives it 1,500,000,000 bytes",
    huge_declared_shape: r"declares float32\(1099511627776,\) .* but the zip directory gives it 1,024 bytes",
    in_features_1e12: r"its saved settings are invalid: in_features must be >= 1 and <= 65536, got 1000000000000",
    hidden_a_million_wide: r"its saved settings are invalid: each width in hidden must be >= 1 and <= 65536, got 1000000",
    hidden_65536_by_65536: r"evaluating the model of .* needs about \d+\.\d GiB of memory .* use smaller hidden widths",
    metadata_nested_5000_deep: r"the metadata is unusable: it nests lists or objects more than 32 deep",
    metadata_bomb: r"its metadata is 80 MiB, more than the 64 MiB a checkpoint's metadata can take",
    state_bomb: r"its non-model arrays declare 1\.0 GiB, more than 8 times the model's 1 MiB",
    twenty_thousand_members: r"its zip directory declares 20005 members; a checkpoint has far fewer \(at most 10000\)",
}


@pytest.mark.parametrize("craft", list(CASES), ids=lambda craft: craft.__name__)
def test_a_crafted_checkpoint_is_one_line_with_bounded_memory(tmp_path, baseline_peak, craft):
    path = craft(tmp_path / "checkpoint.npz")
    assert path.stat().st_size < 8 << 20  # what an attacker sends is small
    code, lines, peak = run_measured("eval", path)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("tinygrad-mnist: error: "), lines
    assert re.search(CASES[craft], lines[0]), lines[0]
    assert peak - baseline_peak < ALLOWED_GROWTH, f"peak RSS grew by {(peak - baseline_peak) >> 20} MiB"


def test_metadata_nested_thousands_deep_is_refused_in_the_library(tmp_path):
    path = metadata_nested_5000_deep(tmp_path / "deep.npz")
    with pytest.raises(CheckpointError, match="nests lists or objects more than 32 deep"):
        open_checkpoint(path)


def test_opening_reads_no_array_and_loading_checks_the_shapes_first(tmp_path):
    path = zip_bomb(tmp_path / "bomb.npz")
    checkpoint = open_checkpoint(path)  # the metadata and headers only: cheap, and consistent
    assert checkpoint.declared("model/")["model/layers.0.weight"].shape == (784, 500_000)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        load_into_model(checkpoint, build_model(CONFIG))
    assert checkpoint._loaded == {}  # nothing was read


def test_the_declared_sizes_are_checked_against_the_memory_available(tmp_path, monkeypatch):
    path = write_zip(tmp_path / "c.npz", checkpoint_members(_meta(), _model_arrays()))
    monkeypatch.setattr(checkpoint_module, "available_memory", lambda: 1000)
    with pytest.raises(CheckpointError, match=r"its arrays declare 1 MiB, more than the 1 MiB of memory available"):
        open_checkpoint(path)


def test_an_honest_handmade_checkpoint_still_loads(tmp_path):
    # The crafting helper itself is sound: without a lie, the file loads and round-trips.
    model = build_model(CONFIG)
    path = write_zip(tmp_path / "c.npz", checkpoint_members(_meta(), real_arrays(model)))
    target = build_model(CONFIG.replace(seed=5))
    load_into_model(open_checkpoint(path), target)
    assert all(np.array_equal(a, b) for a, b in zip(model.state_dict().values(), target.state_dict().values()))
