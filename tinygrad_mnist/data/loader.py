"""Data sets and a loader in PyTorch's shape: an indexable ``Dataset`` and a ``DataLoader`` that
shuffles with an explicit seed, drops a short last batch if asked, and collates batches into Tensors.

The loader's order is :class:`~tinygrad_mnist.data.BatchOrder`'s, the same as
:class:`~tinygrad_mnist.data.BatchIterator`'s: epoch ``e`` visits the examples in an order that
depends only on ``(seed, e)``, so a run can resume in the middle of an epoch, bit for bit. Each
``for`` loop over a loader is one epoch, the next one each time (see ``next_epoch``).

Example:
    >>> import numpy as np
    >>> data = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(data, batch_size=2, shuffle=True, seed=0)
    >>> [tuple(yb.shape) for xb, yb in loader]
    [(2,), (2,), (1,)]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..checks import check_bool, did_you_mean
from ..errors import ConfigError
from ..tensor import Tensor
from .batching import BatchOrder, EpochBatches, Indices
from .datasets import DatasetInfo, dataset_info
from .mnist import load_mnist
from .preprocess import scale_pixels

__all__ = ["DataLoader", "Dataset", "MnistDataset", "TensorDataset", "default_collate"]


class Dataset:
    """An indexable collection of examples: ``len(dataset)`` and ``dataset[i]`` for ``0 <= i < len``.

    Subclass it and define both, as in PyTorch; any sequence (a list of ``(x, y)`` pairs, say)
    serves a :class:`DataLoader` as well.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return np.float32(i), i * i
        >>> [yb.numpy().tolist() for _, yb in DataLoader(Squares(), batch_size=2)]
        [[0, 1], [4, 9]]
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__, the number of examples")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__, the example at an index")


class TensorDataset(Dataset):
    """Examples made of the rows of arrays (or Tensors) of one length: ``dataset[i]`` is
    ``tuple(a[i] for a in arrays)``. Tensors are stored as their data (a data set holds no graph).

    Example:
        >>> data = TensorDataset(np.zeros((3, 2), np.float32), np.array([0, 1, 2]))
        >>> len(data), int(data[1][1])
        (3, 1)
        >>> TensorDataset(np.zeros(3), np.zeros(2))
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: TensorDataset: every array needs the same length (first axis), got 3, 2
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ConfigError("TensorDataset needs at least one array, e.g. TensorDataset(x, y)")
        converted = tuple(a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        if any(a.ndim == 0 for a in converted):
            raise ConfigError("TensorDataset: every array needs a leading example axis; got a scalar")
        lengths = [len(a) for a in converted]
        if len(set(lengths)) > 1:
            raise ConfigError("TensorDataset: every array needs the same length (first axis), "
                              f"got {', '.join(map(str, lengths))}")
        self.arrays: tuple[np.ndarray, ...] = converted

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def _batch(self, indices: Indices) -> tuple[np.ndarray, ...]:
        # What default_collate makes of [self[i] for i in indices], in one NumPy indexing per array.
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{a.shape}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class MnistDataset(TensorDataset):
    """The training or test split of MNIST, Fashion-MNIST or KMNIST as ``(image, label)`` examples,
    loaded and verified with :func:`~tinygrad_mnist.data.load_mnist`.

    Images are scaled to ``[0, 1]`` (pixel / 255) in ``dtype``, flattened to 784 values unless
    ``flatten=False`` (then 28x28); labels are int64. ``classes`` names the classes (as
    torchvision's ``.classes``). For the training pipeline's normalisation and validation split
    use :func:`~tinygrad_mnist.data.prepare` and a :class:`TensorDataset` over its arrays.

    Args:
        data_dir: the folder with the four files (see :func:`~tinygrad_mnist.data.resolve_data_dir`).
        train: the training split (60,000 examples) if True, else the test split (10,000).
        dataset: ``"mnist"``, ``"fashion-mnist"``, ``"kmnist"`` or a
            :class:`~tinygrad_mnist.data.DatasetInfo`.
        download: fetch missing files from the data set's mirrors.

    Example:
        >>> test = MnistDataset("../shared/data/mnist", train=False, download=False)  # doctest: +SKIP
        >>> len(test), test[0][0].shape, test.classes[7]  # doctest: +SKIP
        (10000, (784,), '7')
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        train: bool = True,
        dataset: str | DatasetInfo = "mnist",
        download: bool = True,
        flatten: bool = True,
        dtype: Any = np.float32,
        progress: bool = True,
    ) -> None:
        if not isinstance(train, (bool, np.bool_)):
            raise ConfigError(f"MnistDataset: train must be true or false, got {train!r} "
                              "(the folder is the first argument, data_dir)")
        self.info = dataset_info(dataset)
        self.train = bool(train)
        mnist = load_mnist(data_dir, download=download, progress=progress, dataset=self.info)
        split = "train" if self.train else "test"
        images, labels = getattr(mnist, f"{split}_images"), getattr(mnist, f"{split}_labels")
        super().__init__(scale_pixels(images, dtype, check_bool(flatten, "flatten")), labels.astype(np.int64))

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, indexed by label."""
        return self.info.classes

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"MnistDataset({self.info.name}, {split}, images={self.arrays[0].dtype}{self.arrays[0].shape})"


def _stack(values: Sequence[Any], field: str) -> Tensor:
    if isinstance(values[0], Tensor):
        return Tensor(np.stack([v.data for v in values]))
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise ConfigError(
            f"default_collate: {field} holds {type(values[0]).__name__} values (dtype {array.dtype}), which do "
            "not make a Tensor; give the DataLoader a collate_fn that builds the batch"
        )
    return Tensor(array)


def default_collate(examples: Sequence[Any], field: str = "each example") -> Any:
    """Stack a list of examples into a batch of Tensors with a leading batch axis: tuples (and
    lists) field by field into a tuple, dicts key by key into a dict, arrays and numbers into one
    Tensor. Python floats become float64, as NumPy makes them; float32 arrays stay float32.

    Example:
        >>> xb, yb = default_collate([(np.ones(2, np.float32), 0), (np.zeros(2, np.float32), 1)])
        >>> xb.shape, xb.dtype, yb.numpy().tolist()
        ((2, 2), dtype('float32'), [0, 1])
        >>> default_collate([{"x": 1.0}, {"x": 2.0}])["x"].dtype
        dtype('float64')
    """
    if not examples:
        raise ConfigError("default_collate needs at least one example")
    first = examples[0]
    if isinstance(first, (tuple, list)):
        if any(not isinstance(e, (tuple, list)) or len(e) != len(first) for e in examples):
            raise ConfigError(f"default_collate: examples must all have {len(first)} fields, like the first")
        return tuple(default_collate([e[i] for e in examples], f"field {i} of {field}") for i in range(len(first)))
    if isinstance(first, Mapping):
        if any(not isinstance(e, Mapping) or set(e) != set(first) for e in examples):
            raise ConfigError(f"default_collate: examples must all have the keys {sorted(first)}, like the first")
        return {key: default_collate([e[key] for e in examples], f"key {key!r} of {field}") for key in first}
    return _stack(examples, field)


# PyTorch DataLoader arguments that have no counterpart here, with their harmless value and advice.
_TORCH_ONLY = {
    "num_workers": (0, "batches are made in the calling process (one NumPy indexing per batch); remove num_workers"),
    "pin_memory": (False, "there is no GPU memory to pin; remove pin_memory"),
    "persistent_workers": (False, "there are no worker processes; remove persistent_workers"),
    "prefetch_factor": (None, "there are no worker processes; remove prefetch_factor"),
    "timeout": (0, "batches are made in the calling process; remove timeout"),
    "worker_init_fn": (None, "there are no worker processes; remove worker_init_fn"),
    "generator": (None, "the order is a pure function of (seed, epoch): use seed=<int>"),
    "sampler": (None, "use shuffle=True/False and seed=<int>; DataLoader.epoch(e, start_batch=k) resumes an epoch"),
    "batch_sampler": (None, "use batch_size, shuffle, seed and drop_last"),
    "multiprocessing_context": (None, "there are no worker processes; remove multiprocessing_context"),
}


def _refuse_torch_options(options: dict[str, Any]) -> None:
    for name, value in options.items():
        if name not in _TORCH_ONLY:
            known = ["dataset", "batch_size", "shuffle", "seed", "drop_last", "collate_fn", *_TORCH_ONLY]
            raise TypeError(f"DataLoader got an unexpected keyword argument {name!r}{did_you_mean(name, known)}")
        harmless, advice = _TORCH_ONLY[name]
        if value is not harmless and value != harmless:
            raise ConfigError(f"DataLoader: {name}={value!r} is PyTorch's and not supported here: {advice}")


class DataLoader(EpochBatches):
    """Batches of an indexable data set as Tensors, in PyTorch's shape.

    Args:
        dataset: a :class:`Dataset`, a :class:`TensorDataset`, or any sequence of examples.
        batch_size: examples per batch, ``1 <= batch_size <= len(dataset)``.
        shuffle: visit the examples in a fresh random order each epoch (off by default, as in
            PyTorch); the order of epoch ``e`` depends only on ``(seed, e)``.
        seed: non-negative int choosing the orders; the same seed gives the same batches.
        drop_last: skip the final batch if it would be smaller than ``batch_size``.
        collate_fn: builds a batch from the list of its examples (default: :func:`default_collate`,
            which stacks them into Tensors).

    ``for xb, yb in loader:`` runs one epoch: the first loop is epoch 0, the next epoch 1, and so
    on (see :attr:`next_epoch`); ``loader.epoch(e, start_batch=k)`` gives batches ``k, k+1, ...``
    of epoch ``e``, which is how a run resumes. ``len(loader)`` is the number of batches per epoch.
    With a :class:`TensorDataset` and the default collate a batch is taken with one NumPy indexing
    per array, the same values the examples would stack to; it equals the
    :class:`~tinygrad_mnist.data.BatchIterator` batch of the same seed, as Tensors.

    Example:
        >>> x, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6)
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=0, drop_last=True)
        >>> len(loader), [yb.shape for _, yb in loader]
        (1, [(4,)])
        >>> DataLoader(TensorDataset(x, y), batch_size=4, num_workers=2)
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: DataLoader: num_workers=2 is PyTorch's and not supported here: batches are made in the calling process (one NumPy indexing per batch); remove num_workers
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        collate_fn: Callable[[list], Any] | None = None,
        **torch_options: Any,
    ) -> None:
        _refuse_torch_options(torch_options)
        if isinstance(batch_size, (np.ndarray, Tensor, list)):
            raise ConfigError("DataLoader takes one data set, then the batch size: wrap arrays as "
                              "DataLoader(TensorDataset(x, y), batch_size=...)")
        if isinstance(dataset, Tensor):
            dataset = dataset.data
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")) or isinstance(dataset, (str, bytes)):
            raise ConfigError(f"DataLoader needs an indexable data set with len() and [i], got {type(dataset).__name__}; "
                              "wrap arrays as TensorDataset(x, y)")
        if isinstance(dataset, np.ndarray) and (dataset.ndim == 0 or dataset.dtype.kind not in "fiub"):
            raise ConfigError(f"DataLoader needs numbers with a leading example axis, got a {dataset.ndim}-d array of "
                              f"{dataset.dtype}; use a Dataset with a collate_fn for other data")
        if collate_fn is not None and not callable(collate_fn):
            raise ConfigError("collate_fn must be a function of the list of a batch's examples, "
                              f"got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.batch_order = BatchOrder(len(dataset), batch_size, shuffle, seed, drop_last)
        # Arrays, and a TensorDataset whose examples are its arrays' rows, hand out a whole batch
        # at once: what the default collate would stack, in one NumPy indexing per array.
        default = self.collate_fn is default_collate
        self._whole_arrays = default and isinstance(dataset, np.ndarray)
        self._whole_batches = (default and isinstance(dataset, TensorDataset)
                               and type(dataset).__getitem__ is TensorDataset.__getitem__)

    def _fetch(self, indices: Indices) -> Any:
        if self._whole_batches:
            return tuple(Tensor(array) for array in self.dataset._batch(indices))
        if self._whole_arrays:
            return Tensor(self.dataset[indices])
        if isinstance(indices, slice):
            indices = range(indices.start, min(indices.stop, len(self.dataset)))
        return self.collate_fn([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return f"DataLoader({self.dataset!r}, {self.batch_order.describe()})"
