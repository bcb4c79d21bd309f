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
from .builders import build_loss
from .memory import evaluation_memory
from .metrics import confusion_matrix
from .saved_run import build_saved_model, load_local_data, open_saved_run
from .splits import fingerprint

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

    The data are prepared exactly as for training (normalisation, ``test_size``) and must match
    the checksums the run saved. They are read from ``data_dir`` if given, else from the data
    set's variable (``$TINYGRAD_MNIST_DATA`` for MNIST), else the download cache: never from a
    folder named in the checkpoint (see :mod:`~tinygrad_mnist.train.saved_run`); ``data``
    replaces loading. The model's memory is estimated and its weights' declared shapes checked
    before anything large is allocated or read. Returns ``accuracy``, ``loss``, ``confusion``
    (10x10 nested list, rows = true label, columns = prediction), ``n``, the ``dataset`` name and
    its ``classes`` (names indexed by label).

    >>> evaluate("runs/relu-ce-128-s0")  # doctest: +SKIP
    {'accuracy': 0.9781, 'loss': 0.0712, 'confusion': [[970, 0, ...], ...], 'n': 10000, 'dataset': 'mnist', 'classes': ['0', ...]}
    """
    saved = open_saved_run(checkpoint_or_run_dir)
    config = saved.config
    model = build_saved_model(saved, evaluation_memory, "evaluating")
    given = {} if data_dir is None else {"data_dir": str(data_dir)}
    splits = load_local_data(config, given, data)
    _check_test_data(saved.checkpoint, splits)
    result = evaluate_arrays(model, build_loss(config), splits.x_test, splits.y_test)
    confusion = confusion_matrix(result.predictions, splits.y_test, saved.model_meta["num_classes"])
    return {"accuracy": result.accuracy, "loss": result.loss, "confusion": confusion.tolist(), "n": result.n,
            "dataset": config.dataset, "classes": list(dataset_info(config.dataset).classes)}


def _check_test_data(checkpoint, splits: Splits) -> None:
    """The test split must be the one the run was evaluated on (when the checkpoint says which)."""
    training = checkpoint.meta.get("training")
    saved = training.get("data") if isinstance(training, dict) else None
    if not isinstance(saved, dict) or "x_test" not in saved:
        return  # a checkpoint saved outside the trainer: nothing to compare with
    now = fingerprint(splits)
    if (now["x_test"], now["y_test"]) != (saved.get("x_test"), saved.get("y_test")):
        raise CheckpointError(
            f"the test data differ from those of the run that saved {checkpoint.path} (checksums do not match); "
            "evaluate with the same data files (--data-dir or TINYGRAD_MNIST_DATA) or the same `data`"
        )
