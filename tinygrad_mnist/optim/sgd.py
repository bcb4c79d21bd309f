"""Stochastic gradient descent with momentum, dampening, Nesterov and coupled L2 weight decay."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ..checks import NON_NEGATIVE, POSITIVE, UNIT_INTERVAL, Bounds, check_bool, check_choice, check_float
from ..errors import ConfigError
from .optimizer import Optimizer

#: Accepted values of ``SGD(momentum_form=...)``: a buffer of gradients, or of lr-scaled steps.
MOMENTUM_FORMS = ("pytorch", "lab")


class SGD(Optimizer):
    """SGD, updating ``p.data`` in place (no graph, dtype kept); parameters without ``.grad`` are skipped.

    Each step, with g = p.grad:

    * weight decay (coupled L2): ``g = g + weight_decay * p``;
    * momentum, ``momentum_form="pytorch"`` (default)::

          v = g                                 on the first step
          v = momentum * v + (1 - dampening) * g afterwards
          p -= lr * (g + momentum * v)          if nesterov, else  p -= lr * v

    * momentum, ``momentum_form="lab"`` (the lab reports' convention, the learning rate inside v)::

          v = lr * g                            on the first step
          v = momentum * v + (1 - dampening) * lr * g afterwards
          p -= lr * g + momentum * v            if nesterov, else  p -= v

    The two forms are the same algorithm while lr is constant: by induction v_lab = lr * v_pytorch, so
    every update is equal (up to rounding). They differ when lr changes (a schedule): the PyTorch form
    applies a new lr to the whole accumulated velocity at once, the lab form only to new gradients, so
    its velocity keeps the old step sizes and decays with the momentum.

    Nesterov needs momentum > 0 and dampening 0.

    >>> import numpy as np
    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist import Tensor
    >>> w = Parameter(np.array([1.0], dtype=np.float32))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = Tensor(np.array([1.0], dtype=np.float32))
    ...     opt.step()
    >>> w.numpy()  # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
    array([0.71], dtype=float32)
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        dampening: float = 0.0,
        momentum_form: str = "pytorch",
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "dampening": dampening,
            "momentum_form": momentum_form,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: Dict[str, Any], loading: bool) -> None:
        def number(key: str, bounds: Bounds) -> float:
            group[key] = check_float(group[key], key, bounds, owner="SGD")
            return group[key]

        # A schedule may have annealed lr to 0 before a checkpoint, so loading accepts it.
        number("lr", NON_NEGATIVE if loading else POSITIVE)
        number("momentum", NON_NEGATIVE)
        number("weight_decay", NON_NEGATIVE)
        number("dampening", UNIT_INTERVAL)
        group["nesterov"] = check_bool(group["nesterov"], "nesterov", owner="SGD")
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ConfigError(
                "SGD: nesterov needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )
        group["momentum_form"] = check_choice(group["momentum_form"], "momentum_form", MOMENTUM_FORMS, owner="SGD")

    def _update(self) -> None:
        # Fused: one pass over the parameter per arithmetic operation of the rule in the class
        # docstring, in its order, into per-parameter scratch arrays (``Optimizer._scratch``), so a
        # step allocates nothing. Written as one formula per form with temporaries, an epoch of the
        # benchmark MLPs took 4-5% longer (issue 10's measurement, docs/performance.md).
        for group, index, weights, g in self._with_gradients():
            lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
            lab = group["momentum_form"] == "lab"
            nesterov = group["nesterov"]
            # In the lab form the velocity carries the learning rate: new gradients enter scaled by lr.
            new_fraction = (1.0 - group["dampening"]) * (lr if lab else 1.0)
            scratch, *more = self._scratch(index, weights, 2 if nesterov or new_fraction != 1.0 else 1)
            if decay != 0.0:
                np.multiply(weights, decay, out=scratch)
                scratch += g
                g = scratch
            if momentum == 0.0:
                np.multiply(g, lr, out=scratch)
                weights -= scratch
                continue
            state = self.state.setdefault(index, {})
            velocity = state.get("momentum_buffer")
            if velocity is None:
                # np.array: a new array even for a 0-d parameter (where g * lr is a NumPy scalar,
                # and the in-place updates below would rebind a local instead of the buffer).
                state["momentum_buffer"] = velocity = np.array(g * lr) if lab else g.copy()
            else:
                velocity *= momentum
                if new_fraction == 1.0:
                    velocity += g
                else:
                    np.multiply(g, new_fraction, out=more[0])
                    velocity += more[0]
            if nesterov:
                update = np.multiply(velocity, momentum, out=more[0])
                if lab:
                    np.multiply(g, lr, out=scratch)  # g is scratch or p.grad: either way read first
                    update += scratch
                else:
                    update += g
                    update *= lr
                weights -= update
            elif lab:
                weights -= velocity
            else:
                np.multiply(velocity, lr, out=scratch)  # g (perhaps in scratch) is used up by now
                weights -= scratch
