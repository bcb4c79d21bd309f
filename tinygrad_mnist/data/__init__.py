"""MNIST data: IDX parsing, verified loading/downloading, preprocessing, batching.

Example:
    >>> from tinygrad_mnist.data import load_mnist, prepare, BatchIterator
    >>> splits = prepare(load_mnist(), normalize="standardize", val_size=5000)  # doctest: +SKIP
    >>> batches = BatchIterator(splits.x_train, splits.y_train, batch_size=128, seed=0)  # doctest: +SKIP
    >>> for xb, yb in batches.epoch(0): ...  # doctest: +SKIP
"""

from .batching import BatchIterator
from .idx import IDX_DTYPES, IdxError, decompress, encode_idx, parse_idx, read_idx
from .mnist import (
    DEFAULT_MIRRORS,
    ENV_CACHE,
    ENV_DATA,
    ENV_MIRRORS,
    MNIST_FILES,
    Mnist,
    MnistCacheWarning,
    MnistDataError,
    MnistFile,
    load_mnist,
    mirrors,
    resolve_cache_dir,
    resolve_data_dir,
)
from .preprocess import NORMALIZATIONS, Splits, prepare, split_size

__all__ = [
    "BatchIterator",
    "DEFAULT_MIRRORS",
    "ENV_CACHE",
    "ENV_DATA",
    "ENV_MIRRORS",
    "IDX_DTYPES",
    "IdxError",
    "MNIST_FILES",
    "Mnist",
    "MnistCacheWarning",
    "MnistDataError",
    "MnistFile",
    "NORMALIZATIONS",
    "Splits",
    "decompress",
    "encode_idx",
    "load_mnist",
    "mirrors",
    "parse_idx",
    "prepare",
    "read_idx",
    "resolve_cache_dir",
    "resolve_data_dir",
    "split_size",
]
