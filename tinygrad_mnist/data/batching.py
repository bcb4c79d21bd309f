"""Mini-batches whose order is a pure function of (seed, epoch).

Because epoch ``e`` always visits the examples in the same order, a training
run interrupted after ``k`` batches of epoch ``e`` can resume exactly with
``epoch(e, start_batch=k)``; no iterator or RNG state needs to be saved.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..checks import NON_NEGATIVE, check_int, positive_int
from ..errors import ConfigError

__all__ = ["BatchIterator"]


class BatchIterator:
    """Deterministic mini-batches of ``(x, y)`` along the first axis.

    Args:
        x: the inputs, an array whose first axis indexes the ``n >= 1`` examples.
        y: the targets, an array of the same length ``n``.
        batch_size: examples per batch, ``1 <= batch_size <= n``.
        shuffle: visit examples in a fresh random order each epoch; the order
            of epoch ``e`` is ``np.random.default_rng([seed, e]).permutation(n)``.
        seed: non-negative int selecting the family of orders.
        drop_last: skip the final batch if it would be smaller than ``batch_size``.

    ``len(it)`` is the number of batches per epoch.

    Example:
        >>> it = BatchIterator(np.arange(10), np.arange(10), batch_size=4, seed=0)
        >>> len(it), [len(xb) for xb, _ in it.epoch(0)]
        (3, [4, 4, 2])
        >>> resumed = [xb.tolist() for xb, _ in it.epoch(0, start_batch=2)]
        >>> resumed == [xb.tolist() for xb, _ in it.epoch(0)][2:]
        True
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ConfigError("x and y must be arrays with a leading example axis, not scalars")
        if len(x) != len(y):
            raise ConfigError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        if len(x) == 0:
            raise ConfigError("cannot batch an empty data set (x and y have length 0)")
        batch_size = positive_int(batch_size, "batch_size")
        if batch_size > len(x):
            raise ConfigError(
                f"batch_size={batch_size} is larger than the data set ({len(x)} examples); "
                f"use a batch_size between 1 and {len(x)}"
            )
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = check_int(seed, "seed", NON_NEGATIVE)
        self.drop_last = bool(drop_last)

    @property
    def n(self) -> int:
        """Number of examples.

        Example:
            >>> BatchIterator(np.zeros(5), np.zeros(5), batch_size=2).n
            5
        """
        return len(self.x)

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The example indices in the order epoch ``epoch`` visits them.

        Example:
            >>> it = BatchIterator(np.zeros(4), np.zeros(4), batch_size=2, shuffle=False)
            >>> it.order(3)
            array([0, 1, 2, 3])
        """
        epoch = check_int(epoch, "epoch", NON_NEGATIVE)
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the ``(xb, yb)`` batches of epoch ``epoch``, starting at batch ``start_batch``.

        ``start_batch`` may equal ``len(self)`` (nothing left to yield), which
        is what a run saved right at the end of an epoch resumes with.

        Raises:
            ConfigError: (a ValueError) negative epoch, or start_batch outside ``0..len(self)``
                (raised at the call, not at the first ``next``).

        Example:
            >>> it = BatchIterator(np.arange(6), np.arange(6), batch_size=3, shuffle=False)
            >>> [yb.tolist() for _, yb in it.epoch(0, start_batch=1)]
            [[3, 4, 5]]
        """
        order = self.order(epoch)
        start_batch = check_int(start_batch, "start_batch", NON_NEGATIVE)
        if start_batch > len(self):
            raise ConfigError(
                f"start_batch={start_batch} is past the end of the epoch "
                f"({len(self)} batches per epoch)"
            )
        return self._batches(order, start_batch)

    def _batches(self, order: np.ndarray, start_batch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for b in range(start_batch, len(self)):
            if self.shuffle:
                idx = order[b * self.batch_size : (b + 1) * self.batch_size]
                yield self.x[idx], self.y[idx]
            else:
                # Contiguous slices are views: no copy when the order is the identity.
                sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
                yield self.x[sl], self.y[sl]

    def __repr__(self) -> str:
        return (
            f"BatchIterator(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last}, batches={len(self)})"
        )
