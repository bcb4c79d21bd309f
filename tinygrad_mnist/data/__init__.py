"""Data in MNIST's format: IDX parsing, the known data sets (MNIST, Fashion-MNIST, KMNIST) with
verified loading and downloading, preprocessing, batching, and PyTorch-shaped data sets and loaders.

Example:
    >>> from tinygrad_mnist.data import DataLoader, TensorDataset, load_mnist, prepare
    >>> splits = prepare(load_mnist(dataset="fashion-mnist"), val_size=5000)  # doctest: +SKIP
    >>> train_set = TensorDataset(splits.x_train, splits.y_train)  # doctest: +SKIP
    >>> loader = DataLoader(train_set, batch_size=128, shuffle=True, seed=0)  # doctest: +SKIP
    >>> for xb, yb in loader: ...  # doctest: +SKIP
"""

from .batching import BatchIterator, BatchOrder
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
from .loader import DataLoader, Dataset, MnistDataset, TensorDataset, default_collate
from .mnist import Mnist, MnistDataError, load_mnist, resolve_data_dir
from .preprocess import NORMALIZATIONS, Splits, prepare, scale_pixels, split_size

__all__ = [
    "BatchIterator",
    "BatchOrder",
    "DATASETS",
    "DATASET_NAMES",
    "DEFAULT_MIRRORS",
    "DataLoader",
    "Dataset",
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
    "MnistDataset",
    "NORMALIZATIONS",
    "Splits",
    "TensorDataset",
    "dataset_info",
    "decompress",
    "default_collate",
    "encode_idx",
    "load_mnist",
    "mirrors",
    "parse_idx",
    "prepare",
    "read_idx",
    "read_uncompressed",
    "resolve_data_dir",
    "scale_pixels",
    "split_size",
]
