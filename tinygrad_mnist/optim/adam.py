"""Adam and AdamW: adaptive moment estimation, with coupled (L2) or decoupled weight decay."""
from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from ..checks import NON_NEGATIVE, POSITIVE, Bounds, check_float
from ..errors import ConfigError
from .optimizer import Optimizer


# A moment's decay rate: 1 would never forget the first gradient.
BETA = Bounds(0, 1, high_open=True)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), updating ``p.data`` in place (dtype kept); parameters without
    ``.grad`` are skipped. Each step, with g = p.grad and t the parameter's step count (from 1):

    * weight decay, coupled as in PyTorch's Adam: ``g = g + weight_decay * p``;
    * ``m = beta1 * m + (1 - beta1) * g`` and ``v = beta2 * v + (1 - beta2) * g * g``;
    * ``p -= step_size * m / (sqrt(v) + eps_hat)``, with ``step_size = lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)``
      and ``eps_hat = eps * sqrt(1 - beta2 ** t)``.

    The last line is the paper's "more efficient" ordering (end of its section 2): it equals
    ``lr * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected moments m_hat = m / (1 - beta1 ** t),
    v_hat = v / (1 - beta2 ** t), rounding aside, and folds both corrections into two numbers, so the
    update makes one pass over the parameter fewer than the textbook line (and none allocates).

    ``state_dict()`` holds m ("exp_avg"), v ("exp_avg_sq") and t ("step") per parameter, so a run
    resumed from it continues bit for bit.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> from tinygrad_mnist.nn import Parameter
    >>> w = Parameter(np.array([1.0, -1.0], dtype=np.float32))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = Tensor(np.array([0.5, -2.0], dtype=np.float32))
    >>> opt.step()
    >>> w.numpy().round(6)  # the first step moves every weight by lr against its gradient's sign
    array([ 0.9, -0.9], dtype=float32)
    """

    #: Weight decay applied to the weights directly (AdamW) rather than added to the gradient.
    decoupled = False
    scalar_state = ("step",)

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: Dict[str, Any], loading: bool) -> None:
        owner = type(self).__name__
        # A schedule may have annealed lr to 0 before a checkpoint, so loading accepts it.
        group["lr"] = check_float(group["lr"], "lr", NON_NEGATIVE if loading else POSITIVE, owner)
        betas = group["betas"]
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ConfigError(f"{owner}: betas must be a pair (beta1, beta2), each >= 0 and < 1, got {betas!r}")
        # a JSON list from a checkpoint becomes a tuple again
        group["betas"] = tuple(check_float(beta, name, BETA, owner) for beta, name in zip(betas, ("beta1", "beta2")))
        group["eps"] = check_float(group["eps"], "eps", POSITIVE, owner)
        group["weight_decay"] = check_float(group["weight_decay"], "weight_decay", NON_NEGATIVE, owner)

    def _update(self) -> None:
        # Fused: each operation is one in-place pass into two scratch arrays, no temporaries.
        for group, index, weights, g in self._with_gradients():
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            decayed, work = self._scratch(index, weights, 2)
            state = self.state.get(index)
            if state is None:
                state = self.state[index] = {
                    "step": 0, "exp_avg": np.zeros_like(weights), "exp_avg_sq": np.zeros_like(weights),
                }
            state["step"] += 1
            t = state["step"]
            if decay != 0.0:
                if self.decoupled:
                    weights *= 1.0 - lr * decay
                else:
                    np.multiply(weights, decay, out=decayed)
                    decayed += g
                    g = decayed
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            np.multiply(g, 1.0 - beta1, out=work)
            m += work
            v *= beta2
            np.multiply(g, g, out=work)
            work *= 1.0 - beta2
            v += work
            root_correction = math.sqrt(1.0 - beta2 ** t)
            step = np.sqrt(v, out=work)
            step += eps * root_correction
            np.divide(m, step, out=step)
            step *= lr * root_correction / (1.0 - beta1 ** t)
            weights -= step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's AdamW: each step first
    shrinks the weights, ``p *= 1 - lr * weight_decay``, then applies Adam's update with the plain
    gradient. The default ``weight_decay`` is 0.01.

    >>> import numpy as np
    >>> from tinygrad_mnist import Tensor
    >>> from tinygrad_mnist.nn import Parameter
    >>> w = Parameter(np.array([2.0], dtype=np.float32))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = Tensor(np.array([0.0], dtype=np.float32))
    >>> opt.step(); w.numpy()  # a zero gradient: only the decay, 2 * (1 - 0.1 * 0.5)
    array([1.9], dtype=float32)
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
