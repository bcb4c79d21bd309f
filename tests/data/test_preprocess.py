"""prepare(): normalisation, validation split, dtypes and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist.data import Mnist, prepare, split_size


def synthetic(n_train: int = 200, n_test: int = 30, seed: int = 0) -> Mnist:
    """Small random MNIST look-alike; label i identifies training example i."""
    rng = np.random.default_rng(seed)
    return Mnist(
        train_images=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        train_labels=np.arange(n_train, dtype=np.uint8),
        test_images=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        test_labels=rng.integers(0, 10, n_test, dtype=np.uint8),
    )


def test_scale_defaults() -> None:
    m = synthetic()
    s = prepare(m)
    assert s.x_train.shape == (200, 784) and s.x_test.shape == (30, 784)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64 and s.y_test.dtype == np.int64
    assert s.x_val is None and s.y_val is None
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    np.testing.assert_allclose(s.x_train, m.train_images.reshape(200, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, m.test_labels)
    assert (s.normalize, s.mean, s.std) == ("scale", 0.0, 1.0)


def test_extremes_map_exactly_to_0_and_1() -> None:
    m = synthetic()
    m.train_images[0] = 0
    m.train_images[1] = 255
    s = prepare(m)
    assert s.x_train[0].max() == 0.0 and s.x_train[1].min() == 1.0


def test_flatten_false_and_dtype() -> None:
    s = prepare(synthetic(), flatten=False, dtype=np.float64)
    assert s.x_train.shape == (200, 28, 28) and s.x_train.dtype == np.float64
    assert prepare(synthetic(), dtype="float16").x_test.dtype == np.float16


def test_outputs_are_writable_copies() -> None:
    m = synthetic()
    s = prepare(m)
    s.y_train[0] = 99
    assert m.train_labels[0] == 0


def test_validation_split_partitions_training_set() -> None:
    s = prepare(synthetic(), val_size=50, seed=3)
    assert len(s.x_train) == 150 and len(s.x_val) == 50
    ids = np.concatenate([s.y_train, s.y_val])
    assert sorted(ids.tolist()) == list(range(200))  # disjoint and complete
    # Each part keeps the original order.
    assert np.all(np.diff(s.y_train) > 0) and np.all(np.diff(s.y_val) > 0)


def test_validation_split_is_seeded() -> None:
    m = synthetic()
    a, b, c = (prepare(m, val_size=0.25, seed=seed) for seed in (7, 7, 8))
    np.testing.assert_array_equal(a.y_val, b.y_val)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.y_val, c.y_val)


@pytest.mark.parametrize("normalize", ["center", "standardize"])
def test_statistics_come_from_training_part_only(normalize: str) -> None:
    m = synthetic()
    s = prepare(m, normalize=normalize, val_size=80, seed=1)
    train_pixels = m.train_images[s.y_train].astype(np.float64) / 255.0
    assert s.mean == pytest.approx(train_pixels.mean(), rel=1e-12)
    expected_std = train_pixels.std() if normalize == "standardize" else 1.0
    assert s.std == pytest.approx(expected_std, rel=1e-12)
    # The training part is exactly centred (and scaled); val/test use the same transform.
    assert s.x_train.mean(dtype=np.float64) == pytest.approx(0.0, abs=1e-5)
    if normalize == "standardize":
        assert s.x_train.std(dtype=np.float64) == pytest.approx(1.0, abs=1e-5)
    expected_val = (m.train_images[s.y_val].reshape(80, -1) / 255.0 - s.mean) / s.std
    np.testing.assert_allclose(s.x_val, expected_val, atol=1e-5)


def test_real_data_standardize(mnist: Mnist) -> None:
    s = prepare(mnist, normalize="standardize", val_size=5000, seed=0)
    assert s.x_train.shape == (55000, 784) and s.x_val.shape == (5000, 784) and s.x_test.shape == (10000, 784)
    assert s.x_train.dtype == np.float32
    # Close to the README's full-training-set figures, though computed on 55000 images.
    assert s.mean * 255 == pytest.approx(33.318, abs=0.2)
    assert s.std * 255 == pytest.approx(78.567, abs=0.3)
    total = total_sq = 0.0
    for chunk in np.array_split(s.x_train, 8):
        c = chunk.astype(np.float64).ravel()
        total += c.sum()
        total_sq += c @ c
    n = s.x_train.size
    assert total / n == pytest.approx(0.0, abs=1e-5)
    assert np.sqrt(total_sq / n - (total / n) ** 2) == pytest.approx(1.0, abs=1e-4)
    assert set(np.unique(s.y_val).tolist()) == set(range(10))


def test_split_size() -> None:
    assert split_size(0, 100) == 0
    assert split_size(99, 100) == 99
    assert split_size(0.0, 100) == 0
    assert split_size(0.105, 100) == 10
    assert split_size(np.int64(5), 100) == 5
    assert split_size(np.float32(0.5), 100) == 50


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"normalize": "minmax"}, "unknown normalize 'minmax' \\(choose from: scale, center, standardize\\)"),
        ({"normalize": None}, "unknown normalize None"),
        ({"val_size": -1}, "between 0 and 199"),
        ({"val_size": 200}, "between 0 and 199"),
        ({"val_size": 1.0}, r"in \[0.0, 1.0\)"),
        ({"val_size": -0.1}, r"in \[0.0, 1.0\)"),
        ({"val_size": 0.999}, "leaves nothing for training"),
        ({"val_size": True}, "int count or a float fraction"),
        ({"val_size": "10"}, "int count or a float fraction"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"dtype": np.int32}, "floating dtype"),
        ({"dtype": "not-a-dtype"}, "floating dtype"),
    ],
)
def test_invalid_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        prepare(synthetic(), **kwargs)


def test_invalid_data() -> None:
    m = synthetic()
    with pytest.raises(ValueError, match="must be uint8"):
        prepare(Mnist(m.train_images.astype(np.float32), m.train_labels, m.test_images, m.test_labels))
    with pytest.raises(ValueError, match="200 images but 199 labels"):
        prepare(Mnist(m.train_images, m.train_labels[:-1], m.test_images, m.test_labels))
    flat = Mnist(np.full((5, 28, 28), 7, np.uint8), np.zeros(5, np.uint8), m.test_images, m.test_labels)
    with pytest.raises(ValueError, match="std is 0"):
        prepare(flat, normalize="standardize")
