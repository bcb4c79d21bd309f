"""The verified decompressed cache: reuse, tamper detection, speed."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_mnist.data import MNIST_FILES, Mnist, MnistCacheWarning, MnistDataError, load_mnist, prepare
from tinygrad_mnist.data import mnist as mnist_module


def cache_entry(cache: Path, key: str) -> Path:
    f = MNIST_FILES[key]
    return cache / f"{f.name}-{f.sha256}"


def forbid_decompression(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the source was decompressed although a verified cache exists")

    monkeypatch.setattr(mnist_module, "decompress", fail)


@pytest.fixture
def warm_cache(tmp_path: Path, shared_dir: Path) -> Path:
    cache = tmp_path / "cache"
    load_mnist(shared_dir, download=False, progress=False, cache_dir=cache)
    return cache


def test_cache_is_built_and_reused(
    warm_cache: Path, shared_dir: Path, mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, f in MNIST_FILES.items():
        assert hashlib.sha256(cache_entry(warm_cache, key).read_bytes()).hexdigest() == f.sha256
    assert [p.name for p in warm_cache.iterdir() if p.name.startswith(".")] == []  # no temp files
    forbid_decompression(monkeypatch)
    again = load_mnist(shared_dir, download=False, progress=False, cache_dir=warm_cache)
    assert all(np.array_equal(getattr(again, k), getattr(mnist, k)) for k in MNIST_FILES)


def test_cache_dir_from_environment(tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGRAD_MNIST_CACHE", str(tmp_path / "env-cache"))
    load_mnist(shared_dir, download=False, progress=False)
    assert cache_entry(tmp_path / "env-cache", "test_labels").is_file()


@pytest.mark.parametrize("damage", ["flip-byte", "truncate", "empty"])
def test_tampered_cache_is_detected_and_rebuilt(
    warm_cache: Path, shared_dir: Path, mnist: Mnist, damage: str
) -> None:
    entry = cache_entry(warm_cache, "train_images")
    data = bytearray(entry.read_bytes())
    if damage == "flip-byte":
        data[len(data) // 2] ^= 0x01  # same size: only the hash can tell
    elif damage == "truncate":
        del data[-1000:]
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))

    with pytest.warns(MnistCacheWarning, match="failed verification"):
        loaded = load_mnist(shared_dir, download=False, progress=False, cache_dir=warm_cache)
    assert np.array_equal(loaded.train_images, mnist.train_images)
    digest = hashlib.sha256(entry.read_bytes()).hexdigest()
    assert digest == MNIST_FILES["train_images"].sha256


def test_changed_source_is_verified_again(
    tmp_path: Path,
    link_real: Any,
    raw_contents: Callable[[str], bytes],
    session_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A valid cache entry must not hide that the source file went bad."""
    data_dir = tmp_path / "data"
    link_real(data_dir, ["train_images", "test_images", "test_labels"])
    labels = data_dir / f"{MNIST_FILES['train_labels'].name}.gz"
    labels.write_bytes(gzip.compress(raw_contents("train_labels")))
    stamp = mnist_module._Cache(session_cache)._stamp_path(MNIST_FILES["train_labels"], labels)

    load_mnist(data_dir, download=False, progress=False, cache_dir=session_cache)
    assert not stamp.exists()  # written just now: too fresh to trust its timestamps

    monkeypatch.setattr(mnist_module, "_RACY_NS", 0)
    load_mnist(data_dir, download=False, progress=False, cache_dir=session_cache)
    assert stamp.exists()
    with monkeypatch.context() as m:
        forbid_decompression(m)
        load_mnist(data_dir, download=False, progress=False, cache_dir=session_cache)

    labels.write_bytes(gzip.compress(raw_contents("train_labels")[:-5]))
    with pytest.raises(MnistDataError, match="failed verification"):
        load_mnist(data_dir, download=False, progress=False, cache_dir=session_cache)


def test_unusable_cache_dir_only_warns(tmp_path: Path, shared_dir: Path, mnist: Mnist) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.warns(MnistCacheWarning, match="not usable"):
        loaded = load_mnist(shared_dir, download=False, progress=False, cache_dir=blocker / "cache")
    assert np.array_equal(loaded.test_images, mnist.test_images)


def test_nothing_is_written_to_the_data_dir(tmp_path: Path, shared_dir: Path) -> None:
    # The shared folder is read-only (for non-root); all writes must go to the cache.
    before = sorted(p.name for p in shared_dir.iterdir())
    load_mnist(shared_dir, download=False, progress=False, cache_dir=tmp_path / "c")
    assert sorted(p.name for p in shared_dir.iterdir()) == before


def test_warm_load_and_convert_is_fast(shared_dir: Path, session_cache: Path, mnist: Mnist) -> None:
    # `mnist` has warmed session_cache. Best of 3 so a busy CI neighbour doesn't fail us.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        loaded = load_mnist(shared_dir, download=False, progress=False, cache_dir=session_cache)
        splits = prepare(loaded)
        timings.append(time.perf_counter() - start)
        assert splits.x_train.shape == (60000, 784)
        del loaded, splits
    assert min(timings) < 1.0, timings

