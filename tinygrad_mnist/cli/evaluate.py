"""``tinygrad-mnist eval``: a checkpoint's test accuracy, loss and confusion matrix."""
from __future__ import annotations

import argparse
from typing import Any, Dict

from ..train import evaluate
from ..train.saved_run import open_saved_run
from ..train.config import SETTINGS_BY_NAME
from .options import Parser, add_dry_run, add_settings, existing, log

NAME = "eval"
HELP = "test accuracy, loss and confusion matrix of a checkpoint"
DESCRIPTION = (
    "Evaluate a saved model on the test set its run used (same preprocessing, same\n"
    "--test-size subset): accuracy, loss, and the 10x10 confusion matrix (rows: true\n"
    "digit, columns: predicted digit) with the recall of each digit.\n\n"
    "MNIST is read from --data-dir, else $TINYGRAD_MNIST_DATA, else the download cache;\n"
    "a data folder named in the checkpoint is never used, and the test data must match\n"
    "the checksums the run saved."
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
    """Accuracy, loss and the confusion matrix (rows true digit, columns predicted) as text.

    Example:
        >>> confusion = [[5 if i == j else 0 for j in range(10)] for i in range(10)]
        >>> print(format_evaluation({"accuracy": 1.0, "loss": 0.01, "confusion": confusion, "n": 50}))
        ... # doctest: +ELLIPSIS
        accuracy 100.00% (50 of 50 test images)
        loss     0.0100
        ...
    """
    confusion = [[int(c) for c in row] for row in result["confusion"]]
    n = int(result.get("n", sum(map(sum, confusion))))
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    lines = [
        f"accuracy {100 * result['accuracy']:.2f}% ({correct} of {n} test images)",
        f"loss     {result['loss']:.4f}",
        "confusion matrix (rows: true digit, columns: predicted digit):",
        "true" + "".join(f"{j:>{width}}" for j in range(len(confusion))) + "   recall",
    ]
    for i, row in enumerate(confusion):
        total = sum(row)
        recall = f"{100 * row[i] / total:7.2f}%" if total else "      -"
        lines.append(f"{i:>4}" + "".join(f"{c:>{width}}" for c in row) + f"  {recall}")
    return "\n".join(lines)
