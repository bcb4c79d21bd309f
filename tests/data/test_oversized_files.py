"""Oversized and bomb-like data files are refused with bounded memory (the attack: a 3 GB sparse raw
file reached 3.2 GB of RSS before the size check, a 3 GB file with the gzip magic 6.4 GB).

Each load runs in a fresh interpreter that reports its peak resident memory (``ru_maxrss``), so the
numbers are the ones a user's process would reach, not whatever this test process has touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_mnist.data import MNIST_FILES, IdxError, encode_idx, read_idx

THREE_GB = 3 << 30
TRAIN_IMAGES = MNIST_FILES["train_images"]

# Runs in the child: load, print what was raised and the peak RSS in MiB.
_CHILD = """
import json, resource, sys
from tinygrad_mnist.data import load_mnist, read_idx
from tinygrad_mnist.errors import DataError
how, target = sys.argv[1], sys.argv[2]
try:
    if how == "mnist":
        load_mnist(target, download=False, progress=False)
    else:
        read_idx(target, max_bytes=int(how.split(":")[1]) if ":" in how else None)
    error = None
except DataError as e:
    error = f"{type(e).__name__}: {e}"
print(json.dumps({"error": error, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def load_in_child(how: str, target: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, how, str(target)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def baseline_mib() -> float:
    """Peak RSS of a child that imports the package and loads a tiny file."""
    return load_in_child("idx", Path(__file__).with_name("__no_such_file__"))["peak_mib"]


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (a hole after ``head``)."""
    with path.open("wb") as out:
        out.write(head)
        out.truncate(size)
    return path


def gzip_bomb(megabytes: int) -> bytes:
    """A small gzip member that inflates to ``megabytes`` MiB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


def mnist_folder(tmp_path: Path, link_real: Any, bad_name: str, make_bad) -> Path:
    folder = tmp_path / "data"
    link_real(folder, ["train_labels", "test_images", "test_labels"])
    make_bad(folder / bad_name)
    return folder


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("raw-3GB-sparse", "the file is 3,221,225,472 bytes, more than the 47,040,016 expected"),
        ("gzip-magic-3GB-sparse", "the gzip file is 3,221,225,472 bytes, more than any gzip of 47,040,016 bytes can be"),
        ("gzip-bomb-300MB", "gzip data expands to more than 47,040,016 bytes"),
    ],
    ids=lambda value: value if value.endswith(("sparse", "MB")) else "",
)
def test_an_oversized_mnist_file_is_refused_with_bounded_memory(
    tmp_path: Path, link_real: Any, baseline_mib: float, variant: str, expected: str
) -> None:
    if variant == "raw-3GB-sparse":
        folder = mnist_folder(tmp_path, link_real, TRAIN_IMAGES.name, lambda p: sparse_file(p, THREE_GB))
    elif variant == "gzip-magic-3GB-sparse":
        folder = mnist_folder(tmp_path, link_real, f"{TRAIN_IMAGES.name}.gz", lambda p: sparse_file(p, THREE_GB, b"\x1f\x8b"))
    else:
        folder = mnist_folder(tmp_path, link_real, f"{TRAIN_IMAGES.name}.gz", lambda p: p.write_bytes(gzip_bomb(300)))
    result = load_in_child("mnist", folder)
    assert result["error"] is not None and result["error"].startswith("MnistDataError: ")
    assert expected in result["error"] and TRAIN_IMAGES.name in result["error"]
    # The file's own size is never allocated: at most the 47 MB the real file may hold, inflated
    # once and joined once, above what the interpreter needs anyway.
    assert result["peak_mib"] - baseline_mib < 150, (result, baseline_mib)
    assert (folder / TRAIN_IMAGES.name).exists() or (folder / f"{TRAIN_IMAGES.name}.gz").exists()  # not the user's to delete


def idx_header(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("raw-header-10-bytes-file-3GB", "trailing bytes: header declares shape (10,) of uint8 = 10 payload bytes, but 3221225464 are present"),
        ("raw-header-3GB-max-1MB", "more than the 1,000,000 bytes allowed"),
        ("gzip-header-10-bytes-bomb-300MB", "trailing bytes: header declares shape (10,) of uint8 = 10 payload bytes, but more"),
        ("gzip-magic-3GB-sparse", "broken gzip data"),
    ],
    ids=lambda value: value if value.endswith(("sparse", "MB")) else "",
)
def test_read_idx_reads_no_more_than_the_header_declares(
    tmp_path: Path, baseline_mib: float, variant: str, expected: str
) -> None:
    path = tmp_path / "hostile.idx"
    how = "idx"
    if variant == "raw-header-10-bytes-file-3GB":
        sparse_file(path, THREE_GB, idx_header((10,)))
    elif variant == "raw-header-3GB-max-1MB":
        sparse_file(path, THREE_GB, idx_header((THREE_GB - 8,)))
        how = "idx:1000000"
    elif variant == "gzip-header-10-bytes-bomb-300MB":
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        path.write_bytes(
            packer.compress(idx_header((10,))) + b"".join(packer.compress(bytes(1 << 20)) for _ in range(300)) + packer.flush()
        )
    else:
        sparse_file(path, THREE_GB, b"\x1f\x8b")
    result = load_in_child(how, path)
    assert result["error"] is not None and result["error"].startswith("IdxError: ")
    assert expected in result["error"], result
    assert result["peak_mib"] - baseline_mib < 150, (result, baseline_mib)


def test_a_large_consistent_file_still_reads(tmp_path: Path) -> None:
    """The bounds refuse what cannot be right, not what is merely big."""
    array = np.arange(3_000_000, dtype=np.int32).reshape(1000, 3000)
    path = tmp_path / "big.idx.gz"
    path.write_bytes(zlib.compress(encode_idx(array), wbits=31))
    assert np.array_equal(read_idx(path), array)
    header_and_payload = 4 + 4 * 2 + array.nbytes
    assert np.array_equal(read_idx(path, max_bytes=header_and_payload), array)
    with pytest.raises(IdxError, match="more than the 12,000,011 bytes allowed"):
        read_idx(path, max_bytes=header_and_payload - 1)
