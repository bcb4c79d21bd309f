"""Per-epoch learning-rate schedules: call ``.step()`` once at the end of every epoch.

Each schedule computes the rate of epoch e in closed form from the base rates (the groups' "lr" when
the schedule was created), so resuming from ``state_dict()`` gives exactly the same rates. After
``step()`` has been called e times, ``last_epoch == e`` and every group's "lr" is the rate of epoch e.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List

from ..checks import NON_NEGATIVE, POSITIVE, check_float, positive_int
from ..errors import CheckpointError, ConfigError
from .optimizer import Optimizer


class ConstantLR:
    """The base of all schedules, and itself the "none" schedule: the rate never changes.

    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist.optim import SGD
    >>> schedule = ConstantLR(SGD([Parameter([0.0])], lr=0.1))
    >>> schedule.step(); schedule.get_last_lr(), schedule.last_epoch
    ([0.1], 1)
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs: List[float] = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = 0

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The rate of ``epoch`` for a group whose base rate is ``base_lr``."""
        return base_lr

    def step(self) -> None:
        """Advance one epoch and set every group's "lr"."""
        self.last_epoch += 1
        self._apply()

    def _apply(self) -> None:
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = float(self.lr_at(base_lr, self.last_epoch))

    def get_last_lr(self) -> List[float]:
        """The groups' current rates."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> Dict[str, Any]:
        """``{"last_epoch": int, "base_lrs": [float, ...]}`` (JSON-able)."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore the epoch counter and base rates, and set the rates of that epoch."""
        try:
            last_epoch, base_lrs = int(state["last_epoch"]), [float(lr) for lr in state["base_lrs"]]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                f"{type(self).__name__}.load_state_dict needs 'last_epoch' (int) and 'base_lrs' (list of floats)"
            ) from None
        if len(base_lrs) != len(self.optimizer.param_groups) or last_epoch < 0:
            raise CheckpointError(
                f"{type(self).__name__}: the state has {len(base_lrs)} base rate(s) and epoch {last_epoch}, "
                f"the optimizer {len(self.optimizer.param_groups)} group(s)"
            )
        self.last_epoch, self.base_lrs = last_epoch, base_lrs
        self._apply()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(ConstantLR):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: ``lr_e = lr_0 * gamma ** (e // step_size)``.

    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist.optim import SGD
    >>> schedule = StepLR(SGD([Parameter([0.0])], lr=1.0), step_size=2, gamma=0.5)
    >>> rates = []
    >>> for _ in range(4):
    ...     schedule.step(); rates.append(schedule.get_last_lr()[0])
    >>> rates
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = positive_int(step_size, "step_size", owner="StepLR")
        self.gamma = check_float(gamma, "gamma", POSITIVE, owner="StepLR")
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(ConstantLR):
    """Multiply the rate by ``gamma`` every epoch: ``lr_e = lr_0 * gamma ** e``.

    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist.optim import SGD
    >>> schedule = ExponentialLR(SGD([Parameter([0.0])], lr=1.0), gamma=0.5)
    >>> schedule.step(); schedule.step(); schedule.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = check_float(gamma, "gamma", POSITIVE, owner="ExponentialLR")
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** epoch


class CosineLR(ConstantLR):
    """Half a cosine from the base rate down to ``min_lr`` over ``total_epochs``, then ``min_lr``:
    ``lr_e = min_lr + (lr_0 - min_lr) * (1 + cos(pi * min(e, T) / T)) / 2`` (as PyTorch's
    CosineAnnealingLR with T_max = T, so the last of T training epochs runs just above ``min_lr``).

    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist.optim import SGD
    >>> schedule = CosineLR(SGD([Parameter([0.0])], lr=1.0), total_epochs=2)
    >>> schedule.step(); schedule.get_last_lr()
    [0.5]
    >>> schedule.step(); schedule.step(); schedule.get_last_lr()
    [0.0]
    """

    def __init__(self, optimizer: Optimizer, total_epochs: int, min_lr: float = 0.0):
        self.total_epochs = positive_int(total_epochs, "total_epochs", owner="CosineLR")
        self.min_lr = check_float(min_lr, "min_lr", NON_NEGATIVE, owner="CosineLR")
        super().__init__(optimizer)
        if any(self.min_lr > base_lr for base_lr in self.base_lrs):
            raise ConfigError(f"CosineLR: min_lr={self.min_lr} is above the starting rate {min(self.base_lrs)}")

    def lr_at(self, base_lr: float, epoch: int) -> float:
        progress = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + (base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0


#: Schedule classes by their command-line names; "none" keeps the learning rate constant.
SCHEDULES: Dict[str, type] = {
    "none": ConstantLR,
    "step": StepLR,
    "exp": ExponentialLR,
    "cosine": CosineLR,
}
