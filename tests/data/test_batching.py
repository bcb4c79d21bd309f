"""BatchIterator: sizes, determinism, per-epoch orders, resuming, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist.data import BatchIterator


def data(n: int = 103) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n, dtype=np.int64)


def ids(it: BatchIterator, epoch: int, start_batch: int = 0) -> list[list[int]]:
    return [yb.tolist() for _, yb in it.epoch(epoch, start_batch=start_batch)]


@pytest.mark.parametrize("drop_last, expected_len, last_size", [(False, 11, 3), (True, 10, 10)])
def test_lengths_and_shapes(drop_last: bool, expected_len: int, last_size: int) -> None:
    x, y = data()
    it = BatchIterator(x, y, batch_size=10, drop_last=drop_last)
    batches = list(it.epoch(0))
    assert len(it) == len(batches) == expected_len
    assert all(xb.shape == (10, 2) for xb, _ in batches[:-1])
    assert batches[-1][0].shape == (last_size, 2) and batches[-1][1].shape == (last_size,)
    assert all(xb.dtype == np.float32 and yb.dtype == np.int64 for xb, yb in batches)


def test_pairs_stay_aligned_and_cover_everything() -> None:
    x, y = data()
    seen = []
    for xb, yb in BatchIterator(x, y, batch_size=8, seed=5).epoch(2):
        np.testing.assert_array_equal(xb, x[yb])
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(103))


def test_order_depends_only_on_seed_and_epoch() -> None:
    x, y = data()
    a = BatchIterator(x, y, batch_size=16, seed=1)
    b = BatchIterator(x, y, batch_size=16, seed=1)
    assert ids(a, 3) == ids(b, 3)
    list(a.epoch(0))  # consuming other epochs first changes nothing
    assert ids(a, 3) == ids(b, 3)
    np.testing.assert_array_equal(a.order(4), np.random.default_rng([1, 4]).permutation(103))


def test_different_orders_per_epoch_and_seed() -> None:
    x, y = data()
    it = BatchIterator(x, y, batch_size=16, seed=1)
    orders = {tuple(it.order(e)) for e in range(5)}
    assert len(orders) == 5
    assert ids(it, 0) != ids(BatchIterator(x, y, batch_size=16, seed=2), 0)


def test_no_shuffle_is_identity_order() -> None:
    x, y = data(10)
    it = BatchIterator(x, y, batch_size=4, shuffle=False)
    assert ids(it, 0) == ids(it, 7) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
def test_start_batch_resumes_exactly(shuffle: bool, drop_last: bool) -> None:
    x, y = data()
    it = BatchIterator(x, y, batch_size=10, shuffle=shuffle, seed=9, drop_last=drop_last)
    full = ids(it, 4)
    for k in range(len(it) + 1):
        assert ids(it, 4, start_batch=k) == full[k:]


def test_resumed_run_equals_uninterrupted_run() -> None:
    x, y = data()
    it = BatchIterator(x, y, batch_size=7, seed=3)
    uninterrupted = [b for e in range(3) for b in ids(it, e)]
    # "Crash" after 4 batches of epoch 1, then resume from the saved (epoch, batch).
    before = ids(it, 0) + ids(it, 1)[:4]
    after = ids(it, 1, start_batch=4) + ids(it, 2)
    assert before + after == uninterrupted


def test_batch_size_equal_to_n_and_one() -> None:
    x, y = data(5)
    assert len(BatchIterator(x, y, batch_size=5)) == 1
    assert len(BatchIterator(x, y, batch_size=1)) == 5


@pytest.mark.parametrize(
    "batch_size, match",
    [
        (0, "batch_size must be >= 1, got 0"),
        (-3, "batch_size must be >= 1, got -3"),
        (104, "batch_size=104 is larger than the data set \\(103 examples\\)"),
        (2.5, "batch_size must be an int"),
        (True, "batch_size must be an int"),
    ],
)
def test_bad_batch_size(batch_size: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatchIterator(*data(), batch_size=batch_size)


def test_other_construction_errors() -> None:
    x, y = data()
    with pytest.raises(ValueError, match="same length, got 103 and 102"):
        BatchIterator(x, y[:-1], batch_size=4)
    with pytest.raises(ValueError, match="empty data set"):
        BatchIterator(x[:0], y[:0], batch_size=1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        BatchIterator(x, y, batch_size=4, seed=-1)
    with pytest.raises(ValueError, match="not scalars"):
        BatchIterator(np.float32(1), np.int64(1), batch_size=1)


def test_epoch_argument_errors_are_raised_at_call_time() -> None:
    it = BatchIterator(*data(), batch_size=10)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        it.epoch(-1)
    with pytest.raises(ValueError, match="start_batch=12 is past the end of the epoch \\(11 batches"):
        it.epoch(0, start_batch=12)
    with pytest.raises(ValueError, match="start_batch must be >= 0"):
        it.epoch(0, start_batch=-1)
    with pytest.raises(ValueError, match="epoch must be an integer"):
        it.epoch(1.5)
