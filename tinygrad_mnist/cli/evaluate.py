"""``tinygrad-mnist eval``: a checkpoint's test accuracy, loss and confusion matrix."""
from __future__ import annotations

import argparse
from typing import Any, Dict

from ..data import dataset_info
from ..train import evaluate
from ..train.saved_run import open_saved_run
from ..train.config import SETTINGS_BY_NAME
from .options import Parser, add_dry_run, add_settings, existing, log

NAME = "eval"
HELP = "test accuracy, loss and confusion matrix of a checkpoint"
DESCRIPTION = (
    "Evaluate a saved model on the test set its run used (same data set, same\n"
    "preprocessing, same --test-size subset): accuracy, loss, and the 10x10 confusion\n"
    "matrix (rows: true class, columns: predicted class; digits for MNIST, the class\n"
    "names of Fashion-MNIST and KMNIST) with the recall of each class.\n\n"
    "The data are read from --data-dir, else the data set's variable ($TINYGRAD_MNIST_DATA\n"
    "for MNIST), else the download cache; a data folder named in the checkpoint is never\n"
    "used, and the test data must match the checksums the run saved."
)
EPILOG = None


def add_arguments(parser: Parser) -> None:
    """The checkpoint to evaluate and where the data is."""
    parser.add_argument("checkpoint", type=existing("path"), metavar="CHECKPOINT_OR_RUN_DIR",
                        help="a checkpoint.npz, or a run directory containing one")
    add_dry_run(parser, "what would be evaluated")
    add_settings(parser, [SETTINGS_BY_NAME["data_dir"]])


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; the exit status."""
    if args.dry_run:
        open_saved_run(args.checkpoint)  # the metadata and declared shapes are checked; no array is read
        log(f"would evaluate {args.checkpoint} on the test set of its run")
        return 0
    result = evaluate(args.checkpoint, data_dir=getattr(args, "data_dir", None))
    log(format_evaluation(result))
    return 0


def format_evaluation(result: Dict[str, Any]) -> str:
    """Accuracy, loss and the confusion matrix (rows true class, columns predicted) as text, with
    the class names of the result's data set (``dataset``, ``classes``; MNIST's digits by default).

    Example:
        >>> confusion = [[5 if i == j else 0 for j in range(10)] for i in range(10)]
        >>> print(format_evaluation({"accuracy": 1.0, "loss": 0.01, "confusion": confusion, "n": 50}))
        ... # doctest: +ELLIPSIS
        accuracy 100.00% (50 of 50 test images)
        loss     0.0100
        confusion matrix (rows: true digit, columns: predicted digit):
        ...
        >>> text = format_evaluation({"accuracy": 1.0, "loss": 0.01, "confusion": confusion, "n": 50,
        ...                           "dataset": "fashion-mnist"})
        >>> for line in text.splitlines()[2:5]:
        ...     print(line)
        confusion matrix (rows: true class, columns: predicted class):
        true             0    1    2    3    4    5    6    7    8    9   recall
        0 T-shirt/top    5    0    0    0    0    0    0    0    0    0   100.00%
    """
    info = dataset_info(result.get("dataset", "mnist"))
    confusion = [[int(c) for c in row] for row in result["confusion"]]
    classes = [str(name) for name in (result.get("classes") or info.classes)]
    if len(classes) != len(confusion):
        classes = [str(i) for i in range(len(confusion))]
    named = any(name != str(i) for i, name in enumerate(classes))
    labels = [f"{i} {name}" if named else str(i) for i, name in enumerate(classes)]
    label_width = max(4, *(len(label) for label in labels))
    n = int(result.get("n", sum(map(sum, confusion))))
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    of = "" if info.name == "mnist" else f" of {info.title}"
    lines = [
        f"accuracy {100 * result['accuracy']:.2f}% ({correct} of {n} test images{of})",
        f"loss     {result['loss']:.4f}",
        f"confusion matrix (rows: true {info.class_noun}, columns: predicted {info.class_noun}):",
        f"{'true':<{label_width}}" + "".join(f"{j:>{width}}" for j in range(len(confusion))) + "   recall",
    ]
    for i, row in enumerate(confusion):
        total = sum(row)
        recall = f"{100 * row[i] / total:7.2f}%" if total else "      -"
        label = labels[i].ljust(label_width) if named else labels[i].rjust(label_width)
        lines.append(label + "".join(f"{c:>{width}}" for c in row) + f"  {recall}")
    return "\n".join(lines)
