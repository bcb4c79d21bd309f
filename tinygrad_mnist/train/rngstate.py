"""The random generators a model carries (dropout masks), captured and restored exactly.

A resumed run must draw the same dropout masks as an uninterrupted one, so the state of every
``np.random.Generator`` held by a module is saved with the checkpoint. Generators are found by
looking at each module's attributes, which works for any layer without it registering anything.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ..errors import CheckpointError


def module_generators(model) -> List[Tuple[str, str, np.random.Generator]]:
    """``(module name, attribute, generator)`` for every Generator attribute of every module.

    The order is deterministic: modules in registration order, attributes sorted by name.

    >>> class Noisy:
    ...     def __init__(self): self.rng = np.random.default_rng(0)
    ...     def named_modules(self): return [("", self)]
    >>> [(m, a) for m, a, _ in module_generators(Noisy())]
    [('', 'rng')]
    """
    found = []
    for module_name, module in model.named_modules():
        attributes = getattr(module, "__dict__", {})
        for attribute in sorted(attributes):
            value = attributes[attribute]
            if isinstance(value, np.random.Generator):
                found.append((module_name, attribute, value))
    return found


def capture_rng_states(model) -> List[Dict[str, Any]]:
    """JSON-able states of the model's generators (see :func:`module_generators`).

    >>> class Noisy:
    ...     def __init__(self): self.rng = np.random.default_rng(0)
    ...     def named_modules(self): return [("", self)]
    >>> capture_rng_states(Noisy())[0]["state"]["bit_generator"]
    'PCG64'
    """
    return [
        {"module": name, "attribute": attribute, "state": generator.bit_generator.state}
        for name, attribute, generator in module_generators(model)
    ]


def restore_rng_states(model, states: List[Dict[str, Any]]) -> None:
    """Put saved generator states back; the model must hold the same generators.

    >>> class Noisy:
    ...     def __init__(self): self.rng = np.random.default_rng(0)
    ...     def named_modules(self): return [("", self)]
    >>> a, b = Noisy(), Noisy()
    >>> _ = a.rng.random(); restore_rng_states(b, capture_rng_states(a))
    >>> a.rng.random() == b.rng.random()
    True
    """
    generators = module_generators(model)
    expected = [(name, attribute) for name, attribute, _ in generators]
    try:
        saved = [(s["module"], s["attribute"]) for s in states]
    except (KeyError, TypeError):
        raise CheckpointError("the checkpoint's random generator states are malformed") from None
    if saved != expected:
        raise CheckpointError(
            f"the checkpoint has random generators {saved} but the model has {expected}; "
            "it was saved from a different model"
        )
    for (_, _, generator), saved_state in zip(generators, states):
        try:
            generator.bit_generator.state = saved_state["state"]
        except (TypeError, ValueError, KeyError) as error:
            raise CheckpointError(f"cannot restore a random generator state from the checkpoint: {error}") from None
