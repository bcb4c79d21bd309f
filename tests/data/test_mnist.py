"""Loading the real MNIST files: sanity facts, verification, locations."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mnist.data import (
    MNIST_FILES,
    Mnist,
    MnistDataError,
    load_mnist,
    mirrors,
    resolve_data_dir,
)
from tinygrad_mnist.data import DEFAULT_MIRRORS

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_shapes_dtypes_and_read_only(mnist: Mnist) -> None:
    for key, f in MNIST_FILES.items():
        arr = getattr(mnist, key)
        assert arr.shape == f.shape and arr.dtype == np.uint8
        assert not arr.flags.writeable
    assert "train_images=uint8(60000, 28, 28)" in repr(mnist)


def test_labels_and_class_counts(mnist: Mnist) -> None:
    assert np.bincount(mnist.train_labels, minlength=10).tolist() == TRAIN_COUNTS
    test_counts = np.bincount(mnist.test_labels, minlength=10)
    assert len(test_counts) == 10 and test_counts.sum() == 10000


def test_training_pixel_mean_and_std(mnist: Mnist) -> None:
    # Chunked float64 sums: exact enough, without a 376 MB float64 copy.
    total = total_sq = 0.0
    for chunk in np.array_split(mnist.train_images.reshape(-1), 8):
        c = chunk.astype(np.float64)
        total += c.sum()
        total_sq += c @ c
    n = mnist.train_images.size
    mean = total / n
    std = np.sqrt(total_sq / n - mean**2)
    assert mean == pytest.approx(33.318, abs=5e-4)
    assert std == pytest.approx(78.567, abs=5e-4)


def test_raw_uncompressed_files_load(
    tmp_path: Path, link_real: Any, mnist: Mnist, raw_contents: Callable[[str], bytes]
) -> None:
    link_real(tmp_path, ["train_images", "test_images"])
    for key in ("train_labels", "test_labels"):
        (tmp_path / MNIST_FILES[key].name).write_bytes(raw_contents(key))
    loaded = load_mnist(tmp_path, download=False, progress=False)
    for key in MNIST_FILES:
        # np.array_equal: assert_array_equal takes ~1 s on 47M elements.
        assert np.array_equal(getattr(loaded, key), getattr(mnist, key))


def corrupt_contents(raw: bytes) -> bytes:
    """Same length, one label changed: only the hash can tell."""
    data = bytearray(raw)
    data[-1] = (data[-1] + 1) % 10
    return bytes(data)


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("gzip-wrong-content", "sha256 of its uncompressed contents is"),
        ("gzip-truncated", "truncated gzip stream"),
        ("raw-wrong-content", "sha256 of its uncompressed contents is"),
        ("raw-wrong-size", "uncompressed contents are 60,007 bytes, expected 60,008"),
    ],
)
def test_corrupted_copy_is_rejected(
    tmp_path: Path,
    shared_dir: Path,
    link_real: Any,
    raw_contents: Callable[[str], bytes],
    variant: str,
    expected: str,
) -> None:
    link_real(tmp_path, ["train_images", "test_images", "test_labels"])
    good = raw_contents("train_labels")
    name = MNIST_FILES["train_labels"].name
    if variant == "gzip-wrong-content":
        bad, target = gzip.compress(corrupt_contents(good)), f"{name}.gz"
    elif variant == "gzip-truncated":
        bad, target = (shared_dir / f"{name}.gz").read_bytes()[:-100], f"{name}.gz"
    elif variant == "raw-wrong-content":
        bad, target = corrupt_contents(good), name
    else:
        bad, target = good[:-1], name
    (tmp_path / target).write_bytes(bad)

    with pytest.raises(MnistDataError) as info:
        load_mnist(tmp_path, download=False, progress=False)
    message = str(info.value)
    assert str(tmp_path / target) in message and expected in message
    # A user's own folder is never cleaned up behind their back.
    assert (tmp_path / target).read_bytes() == bad


def test_corrupted_file_in_download_cache_is_removed(
    tmp_path: Path, link_real: Any, raw_contents: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache_data = tmp_path / "tinygrad_mnist" / "mnist"
    link_real(cache_data, ["train_images", "test_images", "test_labels"])
    bad = cache_data / f"{MNIST_FILES['train_labels'].name}.gz"
    bad.write_bytes(gzip.compress(corrupt_contents(raw_contents("train_labels"))))

    with pytest.raises(MnistDataError, match="deleted; run again to download it anew"):
        load_mnist(download=False, progress=False)
    assert not bad.exists()
    assert len(list(cache_data.iterdir())) == 3


def test_missing_files_without_download(tmp_path: Path) -> None:
    with pytest.raises(MnistDataError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    for f in MNIST_FILES.values():
        assert f.name in message
    assert str(tmp_path) in message
    assert "--data-dir DIR" in message and "TINYGRAD_MNIST_DATA=DIR" in message
    assert "Downloading is disabled" in message


def test_partially_missing_names_only_the_missing(tmp_path: Path, link_real: Any) -> None:
    link_real(tmp_path, ["train_images", "train_labels"])
    with pytest.raises(MnistDataError) as info:
        load_mnist(tmp_path, download=False)
    first_line = str(info.value).splitlines()[0]
    assert "t10k-images" in first_line and "t10k-labels" in first_line
    assert "train-images" not in first_line


def test_resolve_data_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", "")
    assert resolve_data_dir() == tmp_path / "xdg" / "tinygrad_mnist" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "tinygrad_mnist" / "mnist"
    # The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "tinygrad_mnist" / "mnist"


def test_mirrors_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGRAD_MNIST_MIRRORS", " http://127.0.0.1:1/a,http://127.0.0.1:2/\n http://127.0.0.1:3/b/ ")
    assert mirrors() == ["http://127.0.0.1:1/a/", "http://127.0.0.1:2/", "http://127.0.0.1:3/b/"]
    monkeypatch.setenv("TINYGRAD_MNIST_MIRRORS", "  ")
    assert mirrors() == list(DEFAULT_MIRRORS)


def test_loading_writes_nothing_to_the_data_dir(shared_dir: Path) -> None:
    # The shared folder is read-only (for non-root): loading must not need to write anything.
    before = sorted(p.name for p in shared_dir.iterdir())
    load_mnist(shared_dir, download=False, progress=False)
    assert sorted(p.name for p in shared_dir.iterdir()) == before


def test_the_folder_named_by_the_environment_is_used(
    tmp_path: Path, link_real: Any, mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    link_real(tmp_path / "env-data", list(MNIST_FILES))
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(tmp_path / "env-data"))
    assert np.array_equal(load_mnist(download=False, progress=False).test_labels, mnist.test_labels)
    # An explicit folder wins over the variable.
    with pytest.raises(MnistDataError, match="from the data_dir argument"):
        load_mnist(tmp_path / "elsewhere", download=False)


def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_stale_temporaries_in_the_data_folder_are_removed_on_the_next_load(tmp_path: Path, link_real: Any) -> None:
    """A download or save killed by SIGKILL/SIGTERM leaves its temporary; the next load removes it,
    but never the temporary of a writer that is still running."""
    link_real(tmp_path, list(MNIST_FILES))
    labels = MNIST_FILES["train_labels"].name
    dead_writer = tmp_path / f".{labels}.gz.{dead_pid()}.k9x2q1.tmp"
    old_download = tmp_path / f".{labels}.a8b7c6d5.part"  # an older version's partial download
    live_writer = tmp_path / f".{labels}.gz.{os.getppid()}.q1w2e3.tmp"
    unrelated = tmp_path / ".notes.txt"
    for path in (dead_writer, old_download, live_writer, unrelated):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old_download, (two_hours_ago, two_hours_ago))

    load_mnist(tmp_path, download=False, progress=False)
    assert not dead_writer.exists() and not old_download.exists()
    assert live_writer.exists() and unrelated.exists()


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc/self/mem for a read that fails")
def test_an_unreadable_file_is_one_data_error_and_is_kept(
    tmp_path: Path, link_real: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache_data = tmp_path / "tinygrad_mnist" / "mnist"
    link_real(cache_data, ["train_images", "test_images", "test_labels"])
    # Reading /proc/self/mem from offset 0 fails with EIO: an OSError that is not the file's fault.
    unreadable = cache_data / MNIST_FILES["train_labels"].name
    unreadable.symlink_to("/proc/self/mem")
    with pytest.raises(MnistDataError, match="cannot read .*Check its permissions"):
        load_mnist(download=False, progress=False)
    assert unreadable.is_symlink()  # in the download cache, yet not deleted: it is not damaged


@pytest.mark.parametrize("folder", ["with\0nul", "~no-such-user-here/mnist"])
def test_an_impossible_folder_is_one_data_error(folder: str) -> None:
    with pytest.raises(MnistDataError, match="MNIST folder"):
        load_mnist(folder, download=False)


def test_every_load_verifies_the_files_again(
    tmp_path: Path, link_real: Any, raw_contents: Callable[[str], bytes]
) -> None:
    """Nothing is trusted because it loaded before, or because of where it is: a file that went bad
    after a good load is refused at the next one."""
    link_real(tmp_path, ["train_images", "test_images", "test_labels"])
    labels = tmp_path / f"{MNIST_FILES['train_labels'].name}.gz"
    labels.write_bytes(gzip.compress(raw_contents("train_labels")))
    load_mnist(tmp_path, download=False, progress=False)
    labels.write_bytes(gzip.compress(corrupt_contents(raw_contents("train_labels"))))  # same size
    with pytest.raises(MnistDataError, match="sha256 of its uncompressed contents is"):
        load_mnist(tmp_path, download=False, progress=False)
