"""Data in MNIST's format: IDX parsing, the known data sets (MNIST, Fashion-MNIST, KMNIST) with
verified loading and downloading, preprocessing and batching.

Example:
    >>> from tinygrad_mnist.data import load_mnist, prepare, BatchIterator
    >>> splits = prepare(load_mnist(dataset="fashion-mnist"), val_size=5000)  # doctest: +SKIP
    >>> batches = BatchIterator(splits.x_train, splits.y_train, batch_size=128, seed=0)  # doctest: +SKIP
    >>> for xb, yb in batches.epoch(0): ...  # doctest: +SKIP
"""

from .batching import BatchIterator
from .datasets import (
    DATASET_NAMES,
    DATASETS,
    DEFAULT_MIRRORS,
    ENV_DATA,
    ENV_MIRRORS,
    MNIST_FILES,
    DatasetFile,
    DatasetInfo,
    dataset_info,
    mirrors,
)
from .download import DownloadLimits
from .idx import IDX_DTYPES, IdxError, decompress, encode_idx, parse_idx, read_idx, read_uncompressed
from .mnist import Mnist, MnistDataError, load_mnist, resolve_data_dir
from .preprocess import NORMALIZATIONS, Splits, prepare, split_size

__all__ = [
    "BatchIterator",
    "DATASETS",
    "DATASET_NAMES",
    "DEFAULT_MIRRORS",
    "DatasetFile",
    "DatasetInfo",
    "DownloadLimits",
    "ENV_DATA",
    "ENV_MIRRORS",
    "IDX_DTYPES",
    "IdxError",
    "MNIST_FILES",
    "Mnist",
    "MnistDataError",
    "NORMALIZATIONS",
    "Splits",
    "dataset_info",
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
