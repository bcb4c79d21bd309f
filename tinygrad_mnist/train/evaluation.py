"""Evaluating a model on a data split: mean loss, accuracy and predictions, without a graph."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

import numpy as np

from ..autograd import no_grad
from ..data import Splits, dataset_info
from ..errors import CheckpointError
from ..tensor import Tensor
from .builders import build_loss, build_model
from .checkpoint import load_into_model, read_checkpoint
from .config import TrainConfig
from .metrics import confusion_matrix
from .splits import load_splits

# Rows per forward pass when evaluating: large enough that NumPy does the work, small enough that
# the activations of a wide layer stay a few tens of MB.
EVAL_BATCH = 5000


@dataclass
class Evaluation:
    """Mean loss, accuracy, number of examples and the predicted class of each example.

    >>> Evaluation(loss=0.5, accuracy=1.0, n=1, predictions=np.array([3])).accuracy
    1.0
    """

    loss: float
    accuracy: float
    n: int
    predictions: np.ndarray


def evaluate_arrays(model, loss_fn, x: np.ndarray, y: np.ndarray, batch_size: int = EVAL_BATCH) -> Evaluation:
    """Evaluate ``model`` on ``(x, y)`` in eval mode under ``no_grad``, in batches of ``batch_size``.

    The model's train/eval mode is restored afterwards.

    >>> from tinygrad_mnist import nn
    >>> model = nn.MLP(4, [], 3, seed=0)
    >>> result = evaluate_arrays(model, nn.SoftmaxCrossEntropyLoss(), np.ones((5, 4), np.float32), np.zeros(5, np.int64))
    >>> result.n, result.predictions.shape
    (5, (5,))
    """
    was_training = getattr(model, "training", True)
    model.eval()
    loss_sum = 0.0
    correct = 0
    predictions = np.empty(len(x), dtype=np.int64)
    try:
        with no_grad():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start : start + batch_size], y[start : start + batch_size]
                logits = model(Tensor(xb))
                loss_sum += float(loss_fn(logits, yb).data) * len(xb)
                predicted = logits.data.argmax(axis=1)
                predictions[start : start + len(xb)] = predicted
                correct += int(np.count_nonzero(predicted == yb))
    finally:
        model.train(was_training)
    n = len(x)
    return Evaluation(loss=loss_sum / n, accuracy=correct / n, n=n, predictions=predictions)


def evaluate(
    checkpoint_or_run_dir: Union[str, os.PathLike],
    data_dir: Optional[str] = None,
    data: Optional[Splits] = None,
) -> Dict[str, Any]:
    """Load a checkpoint (or a run folder's) and evaluate it on the test split of its config.

    The data are prepared exactly as for training (normalisation, ``test_size``); ``data_dir``
    overrides where the run's data set (its ``dataset`` setting) is read from and ``data`` replaces
    it. Returns ``accuracy``, ``loss``, ``confusion`` (10x10 nested list, rows = true label, columns =
    prediction), ``n``, the ``dataset`` name and its ``classes`` (names indexed by label).

    >>> evaluate("runs/relu-ce-128-s0")  # doctest: +SKIP
    {'accuracy': 0.9781, 'loss': 0.0712, 'confusion': [[970, 0, ...], ...], 'n': 10000, 'dataset': 'mnist', 'classes': ['0', ...]}
    """
    checkpoint = read_checkpoint(checkpoint_or_run_dir)
    try:
        config = TrainConfig.from_dict(checkpoint.meta["config"])
        shape = checkpoint.meta["model"]
        in_features, num_classes = int(shape["in_features"]), int(shape["num_classes"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{checkpoint.path}: its metadata lacks a usable config/model entry ({error})") from None
    if data_dir is not None:
        config = config.replace(data_dir=str(data_dir))
    splits = load_splits(config, data)
    model = build_model(config, in_features=in_features, num_classes=num_classes)
    load_into_model(checkpoint, model)
    result = evaluate_arrays(model, build_loss(config), splits.x_test, splits.y_test)
    confusion = confusion_matrix(result.predictions, splits.y_test, num_classes)
    return {"accuracy": result.accuracy, "loss": result.loss, "confusion": confusion.tolist(), "n": result.n,
            "dataset": config.dataset, "classes": list(dataset_info(config.dataset).classes)}
