"""``TrainingState``: where a run is and what it has seen, which a checkpoint must hold so that a
resumed run continues exactly as if it had never stopped.

Everything here is plain Python numbers and lists, so it survives the JSON metadata of a checkpoint
bit for bit (JSON floats are written with ``repr``, which round-trips exactly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from ..checks import AT_LEAST_ONE, NON_NEGATIVE, check_float, check_int, shown
from ..errors import CheckpointError, ConfigError
from .metrics import RunningMean


@dataclass
class TrainingState:
    """Position and history of a run.

    ``epoch`` is the 0-based epoch in progress (or next), ``batch`` the next batch of it;
    ``epoch_sums`` cover the batches of that epoch done so far, ``window`` those since the last
    progress line. ``rows`` are the metrics.csv rows of finished epochs. ``best_loss``/``best_epoch``
    and ``bad_epochs`` are the early-stopping state; ``skipped`` counts non-finite batches that were
    skipped; ``seconds`` is the wall time spent so far and ``epoch_seconds`` the part of it spent in
    the current epoch.

    >>> state = TrainingState(epoch=1, batch=7)
    >>> TrainingState.from_json(state.to_json()) == state
    True
    """

    epoch: int = 0
    batch: int = 0
    epoch_sums: RunningMean = field(default_factory=RunningMean)
    window: RunningMean = field(default_factory=RunningMean)
    rows: List[Dict[str, float]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: Optional[int] = None
    bad_epochs: int = 0
    skipped: int = 0
    seconds: float = 0.0
    epoch_seconds: float = 0.0

    def to_json(self) -> Dict[str, Any]:
        """A JSON-able dict that :meth:`from_json` turns back into an equal state."""
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "epoch_sums": self.epoch_sums.state(),
            "window": self.window.state(),
            "rows": [dict(row) for row in self.rows],
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "epoch_seconds": self.epoch_seconds,
        }

    @classmethod
    def from_json(cls, data: Any) -> "TrainingState":
        """Rebuild a state saved by :meth:`to_json`; anything malformed (missing or unknown keys,
        values of the wrong type or sign) raises CheckpointError with one line.

        >>> TrainingState.from_json({**TrainingState().to_json(), "batch": -5})
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.CheckpointError: the checkpoint's training state is malformed: batch must be >= 0, got -5
        """
        try:
            _exact_keys(data, _FIELDS, "the training state")
            return cls(
                epoch=check_int(data["epoch"], "epoch", NON_NEGATIVE),
                batch=check_int(data["batch"], "batch", NON_NEGATIVE),
                epoch_sums=_running_mean(data["epoch_sums"], "epoch_sums"),
                window=_running_mean(data["window"], "window"),
                rows=_rows(data["rows"]),
                best_loss=_number(data["best_loss"], "best_loss", allow_inf=True),
                best_epoch=None if data["best_epoch"] is None else check_int(data["best_epoch"], "best_epoch", AT_LEAST_ONE),
                bad_epochs=check_int(data["bad_epochs"], "bad_epochs", NON_NEGATIVE),
                skipped=check_int(data["skipped"], "skipped", NON_NEGATIVE),
                seconds=_number(data["seconds"], "seconds"),
                epoch_seconds=_number(data["epoch_seconds"], "epoch_seconds"),
            )
        except ConfigError as error:
            raise CheckpointError(f"the checkpoint's training state is malformed: {error}") from None

    def check_fits(self, epochs: int, batches_per_epoch: int, columns: List[str]) -> None:
        """Raise CheckpointError unless this state is a position a run of ``epochs`` epochs of
        ``batches_per_epoch`` batches, writing metrics ``columns``, can be at.

        >>> TrainingState(epoch=1, batch=3).check_fits(epochs=5, batches_per_epoch=3, columns=["epoch"])
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.CheckpointError: the checkpoint's training state does not fit its run: batch 3 is not one of the 3 batches (0..2) of an epoch
        """
        problem = None
        sums, window = self.epoch_sums, self.window
        if self.epoch > epochs:
            problem = f"epoch {self.epoch} is beyond the run's {epochs} epochs"
        elif self.batch >= batches_per_epoch:
            problem = f"batch {self.batch} is not one of the {batches_per_epoch} batches (0..{batches_per_epoch - 1}) of an epoch"
        elif len(self.rows) != self.epoch:
            problem = f"it has {len(self.rows)} rows of metrics for {self.epoch} finished epochs"
        elif any(row.get("epoch") != number for number, row in enumerate(self.rows, start=1)):
            problem = "its rows of metrics are not numbered 1, 2, ... in order"
        elif any(sorted(row) != sorted(columns) for row in self.rows):
            problem = f"its rows of metrics do not have the columns {', '.join(columns)}"
        elif self.best_epoch is not None and self.best_epoch > self.epoch or self.bad_epochs > self.epoch:
            problem = f"its early-stopping record (best epoch {self.best_epoch}, {self.bad_epochs} bad) is beyond epoch {self.epoch}"
        elif sums.batches > self.batch or window.batches > sums.batches or window.count > sums.count:
            problem = f"its running sums cover more batches than the {self.batch} done in this epoch"
        if problem:
            raise CheckpointError(f"the checkpoint's training state does not fit its run: {problem}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainingState):
            return NotImplemented
        return self.to_json() == other.to_json()


_FIELDS = [f.name for f in fields(TrainingState)]
_MEAN_FIELDS = list(RunningMean.__slots__)


def _exact_keys(data: Any, keys: List[str], what: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must be a JSON object, got {shown(data)}")
    missing, unknown = sorted(set(keys) - set(data)), sorted(set(data) - set(keys))
    if missing or unknown:
        raise ConfigError(f"{what} has missing keys {missing} and unknown keys {unknown}")


def _number(value: Any, name: str, allow_inf: bool = False) -> float:
    """A finite number >= 0 (or +inf where allowed: the best loss before the first epoch)."""
    if allow_inf and isinstance(value, float) and value == math.inf:
        return value
    return check_float(value, name, NON_NEGATIVE)


def _running_mean(data: Any, name: str) -> RunningMean:
    _exact_keys(data, _MEAN_FIELDS, name)
    correct = check_int(data["correct"], f"{name}.correct", NON_NEGATIVE)
    count = check_int(data["count"], f"{name}.count", NON_NEGATIVE)
    if correct > count:
        raise ConfigError(f"{name} counts {correct} correct of {count} examples")
    return RunningMean(
        loss_sum=check_float(data["loss_sum"], f"{name}.loss_sum"),
        correct=correct,
        count=count,
        batches=check_int(data["batches"], f"{name}.batches", NON_NEGATIVE),
    )


def _rows(data: Any) -> List[Dict[str, float]]:
    if not isinstance(data, list):
        raise ConfigError(f"rows must be a list, got {shown(data)}")
    rows = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict) or not all(isinstance(k, str) for k in row):
            raise ConfigError(f"row {number} must be an object of metrics, got {shown(row)}")
        for key, value in row.items():
            # Metrics may be NaN or infinite (a diverged evaluation), but they are numbers.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"row {number}: {key} must be a number, got {shown(value)}")
        rows.append(dict(row))
    return rows
