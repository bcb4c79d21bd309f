"""Dataset, TensorDataset, MnistDataset, default_collate and DataLoader: the same batches as
BatchIterator, one epoch per loop, Tensors out, and one clear line for each misuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idx_datasets import write_dataset
from tinygrad_mnist import Tensor
from tinygrad_mnist.data import (
    BatchIterator,
    BatchOrder,
    DataLoader,
    Dataset,
    MnistDataset,
    TensorDataset,
    default_collate,
    load_mnist,
    prepare,
)
from tinygrad_mnist.errors import ConfigError


def data(n: int = 103) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n, dtype=np.int64)


def arrays(batches) -> list[tuple[np.ndarray, ...]]:
    """Batches of Tensors (or arrays) as tuples of arrays."""
    return [tuple(b.data if isinstance(b, Tensor) else b for b in batch) for batch in batches]


def same_batches(a, b) -> bool:
    a, b = arrays(a), arrays(b)
    return len(a) == len(b) and all(
        len(p) == len(q) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(a, b)
    )


class Rows(Dataset):
    """A generic data set: the examples one by one, no batch indexing."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
def test_the_loader_gives_batch_iterators_batches_as_tensors(shuffle: bool, drop_last: bool) -> None:
    x, y = data()
    reference = BatchIterator(x, y, batch_size=10, shuffle=shuffle, seed=7, drop_last=drop_last)
    fast = DataLoader(TensorDataset(x, y), batch_size=10, shuffle=shuffle, seed=7, drop_last=drop_last)
    generic = DataLoader(Rows(x, y), batch_size=10, shuffle=shuffle, seed=7, drop_last=drop_last)
    assert len(fast) == len(generic) == len(reference) == (10 if drop_last else 11)
    for epoch in range(3):
        batches = list(fast.epoch(epoch))
        assert all(isinstance(xb, Tensor) and isinstance(yb, Tensor) for xb, yb in batches)
        assert not any(xb.requires_grad for xb, _ in batches)
        assert same_batches(batches, reference.epoch(epoch))
        assert same_batches(generic.epoch(epoch), reference.epoch(epoch))
        for k in (0, 4, len(fast)):
            assert same_batches(fast.epoch(epoch, start_batch=k), reference.epoch(epoch, start_batch=k))


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    epoch=st.integers(0, 1000),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_an_epoch_is_its_order_cut_into_batches(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool, drop_last: bool) -> None:
    batch_size = min(batch_size, n)
    x, y = data(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
    order = loader.order(epoch)
    labels = [yb.data for _, yb in loader.epoch(epoch)]
    kept = len(loader) * batch_size if drop_last else n
    assert np.array_equal(np.concatenate(labels), order[:kept])
    assert all(len(b) == batch_size for b in labels[:-1]) and 0 < len(labels[-1]) <= batch_size
    assert sorted(order.tolist()) == list(range(n))
    expected = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    assert np.array_equal(order, expected)


@pytest.mark.parametrize("make", [lambda x, y: BatchIterator(x, y, 8, seed=2),
                                  lambda x, y: DataLoader(TensorDataset(x, y), 8, shuffle=True, seed=2)],
                         ids=["BatchIterator", "DataLoader"])
def test_each_loop_is_the_next_epoch(make: Any) -> None:
    x, y = data(40)
    batches = make(x, y)
    first = [yb for _, yb in batches]
    second = [yb for _, yb in batches]
    assert same_batches([(b,) for b in first], [(yb,) for _, yb in batches.epoch(0)])
    assert same_batches([(b,) for b in second], [(yb,) for _, yb in batches.epoch(1)])
    assert batches.next_epoch == 2
    for _ in batches:  # a loop that stops early still used up its epoch
        break
    assert batches.next_epoch == 3
    list(batches.epoch(7))  # asking for an epoch does not move the count
    assert batches.next_epoch == 3
    batches.next_epoch = 5
    assert same_batches([(yb,) for _, yb in batches], [(yb,) for _, yb in batches.epoch(5)])
    with pytest.raises(ConfigError, match="next_epoch must be >= 0, got -1"):
        batches.next_epoch = -1


def test_a_subclass_with_its_own_getitem_is_asked_example_by_example() -> None:
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return 2 * x, y

    x, y = data(12)
    (xb, yb), = DataLoader(Doubled(x, y), batch_size=12)
    assert np.array_equal(xb.data, 2 * x) and np.array_equal(yb.data, y)


def test_arrays_tensors_and_lists_are_data_sets_too() -> None:
    x, y = data(9)
    assert same_batches([(b,) for b in DataLoader(x, batch_size=4)], [(x[:4],), (x[4:8],), (x[8:],)])
    assert same_batches([(b,) for b in DataLoader(Tensor(x), batch_size=9)], [(x,)])
    pairs = [(x[i], int(y[i])) for i in range(9)]
    (xb, yb), *_ = DataLoader(pairs, batch_size=5, shuffle=True, seed=1)
    order = DataLoader(pairs, batch_size=5, shuffle=True, seed=1).order(0)[:5]
    assert np.array_equal(xb.data, x[order]) and yb.data.tolist() == y[order].tolist()


def test_default_collate() -> None:
    xb, yb = default_collate([(np.ones(2, np.float32), 3), (np.zeros(2, np.float32), 4)])
    assert xb.shape == (2, 2) and xb.dtype == np.float32 and yb.data.tolist() == [3, 4]
    batch = default_collate([{"image": Tensor(np.ones(3)), "label": 1}, {"image": Tensor(np.zeros(3)), "label": 0}])
    assert batch["image"].shape == (2, 3) and batch["label"].data.tolist() == [1, 0]
    assert default_collate([1.5, 2.5]).dtype == np.float64
    with pytest.raises(ConfigError, match="field 1 of each example holds str values .* give the DataLoader a collate_fn"):
        default_collate([(1.0, "cat"), (2.0, "dog")])
    with pytest.raises(ConfigError, match="examples must all have 2 fields, like the first"):
        default_collate([(1.0, 2), (1.0,)])
    with pytest.raises(ConfigError, match="examples must all have the keys"):
        default_collate([{"a": 1}, {"b": 2}])


def test_a_collate_fn_of_ones_own_gets_the_examples() -> None:
    x, y = data(6)
    seen = []
    loader = DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=lambda examples: seen.append(len(examples)) or len(examples))
    assert list(loader) == [3, 3] and seen == [3, 3]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, num_workers=4), ConfigError,
         "num_workers=4 is PyTorch's and not supported here: batches are made in the calling process"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, generator=object()), ConfigError, "use seed=<int>"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, sampler=[0, 1]), ConfigError, "use shuffle=True/False and seed=<int>"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, pin_memory=True), ConfigError, "no GPU memory to pin"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, shufle=True), TypeError,
         "unexpected keyword argument 'shufle'; did you mean 'shuffle'?"),
        (lambda x, y: DataLoader(x, y), ConfigError, r"takes one data set, then the batch size: wrap arrays as DataLoader\(TensorDataset\(x, y\)"),
        (lambda x, y: DataLoader(TensorDataset(x, y), batch_size=None), ConfigError, "batch_size=None, is not supported"),
        (lambda x, y: DataLoader(TensorDataset(x, y), batch_size=0), ConfigError, "batch_size must be >= 1, got 0"),
        (lambda x, y: DataLoader(TensorDataset(x, y), batch_size=11), ConfigError, r"batch_size=11 is larger than the data set \(10 examples\)"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, shuffle=True, seed=None), ConfigError, r"pure function of \(seed, epoch\)"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, shuffle="yes"), ConfigError, "shuffle must be true or false"),
        (lambda x, y: DataLoader(42, 4), ConfigError, "needs an indexable data set with len\\(\\) and \\[i\\], got int"),
        (lambda x, y: DataLoader(iter([1, 2]), 1), ConfigError, "got list_iterator"),
        (lambda x, y: DataLoader(np.array(["a", "b"]), 1), ConfigError, "needs numbers with a leading example axis"),
        (lambda x, y: DataLoader([], 1), ConfigError, "cannot batch an empty data set"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4, collate_fn="stack"), ConfigError, "collate_fn must be a function"),
        (lambda x, y: TensorDataset(), ConfigError, r"needs at least one array, e.g. TensorDataset\(x, y\)"),
        (lambda x, y: TensorDataset(x, y[:-1]), ConfigError, "same length \\(first axis\\), got 10, 9"),
        (lambda x, y: TensorDataset(x, np.float32(1)), ConfigError, "leading example axis; got a scalar"),
        (lambda x, y: DataLoader(TensorDataset(x, y), 4).epoch(0, start_batch=4), ConfigError, "start_batch=4 is past the end"),
        (lambda x, y: MnistDataset("some/folder", "train"), ConfigError,
         "train must be true or false, got 'train' \\(the folder is the first argument, data_dir\\)"),
    ],
)
def test_misuse_is_one_clear_line(call: Any, error: type, match: str) -> None:
    x, y = data(10)
    with pytest.raises(error, match=match) as info:
        call(x, y)
    assert "\n" not in str(info.value)


def test_pytorch_options_with_their_harmless_values_are_accepted() -> None:
    x, y = data(10)
    loader = DataLoader(TensorDataset(x, y), 5, num_workers=0, pin_memory=False, generator=None, timeout=0)
    assert len(loader) == 2
    assert repr(loader) == ("DataLoader(TensorDataset(float32(10, 3), int64(10,)), batch_size=5, shuffle=False, seed=0, "
                            "drop_last=False, batches=2)")


def test_tensors_become_data_and_keep_no_graph() -> None:
    w = Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    dataset = TensorDataset(w * 2, np.arange(4))
    assert isinstance(dataset.arrays[0], np.ndarray) and dataset.arrays[0].dtype == np.float32
    (xb, _), = DataLoader(dataset, 4)
    assert not xb.requires_grad and xb.dtype == np.float32


def test_batch_order_is_the_one_engine() -> None:
    order = BatchOrder(10, 4, shuffle=False)
    assert list(order.index_batches(0)) == [slice(0, 4), slice(4, 8), slice(8, 12)]
    assert DataLoader(TensorDataset(*data(10)), 4).batch_order.describe() == order.describe()


def test_mnist_dataset_is_the_scaled_split(shared_dir: Path) -> None:
    test = MnistDataset(shared_dir, train=False, download=False, progress=False)
    splits = prepare(load_mnist(shared_dir, download=False, progress=False))
    assert len(test) == 10000 and test.classes == tuple("0123456789")
    assert np.array_equal(test.arrays[0], splits.x_test) and np.array_equal(test.arrays[1], splits.y_test)
    image, label = test[0]
    assert image.shape == (784,) and image.dtype == np.float32 and label == splits.y_test[0]
    assert repr(test) == "MnistDataset(mnist, test, images=float32(10000, 784))"


def test_mnist_dataset_of_another_data_set(tmp_path: Path) -> None:
    info, raw = write_dataset(tmp_path, "kmnist")
    train = MnistDataset(tmp_path, dataset=info, download=False, flatten=False, dtype=np.float64)
    assert train.classes[:3] == ("o", "ki", "su") and len(train) == len(raw.train_labels)
    xb, yb = next(iter(DataLoader(train, batch_size=16, shuffle=True, seed=0)))
    assert xb.shape == (16, 28, 28) and xb.dtype == np.float64 and yb.dtype == np.int64
    assert float(xb.data.max()) == 1.0 and float(xb.data.min()) >= 0.0
