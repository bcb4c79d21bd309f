"""Small synthetic data sets in MNIST's format, for tests that cannot have the real Fashion-MNIST or
KMNIST files: four gzip-compressed IDX files in a folder, and a ``DatasetInfo`` that describes them
the way the real entry describes the real files (same name, classes and kind of checksum).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np

from tinygrad_mnist.data import DATASETS, DatasetFile, DatasetInfo, Mnist, encode_idx

KEYS = ("train_images", "train_labels", "test_images", "test_labels")


def synthetic_mnist(n_train: int = 200, n_test: int = 50, seed: int = 0) -> Mnist:
    """Learnable uint8 images: noise plus a bright 4x4 block whose place is the label."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[i, 4 + 10 * row : 8 + 10 * row, 2 + 5 * col : 6 + 5 * col] = 255
        return images, labels

    train_images, train_labels = split(n_train)
    test_images, test_labels = split(n_test)
    return Mnist(train_images, train_labels, test_images, test_labels)


def gz(contents: bytes) -> bytes:
    """Gzip with a fixed timestamp, so the same contents give the same file."""
    return gzip.compress(contents, mtime=0)


def describe(like: str, stored: dict[str, bytes], contents: dict[str, bytes], shapes: dict[str, tuple]) -> DatasetInfo:
    """The entry ``like`` of DATASETS, with its files replaced by the given ones, checked the way
    the real entry checks its files (contents' sha256, or the .gz's size, sha256 and md5)."""
    real = DATASETS[like]
    files = {}
    for key in KEYS:
        name = real.files[key].name
        if real.files[key].gz_digests:
            body = stored[key]
            files[key] = DatasetFile(name, None, len(contents[key]), shapes[key], gz_size=len(body),
                                     gz_sha256=hashlib.sha256(body).hexdigest(), gz_md5=hashlib.md5(body).hexdigest())
        else:
            files[key] = DatasetFile(name, hashlib.sha256(contents[key]).hexdigest(), len(contents[key]), shapes[key])
    return dataclasses.replace(real, files=files)


def write_dataset(folder: Path, like: str = "fashion-mnist", data: Mnist | None = None) -> tuple[DatasetInfo, Mnist]:
    """Write ``data`` (default: :func:`synthetic_mnist`) as the four .gz files of data set ``like``
    into ``folder``; return their description and the arrays."""
    data = synthetic_mnist() if data is None else data
    folder.mkdir(parents=True, exist_ok=True)
    contents = {key: encode_idx(getattr(data, key)) for key in KEYS}
    stored = {key: gz(contents[key]) for key in KEYS}
    info = describe(like, stored, contents, {key: getattr(data, key).shape for key in KEYS})
    for key in KEYS:
        (folder / f"{info.files[key].name}.gz").write_bytes(stored[key])
    return info, data
