"""Mini-batches whose order is a pure function of (seed, epoch).

Because epoch ``e`` always visits the examples in the same order, a training run interrupted after
``k`` batches of epoch ``e`` can resume exactly with ``epoch(e, start_batch=k)``; no iterator or
RNG state needs to be saved.

:class:`BatchOrder` decides which examples make up each batch; :class:`BatchIterator` (NumPy
batches of two arrays) and :class:`~tinygrad_mnist.data.DataLoader` (Tensor batches of any data
set) both draw their batches from it, so they share one order, one length and one set of rules.

Iterating over either (``for xb, yb in batches:``) runs one whole epoch: the first loop is epoch 0,
the next loop epoch 1, and so on, each with its own order, as a PyTorch ``DataLoader`` reshuffles
at every loop. ``next_epoch`` is the number the next loop gets; ``epoch(e)`` gives any epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Union

import numpy as np

from ..checks import NON_NEGATIVE, check_bool, check_int, positive_int
from ..errors import ConfigError

__all__ = ["BatchIterator", "BatchOrder"]

#: What :meth:`BatchOrder.index_batches` yields: example indices, or a slice when the order is the
#: identity (contiguous slices of arrays are views, so an unshuffled epoch copies nothing).
Indices = Union[np.ndarray, slice]


def _flag(value: Any, name: str) -> bool:
    # 0 and 1 pass, as they always have; a string or None is a mistake worth a message.
    return check_bool(bool(value) if isinstance(value, (int, np.integer)) else value, name)


class BatchOrder:
    """Which of ``n`` examples make up each batch of each epoch.

    Args:
        n: the number of examples, ``n >= 1``.
        batch_size: examples per batch, ``1 <= batch_size <= n``.
        shuffle: visit examples in a fresh random order each epoch; the order of epoch ``e`` is
            ``np.random.default_rng([seed, e]).permutation(n)``.
        seed: non-negative int selecting the family of orders.
        drop_last: skip the final batch if it would be smaller than ``batch_size``.

    ``len(order)`` is the number of batches per epoch.

    Example:
        >>> order = BatchOrder(5, batch_size=2, shuffle=False)
        >>> len(order), list(order.index_batches(0))
        (3, [slice(0, 2, None), slice(2, 4, None), slice(4, 6, None)])
        >>> [b.tolist() for b in BatchOrder(5, 2, seed=1).index_batches(0, start_batch=2)]
        [[3]]
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        n = check_int(n, "n", NON_NEGATIVE)
        if n == 0:
            raise ConfigError("cannot batch an empty data set (it has 0 examples)")
        if batch_size is None:
            raise ConfigError("batch_size must be an integer >= 1, got None (loading one example at a time, "
                              "PyTorch's batch_size=None, is not supported: index the data set instead)")
        batch_size = positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ConfigError(
                f"batch_size={batch_size} is larger than the data set ({n} examples); "
                f"use a batch_size between 1 and {n}"
            )
        if seed is None:
            raise ConfigError("seed must be an integer >= 0, got None: the order of each epoch is a pure "
                              "function of (seed, epoch), so give one, e.g. seed=0")
        self.n = n
        self.batch_size = batch_size
        self.shuffle = _flag(shuffle, "shuffle")
        self.seed = check_int(seed, "seed", NON_NEGATIVE)
        self.drop_last = _flag(drop_last, "drop_last")

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The example indices in the order epoch ``epoch`` visits them.

        Example:
            >>> BatchOrder(4, batch_size=2, shuffle=False).order(3)
            array([0, 1, 2, 3])
        """
        epoch = check_int(epoch, "epoch", NON_NEGATIVE)
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def index_batches(self, epoch: int, start_batch: int = 0) -> Iterator[Indices]:
        """The indices of each batch of epoch ``epoch``, from batch ``start_batch`` on.

        ``start_batch`` may equal ``len(self)`` (nothing left to yield), which is what a run saved
        right at the end of an epoch resumes with.

        Raises:
            ConfigError: (a ValueError) negative epoch, or start_batch outside ``0..len(self)``
                (raised at the call, not at the first ``next``).
        """
        order = self.order(epoch)
        start_batch = check_int(start_batch, "start_batch", NON_NEGATIVE)
        if start_batch > len(self):
            raise ConfigError(
                f"start_batch={start_batch} is past the end of the epoch ({len(self)} batches per epoch)"
            )
        return self._index_batches(order, start_batch)

    def _index_batches(self, order: np.ndarray, start_batch: int) -> Iterator[Indices]:
        size = self.batch_size
        for b in range(start_batch, len(self)):
            yield order[b * size : (b + 1) * size] if self.shuffle else slice(b * size, (b + 1) * size)

    def describe(self) -> str:
        """The settings, as the loaders' reprs show them."""
        return (f"batch_size={self.batch_size}, shuffle={self.shuffle}, seed={self.seed}, "
                f"drop_last={self.drop_last}, batches={len(self)}")


class EpochBatches:
    """What :class:`BatchIterator` and :class:`~tinygrad_mnist.data.DataLoader` share: the batches of
    any epoch from their :class:`BatchOrder`, and iteration as one epoch at the next epoch number.

    Subclasses set ``self.batch_order`` and define ``_fetch(indices)``, which builds one batch.
    """

    batch_order: BatchOrder
    _next_epoch = 0

    def _fetch(self, indices: Indices) -> Any:
        raise NotImplementedError

    @property
    def batch_size(self) -> int:
        """Examples per batch."""
        return self.batch_order.batch_size

    @property
    def shuffle(self) -> bool:
        """Whether each epoch visits the examples in its own random order."""
        return self.batch_order.shuffle

    @property
    def seed(self) -> int:
        """The seed of the epochs' orders."""
        return self.batch_order.seed

    @property
    def drop_last(self) -> bool:
        """Whether a final batch smaller than ``batch_size`` is skipped."""
        return self.batch_order.drop_last

    @property
    def next_epoch(self) -> int:
        """The epoch the next ``for`` loop over this object runs (0 at first, then 1, 2, ...); set it
        to continue from another epoch.

        Example:
            >>> batches = BatchIterator(np.arange(4), np.arange(4), batch_size=2, seed=0)
            >>> [yb.tolist() for _, yb in batches] == [yb.tolist() for _, yb in batches.epoch(0)]
            True
            >>> batches.next_epoch
            1
        """
        return self._next_epoch

    @next_epoch.setter
    def next_epoch(self, epoch: int) -> None:
        self._next_epoch = check_int(epoch, "next_epoch", NON_NEGATIVE)

    def __len__(self) -> int:
        return len(self.batch_order)

    def __iter__(self) -> Iterator[Any]:
        # Counted when the loop starts, so a loop that stops early still used up its epoch, as a new
        # PyTorch loop reshuffles whether or not the last one finished.
        epoch, self._next_epoch = self._next_epoch, self._next_epoch + 1
        return self.epoch(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The example indices in the order epoch ``epoch`` visits them.

        Example:
            >>> BatchIterator(np.zeros(4), np.zeros(4), batch_size=2, shuffle=False).order(3)
            array([0, 1, 2, 3])
        """
        return self.batch_order.order(epoch)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[Any]:
        """Yield the batches of epoch ``epoch``, starting at batch ``start_batch``.

        ``start_batch`` may equal ``len(self)`` (nothing left to yield), which is what a run saved
        right at the end of an epoch resumes with. This does not change :attr:`next_epoch`.

        Raises:
            ConfigError: (a ValueError) negative epoch, or start_batch outside ``0..len(self)``
                (raised at the call, not at the first ``next``).

        Example:
            >>> it = BatchIterator(np.arange(6), np.arange(6), batch_size=3, shuffle=False)
            >>> [yb.tolist() for _, yb in it.epoch(0, start_batch=1)]
            [[3, 4, 5]]
        """
        return map(self._fetch, self.batch_order.index_batches(epoch, start_batch))


class BatchIterator(EpochBatches):
    """Deterministic mini-batches of ``(x, y)`` NumPy arrays along the first axis.

    Args:
        x: the inputs, an array whose first axis indexes the ``n >= 1`` examples.
        y: the targets, an array of the same length ``n``.
        batch_size: examples per batch, ``1 <= batch_size <= n``.
        shuffle: visit examples in a fresh random order each epoch; the order
            of epoch ``e`` is ``np.random.default_rng([seed, e]).permutation(n)``.
        seed: non-negative int selecting the family of orders.
        drop_last: skip the final batch if it would be smaller than ``batch_size``.

    ``len(it)`` is the number of batches per epoch. ``for xb, yb in it:`` runs one epoch, the next
    one each time (see :attr:`next_epoch`); ``it.epoch(e, start_batch=k)`` gives any part of any
    epoch. :class:`~tinygrad_mnist.data.DataLoader` gives the same batches as Tensors.

    Example:
        >>> it = BatchIterator(np.arange(10), np.arange(10), batch_size=4, seed=0)
        >>> len(it), [len(xb) for xb, _ in it.epoch(0)]
        (3, [4, 4, 2])
        >>> resumed = [xb.tolist() for xb, _ in it.epoch(0, start_batch=2)]
        >>> resumed == [xb.tolist() for xb, _ in it.epoch(0)][2:]
        True
        >>> for epoch in range(2):
        ...     for xb, yb in it:
        ...         pass
        >>> it.next_epoch
        2
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
        self.batch_order = BatchOrder(len(x), batch_size, shuffle, seed, drop_last)
        self.x, self.y = x, y

    @property
    def n(self) -> int:
        """Number of examples.

        Example:
            >>> BatchIterator(np.zeros(5), np.zeros(5), batch_size=2).n
            5
        """
        return len(self.x)

    def _fetch(self, indices: Indices) -> tuple[np.ndarray, np.ndarray]:
        return self.x[indices], self.y[indices]

    def __repr__(self) -> str:
        return f"BatchIterator(n={self.n}, {self.batch_order.describe()})"
