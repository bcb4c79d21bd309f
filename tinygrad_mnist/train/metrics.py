"""Metrics of a run: accuracy, confusion matrices, running averages and the metrics.csv table."""
from __future__ import annotations

import math
from typing import Dict, List, Union

import numpy as np

# The metrics.csv format has its own module (viz reads it too); train re-exports its functions.
from ..metrics_csv import format_value, read_metrics_csv, write_metrics_csv

__all__ = [
    "BASE_COLUMNS",
    "VAL_COLUMNS",
    "RunningMean",
    "accuracy",
    "confusion_matrix",
    "correct_count",
    "format_value",
    "metric_columns",
    "read_metrics_csv",
    "write_metrics_csv",
]

BASE_COLUMNS = ("epoch", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")
VAL_COLUMNS = ("val_loss", "val_accuracy")


def correct_count(logits: np.ndarray, labels: np.ndarray) -> int:
    """Number of rows whose largest logit is at the label.

    >>> correct_count(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    1
    """
    return int(np.count_nonzero(logits.argmax(axis=1) == labels))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest logit is at the label.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 0]))
    1.0
    """
    return correct_count(logits, labels) / len(labels)


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` int64 counts; row = true label, column = prediction.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    flat = np.asarray(labels, dtype=np.int64) * num_classes + np.asarray(predictions, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class RunningMean:
    """Example-weighted running means of a loss and an accuracy, as plain Python numbers.

    Plain floats and ints (not arrays) keep the per-batch cost to two additions and make the
    state exactly JSON round-trippable, which a bit-exact resume needs.

    >>> m = RunningMean()
    >>> m.add(0.5, 3, 4); m.add(0.25, 2, 4)
    >>> m.loss, m.accuracy
    (0.375, 0.625)
    """

    __slots__ = ("loss_sum", "correct", "count", "batches")

    def __init__(self, loss_sum: float = 0.0, correct: int = 0, count: int = 0, batches: int = 0) -> None:
        self.loss_sum = loss_sum
        self.correct = correct
        self.count = count
        self.batches = batches

    def add(self, batch_mean_loss: float, correct: int, count: int) -> None:
        """Add one batch: its mean loss, its number of correct predictions and its size."""
        self.loss_sum += batch_mean_loss * count
        self.correct += correct
        self.count += count
        self.batches += 1

    @property
    def loss(self) -> float:
        """Mean loss per example (NaN before the first batch)."""
        return self.loss_sum / self.count if self.count else math.nan

    @property
    def accuracy(self) -> float:
        """Fraction of correct predictions (NaN before the first batch)."""
        return self.correct / self.count if self.count else math.nan

    def reset(self) -> None:
        """Forget everything added so far."""
        self.loss_sum, self.correct, self.count, self.batches = 0.0, 0, 0, 0

    def state(self) -> Dict[str, Union[float, int]]:
        """JSON-able state; ``RunningMean(**state)`` restores it exactly."""
        return {"loss_sum": self.loss_sum, "correct": self.correct, "count": self.count, "batches": self.batches}


def metric_columns(with_validation: bool) -> List[str]:
    """The metrics.csv header: the base columns, plus val_loss/val_accuracy with a validation split.

    >>> metric_columns(True)[-2:]
    ['val_loss', 'val_accuracy']
    """
    return list(BASE_COLUMNS) + (list(VAL_COLUMNS) if with_validation else [])
