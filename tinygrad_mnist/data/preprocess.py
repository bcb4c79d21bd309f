"""Turning the raw uint8 MNIST arrays into float model inputs and splits.

Normalisation statistics come from the training part only (after the
validation split is removed), so nothing about the validation or test images
leaks into training.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..checks import NON_NEGATIVE, check_choice, check_int
from ..errors import ConfigError
from .mnist import Mnist

__all__ = ["NORMALIZATIONS", "Splits", "prepare", "scale_pixels", "split_size"]

#: Accepted values of ``prepare(normalize=...)``.
NORMALIZATIONS = ("scale", "center", "standardize")


@dataclass(frozen=True, repr=False, eq=False)
class Splits:
    """Model-ready arrays. Labels are int64; ``x_val``/``y_val`` are None without a split.

    ``mean`` and ``std`` are the training statistics (on the 0..1 scale) that
    were subtracted / divided by; apply the same to new inputs at inference:
    ``(pixels / 255 - mean) / std``. For "scale" they are 0 and 1.

    Example:
        >>> s = prepare(Mnist(np.zeros((4, 28, 28), np.uint8), np.arange(4, dtype=np.uint8),
        ...                   np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)), val_size=1)
        >>> s
        Splits(x_train=float32(3, 784), y_train=int64(3,), x_val=float32(1, 784), y_val=int64(1,), x_test=float32(1, 784), y_test=int64(1,), normalize='scale', mean=0, std=1)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    normalize: str = "scale"
    mean: float = 0.0
    std: float = 1.0

    def __repr__(self) -> str:
        def show(a: np.ndarray | None) -> str:
            return "None" if a is None else f"{a.dtype}{a.shape}"

        arrays = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        parts = [f"{k}={show(getattr(self, k))}" for k in arrays]
        parts += [f"normalize={self.normalize!r}", f"mean={self.mean:.6g}", f"std={self.std:.6g}"]
        return f"Splits({', '.join(parts)})"


def split_size(val_size: int | float, n: int) -> int:
    """Number of validation examples for ``val_size`` out of ``n`` training examples.

    An int is a count (``0 <= val_size < n``); a float is a fraction
    (``0.0 <= val_size < 1.0``) and is rounded to the nearest count.
    At least one training example must remain.

    Example:
        >>> split_size(0.1, 60000), split_size(5000, 60000), split_size(0, 10)
        (6000, 5000, 0)
    """
    # bool is an int subclass, but val_size=True is almost certainly a mistake.
    if isinstance(val_size, bool) or not isinstance(val_size, numbers.Real):
        raise ConfigError(f"val_size must be an int count or a float fraction, got {val_size!r}")
    if isinstance(val_size, numbers.Integral):
        count = int(val_size)
        if not 0 <= count < n:
            raise ConfigError(
                f"val_size={count} must be between 0 and {n - 1} (there are {n} training examples "
                "and at least one must stay for training)"
            )
        return count
    fraction = float(val_size)
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"val_size={val_size!r} as a fraction must be in [0.0, 1.0)")
    count = int(round(fraction * n))
    if count >= n:
        raise ConfigError(f"val_size={val_size!r} of {n} examples leaves nothing for training")
    return count


def _pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """Exact mean and std of uint8 pixels on the 0..1 scale.

    A 256-bin histogram gives them in one pass without the float64 copy of
    all 47M pixels that ``images.std()`` would allocate.
    """
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    values = np.arange(256, dtype=np.float64)
    total = counts.sum()
    mean = float(counts @ values / total)
    var = float(counts @ (values - mean) ** 2 / total)
    return mean / 255.0, float(np.sqrt(var)) / 255.0


def _to_float(images: np.ndarray, dtype: np.dtype, mean: float, std: float, flatten: bool) -> np.ndarray:
    # divide (not multiply by 1/255) so 255 maps to exactly 1.0 and "scale" stays in [0, 1].
    out = np.divide(images, dtype.type(255), dtype=dtype)
    if mean != 0.0:
        out -= dtype.type(mean)
    if std != 1.0:
        out /= dtype.type(std)
    return out.reshape(len(out), -1) if flatten else out


def _float_dtype(dtype: np.dtype | type) -> np.dtype:
    try:
        float_dtype = np.dtype(dtype)
    except TypeError as e:
        raise ConfigError(f"dtype must be a NumPy floating dtype, got {dtype!r}") from e
    if float_dtype.kind != "f":
        raise ConfigError(f"dtype must be a floating dtype such as np.float32, got {float_dtype}")
    return float_dtype


def scale_pixels(images: np.ndarray, dtype: np.dtype | type = np.float32, flatten: bool = True) -> np.ndarray:
    """uint8 images as floats in ``[0, 1]`` (pixel / 255, so 255 is exactly 1.0), ``(N, H*W)``
    when ``flatten`` else ``(N, H, W)``: ``prepare``'s "scale" without the splits.

    Example:
        >>> scale_pixels(np.array([[[0, 255]]], np.uint8)).tolist()
        [[0.0, 1.0]]
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim < 2:
        raise ConfigError(f"scale_pixels needs uint8 images of shape (N, H, W), got {images.dtype}{images.shape}")
    return _to_float(images, _float_dtype(dtype), 0.0, 1.0, flatten)


def prepare(
    mnist: Mnist,
    normalize: str = "scale",
    val_size: int | float = 0,
    seed: int = 0,
    dtype: np.dtype | type = np.float32,
    flatten: bool = True,
) -> Splits:
    """Convert MNIST to float arrays, optionally holding out a validation split.

    Args:
        mnist: uint8 data as returned by :func:`load_mnist`.
        normalize: ``"scale"`` divides by 255 (values in [0, 1]);
            ``"center"`` also subtracts the mean training pixel (a scalar);
            ``"standardize"`` also divides by the training pixel std.
        val_size: validation examples taken from the training set, as a count
            (int) or a fraction (float); 0 means no validation split.
        seed: chooses which examples go to validation (same seed, same split).
        dtype: a floating dtype for the images.
        flatten: ``(N, 784)`` images if True, else ``(N, 28, 28)``.

    Raises:
        ConfigError: (a ValueError) for any invalid argument.

    Example:
        >>> m = Mnist(np.full((10, 28, 28), 255, np.uint8), np.arange(10, dtype=np.uint8),
        ...           np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8))
        >>> s = prepare(m, val_size=0.2, seed=1)
        >>> s.x_train.shape, s.x_val.shape, float(s.x_train.max()), s.y_train.dtype
        ((8, 784), (2, 784), 1.0, dtype('int64'))
    """
    normalize = check_choice(normalize, "normalize", NORMALIZATIONS)
    float_dtype = _float_dtype(dtype)
    seed = check_int(seed, "seed", NON_NEGATIVE)
    for name in ("train_images", "test_images"):
        images = getattr(mnist, name)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ConfigError(f"mnist.{name} must be uint8 of shape (N, H, W), got {images.dtype}{images.shape}")
    for split in ("train", "test"):
        n_images = len(getattr(mnist, f"{split}_images"))
        n_labels = len(getattr(mnist, f"{split}_labels"))
        if n_images != n_labels:
            raise ConfigError(f"{split}: {n_images} images but {n_labels} labels")

    n = len(mnist.train_images)
    n_val = split_size(val_size, n)
    if n_val:
        # Sorted indices keep each part in the original file order; only membership is random.
        order = np.random.default_rng(seed).permutation(n)
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        train_images, train_labels = mnist.train_images[train_idx], mnist.train_labels[train_idx]
    else:
        train_images, train_labels = mnist.train_images, mnist.train_labels

    mean, std = 0.0, 1.0
    if normalize != "scale":
        mean, pixel_std = _pixel_stats(train_images)
        if normalize == "standardize":
            if pixel_std == 0.0:
                raise ConfigError("cannot standardize: all training pixels are equal (std is 0)")
            std = pixel_std

    def convert(images: np.ndarray) -> np.ndarray:
        return _to_float(images, float_dtype, mean, std, flatten)

    x_val = y_val = None
    if n_val:
        x_val = convert(mnist.train_images[val_idx])
        y_val = mnist.train_labels[val_idx].astype(np.int64)
    return Splits(
        x_train=convert(train_images),
        y_train=np.array(train_labels, dtype=np.int64),
        x_val=x_val,
        y_val=y_val,
        x_test=convert(mnist.test_images),
        y_test=np.array(mnist.test_labels, dtype=np.int64),
        normalize=normalize,
        mean=mean,
        std=std,
    )
