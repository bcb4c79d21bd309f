"""Seeds and random generators: the one place where a user's ``seed`` becomes a NumPy Generator.

Every ``seed=`` argument of the package (``rand``/``randn``, weight initialisations, layers and
models) is turned into a ``numpy.random.Generator`` here, so each accepts the same kinds of seed
and rejects the rest with the same message.

The seeding story, in two layers:

* **explicit seeds** (what the trainer, the CLI and the experiment grids use): ``seed=0`` or a
  Generator passed to each part. A run is then reproducible whatever else the program draws, and
  its seed is a setting recorded with it.
* **``manual_seed(n)``** (PyTorch's habit, for scripts and notebooks): every later ``seed=None``
  draws from one generator seeded with ``n``, so a script that seeds once at the top is
  reproducible too (as long as it draws in the same order). Until it is called, and after
  ``manual_seed(None)``, ``seed=None`` means fresh entropy.
"""
from __future__ import annotations

from typing import Dict, Optional, Union

import numpy as np

#: What a ``seed=`` argument accepts: None (the default stream), an int, or a Generator (used as is).
Seed = Union[None, int, np.random.Generator]

# The generator that seed=None draws from once manual_seed has been called.
_default: Dict[str, Optional[np.random.Generator]] = {"generator": None}


def _is_int(seed) -> bool:
    return isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)


def as_generator(seed: Seed) -> np.random.Generator:
    """A Generator from an int seed, a Generator (used as is, so it advances), or None: the stream
    set by :func:`manual_seed`, or fresh entropy when none was set.

    >>> int(as_generator(0).integers(10)) == int(as_generator(0).integers(10))
    True
    >>> generator = np.random.default_rng(1)
    >>> as_generator(generator) is generator
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return _default["generator"] or np.random.default_rng()
    if _is_int(seed):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")


def manual_seed(seed: Optional[int]) -> Optional[np.random.Generator]:
    """Seed the stream that every later ``seed=None`` draws from (PyTorch's ``torch.manual_seed``);
    ``None`` goes back to fresh entropy. Returns the new generator.

    Explicit ``seed=`` arguments are unaffected: they remain what the trainer and the CLI use.

    >>> from tinygrad_mnist import randn
    >>> _ = manual_seed(0)
    >>> first = randn(3)
    >>> _ = manual_seed(0)
    >>> bool((randn(3) == first).all())
    True
    >>> manual_seed(None)
    """
    if seed is not None and not _is_int(seed):
        raise TypeError(f"manual_seed takes an int (or None for fresh entropy), got {type(seed).__name__}")
    _default["generator"] = None if seed is None else np.random.default_rng(seed)
    return _default["generator"]
