"""``TrainingState``: where a run is and what it has seen, which a checkpoint must hold so that a
resumed run continues exactly as if it had never stopped.

Everything here is plain Python numbers and lists, so it survives the JSON metadata of a checkpoint
bit for bit (JSON floats are written with ``repr``, which round-trips exactly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import CheckpointError
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
    def from_json(cls, data: Dict[str, Any]) -> "TrainingState":
        """Rebuild a state saved by :meth:`to_json`; malformed data raises CheckpointError."""
        try:
            return cls(
                epoch=int(data["epoch"]),
                batch=int(data["batch"]),
                epoch_sums=RunningMean(**data["epoch_sums"]),
                window=RunningMean(**data["window"]),
                rows=[dict(row) for row in data["rows"]],
                best_loss=float(data["best_loss"]),
                best_epoch=None if data["best_epoch"] is None else int(data["best_epoch"]),
                bad_epochs=int(data["bad_epochs"]),
                skipped=int(data["skipped"]),
                seconds=float(data["seconds"]),
                epoch_seconds=float(data["epoch_seconds"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"the checkpoint's training state is malformed ({type(error).__name__}: {error})") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainingState):
            return NotImplemented
        return self.to_json() == other.to_json()
