"""Writing JSON result files (summary.json, results.json) as strict JSON."""
from __future__ import annotations

import json
import math
import os
from typing import Any, Union

from ..atomic import atomic_write_text


def json_safe(value: Any) -> Any:
    """A copy of ``value`` in which NaN and infinities are None, so the JSON is standard.

    >>> json_safe({"loss": float("nan"), "acc": [0.5, float("inf")]})
    {'loss': None, 'acc': [0.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_summary(path: Union[str, os.PathLike], data: Any) -> None:
    """Write ``data`` as indented strict JSON (non-finite numbers as null), atomically.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> write_summary(p, {"loss": float("nan")}); p.read_text()
    '{\\n  "loss": null\\n}\\n'
    """
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
