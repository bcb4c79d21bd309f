"""The ``metrics.csv`` file of a run: one row per epoch, written by training, read by plots and users.

It lives apart from ``train`` and ``viz`` because both use it and neither should import the other
for it.
"""
from __future__ import annotations

import csv
import math
import os
from typing import Dict, List, Sequence, Union

import numpy as np

from .atomic import atomic_write_text


def format_value(value) -> str:
    """Shortest text that reads back as exactly the same number (so equal runs give equal files).

    >>> format_value(0.1), format_value(3), format_value(float("nan"))
    ('0.1', '3', 'nan')
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return repr(float(value))


def write_metrics_csv(path: Union[str, os.PathLike], rows: Sequence[Dict[str, float]], columns: Sequence[str]) -> None:
    """Write all rows to ``path`` atomically (the whole file each time, so it is never half-written).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.csv"
    >>> write_metrics_csv(p, [{"epoch": 1, "lr": 0.1}], ["epoch", "lr"]); p.read_text()
    'epoch,lr\\n1,0.1\\n'
    """
    lines = [",".join(columns)]
    lines.extend(",".join(format_value(row[c]) for c in columns) for row in rows)
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_metrics_csv(path: Union[str, os.PathLike]) -> List[Dict[str, float]]:
    """Read a metrics.csv back: one dict per epoch, ``epoch`` as an int and the rest as floats.

    An empty cell reads as NaN; a cell that is not a number, or a file without a header line,
    raises ValueError naming the file, the line and the column.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.csv"
    >>> write_metrics_csv(p, [{"epoch": 1, "lr": 0.1}], ["epoch", "lr"]); read_metrics_csv(p)
    [{'epoch': 1, 'lr': 0.1}]
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ValueError(f"{path} is empty; a metrics.csv starts with a header line such as epoch,train_loss,...")
        rows = []
        for line_number, cells in enumerate(reader, start=2):
            row = {}
            for column in reader.fieldnames:
                number = _cell_number(cells.get(column), path, line_number, column)
                row[column] = int(number) if column == "epoch" and number.is_integer() else number
            rows.append(row)
    return rows


def _cell_number(text, path, line_number: int, column: str) -> float:
    if text is None or text.strip() == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line_number}: column {column} holds {text!r}, not a number") from None
