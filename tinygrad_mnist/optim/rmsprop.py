"""RMSprop: gradients divided by a running root mean square of their recent values."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ..checks import NON_NEGATIVE, POSITIVE, UNIT_INTERVAL, Bounds, check_float
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as PyTorch's (uncentered) RMSprop, updating ``p.data`` in place
    (dtype kept); parameters without ``.grad`` are skipped. Each step, with g = p.grad:

    * weight decay (coupled L2): ``g = g + weight_decay * p``;
    * ``s = alpha * s + (1 - alpha) * g * g`` (``s`` starts at 0);
    * without momentum: ``p -= lr * g / (sqrt(s) + eps)``;
    * with momentum: ``b = momentum * b + g / (sqrt(s) + eps)`` (``b`` starts at 0), ``p -= lr * b``.

    ``state_dict()`` holds s ("square_avg") and b ("momentum_buffer") per parameter.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> from tinygrad_mnist.nn import Parameter
    >>> w = Parameter(np.array([1.0], dtype=np.float32))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.99)
    >>> w.grad = Tensor(np.array([3.0], dtype=np.float32))
    >>> opt.step(); w.numpy()  # 1 - 0.01 * 3 / sqrt(0.01 * 9): a first step of lr / sqrt(1 - alpha)
    array([0.9], dtype=float32)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum}
        super().__init__(params, defaults)

    def _check_group(self, group: Dict[str, Any], loading: bool) -> None:
        # A schedule may have annealed lr to 0 before a checkpoint, so loading accepts it.
        for key, bounds in (
            ("lr", NON_NEGATIVE if loading else POSITIVE), ("alpha", UNIT_INTERVAL), ("eps", POSITIVE),
            ("weight_decay", NON_NEGATIVE), ("momentum", Bounds(0, 1, high_open=True)),
        ):
            group[key] = check_float(group[key], key, bounds, owner="RMSprop")

    def _update(self) -> None:
        # Fused: each operation of the rule is one in-place pass into scratch arrays, in the rule's
        # order (the same bits as the formulas written with temporaries, without allocating them).
        for group, index, weights, g in self._with_gradients():
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            decay, momentum = group["weight_decay"], group["momentum"]
            decayed, work = self._scratch(index, weights, 2)
            state = self.state.setdefault(index, {})
            if "square_avg" not in state:
                state["square_avg"] = np.zeros_like(weights)
            if decay != 0.0:
                np.multiply(weights, decay, out=decayed)
                decayed += g
                g = decayed
            square_avg = state["square_avg"]
            square_avg *= alpha
            np.multiply(g, g, out=work)
            work *= 1.0 - alpha
            square_avg += work
            denominator = np.sqrt(square_avg, out=work)
            denominator += eps
            step = np.divide(g, denominator, out=work)
            if momentum > 0.0:
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    buffer = state["momentum_buffer"] = np.zeros_like(weights)
                buffer *= momentum
                buffer += step
                step = np.multiply(buffer, lr, out=work)
            else:
                step *= lr
            weights -= step
