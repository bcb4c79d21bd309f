"""MNIST data: IDX parsing, verified loading/downloading, preprocessing, batching.

Example:
    >>> from tinygrad_mnist.data import load_mnist, prepare, BatchIterator
    >>> splits = prepare(load_mnist(), normalize="standardize", val_size=5000)  # doctest: +SKIP
    >>> batches = BatchIterator(splits.x_train, splits.y_train, batch_size=128, seed=0)  # doctest: +SKIP
    >>> for xb, yb in batches.epoch(0): ...  # doctest: +SKIP
"""

from .batching import BatchIterator
from .download import DEFAULT_MIRRORS, ENV_MIRRORS, DownloadLimits, mirrors
from .idx import IDX_DTYPES, IdxError, decompress, encode_idx, parse_idx, read_idx, read_uncompressed
from .mnist import ENV_DATA, MNIST_FILES, Mnist, MnistDataError, MnistFile, load_mnist, resolve_data_dir
from .preprocess import NORMALIZATIONS, Splits, prepare, split_size

__all__ = [
    "BatchIterator",
    "DEFAULT_MIRRORS",
    "DownloadLimits",
    "ENV_DATA",
    "ENV_MIRRORS",
    "IDX_DTYPES",
    "IdxError",
    "MNIST_FILES",
    "Mnist",
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
    "read_uncompressed",
    "resolve_data_dir",
    "split_size",
]
