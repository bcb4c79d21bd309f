"""Seeds and random generators: the one place where a user's ``seed`` becomes a NumPy Generator.

Every ``seed=`` argument of the package (``rand``/``randn``, weight initialisations, layers and
models) is turned into a ``numpy.random.Generator`` here, so each accepts the same kinds of seed
and rejects the rest with the same message.
"""
from __future__ import annotations

from typing import Union

import numpy as np

#: What a ``seed=`` argument accepts: None (fresh entropy), an int, or a Generator (used as is).
Seed = Union[None, int, np.random.Generator]


def as_generator(seed: Seed) -> np.random.Generator:
    """A Generator from None (fresh entropy), an int seed, or a Generator (used as is, so it advances).

    >>> int(as_generator(0).integers(10)) == int(as_generator(0).integers(10))
    True
    >>> generator = np.random.default_rng(1)
    >>> as_generator(generator) is generator
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")
